//! Test-time optimisation of the actor on one sequence (method.md 7.3, PPO3D `ttoptimize`):
//! the sequence is cut into 4-frame chunks, each chunk is rolled out (with sampling) on a few
//! contrast- and noise-augmented copies, and the actor is updated with the PPO loss of
//! method.md 3 on the original chunk against the frozen reference; the weights with the best
//! worst-frame mean reward are kept.
//!
//! Choices (method.md 7.3, 12.9):
//! - lr 1e-3 (what the original really uses; its config's 0.01 is overwritten), beta 0.01 and
//!   c_ent 0.1 (the config values; the in-method assignments are dead code), a fresh Adam per
//!   call, the critic (if any) only gives the baseline `V` and is never stepped.
//! - The score of a pass is `min` over chunks, augmentations and frames of the frame-mean
//!   reward. The original measures pass `i` mostly with the weights from *before* its updates
//!   but stores the weights from *after* them (a quirk). Here every pass first rolls out all
//!   chunks with the current weights (that rollout is the score of exactly these weights), then
//!   updates chunk by chunk from those rollouts (standard PPO: `logp_old` is the rollout
//!   policy's). Pass 0 is the initial score; passes `1..=iterations` score the weights after
//!   `1..=iterations` update rounds, so the final weights are scored too.
//! - The original does not reset the actor between sequences when TTO is not triggered
//!   (method.md 12.9). Here the actor is taken by value and the caller passes a fresh copy of
//!   the pretrained actor for every sequence, so no adaptation leaks into the next one.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Int, Tensor, TensorData};
use ndarray::{Array3, ArrayView3, Axis, Slice};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::RewardFn;
use super::ppo::{ActorTerms, actor_loss};
use super::window::{chunk_starts, device_of};
use crate::convert::float_values;
use crate::error::{ShapeError, TrainError};
use crate::policy::{action_log_prob, entropy, sample};
use crate::roles::critic_values;
use crate::train::clip::clip_grad_norm;
use crate::unet::UNet;

const STAGE: &str = "test-time optimisation";

/// TTO settings; defaults are what the original actually runs (method.md 7.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TtoConfig {
    /// Adam learning rate (method.md 7.3: 1e-3; the config's 0.01 is overwritten).
    pub lr: f64,
    /// Divergence weight beta (method.md 7.3: 0.01).
    pub divergence_coeff: f64,
    /// Entropy weight (method.md 7.3: 0.1).
    pub entropy_coeff: f64,
    /// PPO clip range (method.md 3: 0.2).
    pub clip: f64,
    /// Update rounds over the sequence; `iterations + 1` passes are scored (method.md 7.3: 4).
    pub iterations: usize,
    /// Augmented rollouts per chunk and pass (method.md 7.3: 3).
    pub augmentations: usize,
    /// Contrast factor range, uniform (method.md 7.3: [0.4, 0.8]).
    pub contrast_range: [f64; 2],
    /// Standard deviation range of the additive Gaussian noise, uniform (method.md 7.3:
    /// [0.001, 0.01]).
    pub noise_range: [f64; 2],
    /// Global gradient-norm clip (method.md 7.3: 0.5); 0 = none.
    pub grad_clip: f64,
    /// Frames per chunk (method.md 7.3: 4).
    pub window: usize,
}

impl Default for TtoConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            divergence_coeff: 0.01,
            entropy_coeff: 0.1,
            clip: 0.2,
            iterations: 4,
            augmentations: 3,
            contrast_range: [0.4, 0.8],
            noise_range: [0.001, 0.01],
            grad_clip: 0.5,
            window: 4,
        }
    }
}

impl TtoConfig {
    /// Check every field; the error names the field and the accepted range.
    pub fn validate(&self) -> Result<(), TrainError> {
        let fail = |message: String| {
            Err(TrainError::RlConfig {
                stage: STAGE,
                message,
            })
        };
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return fail(format!("`lr` = {} must be > 0", self.lr));
        }
        for (name, v) in [
            ("divergence_coeff", self.divergence_coeff),
            ("entropy_coeff", self.entropy_coeff),
            ("clip", self.clip),
            ("grad_clip", self.grad_clip),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return fail(format!("`{name}` = {v} must be finite and >= 0"));
            }
        }
        if self.augmentations == 0 || self.window == 0 {
            return fail("`augmentations` and `window` must be >= 1".into());
        }
        for (name, [lo, hi]) in [
            ("contrast_range", self.contrast_range),
            ("noise_range", self.noise_range),
        ] {
            if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
                return fail(format!(
                    "`{name}` = [{lo}, {hi}] must be finite with 0 <= low <= high"
                ));
            }
        }
        Ok(())
    }
}

/// The result of [`tto_sequence`].
#[derive(Debug)]
pub struct TtoOutcome {
    /// The best-scoring weights, in inference mode (the input weights when no pass beat them).
    pub actor: UNet,
    /// Score of `actor`: min over chunks, augmentations and frames of the frame-mean reward.
    pub best_score: f64,
    /// Score of the input weights (pass 0).
    pub initial_score: f64,
    /// Scored passes (`iterations + 1`).
    pub passes: usize,
    /// Pass index of `actor` (0 = the input weights).
    pub best_pass: usize,
    /// Score of every pass.
    pub scores: Vec<f64>,
}

/// `adjust_contrast` as torchvision's, per frame (method.md 4):
/// `x' = clamp(f x + (1 - f) mean_frame(x), 0, 1)`.
pub fn adjust_contrast(frames: &mut Array3<f32>, factor: f32) {
    for mut frame in frames.axis_iter_mut(Axis(0)) {
        let n = frame.len().max(1) as f32;
        let mean = frame.sum() / n;
        frame.mapv_inplace(|x| (factor * x + (1.0 - factor) * mean).clamp(0.0, 1.0));
    }
}

/// One TTO augmentation (method.md 7.3): contrast `U(contrast_range)`, plus `N(0, 1) sigma`
/// with `sigma ~ U(noise_range)`, divided by the chunk's maximum (when > 0).
fn augment(chunk: ArrayView3<'_, f32>, config: &TtoConfig, rng: &mut ChaCha8Rng) -> Array3<f32> {
    let uniform = |rng: &mut ChaCha8Rng, [lo, hi]: [f64; 2]| {
        if hi > lo {
            rng.random_range(lo..hi)
        } else {
            lo
        }
    };
    let factor = uniform(rng, config.contrast_range) as f32;
    let sigma = uniform(rng, config.noise_range) as f32;
    let mut x = chunk.to_owned();
    adjust_contrast(&mut x, factor);
    x.mapv_inplace(|v| v + sigma * rng.sample::<f32, _>(StandardNormal));
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max > 0.0 {
        x.mapv_inplace(|v| v / max);
    }
    x
}

/// The rollouts of one chunk in one pass.
struct ChunkRollout {
    actions: Tensor<4, Int>,
    logp_old: Tensor<4>,
    reward: Tensor<4>,
}

/// Test-time optimisation of `actor` on one `[T, H, W]` sequence (`T >= window`); see the
/// module doc. `reward(image, actions)` is the training-path fused reward (method.md 7.3:
/// with the per-frame normalisation), called on the augmented chunk `[n_aug, 1, window, H, W]`
/// and its sampled actions `[n_aug, window, H, W]`. `critic` gives the advantage baseline `V`
/// (the original uses its critic); `None` uses `V = 0`.
pub fn tto_sequence(
    actor: UNet,
    reference: &UNet,
    critic: Option<&UNet>,
    image: ArrayView3<'_, f32>,
    config: &TtoConfig,
    reward: &mut RewardFn<'_>,
    rng: &mut ChaCha8Rng,
) -> Result<TtoOutcome, TrainError> {
    config.validate()?;
    let (t, h, w) = image.dim();
    let starts = chunk_starts(t, config.window);
    if starts.is_empty() {
        return Err(TrainError::RlConfig {
            stage: STAGE,
            message: format!(
                "the sequence has {t} frames, fewer than `window` = {}",
                config.window
            ),
        });
    }
    actor.check_input([1, 1, config.window, h, w])?;
    let device = device_of(&actor);
    let n_aug = config.augmentations;
    let frames =
        |start: usize| image.slice_axis(Axis(0), Slice::from(start..start + config.window));
    let to_tensor = |values: Vec<f32>, n: usize| -> Tensor<5> {
        Tensor::from_data(
            TensorData::new(values, [n, 1, config.window, h, w]),
            &device,
        )
    };
    let chunks: Vec<Tensor<5>> = starts
        .iter()
        .map(|&s| to_tensor(frames(s).iter().copied().collect(), 1))
        .collect();
    // Frozen terms of each chunk: log pi_ref needs the actions, so only the reference logits
    // and the critic's baseline are cached.
    let reference = reference.valid();
    let mut cached = Vec::with_capacity(chunks.len());
    for chunk in &chunks {
        let ref_logits = reference.forward(chunk.clone())?;
        let value = match critic {
            Some(c) => critic_values(&c.valid(), chunk.clone())?
                .into_iter()
                .next()
                .ok_or(ShapeError::Empty {
                    what: "critic output",
                    shape: vec![0],
                })?,
            None => Tensor::zeros([1, config.window, h, w], &device),
        };
        cached.push((ref_logits, value.repeat_dim(0, n_aug)));
    }

    let mut model = actor.train();
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut scores = Vec::with_capacity(config.iterations + 1);
    let mut best: Option<(UNet, f64, usize)> = None;
    for pass in 0..=config.iterations {
        // Rollouts of every chunk with the current weights: they score these weights.
        let policy = model.valid();
        let mut rollouts = Vec::with_capacity(chunks.len());
        let mut lowest = f64::INFINITY;
        for &start in &starts {
            let mut values = Vec::with_capacity(n_aug * config.window * h * w);
            for _ in 0..n_aug {
                values.extend(augment(frames(start), config, rng));
            }
            let x = to_tensor(values, n_aug);
            let logits = policy.forward(x.clone())?;
            let actions = sample(logits.clone(), rng);
            let logp_old = action_log_prob(logits, actions.clone())?;
            let r = reward(x, actions.clone())?.detach().without_autodiff();
            if r.dims() != [n_aug, config.window, h, w] {
                return Err(ShapeError::Mismatch {
                    what: "TTO reward callback output vs actions",
                    left: r.dims().to_vec(),
                    right: vec![n_aug, config.window, h, w],
                    hint: "the reward callback must return a [B, T, H, W] map like the actions",
                }
                .into());
            }
            let frame_means: Tensor<2> = r
                .clone()
                .reshape([n_aug, config.window, h * w])
                .mean_dim(2)
                .reshape([n_aug, config.window]);
            let worst = float_values(frame_means)
                .into_iter()
                .map(f64::from)
                .fold(f64::INFINITY, f64::min);
            if !worst.is_finite() {
                return Err(TrainError::RlNonFinite {
                    stage: STAGE,
                    message: format!("pass {pass}: the reward is {worst}; check the reward nets"),
                });
            }
            lowest = lowest.min(worst);
            rollouts.push(ChunkRollout {
                actions,
                logp_old,
                reward: r,
            });
        }
        scores.push(lowest);
        let better = best.as_ref().is_none_or(|(_, score, _)| lowest > *score);
        if better {
            best = Some((policy, lowest, pass));
        }
        if pass == config.iterations {
            break;
        }
        // One update per chunk: the PPO loss on the original chunk, averaged over the
        // augmented rollouts (the original divides each loss by #augs and accumulates).
        for ((chunk, rollout), (ref_logits, value)) in chunks.iter().zip(rollouts).zip(&cached) {
            let logits = model.forward(chunk.clone())?.repeat_dim(0, n_aug);
            let logp = action_log_prob(logits.clone(), rollout.actions.clone())?;
            let logp_ref =
                action_log_prob(ref_logits.clone().repeat_dim(0, n_aug), rollout.actions)?;
            let terms = ActorTerms {
                logp,
                logp_old: rollout.logp_old,
                logp_ref,
                entropy: entropy(logits),
                reward: rollout.reward,
                value: value.clone(),
            };
            let (loss, stats) = actor_loss(
                terms,
                config.clip,
                config.entropy_coeff,
                config.divergence_coeff,
            )?;
            if !stats.actor_loss.is_finite() {
                return Err(TrainError::RlNonFinite {
                    stage: STAGE,
                    message: format!(
                        "the loss became {} in pass {pass}; lower `lr`",
                        stats.actor_loss
                    ),
                });
            }
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            if config.grad_clip > 0.0 {
                clip_grad_norm(&model, &mut grads, config.grad_clip);
            }
            model = optim.step(config.lr, model, grads);
        }
    }
    let (actor, best_score, best_pass) = best.unwrap_or_else(|| (model.valid(), f64::NAN, 0));
    Ok(TtoOutcome {
        actor,
        best_score,
        initial_score: scores.first().copied().unwrap_or(f64::NAN),
        passes: scores.len(),
        best_pass,
        scores,
    })
}
