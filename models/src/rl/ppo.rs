//! PPO for the one-step segmentation bandit of method.md 3: the settings ([`PpoConfig`]),
//! the statistics one update reports ([`PpoStats`]) and the two losses as pure functions on
//! tensors: the clipped-surrogate actor loss with the entropy bonus and the divergence
//! penalty against the frozen reference policy ([`actor_loss`]), and the critic's
//! deep-supervised MSE against the raw reward ([`critic_loss`]). The trainer that uses them
//! is [`super::ppo_trainer::PpoTrainer`]; the epoch loop [`super::ppo_loop::train_ppo`].

use burn::tensor::{Int, Tensor, TensorData};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::ppo_trainer::PpoTrainer;
use crate::convert::float_values;
use crate::error::{ShapeError, TrainError};
use crate::loss::{deep_supervision_weights, mse};

/// How rollout actions are drawn from the policy during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rollout {
    /// Deterministic `argmax` actions, as the 3D original (method.md 3, 12.6: `sample=False`).
    #[default]
    Argmax,
    /// Actions sampled from the per-voxel categorical policy (the 2D RL4Seg; TTO always samples).
    Sample,
}

/// Which weights [`train_ppo`](super::ppo_loop::train_ppo) keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The epoch of the highest mean validation reward (the original's `ModelCheckpoint` on
    /// `val/reward`, method.md 3).
    #[default]
    Reward,
    /// The epoch whose validation rollouts have the largest fraction of acceptable frames (the
    /// caller's label-free test, e.g. anatomical validity, method.md 6.1), ties broken by the
    /// mean reward: a policy that pleases the reward net with implausible shapes (reward
    /// hacking) is not kept.
    Validity,
}

/// PPO settings. Defaults are the original's (method.md 2.2, 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Clip range epsilon of the probability ratio (method.md 3: `clip_value` 0.2).
    pub clip: f64,
    /// Updates of actor and critic per rollout (method.md 3: `k_steps_per_batch` 4).
    pub k_steps: usize,
    /// Weight `c_ent` of the mean entropy bonus (method.md 3: 0.15; auto-iteration: 0.3/(2i)).
    pub entropy_coeff: f64,
    /// Weight beta of the divergence penalty `logp - logp_ref` in the reward (method.md 3:
    /// 0.015; auto-iteration: 0.1/(2i)).
    pub divergence_coeff: f64,
    /// Adam learning rate of the actor (method.md 2.2: 0.01; the 2D original used 5e-4).
    pub actor_lr: f64,
    /// Adam learning rate of the critic (method.md 2.2: 0.005).
    pub critic_lr: f64,
    /// Global gradient-norm clip of actor and critic (method.md 12.8: 0.5); 0 = no clipping.
    pub grad_clip: f64,
    /// Rollout actions: `argmax` (the 3D original) or `sample`.
    pub rollout: Rollout,
    /// Temperature `T` of the policy PPO trains (beyond the original, which has 1): actions are
    /// drawn from, and log-probabilities, the entropy and the divergence taken on,
    /// `softmax(logits / T)`. With `rollout = "sample"` and `T < 1` the rollouts are argmax where
    /// the policy is confident and sampled where it hesitates; the greedy prediction is the same
    /// for every `T`. Left out of the canonical config at 1, so caches made before the option
    /// existed stay valid.
    #[serde(skip_serializing_if = "is_one")]
    pub temperature: f64,
    /// Windows per rollout (method.md 1.3: 1).
    pub batch_size: usize,
    /// Rollouts per epoch; 0 = one window per training sequence per epoch (method.md 3).
    pub steps_per_epoch: usize,
    /// Epochs (method.md 3: 10 for the runner, 5 in the auto-iteration loop).
    pub epochs: usize,
    /// Frames per window (method.md 1.3: 4).
    pub window: usize,
    /// Validation windows per forward pass (method.md 1.3: `val_batch_size` 4).
    pub val_batch_size: usize,
    /// Which epoch's weights to keep.
    pub selection: Selection,
    /// Let the input weights (epoch 0) compete with the trained epochs, so that a phase that
    /// makes the policy worse on validation returns it unchanged (the original always keeps a
    /// trained epoch).
    pub keep_input: bool,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            clip: 0.2,
            k_steps: 4,
            entropy_coeff: 0.15,
            divergence_coeff: 0.015,
            actor_lr: 0.01,
            critic_lr: 0.005,
            grad_clip: 0.5,
            rollout: Rollout::Argmax,
            temperature: 1.0,
            batch_size: 1,
            steps_per_epoch: 0,
            epochs: 5,
            window: 4,
            val_batch_size: 4,
            selection: Selection::Reward,
            keep_input: false,
        }
    }
}

fn is_one(v: &f64) -> bool {
    *v == 1.0
}

pub(crate) const STAGE: &str = "PPO training";

pub(crate) fn config_error(message: String) -> TrainError {
    TrainError::RlConfig {
        stage: STAGE,
        message,
    }
}

impl PpoConfig {
    /// Check every field; the error names the field and the accepted range.
    pub fn validate(&self) -> Result<(), TrainError> {
        let positive = [
            ("actor_lr", self.actor_lr),
            ("critic_lr", self.critic_lr),
            ("temperature", self.temperature),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(config_error(format!("`{name}` = {v} must be > 0")));
            }
        }
        let non_negative = [
            ("clip", self.clip),
            ("entropy_coeff", self.entropy_coeff),
            ("divergence_coeff", self.divergence_coeff),
            ("grad_clip", self.grad_clip),
        ];
        for (name, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(config_error(format!(
                    "`{name}` = {v} must be finite and >= 0"
                )));
            }
        }
        let counts = [
            ("k_steps", self.k_steps),
            ("batch_size", self.batch_size),
            ("window", self.window),
            ("val_batch_size", self.val_batch_size),
        ];
        for (name, v) in counts {
            if v == 0 {
                return Err(config_error(format!("`{name}` must be >= 1 (got 0)")));
            }
        }
        Ok(())
    }
}

/// Means over the voxels of one PPO update (method.md 3, "Logged metrics"); averaged over
/// updates and steps by the trainer and the loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PpoStats {
    /// Mean raw reward `r`.
    pub reward: f64,
    /// Mean advantage `A = r - beta (logp - logp_ref) - V`.
    pub advantage: f64,
    /// Mean critic value `V` (full-resolution head).
    pub value: f64,
    /// Mean `log pi(a|s)`.
    pub log_prob: f64,
    /// Mean probability ratio `exp(logp - logp_old)`.
    pub ratio: f64,
    /// `mean(logp - logp_ref)` (the original's `approx_kl_div`).
    pub approx_kl: f64,
    /// Actor loss.
    pub actor_loss: f64,
    /// Critic loss (0 from [`actor_loss`]; filled in by the trainer).
    pub critic_loss: f64,
    /// Mean policy entropy.
    pub entropy: f64,
}

impl PpoStats {
    fn fields(&self) -> [f64; 9] {
        [
            self.reward,
            self.advantage,
            self.value,
            self.log_prob,
            self.ratio,
            self.approx_kl,
            self.actor_loss,
            self.critic_loss,
            self.entropy,
        ]
    }

    fn from_fields(f: [f64; 9]) -> Self {
        Self {
            reward: f[0],
            advantage: f[1],
            value: f[2],
            log_prob: f[3],
            ratio: f[4],
            approx_kl: f[5],
            actor_loss: f[6],
            critic_loss: f[7],
            entropy: f[8],
        }
    }

    /// Weighted mean of several statistics (all zero for an empty list or zero weights).
    pub fn weighted_mean(items: &[(PpoStats, f64)]) -> PpoStats {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        if items.is_empty() || total <= 0.0 {
            return PpoStats::default();
        }
        let mut acc = [0.0; 9];
        for (stats, w) in items {
            for (a, v) in acc.iter_mut().zip(stats.fields()) {
                *a += v * w / total;
            }
        }
        Self::from_fields(acc)
    }

    /// Plain mean.
    pub fn mean(items: &[PpoStats]) -> PpoStats {
        let weighted: Vec<_> = items.iter().map(|s| (*s, 1.0)).collect();
        Self::weighted_mean(&weighted)
    }
}

/// The per-voxel inputs of [`actor_loss`], all `[B, T, H, W]`.
#[derive(Debug, Clone)]
pub struct ActorTerms {
    /// `log pi_theta(a|s)`, differentiable.
    pub logp: Tensor<4>,
    /// `log pi(a|s)` at rollout time (no grad).
    pub logp_old: Tensor<4>,
    /// `log pi_ref(a|s)` of the frozen reference policy (no grad).
    pub logp_ref: Tensor<4>,
    /// Policy entropy per voxel, differentiable.
    pub entropy: Tensor<4>,
    /// Raw reward `r` (no grad).
    pub reward: Tensor<4>,
    /// Critic value `V(s)` (no grad is taken through it).
    pub value: Tensor<4>,
}

/// The PPO actor loss (method.md 3, steps 2-5):
/// `r_tot = r - beta (logp - logp_ref)` (no grad), `A = r_tot - V` (no grad, no
/// normalisation, method.md 12.6), `ratio = exp(logp - logp_old)` and
/// `L = -mean(min(ratio A, clip(ratio, 1 - eps, 1 + eps) A)) - c_ent mean(H)`, means over all
/// voxels. Returns the loss and the statistics of the update (`critic_loss` = 0).
///
/// # Shapes
/// - every term `[B, T, H, W]` (the same shape) -> loss `[1]`
pub fn actor_loss(
    terms: ActorTerms,
    clip: f64,
    entropy_coeff: f64,
    divergence_coeff: f64,
) -> Result<(Tensor<1>, PpoStats), ShapeError> {
    let dims = terms.logp.dims();
    for (name, other) in [
        ("logp_old", &terms.logp_old),
        ("logp_ref", &terms.logp_ref),
        ("entropy", &terms.entropy),
        ("reward", &terms.reward),
        ("value", &terms.value),
    ] {
        if other.dims() != dims {
            return Err(ShapeError::Mismatch {
                what: "PPO actor loss terms",
                left: dims.to_vec(),
                right: other.dims().to_vec(),
                hint: match name {
                    "reward" => "the reward map must be [B, T, H, W] like the actions",
                    "value" => "the critic's full-resolution value map must be [B, T, H, W]",
                    _ => "every term is [B, T, H, W]",
                },
            });
        }
    }
    let ActorTerms {
        logp,
        logp_old,
        logp_ref,
        entropy,
        reward,
        value,
    } = terms;
    let logp_ref = logp_ref.detach();
    let reward = reward.detach();
    let value = value.detach();
    let divergence = logp.clone().detach() - logp_ref;
    // method.md 3 step 2: the divergence penalty enters the reward, without gradient.
    let r_tot = reward.clone() - divergence.clone().mul_scalar(divergence_coeff);
    let advantage = (r_tot - value.clone()).detach();
    let ratio = (logp.clone() - logp_old.detach()).exp();
    let surrogate = ratio.clone() * advantage.clone();
    let clipped = ratio.clone().clamp(1.0 - clip, 1.0 + clip) * advantage.clone();
    let policy_loss = surrogate.min_pair(clipped).mean().neg();
    let entropy_mean = entropy.mean();
    let loss = policy_loss - entropy_mean.clone().mul_scalar(entropy_coeff);

    // One read-back for all the statistics.
    let parts = vec![
        reward.mean(),
        advantage.mean(),
        value.mean(),
        logp.detach().mean(),
        ratio.detach().mean(),
        divergence.mean(),
        loss.clone().detach(),
        entropy_mean.detach(),
    ]
    .into_iter()
    .map(|t| t.without_autodiff())
    .collect();
    let v: Vec<f64> = float_values(Tensor::cat(parts, 0))
        .into_iter()
        .map(f64::from)
        .collect();
    let stats = PpoStats {
        reward: v[0],
        advantage: v[1],
        value: v[2],
        log_prob: v[3],
        ratio: v[4],
        approx_kl: v[5],
        actor_loss: v[6],
        critic_loss: 0.0,
        entropy: v[7],
    };
    Ok((loss, stats))
}

/// The critic loss (method.md 3 step 6, 12.7): `sum_i w_i MSE(V_i, r_i)` with the
/// deep-supervision weights `[1, 1/2, 1/4] / 1.875` (for three outputs; see
/// [`deep_supervision_weights`]) against the **raw** reward, downsampled by nearest neighbour
/// to each head's resolution ([`nearest_resize`]).
///
/// # Shapes
/// - values: `[B, T, H, W]`, then the coarser heads `[B, T', H', W']`; reward `[B, T, H, W]`
///   -> loss `[1]`
pub fn critic_loss(values: &[Tensor<4>], reward: Tensor<4>) -> Result<Tensor<1>, ShapeError> {
    let Some(first) = values.first() else {
        return Err(ShapeError::Empty {
            what: "critic loss (no value maps)",
            shape: vec![0],
        });
    };
    if first.dims() != reward.dims() {
        return Err(ShapeError::Mismatch {
            what: "critic value vs reward",
            left: first.dims().to_vec(),
            right: reward.dims().to_vec(),
            hint: "the full-resolution value map and the reward are both [B, T, H, W]",
        });
    }
    let reward = reward.detach();
    let weights = deep_supervision_weights(values.len());
    let mut total: Option<Tensor<1>> = None;
    for (value, weight) in values.iter().zip(weights) {
        let [_, t, h, w] = value.dims();
        let target = nearest_resize(reward.clone(), [t, h, w])?;
        let term = mse(value.clone(), target).mul_scalar(weight);
        total = Some(match total {
            Some(acc) => acc + term,
            None => term,
        });
    }
    total.ok_or(ShapeError::Empty {
        what: "critic loss (no value maps)",
        shape: vec![0],
    })
}

/// Nearest-neighbour resampling of the last three axes, as PyTorch's
/// `F.interpolate(mode="nearest")`: output index `i` reads input index `floor(i * in / out)`
/// (for a downsampling by 2: voxels 0, 2, 4, ...).
///
/// # Shapes
/// - `[B, T, H, W]` -> `[B, size[0], size[1], size[2]]`
pub fn nearest_resize(x: Tensor<4>, size: [usize; 3]) -> Result<Tensor<4>, ShapeError> {
    if size.contains(&0) || x.dims().contains(&0) {
        return Err(ShapeError::Empty {
            what: "nearest resize",
            shape: x.dims().to_vec(),
        });
    }
    let device = x.device();
    let mut out = x;
    for (axis, &target) in size.iter().enumerate() {
        let dim = axis + 1;
        let input = out.dims()[dim];
        if input == target {
            continue;
        }
        let index: Vec<i64> = (0..target).map(|i| ((i * input) / target) as i64).collect();
        let index: Tensor<1, Int> = Tensor::from_data(TensorData::new(index, [target]), &device);
        out = out.select(dim, index);
    }
    Ok(out)
}
