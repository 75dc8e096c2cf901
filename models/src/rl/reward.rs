//! The reward of RL rollouts (method.md 2.4, "Reward used during RL rollouts"): each reward
//! net's `sigmoid(logit / t)`, an optional per-sample per-frame min-max normalisation, and the
//! voxel-wise minimum over the nets, and (beyond the original) an optional per-class centring
//! that removes each class's reward level from the rollouts' reward. The full-sequence inference
//! path (plain sigmoid, no normalisation) lives with the sliding-window inference, not here.

use burn::tensor::activation::sigmoid;
use burn::tensor::{Int, Tensor};

use crate::error::{ShapeError, TrainError};
use crate::roles::reward_input;
use crate::unet::UNet;

/// Voxel-wise minimum of reward maps (method.md 2.4 step 3: `min(r_0, r_1)`).
///
/// # Shapes
/// - every map `[B, T, H, W]` (the same shape) -> `[B, T, H, W]`
///
/// # Errors
/// No map, or maps of different shapes.
pub fn fuse_rewards(maps: Vec<Tensor<4>>) -> Result<Tensor<4>, ShapeError> {
    let mut maps = maps.into_iter();
    let Some(mut fused) = maps.next() else {
        return Err(ShapeError::Empty {
            what: "reward fusion (no reward maps)",
            shape: vec![0],
        });
    };
    for map in maps {
        if map.dims() != fused.dims() {
            return Err(ShapeError::Mismatch {
                what: "reward fusion",
                left: fused.dims().to_vec(),
                right: map.dims().to_vec(),
                hint: "every reward map is [B, T, H, W] for the same rollout",
            });
        }
        fused = fused.min_pair(map);
    }
    Ok(fused)
}

/// Per-sample, per-frame min-max normalisation (method.md 2.4 step 2):
/// `r <- (r - min_frame) / max_frame(r - min_frame)`, so every frame spans [0, 1].
///
/// A constant frame, where the original divides 0 by 0 and produces NaN (method.md 12.5), gets
/// 1.0 everywhere here: it holds no relative evidence of error, and 1 is what the best voxel
/// of every other frame gets.
///
/// # Shapes
/// - `[B, T, H, W]` -> `[B, T, H, W]`
pub fn normalise_per_frame(r: Tensor<4>) -> Tensor<4> {
    let [b, t, h, w] = r.dims();
    let flat: Tensor<3> = r.reshape([b, t, h * w]);
    let min = flat.clone().min_dim(2);
    let shifted = flat - min.clone();
    let range = shifted.clone().max_dim(2);
    let constant = range.clone().lower_equal_elem(0.0).expand([b, t, h * w]);
    let normalised = shifted / range.clamp_min(f32::MIN_POSITIVE).expand([b, t, h * w]);
    normalised.mask_fill(constant, 1.0).reshape([b, t, h, w])
}

/// Removes a share `strength` of each predicted class's reward level from a frame (beyond the
/// original): every voxel moves by `strength * (frame mean - mean of the voxels of its frame that
/// took the same action)`, so each frame keeps its mean reward and, at `strength = 1`, no class
/// is better or worse than another on average (0 leaves the map as it is).
///
/// A per-voxel correctness probability carries each class's prior: the thin myocardium lies next
/// to a boundary everywhere, so its voxels score below the cavity's and the background's even
/// where they are right, and a policy gradient on the raw map moves voxels out of it. Centred,
/// only a voxel's standing among the voxels of its own class pushes it to another class.
///
/// # Shapes
/// - reward `[B, T, H, W]`, actions `[B, T, H, W]` (labels `0..classes`) -> `[B, T, H, W]`
pub fn centre_per_class(
    r: Tensor<4>,
    actions: Tensor<4, Int>,
    classes: usize,
    strength: f64,
) -> Tensor<4> {
    let [b, t, h, w] = r.dims();
    let flat: Tensor<3> = r.reshape([b, t, h * w]);
    let actions: Tensor<3, Int> = actions.reshape([b, t, h * w]);
    let frame_mean = flat.clone().mean_dim(2);
    let mut class_level = flat.zeros_like();
    for class in 0..classes {
        let mask = actions.clone().equal_elem(class as i64).float();
        let count = mask.clone().sum_dim(2);
        let mean = (flat.clone() * mask.clone()).sum_dim(2) / count.clamp_min(1.0);
        class_level = class_level + mask * mean.expand([b, t, h * w]);
    }
    let shift = (frame_mean.expand([b, t, h * w]) - class_level).mul_scalar(strength);
    (flat + shift).reshape([b, t, h, w])
}

/// The training-path reward of several reward nets (method.md 2.4): for each `(net, t)`,
/// `sigmoid(net([image, actions]) / t)`; each map min-max normalised per frame when `normalise`
/// ([`normalise_per_frame`]); then the voxel-wise minimum ([`fuse_rewards`]).
///
/// The original applies its temperature to net 0 only (`t_k = 1` for the others); pass 1.0 to
/// reproduce that.
///
/// # Shapes
/// - image `[B, 1, T, H, W]`, actions `[B, T, H, W]` -> `[B, T, H, W]`
///
/// # Errors
/// No nets, a temperature that is not > 0, or shapes the nets cannot take.
pub fn reward_nets_map(
    nets: &[(&UNet, f64)],
    image: Tensor<5>,
    actions: Tensor<4, Int>,
    normalise: bool,
) -> Result<Tensor<4>, TrainError> {
    if nets.is_empty() {
        return Err(TrainError::RlConfig {
            stage: "reward",
            message: "no reward nets; give at least one".into(),
        });
    }
    let input = reward_input(image, actions)?;
    let mut maps = Vec::with_capacity(nets.len());
    for (index, (net, temperature)) in nets.iter().enumerate() {
        if !(temperature.is_finite() && *temperature > 0.0) {
            return Err(TrainError::RlConfig {
                stage: "reward",
                message: format!(
                    "reward net {index}: temperature {temperature} must be > 0 (1 = none)"
                ),
            });
        }
        let logits = net.forward(input.clone())?;
        let [b, _, t, h, w] = logits.dims();
        let mut map = sigmoid(logits.div_scalar(*temperature)).reshape([b, t, h, w]);
        if normalise {
            map = normalise_per_frame(map);
        }
        maps.push(map);
    }
    Ok(fuse_rewards(maps)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::float_values;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn normalisation_spans_each_frame_and_keeps_constant_frames_finite() {
        let device = Device::flex();
        // B=1, T=2, 1x3: frame 0 = (1, 2, 3), frame 1 constant 0.4.
        let r: Tensor<4> = Tensor::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 0.4, 0.4, 0.4], [1, 2, 1, 3]),
            &device,
        );
        let n = float_values(normalise_per_frame(r));
        assert_eq!(n, vec![0.0, 0.5, 1.0, 1.0, 1.0, 1.0]);
    }

    #[test]
    fn centring_removes_each_class_level_and_keeps_the_frame_mean() {
        let device = Device::flex();
        // One frame of 4 voxels: class 0 scores (0.9, 0.7), class 2 scores (0.4, 0.2); the frame
        // mean is 0.55, class means 0.8 and 0.3.
        let r: Tensor<4> = Tensor::from_data(
            TensorData::new(vec![0.9f32, 0.4, 0.7, 0.2], [1, 1, 1, 4]),
            &device,
        );
        let a: Tensor<4, Int> =
            Tensor::from_data(TensorData::new(vec![0i64, 2, 0, 2], [1, 1, 1, 4]), &device);
        let full = float_values(centre_per_class(r.clone(), a.clone(), 3, 1.0));
        let half = float_values(centre_per_class(r.clone(), a.clone(), 3, 0.5));
        let none = float_values(centre_per_class(r, a, 3, 0.0));
        let close =
            |got: &[f32], want: [f32; 4]| got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6);
        assert!(close(&full, [0.65, 0.65, 0.45, 0.45]), "{full:?}");
        // Halfway: class 0 moves by -0.125, class 2 by +0.125.
        assert!(close(&half, [0.775, 0.525, 0.575, 0.325]), "{half:?}");
        assert!(close(&none, [0.9, 0.4, 0.7, 0.2]), "{none:?}");
    }

    #[test]
    fn fusion_is_the_voxelwise_minimum() {
        let device = Device::flex();
        let a: Tensor<4> =
            Tensor::from_data(TensorData::new(vec![0.1f32, 0.9], [1, 1, 1, 2]), &device);
        let b: Tensor<4> =
            Tensor::from_data(TensorData::new(vec![0.5f32, 0.3], [1, 1, 1, 2]), &device);
        assert_eq!(
            float_values(fuse_rewards(vec![a.clone(), b]).expect("fuse")),
            vec![0.1, 0.3]
        );
        assert!(fuse_rewards(Vec::new()).is_err());
        let c: Tensor<4> = Tensor::zeros([1, 1, 2, 1], &device);
        assert!(fuse_rewards(vec![a, c]).is_err());
    }
}
