//! Conversions between `ndarray` arrays (the crate boundary: `[T, H, W]` sequences,
//! `[C, T, H, W]` maps) and burn tensors (`[batch, channel, T, H, W]`).

use burn::tensor::{Device, Int, Tensor, TensorData};
use ndarray::{Array, ArrayView, ArrayView3, ArrayView4, Dimension, IxDyn};

use crate::error::ShapeError;

/// Copy any array into a float tensor of rank `D` (the array's own rank must be `D`).
fn to_tensor<A: Dimension, const D: usize>(
    array: ArrayView<'_, f32, A>,
    device: &Device,
) -> Tensor<D> {
    let shape: [usize; D] = std::array::from_fn(|i| array.shape()[i]);
    let values: Vec<f32> = array.iter().copied().collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// `[T, H, W]` image -> `[1, 1, T, H, W]` tensor.
pub fn image_to_tensor(image: ArrayView3<'_, f32>, device: &Device) -> Tensor<5> {
    let [t, h, w] = [image.shape()[0], image.shape()[1], image.shape()[2]];
    to_tensor::<_, 3>(image, device).reshape([1, 1, t, h, w])
}

/// `[C, T, H, W]` map -> `[1, C, T, H, W]` tensor.
pub fn channels_to_tensor(map: ArrayView4<'_, f32>, device: &Device) -> Tensor<5> {
    let s = map.shape();
    let shape = [1, s[0], s[1], s[2], s[3]];
    to_tensor::<_, 4>(map, device).reshape(shape)
}

/// `[T, H, W]` labels -> `[1, T, H, W]` integer tensor.
pub fn labels_to_tensor(labels: ArrayView3<'_, u8>, device: &Device) -> Tensor<4, Int> {
    let s = labels.shape();
    let values: Vec<i64> = labels.iter().map(|&v| i64::from(v)).collect();
    Tensor::from_data(TensorData::new(values, [1, s[0], s[1], s[2]]), device)
}

/// Any float tensor -> an owned array of the same shape.
pub fn tensor_to_array<const D: usize>(tensor: Tensor<D>) -> Array<f32, IxDyn> {
    let shape = tensor.dims().to_vec();
    let values = float_values(tensor);
    // The buffer holds exactly the product of the shape.
    Array::from_shape_vec(IxDyn(&shape), values).unwrap_or_else(|_| unreachable_len())
}

/// The values of a float tensor in row-major order, as f32.
pub fn float_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    let data = tensor.into_data().convert::<f32>();
    data.try_into_vec::<f32>()
        .unwrap_or_else(|_| unreachable_len())
}

/// The values of an integer tensor in row-major order, as i64.
pub fn int_values<const D: usize>(tensor: Tensor<D, Int>) -> Vec<i64> {
    let data = tensor.into_data().convert::<i64>();
    data.try_into_vec::<i64>()
        .unwrap_or_else(|_| unreachable_len())
}

/// Float tensor data converted to f32 always yields an f32 buffer of the right length.
fn unreachable_len<T>() -> T {
    panic!("tensor data of an unexpected length or type (a defect in models::convert)")
}

/// Check that two shapes are equal.
pub fn same_shape(
    what: &'static str,
    left: &[usize],
    right: &[usize],
    hint: &'static str,
) -> Result<(), ShapeError> {
    if left == right {
        Ok(())
    } else {
        Err(ShapeError::Mismatch {
            what,
            left: left.to_vec(),
            right: right.to_vec(),
            hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, Array4};

    #[test]
    fn round_trips_keep_layout() {
        let device = Device::flex();
        let image = Array3::from_shape_fn((2, 3, 4), |(t, h, w)| (t * 100 + h * 10 + w) as f32);
        let tensor = image_to_tensor(image.view(), &device);
        assert_eq!(tensor.dims(), [1, 1, 2, 3, 4]);
        let back = tensor_to_array(tensor);
        assert_eq!(back.shape(), &[1, 1, 2, 3, 4]);
        assert_eq!(
            back.iter().copied().collect::<Vec<_>>(),
            image.iter().copied().collect::<Vec<_>>()
        );

        let map = Array4::from_shape_fn((3, 2, 2, 2), |(c, t, h, w)| {
            (c * 8 + t * 4 + h * 2 + w) as f32
        });
        let tensor = channels_to_tensor(map.view(), &device);
        assert_eq!(tensor.dims(), [1, 3, 2, 2, 2]);
        assert_eq!(
            float_values(tensor),
            map.iter().copied().collect::<Vec<_>>()
        );

        let labels = Array3::from_shape_fn((1, 2, 2), |(_, h, w)| (h * 2 + w) as u8 % 3);
        let tensor = labels_to_tensor(labels.view(), &device);
        assert_eq!(int_values(tensor), vec![0, 1, 2, 0]);
    }
}
