//! Helpers of reward-net training ([`super::reward_train`]): batching same-shape samples into
//! tensors, the validation pass (loss, accuracy, error recall, and a subsample of logits for
//! the temperature fit) and the hand-written `ReduceLROnPlateau`.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::reward_train::{RewardLoss, RewardSample, RewardTrainConfig, STAGE};
use crate::convert::float_values;
use crate::error::TrainError;
use crate::roles::reward_input;
use crate::unet::UNet;

/// Input `[n, 2, T, H, W]` and target `[n, 1, T, H, W]` of same-shape samples.
pub(super) fn batch_tensors(
    members: &[&RewardSample<'_>],
    device: &Device,
) -> Result<(Tensor<5>, Tensor<5>), TrainError> {
    let Some(first) = members.first() else {
        return Err(TrainError::RlConfig {
            stage: STAGE,
            message: "empty batch".into(),
        });
    };
    let (t, h, w) = first.image.dim();
    let n = members.len();
    let image: Vec<f32> = members
        .iter()
        .flat_map(|s| s.image.iter().copied())
        .collect();
    let seg: Vec<i64> = members
        .iter()
        .flat_map(|s| s.seg.iter().map(|&v| i64::from(v)))
        .collect();
    let target: Vec<f32> = members
        .iter()
        .flat_map(|s| s.target.iter().copied())
        .collect();
    let image = Tensor::from_data(TensorData::new(image, [n, 1, t, h, w]), device);
    let seg: Tensor<4, Int> = Tensor::from_data(TensorData::new(seg, [n, t, h, w]), device);
    let target = Tensor::from_data(TensorData::new(target, [n, 1, t, h, w]), device);
    Ok((reward_input(image, seg)?, target))
}

/// Validation metrics, and a subsample of logits and targets for the temperature fit.
pub(super) struct Evaluation {
    pub(super) loss: f64,
    pub(super) accuracy: f64,
    pub(super) error_recall: f64,
    pub(super) logits: Vec<f32>,
    pub(super) targets: Vec<f32>,
}

pub(super) fn evaluate(
    net: &UNet,
    val: &[RewardSample<'_>],
    config: &RewardTrainConfig,
    device: &Device,
) -> Result<Evaluation, TrainError> {
    let total: usize = val.iter().map(|s| s.image.len()).sum();
    let stride = total.div_ceil(config.temperature_voxels.max(1)).max(1);
    let (mut loss, mut correct, mut errors, mut found) = (0.0, 0usize, 0usize, 0usize);
    let mut logits_kept = Vec::new();
    let mut targets_kept = Vec::new();
    let mut seen = 0usize;
    for sample in val {
        let (x, _) = batch_tensors(&[sample], device)?;
        let logits = float_values(net.forward(x)?);
        for (&l, &y) in logits.iter().zip(sample.target.iter()) {
            let (l64, y64) = (f64::from(l), f64::from(y));
            loss += match config.loss {
                RewardLoss::Mse => {
                    let p = 1.0 / (1.0 + (-l64).exp());
                    (p - y64).powi(2)
                }
                RewardLoss::Bce => l64.max(0.0) - l64 * y64 + (-l64.abs()).exp().ln_1p(),
            };
            let predicted_right = l > 0.0;
            let right = y > 0.5;
            correct += usize::from(predicted_right == right);
            if !right {
                errors += 1;
                found += usize::from(l < 0.0);
            }
            if seen.is_multiple_of(stride) {
                logits_kept.push(l);
                targets_kept.push(y);
            }
            seen += 1;
        }
    }
    let n = total.max(1) as f64;
    let loss = loss / n;
    if !loss.is_finite() {
        return Err(TrainError::RlNonFinite {
            stage: STAGE,
            message: format!("the validation loss is {loss}; lower `lr`"),
        });
    }
    Ok(Evaluation {
        loss,
        accuracy: correct as f64 / n,
        error_recall: if errors > 0 {
            found as f64 / errors as f64
        } else {
            f64::NAN
        },
        logits: logits_kept,
        targets: targets_kept,
    })
}

/// `ReduceLROnPlateau(mode="min")` with torch's defaults besides factor and patience:
/// relative threshold 1e-4, no cooldown, min_lr 0, eps 1e-8.
pub(super) struct Plateau {
    pub(super) lr: f64,
    factor: f64,
    patience: usize,
    best: f64,
    bad_epochs: usize,
}

impl Plateau {
    pub(super) fn new(lr: f64, factor: f64, patience: usize) -> Self {
        Self {
            lr,
            factor,
            patience,
            best: f64::INFINITY,
            bad_epochs: 0,
        }
    }

    pub(super) fn observe(&mut self, metric: f64) {
        if metric < self.best * (1.0 - 1e-4) {
            self.best = metric;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.bad_epochs > self.patience {
            let new_lr = self.lr * self.factor;
            if self.lr - new_lr > 1e-8 {
                self.lr = new_lr;
            }
            self.bad_epochs = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateau_decays_after_patience_epochs_without_improvement() {
        let mut p = Plateau::new(1e-3, 0.1, 2);
        p.observe(1.0);
        for _ in 0..2 {
            p.observe(1.0);
            assert_eq!(p.lr, 1e-3);
        }
        p.observe(1.0);
        assert!((p.lr - 1e-4).abs() < 1e-12);
        p.observe(0.5);
        assert!((p.lr - 1e-4).abs() < 1e-12);
    }
}
