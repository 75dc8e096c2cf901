//! Full-sequence inference by the original's temporal sliding window (method.md 1.5, 12.3):
//! reflect-pad T by 6 frames (T - 1 when T <= 6), slide full-frame windows of 4 frames with the
//! nnU-Net step rule (overlap 0.5 -> step 2), blend the windows' **logits** with a Gaussian
//! importance map (sigma = 0.125 * size per axis, clamped >= 1e-3), crop the padding.
//! Generic over the window function, so the actor, the reward nets and tests share it.

use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array4, ArrayView4, Axis, Slice};

use crate::convert::float_values;
use crate::error::ShapeError;

/// Sliding-window settings (defaults: the original's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlidingWindow {
    /// Frames per window (4).
    pub window: usize,
    /// Overlap between windows (0.5 -> step 2 for 4-frame windows).
    pub overlap: f64,
    /// Frames of reflect padding on each side when T > `pad` (6); else T - 1.
    pub pad: usize,
    /// Windows per call of the window function (the original: 2 in `predict_3d`).
    pub sw_batch_size: usize,
    /// Gaussian sigma as a fraction of the window size per axis (0.125).
    pub sigma_scale: f64,
}

impl Default for SlidingWindow {
    fn default() -> Self {
        Self {
            window: 4,
            overlap: 0.5,
            pad: 6,
            sw_batch_size: 2,
            sigma_scale: 0.125,
        }
    }
}

/// Round half to even, as numpy's `round` (the step rule's rounding).
fn round_half_even(x: f64) -> usize {
    let r = x.round();
    let value = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    value.max(0.0) as usize
}

impl SlidingWindow {
    /// Window start frames over a (padded) length: `n = ceil((len - w) / step) + 1` windows
    /// spread evenly, `start_i = round(i * (len - w) / (n - 1))` (nnU-Net's step rule).
    pub fn starts(&self, len: usize) -> Vec<usize> {
        let w = self.window.max(1);
        if len <= w {
            return vec![0];
        }
        let step = ((w as f64) * (1.0 - self.overlap)).max(1.0);
        let span = (len - w) as f64;
        let n = (span / step).ceil() as usize + 1;
        (0..n)
            .map(|i| round_half_even(i as f64 * span / (n - 1) as f64))
            .collect()
    }

    /// Gaussian importance map over a `[window, H, W]` window, each axis
    /// `exp(-(x - c)^2 / (2 (sigma_scale * size)^2))` with `c = (size - 1) / 2`, the product
    /// clamped to >= 1e-3 (MONAI's `compute_importance_map`; temporal weights for 4 frames:
    /// 0.0111, 0.6065, 0.6065, 0.0111).
    pub fn importance(&self, frames: usize, h: usize, w: usize) -> Vec<f32> {
        let axis = |size: usize| -> Vec<f64> {
            let sigma = self.sigma_scale * size as f64;
            let c = (size as f64 - 1.0) / 2.0;
            (0..size)
                .map(|i| {
                    let d = i as f64 - c;
                    (-(d * d) / (2.0 * sigma * sigma)).exp()
                })
                .collect()
        };
        let (wt, wh, ww) = (axis(frames), axis(h), axis(w));
        let mut map = Vec::with_capacity(frames * h * w);
        for &a in &wt {
            for &b in &wh {
                for &c in &ww {
                    map.push((a * b * c).max(1e-3) as f32);
                }
            }
        }
        map
    }

    /// Frames of reflect padding for a sequence of `t` frames.
    pub fn padding(&self, t: usize) -> usize {
        if t > self.pad {
            self.pad
        } else {
            t.saturating_sub(1)
        }
    }

    /// Stitched logits of a whole sequence.
    ///
    /// `window_fn` maps a batch of windows `[n, Cin, window, H, W]` (n <= `sw_batch_size`) to
    /// logits `[n, Cout, window, H, W]`. A sequence shorter than the window after padding is
    /// zero-padded at the end to one window (as MONAI's inferer does) and cropped back.
    ///
    /// # Shapes
    /// - input `[Cin, T, H, W]` -> output `[Cout, T, H, W]`
    pub fn run<E>(
        &self,
        input: ArrayView4<'_, f32>,
        device: &Device,
        mut window_fn: impl FnMut(Tensor<5>) -> Result<Tensor<5>, E>,
    ) -> Result<Array4<f32>, E>
    where
        E: From<ShapeError>,
    {
        let (cin, t, h, w) = input.dim();
        if cin == 0 || t == 0 || h == 0 || w == 0 {
            return Err(ShapeError::Empty {
                what: "sliding-window input [C, T, H, W]",
                shape: vec![cin, t, h, w],
            }
            .into());
        }
        let win = self.window.max(1);
        let p = self.padding(t);
        let padded = reflect_pad_time(input, p, win);
        let len = padded.dim().1;
        let weights = self.importance(win, h, w);
        let starts = self.starts(len);
        let plane = h * w;

        let mut acc: Option<Array4<f32>> = None;
        let mut norm = vec![0f32; len * plane];
        for chunk in starts.chunks(self.sw_batch_size.max(1)) {
            let mut values = Vec::with_capacity(chunk.len() * cin * win * plane);
            for &start in chunk {
                values.extend(
                    padded
                        .slice_axis(Axis(1), Slice::from(start..start + win))
                        .iter()
                        .copied(),
                );
            }
            let batch = Tensor::from_data(
                TensorData::new(values, [chunk.len(), cin, win, h, w]),
                device,
            );
            let logits = window_fn(batch)?;
            let [n, cout, lt, lh, lw] = logits.dims();
            if n != chunk.len() || lt != win || lh != h || lw != w {
                return Err(ShapeError::Mismatch {
                    what: "sliding-window function output",
                    left: vec![n, cout, lt, lh, lw],
                    right: vec![chunk.len(), cout, win, h, w],
                    hint: "the window function must keep the batch and the (T, H, W) of its input",
                }
                .into());
            }
            let logits = float_values(logits);
            let acc = acc.get_or_insert_with(|| Array4::zeros((cout, len, h, w)));
            for (k, &start) in chunk.iter().enumerate() {
                for c in 0..cout {
                    let src =
                        &logits[(k * cout + c) * win * plane..(k * cout + c + 1) * win * plane];
                    let mut channel = acc.index_axis_mut(Axis(0), c);
                    let mut dst = channel.slice_axis_mut(Axis(0), Slice::from(start..start + win));
                    for ((d, &v), &wgt) in dst.iter_mut().zip(src).zip(&weights) {
                        *d += v * wgt;
                    }
                }
                let dst = &mut norm[start * plane..(start + win) * plane];
                for (d, &wgt) in dst.iter_mut().zip(&weights) {
                    *d += wgt;
                }
            }
        }
        let acc = acc.unwrap_or_else(|| Array4::zeros((0, len, h, w)));
        let mut out = acc.slice_axis(Axis(1), Slice::from(p..p + t)).to_owned();
        for mut channel in out.axis_iter_mut(Axis(0)) {
            let norm = &norm[p * plane..(p + t) * plane];
            for (v, &n) in channel.iter_mut().zip(norm) {
                *v /= n;
            }
        }
        Ok(out)
    }
}

/// Reflect-pad the time axis by `p` on both sides (`p <= T - 1`), then zero-pad at the end up to
/// `min_len` frames.
fn reflect_pad_time(input: ArrayView4<'_, f32>, p: usize, min_len: usize) -> Array4<f32> {
    let (c, t, h, w) = input.dim();
    let len = (t + 2 * p).max(min_len);
    let mut out = Array4::zeros((c, len, h, w));
    for i in 0..t + 2 * p {
        // Index into the original with reflection (no edge repeat), as numpy's "reflect".
        let j = i as isize - p as isize;
        let src = if j < 0 {
            (-j) as usize
        } else if j as usize >= t {
            2 * (t - 1) - j as usize
        } else {
            j as usize
        };
        out.index_axis_mut(Axis(1), i)
            .assign(&input.index_axis(Axis(1), src));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn steps_follow_the_nnunet_rule() {
        let sw = SlidingWindow::default();
        // T = 7: padded 19 -> 9 windows, step 15/8.
        assert_eq!(sw.starts(19), vec![0, 2, 4, 6, 8, 9, 11, 13, 15]);
        assert_eq!(sw.starts(4), vec![0]);
        assert_eq!(sw.starts(5), vec![0, 1]);
        assert_eq!(sw.starts(16), vec![0, 2, 4, 6, 8, 10, 12]);
        assert_eq!(sw.padding(3), 2);
        assert_eq!(sw.padding(40), 6);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.5), 4);
    }

    #[test]
    fn temporal_weights_match_the_original() {
        let sw = SlidingWindow::default();
        let map = sw.importance(4, 1, 1);
        let expected = [0.0111f32, 0.6065, 0.6065, 0.0111];
        for (a, b) in map.iter().zip(expected) {
            assert!((a - b).abs() < 1e-4, "{map:?}");
        }
        // Big frames: the periphery is clamped at 1e-3.
        let big = sw.importance(4, 64, 64);
        assert!(big.iter().all(|&v| v >= 1e-3));
        assert!((big.iter().copied().fold(f32::INFINITY, f32::min) - 1e-3).abs() < 1e-9);
    }

    #[test]
    fn reflect_padding_mirrors_without_repeating_the_edge() {
        let input = Array4::from_shape_fn((1, 3, 1, 1), |(_, t, _, _)| t as f32);
        let padded = reflect_pad_time(input.view(), 2, 4);
        let v: Vec<f32> = padded.iter().copied().collect();
        assert_eq!(v, vec![2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0]);
        let short = reflect_pad_time(Array4::ones((1, 1, 1, 1)).view(), 0, 4);
        assert_eq!(
            short.iter().copied().collect::<Vec<_>>(),
            vec![1.0, 0.0, 0.0, 0.0]
        );
    }

    fn constant_net(value: f32) -> impl FnMut(Tensor<5>) -> Result<Tensor<5>, ShapeError> {
        move |x: Tensor<5>| {
            let [n, _, t, h, w] = x.dims();
            Ok(Tensor::full([n, 2, t, h, w], value, &x.device()))
        }
    }

    #[test]
    fn a_constant_logit_net_is_reproduced_for_any_length() {
        let device = Device::flex();
        for t in [1, 2, 3, 4, 5, 7, 9, 13] {
            let input = Array4::from_shape_fn((1, t, 5, 3), |(_, t, h, w)| (t + h + w) as f32);
            let out = SlidingWindow::default()
                .run(input.view(), &device, constant_net(-1.75))
                .expect("run");
            assert_eq!(out.dim(), (2, t, 5, 3));
            assert!(out.iter().all(|v| (v + 1.75).abs() < 1e-5), "T = {t}");
        }
    }

    #[test]
    fn identity_windows_return_the_input_and_batches_agree() {
        let device = Device::flex();
        let input =
            Array4::from_shape_fn((1, 11, 4, 4), |(_, t, h, w)| (t * 16 + h * 4 + w) as f32);
        let identity = |x: Tensor<5>| -> Result<Tensor<5>, ShapeError> { Ok(x) };
        let one = SlidingWindow {
            sw_batch_size: 1,
            ..Default::default()
        }
        .run(input.view(), &device, identity)
        .expect("run");
        let three = SlidingWindow {
            sw_batch_size: 3,
            ..Default::default()
        }
        .run(input.view(), &device, identity)
        .expect("run");
        for (a, (b, c)) in input.iter().zip(one.iter().zip(three.iter())) {
            assert!((a - b).abs() < 1e-4 && (b - c).abs() < 1e-6);
        }
    }

    #[test]
    fn a_window_function_that_changes_the_shape_is_an_error() {
        let device = Device::flex();
        let input = Array4::<f32>::zeros((1, 4, 4, 4));
        let shrink = |x: Tensor<5>| -> Result<Tensor<5>, ShapeError> { Ok(x.narrow(2, 0, 2)) };
        let e = SlidingWindow::default()
            .run(input.view(), &device, shrink)
            .unwrap_err();
        assert!(e.to_string().contains("must keep the batch"), "{e}");
        let empty = Array4::<f32>::zeros((1, 0, 4, 4));
        assert!(
            SlidingWindow::default()
                .run(empty.view(), &device, constant_net(0.0))
                .is_err()
        );
    }
}
