//! Full-sequence inference on arrays: actor probabilities by the temporal sliding window
//! (method.md 1.5; softmax after blending logits), argmax + largest-component cleanup
//! (method.md 7.1 step 5, empty frames stay empty), and reward maps (sigmoid after blending).

use echo::morph::keep_largest_foreground_sequence;
use engine::NodeError;
use models::burn::tensor::activation::{sigmoid, softmax};
use models::sliding::SlidingWindow;
use models::{Device, UNet};
use ndarray::{Array3, Array4, Axis, Ix4};

use crate::compute::model_err;

/// Softmax probabilities `[C, T, H, W]` of the actor over a preprocessed image `[T, H, W]`.
pub fn actor_probs(
    actor: &UNet,
    image: &Array3<f32>,
    sw: &SlidingWindow,
    device: &Device,
) -> Result<Array4<f32>, NodeError> {
    let input = image.view().insert_axis(Axis(0));
    let logits = sw
        .run(input, device, |x| actor.forward(x))
        .map_err(model_err)?;
    softmax_channels(logits)
}

fn softmax_channels(logits: Array4<f32>) -> Result<Array4<f32>, NodeError> {
    let (c, t, h, w) = logits.dim();
    let device = Device::flex();
    let tensor = models::burn::tensor::Tensor::<4>::from_data(
        models::burn::tensor::TensorData::new(logits.into_raw_vec_and_offset().0, [c, t, h, w]),
        &device,
    );
    let p = softmax(tensor, 0);
    let values = models::convert::float_values(p);
    Array4::from_shape_vec((c, t, h, w), values).map_err(|e| NodeError::internal(e.to_string()))
}

/// Argmax over classes, then keep each frame's largest foreground component.
pub fn labels_from_probs(probs: &Array4<f32>) -> Array3<u8> {
    let (c, t, h, w) = probs.dim();
    let mut out = Array3::<u8>::zeros((t, h, w));
    for ((ti, hi, wi), v) in out.indexed_iter_mut() {
        let mut best = 0;
        for k in 1..c {
            if probs[[k, ti, hi, wi]] > probs[[best, ti, hi, wi]] {
                best = k;
            }
        }
        *v = best as u8;
    }
    keep_largest_foreground_sequence(&out.view())
}

/// Reward map in (0, 1) `[T, H, W]` of a reward net for (image, labels), both preprocessed.
pub fn reward_map(
    net: &UNet,
    image: &Array3<f32>,
    labels: &Array3<u8>,
    sw: &SlidingWindow,
    device: &Device,
) -> Result<Array3<f32>, NodeError> {
    let mut input = Array4::<f32>::zeros((2, image.dim().0, image.dim().1, image.dim().2));
    input.index_axis_mut(Axis(0), 0).assign(image);
    input
        .index_axis_mut(Axis(0), 1)
        .assign(&labels.mapv(f32::from));
    let logits = sw
        .run(input.view(), device, |x| net.forward(x))
        .map_err(model_err)?;
    let (_, t, h, w) = logits.dim();
    let tensor = models::burn::tensor::Tensor::<4>::from_data(
        models::burn::tensor::TensorData::new(logits.into_raw_vec_and_offset().0, [1, t, h, w]),
        &Device::flex(),
    );
    let values = models::convert::float_values(sigmoid(tensor));
    let map = Array4::from_shape_vec((1, t, h, w), values)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    Ok(map.index_axis_move(Axis(0), 0))
}

/// Mean of several probability maps.
pub fn mean_maps(maps: &[Array4<f32>]) -> Option<Array4<f32>> {
    let first = maps.first()?.clone();
    let mut acc = first.into_dimensionality::<Ix4>().ok()?;
    for m in &maps[1..] {
        acc += m;
    }
    acc /= maps.len() as f32;
    Some(acc)
}

/// Carries a node error through library code that is generic over `E: From<echo::Error>`.
pub struct Fail(pub NodeError);

impl From<echo::Error> for Fail {
    fn from(e: echo::Error) -> Self {
        Fail(crate::user_err(e))
    }
}
