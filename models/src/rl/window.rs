//! Temporal windows of `[T, H, W]` sequences shared by the RL loops: the deterministic
//! chunking of validation and TTO (consecutive non-overlapping windows, the last one moved to
//! the last `window` frames) and the stacking of windows into `[n, 1, window, H, W]` tensors.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{ArrayView3, Axis, Slice};

use crate::unet::UNet;

/// Start frames of the consecutive non-overlapping `window`-frame chunks covering `t` frames.
/// When `t` is not a multiple of `window`, the last chunk is the last `window` frames (it
/// overlaps the one before; method.md 7.3). Empty when `t < window` or `window == 0`.
pub(crate) fn chunk_starts(t: usize, window: usize) -> Vec<usize> {
    if window == 0 || t < window {
        return Vec::new();
    }
    let mut starts: Vec<usize> = (0..t / window).map(|i| i * window).collect();
    if !t.is_multiple_of(window) {
        starts.push(t - window);
    }
    starts
}

/// The windows of `sequence` starting at `starts`, stacked on the batch axis.
///
/// # Shapes
/// - sequence `[T, H, W]` -> `[starts.len(), 1, window, H, W]`; every start + window <= T
pub(crate) fn stack_windows(
    sequence: ArrayView3<'_, f32>,
    starts: &[usize],
    window: usize,
    device: &Device,
) -> Tensor<5> {
    let (_, h, w) = sequence.dim();
    let mut values = Vec::with_capacity(starts.len() * window * h * w);
    for &start in starts {
        let frames = sequence.slice_axis(Axis(0), Slice::from(start..start + window));
        values.extend(frames.iter().copied());
    }
    Tensor::from_data(
        TensorData::new(values, [starts.len(), 1, window, h, w]),
        device,
    )
}

/// The device of a network's parameters (the CPU backend for a network without any).
pub(crate) fn device_of(net: &UNet) -> Device {
    net.devices()
        .into_iter()
        .next()
        .unwrap_or_else(Device::flex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::float_values;
    use ndarray::Array3;

    #[test]
    fn chunks_cover_the_sequence_and_end_on_the_last_frames() {
        assert_eq!(chunk_starts(8, 4), vec![0, 4]);
        assert_eq!(chunk_starts(10, 4), vec![0, 4, 6]);
        assert_eq!(chunk_starts(4, 4), vec![0]);
        assert!(chunk_starts(3, 4).is_empty());
        assert!(chunk_starts(3, 0).is_empty());
    }

    #[test]
    fn stacked_windows_keep_the_frames() {
        let seq = Array3::from_shape_fn((6, 1, 2), |(t, _, w)| (t * 10 + w) as f32);
        let x = stack_windows(seq.view(), &[0, 2], 4, &Device::flex());
        assert_eq!(x.dims(), [2, 1, 4, 1, 2]);
        let v = float_values(x);
        assert_eq!(&v[..2], &[0.0, 1.0]);
        assert_eq!(&v[8..10], &[20.0, 21.0]);
    }
}
