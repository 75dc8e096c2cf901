//! Test-time optimisation of the actor on one sequence (method.md 7.3, PPO3D `ttoptimize`):
//! the sequence is cut into 4-frame chunks, each chunk is rolled out (with sampling) on a few
//! contrast- and noise-augmented copies, and the actor is updated with the PPO loss of
//! method.md 3 on the original chunk against the frozen reference; the best-scoring weights
//! are kept (the original's score: the worst frame-mean reward of the rollouts).
//!
//! Choices (method.md 7.3, 12.9):
//! - lr 1e-3 (what the original really uses; its config's 0.01 is overwritten), beta 0.01 and
//!   c_ent 0.1 (the config values; the in-method assignments are dead code), a fresh Adam per
//!   call, the critic (if any) only gives the baseline `V` and is never stepped.
//! - With `score = "rollouts"`, the score of a pass is `min` over chunks, augmentations and
//!   frames of the frame-mean reward. The original measures pass `i` mostly with the weights
//!   from *before* its updates but stores the weights from *after* them (a quirk). Here every pass first rolls out all
//!   chunks with the current weights (that rollout is the score of exactly these weights), then
//!   updates chunk by chunk from those rollouts (standard PPO: `logp_old` is the rollout
//!   policy's). Pass 0 is the initial score; passes `1..=iterations` score the weights after
//!   `1..=iterations` update rounds, so the final weights are scored too.
//! - Two extensions score a pass by what it would output: `score = "prediction"` by the worst
//!   frame mean of the raw (not normalised) fused reward of the argmax of the un-augmented
//!   chunks, `score = "validity"` by the caller's judgement of its output with the pass's
//!   weights (e.g. the fraction of anatomically valid frames of the TTA prediction after
//!   clean-up); a pass must be strictly more valid to replace the input weights, so TTO never
//!   makes the caller's output less valid. The original's score (`rollouts`, the default as
//!   every default here is the original's) takes the worst frame of sampled rollouts on
//!   contrast-reduced copies under per-frame min-max normalised rewards, which says little about
//!   the output: on the synthetic `adapt` job TTO with it lowered Dice on all 3 seeds, and so did
//!   `prediction` on seed 0 (the reward net, trained on the loop's distortions, can be pleased
//!   by predictions that are further from the truth); README, "The main job", has the figures.
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
use crate::policy::{action_log_prob, entropy, greedy, sample};
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
    /// How a pass is scored (see the module doc); the original: `rollouts`.
    pub score: TtoScore,
}

/// How [`tto_sequence`] scores the weights of a pass (the best score is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TtoScore {
    /// The original's: worst frame mean over the sampled rollouts on the augmented chunks, with
    /// the rollouts' (normalised) reward.
    #[default]
    Rollouts,
    /// Worst frame mean of the raw fused reward of the argmax prediction on the original
    /// sequence: the score of what the pass would output.
    Prediction,
    /// The caller's judgement of its output with the pass's weights (e.g. the fraction of
    /// anatomically valid frames): a pass replaces the input weights only when it is strictly
    /// more valid (on a tie the earlier pass stays; the reward is reported, not used).
    Validity,
}

impl TtoScore {
    /// Whether a pass scoring `new` replaces the best so far, `old` (strictly better only, so
    /// ties keep the earlier pass, the input weights first).
    pub fn prefers(self, new: PassScore, old: PassScore) -> bool {
        match self {
            TtoScore::Rollouts | TtoScore::Prediction => new.reward > old.reward,
            TtoScore::Validity => new.valid > old.valid,
        }
    }
}

/// The score of one TTO pass (which field decides: [`TtoScore::prefers`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassScore {
    /// The output's validity (`score = "validity"`; 0 otherwise).
    pub valid: f64,
    /// Worst frame-mean reward (see [`TtoScore`]).
    pub reward: f64,
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
            score: TtoScore::default(),
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
    /// Score of `actor` (see [`TtoScore`]).
    pub best_score: PassScore,
    /// Score of the input weights (pass 0).
    pub initial_score: PassScore,
    /// Scored passes (`iterations + 1`).
    pub passes: usize,
    /// Pass index of `actor` (0 = the input weights).
    pub best_pass: usize,
    /// Score of every pass.
    pub scores: Vec<PassScore>,
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

/// The output validity test of `score = "validity"`: the caller predicts with the given weights
/// as it would for its output and returns a validity in [0, 1] (higher is better).
pub type OutputValidityFn<'a> = dyn FnMut(&UNet) -> Result<f64, TrainError> + 'a;

/// The callbacks of [`tto_sequence`]: the rollouts' (training-path, normalised) reward, the raw
/// reward that scores a pass's prediction (`score = "prediction"`, reported by `"validity"`), and
/// the output validity test (needed by `score = "validity"`).
pub struct TtoJudges<'r, 'f> {
    pub rollout: &'r mut RewardFn<'f>,
    pub score: &'r mut RewardFn<'f>,
    pub validity: Option<&'r mut OutputValidityFn<'f>>,
}

/// Worst frame mean of a reward map `[B, T, H, W]`.
fn worst_frame_mean(r: Tensor<4>) -> f64 {
    let [b, t, h, w] = r.dims();
    let frame_means: Tensor<2> = r.reshape([b, t, h * w]).mean_dim(2).reshape([b, t]);
    float_values(frame_means)
        .into_iter()
        .map(f64::from)
        .fold(f64::INFINITY, f64::min)
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
/// and its sampled actions `[n_aug, window, H, W]`. `score(chunk, actions)` is the raw fused
/// reward used by `score = "prediction"` on one original chunk `[1, 1, window, H, W]` and its
/// argmax actions. `critic` gives the advantage baseline `V` (the original uses its critic);
/// `None` uses `V = 0`.
pub fn tto_sequence(
    actor: UNet,
    reference: &UNet,
    critic: Option<&UNet>,
    image: ArrayView3<'_, f32>,
    config: &TtoConfig,
    judges: TtoJudges<'_, '_>,
    rng: &mut ChaCha8Rng,
) -> Result<TtoOutcome, TrainError> {
    let TtoJudges {
        rollout: reward,
        score,
        mut validity,
    } = judges;
    config.validate()?;
    if config.score == TtoScore::Validity && validity.is_none() {
        return Err(TrainError::RlConfig {
            stage: STAGE,
            message: "`score = \"validity\"` needs a validity test; use `score = \"prediction\"`"
                .into(),
        });
    }
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
    let mut best: Option<(UNet, PassScore, usize)> = None;
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
            let worst = worst_frame_mean(r.clone());
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
        let this = match config.score {
            TtoScore::Rollouts => PassScore {
                valid: 0.0,
                reward: lowest,
            },
            TtoScore::Prediction => PassScore {
                valid: 0.0,
                reward: score_prediction(&policy, &chunks, score)?,
            },
            TtoScore::Validity => {
                let judge = validity.as_deref_mut().ok_or(TrainError::RlConfig {
                    stage: STAGE,
                    message: "`score = \"validity\"` needs a validity test".into(),
                })?;
                let valid = judge(&policy)?;
                if !valid.is_finite() {
                    return Err(TrainError::Callback {
                        stage: STAGE,
                        message: format!("pass {pass}: the validity test returned {valid}"),
                    });
                }
                PassScore {
                    valid,
                    reward: score_prediction(&policy, &chunks, score)?,
                }
            }
        };
        scores.push(this);
        let better = best
            .as_ref()
            .is_none_or(|(_, kept, _)| config.score.prefers(this, *kept));
        if better {
            best = Some((policy, this, pass));
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
    let nan = PassScore {
        valid: f64::NAN,
        reward: f64::NAN,
    };
    let (actor, best_score, best_pass) = best.unwrap_or_else(|| (model.valid(), nan, 0));
    Ok(TtoOutcome {
        actor,
        best_score,
        initial_score: scores.first().copied().unwrap_or(nan),
        passes: scores.len(),
        best_pass,
        scores,
    })
}

/// The worst frame-mean raw reward of what `policy` would output on the original chunks (their
/// argmax), for `score = "prediction"` (and reported by `"validity"`).
fn score_prediction(
    policy: &UNet,
    chunks: &[Tensor<5>],
    reward: &mut RewardFn<'_>,
) -> Result<f64, TrainError> {
    let mut worst = f64::INFINITY;
    for chunk in chunks {
        let actions = greedy(policy.forward(chunk.clone())?);
        let raw = reward(chunk.clone(), actions)?.detach().without_autodiff();
        worst = worst.min(worst_frame_mean(raw));
    }
    if !worst.is_finite() {
        return Err(TrainError::RlNonFinite {
            stage: STAGE,
            message: format!("the reward of the prediction is {worst}; check the reward nets"),
        });
    }
    Ok(worst)
}
