//! Reward-net training (method.md 5): the net reads `[image, label map as float]`
//! ([`reward_input`]) and learns the per-voxel correctness target (1 = the label is right) with
//! MSE on the sigmoid (the original; BCE optional), Adam, validation loss after every epoch,
//! the best weights by validation loss, `ReduceLROnPlateau` on the validation loss, and at the
//! end temperature scaling on the validation set ([`super::temperature`]). Deterministic from
//! the seed.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use ndarray::ArrayView3;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::reward_eval::{Evaluation, Plateau, batch_tensors, evaluate};
use super::temperature::fit_temperature;
use super::window::device_of;
use crate::error::{ShapeError, TrainError};
use crate::loss::mse;
use crate::unet::UNet;

pub(super) const STAGE: &str = "reward-net training";

/// The reward net's training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RewardLoss {
    /// `MSE(sigmoid(logit), y)`, the original's `nn.MSELoss` (method.md 5, 12.4).
    #[default]
    Mse,
    /// Binary cross-entropy with logits.
    Bce,
}

/// Reward-net training settings (method.md 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RewardTrainConfig {
    /// Epochs (method.md 5: 100 by default, 50 in the auto-iteration loop).
    pub epochs: usize,
    /// Adam learning rate (method.md 5: 1e-3).
    pub lr: f64,
    /// Samples per optimiser step. The original uses batch 1 with 16 accumulated batches; the
    /// loss here is the voxel mean over the batch, i.e. the mean of the per-sample losses as
    /// accumulation gives (samples of the same shape).
    pub batch_size: usize,
    /// Optimiser steps per epoch; 0 = one pass over the training set.
    pub steps_per_epoch: usize,
    /// Loss: `mse` (the original) or `bce`.
    pub loss: RewardLoss,
    /// `ReduceLROnPlateau` factor (torch default 0.1).
    pub plateau_factor: f64,
    /// `ReduceLROnPlateau` patience in epochs (torch default 10).
    pub plateau_patience: usize,
    /// Fit the temperature on the validation set after training (method.md 5).
    pub fit_temperature: bool,
    /// Validation voxels used for the temperature fit at most (an even subsample beyond).
    pub temperature_voxels: usize,
}

impl Default for RewardTrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            lr: 1e-3,
            batch_size: 4,
            steps_per_epoch: 0,
            loss: RewardLoss::Mse,
            plateau_factor: 0.1,
            plateau_patience: 10,
            fit_temperature: true,
            temperature_voxels: 2_000_000,
        }
    }
}

/// One reward-net sample, all `[T, H, W]`: the image, the label map that was judged, and the
/// target (1 = that voxel's label is right, 0 = wrong; method.md 4.8: `gt == pred`).
#[derive(Debug, Clone, Copy)]
pub struct RewardSample<'a> {
    pub image: ArrayView3<'a, f32>,
    pub seg: ArrayView3<'a, u8>,
    pub target: ArrayView3<'a, f32>,
}

/// Where training stands, for progress bars. `val_loss` is set on an epoch's last report.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardProgress {
    /// 1-based epoch.
    pub epoch: usize,
    pub epochs: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps: usize,
    /// Loss of this step (on the epoch's last report: the epoch mean).
    pub loss: f64,
    pub val_loss: Option<f64>,
}

/// One epoch of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RewardEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: f64,
    /// Fraction of validation voxels where `(sigmoid > 0.5) == (target > 0.5)`.
    pub val_accuracy: f64,
    /// Among validation voxels with a wrong label (target <= 0.5), the fraction predicted
    /// wrong (sigmoid < 0.5): how many known errors the net finds. NaN without such voxels.
    pub val_error_recall: f64,
    /// Learning rate used during this epoch.
    pub lr: f64,
}

/// The result of [`train_reward`].
#[derive(Debug)]
pub struct RewardOutcome {
    /// Weights of the epoch with the lowest validation loss, in inference mode.
    pub best: UNet,
    /// 1-based epoch of `best`.
    pub best_epoch: usize,
    /// Fitted temperature (1.0 when `fit_temperature` is off).
    pub temperature: f64,
    pub history: Vec<RewardEpoch>,
    /// Validation metrics of `best`.
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_error_recall: f64,
}

/// The reward net's loss.
///
/// # Shapes
/// - logits and targets `[B, 1, T, H, W]` -> `[1]`
pub fn reward_loss(logits: Tensor<5>, target: Tensor<5>, kind: RewardLoss) -> Tensor<1> {
    match kind {
        RewardLoss::Mse => mse(sigmoid(logits), target),
        RewardLoss::Bce => {
            // max(x, 0) - x y + ln(1 + e^-|x|)
            let softplus = logits.clone().abs().neg().exp().log1p();
            (logits.clone().clamp_min(0.0) - logits * target + softplus).mean()
        }
    }
}

/// Train a reward net (`roles::reward_config`: in 2, out 1; built on a plain device).
/// `val` must not be empty: it selects the best weights and fits the temperature.
pub fn train_reward<'a>(
    net: UNet,
    train: &[RewardSample<'a>],
    val: &[RewardSample<'a>],
    config: &RewardTrainConfig,
    seed: u64,
    mut progress: impl FnMut(&RewardProgress),
) -> Result<RewardOutcome, TrainError> {
    check_config(config, &net, train.len(), val.len())?;
    for (index, s) in train.iter().chain(val).enumerate() {
        check_sample(&net, s).map_err(|source| TrainError::Sample { index, source })?;
    }
    let device = device_of(&net);
    let mut model = net.train();
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let steps = if config.steps_per_epoch > 0 {
        config.steps_per_epoch
    } else {
        shuffled_batches(train, config.batch_size, &mut rng.clone()).len()
    };
    let mut plateau = Plateau::new(config.lr, config.plateau_factor, config.plateau_patience);
    let mut pending: Vec<Vec<usize>> = Vec::new();
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(UNet, usize, Evaluation)> = None;
    for epoch in 1..=config.epochs {
        let lr = plateau.lr;
        let mut loss_sum = 0.0;
        for step in 1..=steps {
            if pending.is_empty() {
                pending = shuffled_batches(train, config.batch_size, &mut rng);
                pending.reverse();
            }
            let batch = pending.pop().unwrap_or_default();
            let members: Vec<&RewardSample<'_>> = batch.iter().map(|&i| &train[i]).collect();
            let (x, y) = batch_tensors(&members, &device)?;
            let loss = reward_loss(model.forward(x)?, y, config.loss);
            let value = f64::from(loss.clone().detach().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(TrainError::RlNonFinite {
                    stage: STAGE,
                    message: format!(
                        "the loss became {value} at epoch {epoch}, step {step}; lower `lr`"
                    ),
                });
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
            loss_sum += value;
            progress(&RewardProgress {
                epoch,
                epochs: config.epochs,
                step,
                steps,
                loss: value,
                val_loss: None,
            });
        }
        let eval_net = model.valid();
        let eval = evaluate(&eval_net, val, config, &device)?;
        let train_loss = loss_sum / steps.max(1) as f64;
        progress(&RewardProgress {
            epoch,
            epochs: config.epochs,
            step: steps,
            steps,
            loss: train_loss,
            val_loss: Some(eval.loss),
        });
        history.push(RewardEpoch {
            epoch,
            train_loss,
            val_loss: eval.loss,
            val_accuracy: eval.accuracy,
            val_error_recall: eval.error_recall,
            lr,
        });
        plateau.observe(eval.loss);
        if best.as_ref().is_none_or(|(_, _, b)| eval.loss < b.loss) {
            best = Some((eval_net, epoch, eval));
        }
    }
    let (best, best_epoch, eval) = match best {
        Some(b) => b,
        None => {
            let eval_net = model.valid();
            let eval = evaluate(&eval_net, val, config, &device)?;
            (eval_net, 0, eval)
        }
    };
    let temperature = if config.fit_temperature {
        fit_temperature(&eval.logits, &eval.targets)
    } else {
        1.0
    };
    Ok(RewardOutcome {
        best,
        best_epoch,
        temperature,
        history,
        val_loss: eval.loss,
        val_accuracy: eval.accuracy,
        val_error_recall: eval.error_recall,
    })
}

fn check_config(
    config: &RewardTrainConfig,
    net: &UNet,
    n_train: usize,
    n_val: usize,
) -> Result<(), TrainError> {
    let fail = |message: String| {
        Err(TrainError::RlConfig {
            stage: STAGE,
            message,
        })
    };
    if n_train == 0 || n_val == 0 {
        return fail(format!(
            "{n_train} training and {n_val} validation samples; both need at least one (the original keeps 10 % for validation)"
        ));
    }
    let c = net.config();
    if (c.in_channels, c.out_channels) != (2, 1) {
        return fail(format!(
            "the net maps {} -> {} channels; build it with roles::reward_config (2 -> 1)",
            c.in_channels, c.out_channels
        ));
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return fail(format!("`lr` = {} must be > 0", config.lr));
    }
    if !(config.plateau_factor > 0.0 && config.plateau_factor <= 1.0) {
        return fail(format!(
            "`plateau_factor` = {} must be in (0, 1] (1 = no decay)",
            config.plateau_factor
        ));
    }
    if config.batch_size == 0 {
        return fail("`batch_size` must be >= 1 (got 0)".into());
    }
    Ok(())
}

fn check_sample(net: &UNet, s: &RewardSample<'_>) -> Result<(), ShapeError> {
    let (t, h, w) = s.image.dim();
    for (what, dim) in [
        ("reward sample: image vs seg", s.seg.dim()),
        ("reward sample: image vs target", s.target.dim()),
    ] {
        if dim != (t, h, w) {
            return Err(ShapeError::Mismatch {
                what,
                left: vec![t, h, w],
                right: vec![dim.0, dim.1, dim.2],
                hint: "image, seg and target are all [T, H, W]",
            });
        }
    }
    net.check_input([1, 2, t, h, w])
}

/// Shuffled batches of up to `size` samples of the same shape.
fn shuffled_batches(
    samples: &[RewardSample<'_>],
    size: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.shuffle(rng);
    let mut shapes: Vec<(usize, usize, usize)> =
        order.iter().map(|&i| samples[i].image.dim()).collect();
    shapes.sort_unstable();
    shapes.dedup();
    let mut batches = Vec::new();
    for shape in shapes {
        let same: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| samples[i].image.dim() == shape)
            .collect();
        batches.extend(same.chunks(size.max(1)).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::float_values;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn losses_match_hand_values() {
        let device = Device::flex();
        let logits: Tensor<5> =
            Tensor::from_data(TensorData::new(vec![0.0f32, 2.0], [1, 1, 1, 1, 2]), &device);
        let target: Tensor<5> =
            Tensor::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 1, 1, 1, 2]), &device);
        let m = float_values(reward_loss(logits.clone(), target.clone(), RewardLoss::Mse))[0];
        let s2 = 1.0 / (1.0 + (-2.0f32).exp());
        assert!((m - (0.25 + s2 * s2) / 2.0).abs() < 1e-6, "{m}");
        let b = float_values(reward_loss(logits, target, RewardLoss::Bce))[0];
        let expected = (2f32.ln() + (1.0 + 2f32.exp()).ln()) / 2.0;
        assert!((b - expected).abs() < 1e-5, "{b} vs {expected}");
    }
}
