//! The PPO epoch loop (method.md 3): random `window`-frame windows of random training sequences
//! (method.md 1.3), one [`PpoTrainer::step`] per batch, and after every epoch a deterministic
//! validation (argmax rollouts on consecutive windows of each validation sequence, mean
//! reward, and with a caller's validity test the fraction of acceptable frames); the actor and
//! critic of the best validation score are kept (by default the original's `ModelCheckpoint` on
//! `val/reward`, max; see [`Selection`]). Deterministic from the seed.

use burn::tensor::Tensor;
use ndarray::{Array3, ArrayView3};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::RewardFn;
use super::ppo::{PpoConfig, PpoStats, Selection, config_error};
use super::ppo_trainer::PpoTrainer;
use super::window::{chunk_starts, device_of, stack_windows};
use crate::convert::int_values;
use crate::error::{ShapeError, TrainError};
use crate::policy::greedy;
use crate::unet::UNet;

/// Judges the greedy validation labels of one sequence, `[frames, H, W]` (its validation
/// windows stacked along time): the fraction of acceptable frames, in [0, 1]. The caller
/// supplies it (the anatomical criteria of method.md 6.1 live outside this crate).
pub type ValidityFn<'a> = dyn FnMut(&Array3<u8>) -> f64 + 'a;

/// The validation score of one set of weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValScore {
    /// Mean reward of the argmax rollouts.
    pub reward: f64,
    /// Mean over sequences of the fraction of acceptable frames (with a [`ValidityFn`]).
    pub valid_fraction: Option<f64>,
}

impl ValScore {
    /// Whether `self` beats `other` under `selection`.
    fn beats(&self, other: &ValScore, selection: Selection) -> bool {
        match (selection, self.valid_fraction, other.valid_fraction) {
            (Selection::Validity, Some(a), Some(b)) if a != b => a > b,
            _ => self.reward > other.reward,
        }
    }
}

/// Where training stands, for progress bars. `val` is set on the last report of an
/// epoch (when there is validation data).
#[derive(Debug, Clone, PartialEq)]
pub struct PpoProgress {
    /// 1-based epoch.
    pub epoch: usize,
    pub epochs: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps: usize,
    /// Statistics of this step (on the epoch's last report: the epoch mean).
    pub stats: PpoStats,
    pub val: Option<ValScore>,
}

/// One epoch of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean statistics over the epoch's steps.
    pub stats: PpoStats,
    /// Validation score after the epoch.
    pub val: Option<ValScore>,
}

/// The result of [`train_ppo`].
#[derive(Debug)]
pub struct PpoOutcome {
    /// Actor of the best epoch (best validation score under `selection`; the last epoch
    /// without validation data), in inference mode.
    pub actor: UNet,
    /// Critic of the same epoch.
    pub critic: UNet,
    /// 1-based epoch of `actor` (0: the input networks, when `epochs` = 0 or when
    /// `keep_input` is set and no epoch beat them).
    pub best_epoch: usize,
    pub best_val: Option<ValScore>,
    /// Validation score of the input actor, before any update (without `keep_input` a
    /// diagnostic only, as in the original: `actor` may score below it).
    pub initial_val: Option<ValScore>,
    pub history: Vec<PpoEpoch>,
}

/// Train `actor` and `critic` with PPO against the frozen `reference` policy.
///
/// `train` and `val` are `[T, H, W]` sequences with `T >= config.window` and frame sizes the
/// networks accept. Each step draws `batch_size` windows: sequences in a shuffled order (one
/// window per sequence per epoch when `steps_per_epoch` = 0), window starts uniform over
/// `0..=T - window` (the original's `randint(0, T - 4)` never picks the last start, an
/// off-by-one not reproduced). Windows of different frame sizes in one batch make one PPO
/// step per frame size. `reward` is called on every rollout and every validation batch;
/// `validity`, when given, on every validation sequence (required by
/// [`Selection::Validity`]).
#[allow(clippy::too_many_arguments)]
pub fn train_ppo<'a>(
    actor: UNet,
    critic: UNet,
    reference: UNet,
    train: &[ArrayView3<'a, f32>],
    val: &[ArrayView3<'a, f32>],
    config: &PpoConfig,
    seed: u64,
    reward: &mut RewardFn<'_>,
    mut validity: Option<&mut ValidityFn<'_>>,
    mut progress: impl FnMut(&PpoProgress),
) -> Result<PpoOutcome, TrainError> {
    config.validate()?;
    if config.selection == Selection::Validity && validity.is_none() {
        return Err(config_error(
            "`selection = \"validity\"` needs a validity test of the validation rollouts; use `selection = \"reward\"`".into(),
        ));
    }
    if train.is_empty() {
        return Err(config_error(
            "no training sequences; give at least one [T, H, W] sequence".into(),
        ));
    }
    for (index, seq) in train.iter().chain(val).enumerate() {
        check_sequence(&actor, seq, config.window)
            .map_err(|source| TrainError::Sample { index, source })?;
    }
    let device = device_of(&actor);
    let initial_val = if val.is_empty() {
        None
    } else {
        Some(validate(
            &actor,
            val,
            config.window,
            config.val_batch_size,
            reward,
            validity.as_deref_mut(),
        )?)
    };
    let mut best: Option<(UNet, UNet, usize, Option<ValScore>)> = match initial_val {
        Some(score) if config.keep_input => Some((actor.clone(), critic.clone(), 0, Some(score))),
        _ => None,
    };
    let mut trainer = PpoTrainer::new(actor, critic, reference, config.clone())?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let steps = if config.steps_per_epoch > 0 {
        config.steps_per_epoch
    } else {
        train.len().div_ceil(config.batch_size)
    };

    let mut order: Vec<usize> = Vec::new();
    let mut history = Vec::with_capacity(config.epochs);
    for epoch in 1..=config.epochs {
        let mut epoch_stats = Vec::with_capacity(steps);
        for step in 1..=steps {
            // (sequence, start) of each window, grouped by frame size.
            let mut picks: Vec<(usize, usize)> = Vec::with_capacity(config.batch_size);
            for _ in 0..config.batch_size {
                if order.is_empty() {
                    order = (0..train.len()).collect();
                    order.shuffle(&mut rng);
                }
                let index = order.pop().unwrap_or(0);
                let t = train[index].dim().0;
                picks.push((index, rng.random_range(0..=t - config.window)));
            }
            let mut groups: Vec<Vec<(usize, usize)>> = Vec::new();
            let frame = |i: usize| {
                let (_, h, w) = train[i].dim();
                (h, w)
            };
            for pick in picks {
                match groups.iter_mut().find(|g| frame(g[0].0) == frame(pick.0)) {
                    Some(group) => group.push(pick),
                    None => groups.push(vec![pick]),
                }
            }
            let mut step_stats = Vec::with_capacity(groups.len());
            for group in groups {
                let x = Tensor::cat(
                    group
                        .iter()
                        .map(|&(i, start)| {
                            stack_windows(train[i], &[start], config.window, &device)
                        })
                        .collect(),
                    0,
                );
                let stats = trainer.step(x, reward, &mut rng)?;
                step_stats.push((stats, group.len() as f64));
            }
            let stats = PpoStats::weighted_mean(&step_stats);
            epoch_stats.push(stats);
            progress(&PpoProgress {
                epoch,
                epochs: config.epochs,
                step,
                steps,
                stats,
                val: None,
            });
        }
        let stats = PpoStats::mean(&epoch_stats);
        let eval = trainer.actor();
        let val_score = if val.is_empty() {
            None
        } else {
            Some(validate(
                &eval,
                val,
                config.window,
                config.val_batch_size,
                reward,
                validity.as_deref_mut(),
            )?)
        };
        progress(&PpoProgress {
            epoch,
            epochs: config.epochs,
            step: steps,
            steps,
            stats,
            val: val_score,
        });
        let improved = match (&best, val_score) {
            (None, _) | (Some(_), None) | (Some((_, _, _, None)), Some(_)) => true,
            (Some((_, _, _, Some(previous))), Some(v)) => v.beats(previous, config.selection),
        };
        if improved {
            best = Some((eval, trainer.critic(), epoch, val_score));
        }
        history.push(PpoEpoch {
            epoch,
            stats,
            val: val_score,
        });
    }
    let (actor, critic, best_epoch, best_val) = match best {
        Some(b) => b,
        None => {
            let (a, c) = trainer.into_parts();
            (a, c, 0, initial_val)
        }
    };
    Ok(PpoOutcome {
        actor,
        critic,
        best_epoch,
        best_val,
        initial_val,
        history,
    })
}

/// Mean reward of argmax rollouts (method.md 3, "Validation"): each sequence is cut into
/// consecutive non-overlapping `window`-frame windows (the last one moved to the last `window`
/// frames when `T` is not a multiple), processed `batch` windows at a time; the reward is the
/// mean over sequences of the voxel-mean reward of each sequence's windows. With `validity`,
/// each sequence's greedy labels (its windows stacked along time) are judged too, and
/// `valid_fraction` is the mean over sequences.
pub fn validate(
    actor: &UNet,
    val: &[ArrayView3<'_, f32>],
    window: usize,
    batch: usize,
    reward: &mut RewardFn<'_>,
    mut validity: Option<&mut ValidityFn<'_>>,
) -> Result<ValScore, TrainError> {
    if val.is_empty() || window == 0 || batch == 0 {
        return Err(config_error(
            "validation needs sequences, `window` >= 1 and `val_batch_size` >= 1".into(),
        ));
    }
    let device = device_of(actor);
    let (mut total, mut valid_total) = (0.0, 0.0);
    for (index, seq) in val.iter().enumerate() {
        check_sequence(actor, seq, window)
            .map_err(|source| TrainError::Sample { index, source })?;
        let (_, h, w) = seq.dim();
        let starts = chunk_starts(seq.dim().0, window);
        let mut sum = 0.0;
        let mut frames: Vec<u8> = Vec::new();
        for group in starts.chunks(batch) {
            let x = stack_windows(*seq, group, window, &device);
            let actions = greedy(actor.forward(x.clone())?);
            if validity.is_some() {
                frames.extend(int_values(actions.clone()).into_iter().map(|v| v as u8));
            }
            let r = reward(x, actions)?;
            let mean = f64::from(r.mean().into_scalar::<f32>());
            sum += mean * group.len() as f64;
        }
        let mean = sum / starts.len() as f64;
        if !mean.is_finite() {
            return Err(TrainError::RlNonFinite {
                stage: super::ppo::STAGE,
                message: format!(
                    "validation sequence {index}: the reward is {mean}; check the reward nets"
                ),
            });
        }
        total += mean;
        if let Some(judge) = validity.as_deref_mut() {
            let labels = Array3::from_shape_vec((frames.len() / (h * w), h, w), frames)
                .map_err(|e| config_error(format!("validation labels: {e}")))?;
            valid_total += judge(&labels);
        }
    }
    let n = val.len() as f64;
    Ok(ValScore {
        reward: total / n,
        valid_fraction: validity.map(|_| valid_total / n),
    })
}

fn check_sequence(net: &UNet, seq: &ArrayView3<'_, f32>, window: usize) -> Result<(), ShapeError> {
    let (t, h, w) = seq.dim();
    if t < window {
        return Err(ShapeError::NotDivisible {
            shape: [1, 1, t, h, w],
            axis: "T",
            size: t,
            multiple: window,
        });
    }
    net.check_input([1, 1, window, h, w])
}
