//! Losses on U-Net outputs: voxel-wise cross-entropy (the original's supervised loss,
//! method.md 10: `loss: ce`), the nnU-Net soft Dice (optional), mean squared error (reward
//! nets and the critic, method.md 5 and 3) and the deep-supervision weighting of method.md 3.

use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor};

use crate::policy::log_probs;

/// Mean voxel-wise cross-entropy.
///
/// # Shapes
/// - logits `[B, C, T, H, W]`, labels `[B, T, H, W]` (values in `0..C`) -> scalar `[1]`
pub fn cross_entropy(logits: Tensor<5>, labels: Tensor<4, Int>) -> Tensor<1> {
    let [b, _, t, h, w] = logits.dims();
    let index = labels.reshape([b, 1, t, h, w]);
    log_probs(logits).gather(1, index).mean().neg()
}

/// One-hot encoding of a label map on the channel axis.
///
/// # Shapes
/// - labels `[B, T, H, W]` -> `[B, C, T, H, W]`
pub fn one_hot(labels: Tensor<4, Int>, classes: usize) -> Tensor<5> {
    let hot: Tensor<5> = labels.one_hot::<5>(classes).float();
    hot.permute([0, 4, 1, 2, 3])
}

/// Soft Dice loss `1 - mean_c (2 sum p y + eps) / (sum p + sum y + eps)` over the classes
/// `first_class..C` (pass 1 to leave the background out), summed over the whole batch
/// (nnU-Net's batch Dice).
///
/// # Shapes
/// - logits `[B, C, T, H, W]`, labels `[B, T, H, W]` -> scalar `[1]`
pub fn soft_dice(logits: Tensor<5>, labels: Tensor<4, Int>, first_class: usize) -> Tensor<1> {
    let [_, c, _, _, _] = logits.dims();
    let first = first_class.min(c.saturating_sub(1));
    let probs = softmax(logits, 1).narrow(1, first, c - first);
    let target = one_hot(labels, c).narrow(1, first, c - first);
    let per_class = |x: Tensor<5>| -> Tensor<1> {
        x.swap_dims(0, 1)
            .flatten::<2>(1, 4)
            .sum_dim(1)
            .flatten(0, 1)
    };
    let intersection = per_class(probs.clone() * target.clone());
    let denominator = per_class(probs) + per_class(target);
    let eps = 1e-5;
    let dice = (intersection.mul_scalar(2.0).add_scalar(eps)) / denominator.add_scalar(eps);
    dice.mean().neg().add_scalar(1.0)
}

/// Mean squared error.
pub fn mse<const D: usize>(prediction: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    (prediction - target).square().mean()
}

/// Deep-supervision loss weights as the original critic uses them (method.md 3, 12.7):
/// `0.5^i * c` for output `i`, with `c = 1 / (2 - 2^-n)` for `n` outputs (3 outputs:
/// `[1, 0.5, 0.25] / 1.875`; the weights sum to slightly less than 1, as in the original).
pub fn deep_supervision_weights(outputs: usize) -> Vec<f32> {
    let c = 1.0 / (2.0 - 0.5f32.powi(outputs as i32));
    (0..outputs).map(|i| 0.5f32.powi(i as i32) * c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::float_values;
    use burn::tensor::{Device, TensorData};

    fn logits_and_labels(device: &Device) -> (Tensor<5>, Tensor<4, Int>) {
        // 2 voxels, 3 classes: voxel 0 logits (0, ln 2, ln 3) -> p = (1/6, 1/3, 1/2).
        let logits = Tensor::from_data(
            TensorData::new(
                vec![0.0, 0.0, 2f32.ln(), 0.0, 3f32.ln(), 0.0],
                [1, 3, 1, 1, 2],
            ),
            device,
        );
        let labels = Tensor::from_data(TensorData::new(vec![2i64, 1], [1, 1, 1, 2]), device);
        (logits, labels)
    }

    #[test]
    fn cross_entropy_matches_hand_value() {
        let device = Device::flex();
        let (logits, labels) = logits_and_labels(&device);
        let ce = float_values(cross_entropy(logits, labels))[0];
        let expected = -((0.5f32).ln() + (1.0f32 / 3.0).ln()) / 2.0;
        assert!((ce - expected).abs() < 1e-6, "{ce} vs {expected}");
    }

    #[test]
    fn soft_dice_matches_hand_value() {
        let device = Device::flex();
        let (logits, labels) = logits_and_labels(&device);
        let loss = float_values(soft_dice(logits, labels, 1))[0];
        // class 1: p = (1/3, 1/3), y = (0, 1): (2/3 + e) / (2/3 + 1 + e)
        // class 2: p = (1/2, 1/3), y = (1, 0): (1 + e) / (5/6 + 1 + e)
        let e = 1e-5f32;
        let d1 = (2.0 / 3.0 + e) / (2.0 / 3.0 + 1.0 + e);
        let d2 = (1.0 + e) / (5.0 / 6.0 + 1.0 + e);
        let expected = 1.0 - (d1 + d2) / 2.0;
        assert!((loss - expected).abs() < 1e-5, "{loss} vs {expected}");
        // A perfect, confident prediction has a loss near 0.
        let sure = Tensor::from_data(
            TensorData::new(
                vec![-20.0f32, -20.0, -20.0, 20.0, 20.0, -20.0],
                [1, 3, 1, 1, 2],
            ),
            &device,
        );
        let labels = Tensor::from_data(TensorData::new(vec![2i64, 1], [1, 1, 1, 2]), &device);
        assert!(float_values(soft_dice(sure, labels, 1))[0] < 1e-4);
    }

    #[test]
    fn mse_and_weights() {
        let device = Device::flex();
        let a: Tensor<2> = Tensor::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 2]), &device);
        let b: Tensor<2> = Tensor::from_data(TensorData::new(vec![0.0f32, 4.0], [1, 2]), &device);
        assert!((float_values(mse(a, b))[0] - 2.5).abs() < 1e-6);
        let w = deep_supervision_weights(3);
        assert!((w[0] - 1.0 / 1.875).abs() < 1e-6 && (w[2] - 0.25 / 1.875).abs() < 1e-6);
    }
}
