//! The three roles the U-Net plays (method.md 2.2-2.4) as thin helpers around a bare
//! [`UNet`], so checkpoints of every role have the same parameter paths:
//! the actor (in 1, out 3 classes, softmax policy: see [`crate::policy`]), the critic
//! (in 1, out 1, sigmoid value map, deep supervision) and the reward nets (in 2 = image +
//! label map as float 0/1/2, out 1 logit, sigmoid = reward).

use burn::tensor::activation::sigmoid;
use burn::tensor::{Int, Tensor};

use crate::error::ShapeError;
use crate::unet::{UNet, UNetConfig};

/// Number of segmentation classes (background, LV, myocardium).
pub const NUM_CLASSES: usize = 3;

/// The actor's config for an architecture: in 1, out 3, no deep supervision (method.md 2.2).
pub fn actor_config(arch: &UNetConfig) -> UNetConfig {
    arch.clone()
        .with_io(1, NUM_CLASSES)
        .with_deep_supervision(false)
}

/// The critic's config: in 1, out 1, deep supervision on (method.md 2.3) with as many extra
/// outputs as the architecture allows, at most its `deep_supervision_outputs` (2 by default).
pub fn critic_config(arch: &UNetConfig) -> UNetConfig {
    let mut config = arch.clone().with_io(1, 1).with_deep_supervision(true);
    config.deep_supervision_outputs = config
        .deep_supervision_outputs
        .min(config.levels().saturating_sub(2));
    config
}

/// A reward net's config: in 2, out 1, no deep supervision (method.md 2.4).
pub fn reward_config(arch: &UNetConfig) -> UNetConfig {
    arch.clone().with_io(2, 1).with_deep_supervision(false)
}

/// The critic's value maps `V(s)` in (0, 1): the sigmoid of each output, channel squeezed.
/// With deep supervision the list holds the full-resolution map then the coarser ones.
///
/// # Shapes
/// - image `[B, 1, T, H, W]` -> `[B, T, H, W]`, then the deep-supervision resolutions
pub fn critic_values(critic: &UNet, image: Tensor<5>) -> Result<Vec<Tensor<4>>, ShapeError> {
    Ok(critic
        .forward_deep_supervision(image)?
        .into_iter()
        .map(|v| {
            let [b, _, t, h, w] = v.dims();
            sigmoid(v).reshape([b, t, h, w])
        })
        .collect())
}

/// The reward net's input: the image and the label map (as float 0/1/2, no one-hot, as the
/// original; method.md 2.4) stacked on the channel axis.
///
/// # Shapes
/// - image `[B, 1, T, H, W]`, labels `[B, T, H, W]` -> `[B, 2, T, H, W]`
pub fn reward_input(image: Tensor<5>, labels: Tensor<4, Int>) -> Result<Tensor<5>, ShapeError> {
    let [b, c, t, h, w] = image.dims();
    let expected = [b, t, h, w];
    if c != 1 || labels.dims() != expected {
        return Err(ShapeError::Mismatch {
            what: "reward input (image vs labels)",
            left: image.dims().to_vec(),
            right: labels.dims().to_vec(),
            hint: "the image is [B, 1, T, H, W] and the labels [B, T, H, W]",
        });
    }
    let labels = labels.float().reshape([b, 1, t, h, w]);
    Ok(Tensor::cat(vec![image, labels], 1))
}

/// The reward map `sigmoid(logit)` in (0, 1), channel squeezed (1 = the label is right).
///
/// # Shapes
/// - input `[B, 2, T, H, W]` (see [`reward_input`]) -> `[B, T, H, W]`
pub fn reward_map(reward_net: &UNet, input: Tensor<5>) -> Result<Tensor<4>, ShapeError> {
    let logits = reward_net.forward(input)?;
    let [b, _, t, h, w] = logits.dims();
    Ok(sigmoid(logits).reshape([b, t, h, w]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::float_values;
    use burn::tensor::{Device, TensorData};

    fn tiny() -> UNetConfig {
        UNetConfig::from_toml_str(
            "channels = [2, 4, 4]\nkernels = [[1,3,3],[3,3,3],[3,3,3]]\nstrides = [[1,1,1],[1,2,2],[2,2,2]]",
        )
        .expect("tiny config")
    }

    #[test]
    fn role_configs_set_channels_and_supervision() {
        let arch = UNetConfig::small().with_deep_supervision(true);
        let a = actor_config(&arch);
        assert_eq!(
            (a.in_channels, a.out_channels, a.deep_supervision),
            (1, 3, false)
        );
        let c = critic_config(&arch);
        assert_eq!(
            (c.in_channels, c.out_channels, c.deep_supervision),
            (1, 1, true)
        );
        let r = reward_config(&arch);
        assert_eq!(
            (r.in_channels, r.out_channels, r.deep_supervision),
            (2, 1, false)
        );
    }

    #[test]
    fn critic_and_reward_outputs_have_the_documented_shapes() {
        let device = Device::flex();
        let critic = critic_config(&tiny()).init(&device).expect("critic");
        let image: Tensor<5> = Tensor::zeros([1, 1, 2, 8, 8], &device);
        let values = critic_values(&critic, image.clone()).expect("values");
        let dims: Vec<_> = values.iter().map(Tensor::dims).collect();
        assert_eq!(dims, vec![[1, 2, 8, 8], [1, 2, 4, 4]]);
        assert!(
            float_values(values[0].clone())
                .iter()
                .all(|v| *v > 0.0 && *v < 1.0)
        );

        let labels: Tensor<4, Int> = Tensor::from_data(
            TensorData::new(vec![2i64; 2 * 8 * 8], [1, 2, 8, 8]),
            &device,
        );
        let input = reward_input(image, labels).expect("input");
        assert_eq!(input.dims(), [1, 2, 2, 8, 8]);
        let second = float_values(input.clone().narrow(1, 1, 1));
        assert!(second.iter().all(|v| *v == 2.0));
        let net = reward_config(&tiny()).init(&device).expect("reward");
        assert_eq!(reward_map(&net, input).expect("map").dims(), [1, 2, 8, 8]);

        let bad = reward_input(
            Tensor::zeros([1, 1, 2, 8, 8], &device),
            Tensor::zeros([1, 2, 8, 4], &device),
        );
        assert!(bad.unwrap_err().to_string().contains("[B, T, H, W]"));
    }
}
