//! The PPO epoch loop (method.md 3): random `window`-frame windows of random training sequences
//! (method.md 1.3), one [`PpoTrainer::step`] per batch, and after every epoch a deterministic
//! validation (argmax rollouts on consecutive windows of each validation sequence, mean
//! reward); the actor and critic of the best validation reward are kept (the original's
//! `ModelCheckpoint` on `val/reward`, max). Deterministic from the seed.

use burn::tensor::Tensor;
use ndarray::ArrayView3;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::RewardFn;
use super::ppo::{PpoConfig, PpoStats, config_error};
use super::ppo_trainer::PpoTrainer;
use super::window::{chunk_starts, device_of, stack_windows};
use crate::error::{ShapeError, TrainError};
use crate::policy::greedy;
use crate::unet::UNet;

/// Where training stands, for progress bars. `val_reward` is set on the last report of an
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
    pub val_reward: Option<f64>,
}

/// One epoch of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean statistics over the epoch's steps.
    pub stats: PpoStats,
    /// Mean validation reward after the epoch.
    pub val_reward: Option<f64>,
}

/// The result of [`train_ppo`].
#[derive(Debug)]
pub struct PpoOutcome {
    /// Actor of the best epoch (highest validation reward; the last epoch without validation
    /// data), in inference mode.
    pub actor: UNet,
    /// Critic of the same epoch.
    pub critic: UNet,
    /// 1-based epoch of `actor` (0 when `epochs` = 0: the input networks).
    pub best_epoch: usize,
    pub best_val_reward: Option<f64>,
    /// Validation reward of the input actor, before any update (a diagnostic: the original
    /// never compares against it, so `actor` may score below it).
    pub initial_val_reward: Option<f64>,
    pub history: Vec<PpoEpoch>,
}

/// Train `actor` and `critic` with PPO against the frozen `reference` policy.
///
/// `train` and `val` are `[T, H, W]` sequences with `T >= config.window` and frame sizes the
/// networks accept. Each step draws `batch_size` windows: sequences in a shuffled order (one
/// window per sequence per epoch when `steps_per_epoch` = 0), window starts uniform over
/// `0..=T - window` (the original's `randint(0, T - 4)` never picks the last start, an
/// off-by-one not reproduced). Windows of different frame sizes in one batch make one PPO
/// step per frame size. `reward` is called on every rollout and every validation batch.
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
    mut progress: impl FnMut(&PpoProgress),
) -> Result<PpoOutcome, TrainError> {
    config.validate()?;
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
    let initial_val_reward = if val.is_empty() {
        None
    } else {
        Some(validation_reward(
            &actor,
            val,
            config.window,
            config.val_batch_size,
            reward,
        )?)
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
    let mut best: Option<(UNet, UNet, usize, Option<f64>)> = None;
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
                val_reward: None,
            });
        }
        let stats = PpoStats::mean(&epoch_stats);
        let eval = trainer.actor();
        let val_reward = if val.is_empty() {
            None
        } else {
            Some(validation_reward(
                &eval,
                val,
                config.window,
                config.val_batch_size,
                reward,
            )?)
        };
        progress(&PpoProgress {
            epoch,
            epochs: config.epochs,
            step: steps,
            steps,
            stats,
            val_reward,
        });
        let improved = match (&best, val_reward) {
            (None, _) | (Some(_), None) => true,
            (Some((_, _, _, Some(previous))), Some(v)) => v > *previous,
            (Some((_, _, _, None)), Some(_)) => true,
        };
        if improved {
            best = Some((eval, trainer.critic(), epoch, val_reward));
        }
        history.push(PpoEpoch {
            epoch,
            stats,
            val_reward,
        });
    }
    let (actor, critic, best_epoch, best_val_reward) = match best {
        Some(b) => b,
        None => {
            let (a, c) = trainer.into_parts();
            (a, c, 0, initial_val_reward)
        }
    };
    Ok(PpoOutcome {
        actor,
        critic,
        best_epoch,
        best_val_reward,
        initial_val_reward,
        history,
    })
}

/// Mean reward of argmax rollouts (method.md 3, "Validation"): each sequence is cut into
/// consecutive non-overlapping `window`-frame windows (the last one moved to the last `window`
/// frames when `T` is not a multiple), processed `batch` windows at a time; the result is the
/// mean over sequences of the voxel-mean reward of each sequence's windows.
pub fn validation_reward(
    actor: &UNet,
    val: &[ArrayView3<'_, f32>],
    window: usize,
    batch: usize,
    reward: &mut RewardFn<'_>,
) -> Result<f64, TrainError> {
    if val.is_empty() || window == 0 || batch == 0 {
        return Err(config_error(
            "validation needs sequences, `window` >= 1 and `val_batch_size` >= 1".into(),
        ));
    }
    let device = device_of(actor);
    let mut total = 0.0;
    for (index, seq) in val.iter().enumerate() {
        check_sequence(actor, seq, window)
            .map_err(|source| TrainError::Sample { index, source })?;
        let starts = chunk_starts(seq.dim().0, window);
        let mut sum = 0.0;
        for group in starts.chunks(batch) {
            let x = stack_windows(*seq, group, window, &device);
            let actions = greedy(actor.forward(x.clone())?);
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
    }
    Ok(total / val.len() as f64)
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
