//! Centred crop/pad of `[T, H, W]` arrays as torchio's `CropOrPad` (method.md 1.3): for a size
//! difference `n` on an axis, `ceil(n/2)` voxels go at the start and `floor(n/2)` at the end
//! (padding with 0 when growing, cropping when shrinking), the target-shape rules (spatial axes
//! up to the next multiple of the network's divisibility, the time axis unchanged or floored to
//! a multiple), and the exact inverse.

use ndarray::{Array3, ArrayView3, Slice};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What happens to the number of frames (method.md 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemporalCrop {
    /// Keep every frame (test and inference).
    Keep,
    /// Crop to `max(floor(T/d), 1)·d` frames, centred (train/val/pred data sets).
    FloorToMultiple,
}

/// Voxels added (positive) or removed (negative) at the start and end of each axis `[T, H, W]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CropPad {
    pub before: [i64; 3],
    pub after: [i64; 3],
}

impl CropPad {
    /// torchio `CropOrPad(target)` for an array of `shape`.
    pub fn centred(shape: [usize; 3], target: [usize; 3]) -> Self {
        let mut before = [0i64; 3];
        let mut after = [0i64; 3];
        for d in 0..3 {
            let diff = target[d] as i64 - shape[d] as i64;
            let (ini, fin) = (
                diff.abs().div_euclid(2) + diff.abs().rem_euclid(2),
                diff.abs() / 2,
            );
            let sign = diff.signum();
            before[d] = sign * ini;
            after[d] = sign * fin;
        }
        CropPad { before, after }
    }

    /// The crop/pad that undoes this one (what was padded is cropped; what was cropped comes back as 0).
    pub fn inverse(&self) -> Self {
        CropPad {
            before: self.before.map(|v| -v),
            after: self.after.map(|v| -v),
        }
    }

    /// Shape after applying to an array of `shape`, or an error if it would crop everything.
    pub fn output_shape(&self, shape: [usize; 3]) -> Result<[usize; 3]> {
        let mut out = [0usize; 3];
        for d in 0..3 {
            let n = shape[d] as i64 + self.before[d] + self.after[d];
            if n <= 0 {
                return Err(Error::invalid(
                    "crop/pad",
                    format!(
                        "cropping {:?}/{:?} from shape {shape:?} leaves nothing on axis {d}",
                        self.before, self.after
                    ),
                ));
            }
            out[d] = n as usize;
        }
        Ok(out)
    }

    pub fn is_identity(&self) -> bool {
        self.before == [0; 3] && self.after == [0; 3]
    }

    /// Applies the crop/pad, filling new voxels with `T::default()` (0).
    pub fn apply<T: Copy + Default>(&self, a: ArrayView3<T>) -> Result<Array3<T>> {
        let shape = [a.shape()[0], a.shape()[1], a.shape()[2]];
        let out_shape = self.output_shape(shape)?;
        let mut out = Array3::<T>::from_elem(out_shape, T::default());
        // Source range kept and destination offset per axis.
        let mut src = [(0usize, 0usize); 3];
        let mut dst0 = [0usize; 3];
        for d in 0..3 {
            let start = (-self.before[d]).max(0) as usize;
            let end = (shape[d] as i64 - (-self.after[d]).max(0)).max(start as i64) as usize;
            src[d] = (start, end);
            dst0[d] = self.before[d].max(0) as usize;
        }
        let kept = [
            src[0].1 - src[0].0,
            src[1].1 - src[1].0,
            src[2].1 - src[2].0,
        ];
        if kept.contains(&0) {
            return Ok(out);
        }
        out.slice_each_axis_mut(|ax| {
            let d = ax.axis.index();
            Slice::from(dst0[d]..dst0[d] + kept[d])
        })
        .assign(&a.slice_each_axis(|ax| {
            let d = ax.axis.index();
            Slice::from(src[d].0..src[d].1)
        }));
        Ok(out)
    }
}

/// Target shape `[T, H, W]`: H and W up to the next multiple of `divisibility[1..]`, T by `temporal`.
pub fn target_shape(
    shape: [usize; 3],
    divisibility: [usize; 3],
    temporal: TemporalCrop,
) -> Result<[usize; 3]> {
    if divisibility.contains(&0) {
        return Err(Error::invalid(
            "divisibility",
            format!("{divisibility:?} contains 0; every axis needs a multiple of at least 1"),
        ));
    }
    let [t, h, w] = shape;
    let [dt, dh, dw] = divisibility;
    let frames = match temporal {
        TemporalCrop::Keep => t,
        TemporalCrop::FloorToMultiple => (t / dt).max(1) * dt,
    };
    Ok([frames, h.div_ceil(dh) * dh, w.div_ceil(dw) * dw])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn odd_difference_puts_the_extra_voxel_at_the_start() {
        let p = CropPad::centred([4, 5, 6], [4, 8, 3]);
        assert_eq!(
            p.before,
            [0, 2, -2],
            "pad 3 -> 2 before; crop 3 -> 2 before"
        );
        assert_eq!(p.after, [0, 1, -1]);
    }

    #[test]
    fn pad_then_inverse_is_identity_and_crop_then_inverse_keeps_the_centre() {
        let a = Array3::from_shape_fn((3, 5, 7), |(t, h, w)| (t * 100 + h * 10 + w + 1) as u16);
        let pad = CropPad::centred([3, 5, 7], [4, 8, 9]);
        let padded = pad.apply(a.view()).expect("pad");
        assert_eq!(padded.dim(), (4, 8, 9));
        assert_eq!(padded[[1, 2, 1]], a[[0, 0, 0]], "before = (1, 2, 1)");
        assert_eq!(padded[[0, 0, 0]], 0);
        assert_eq!(pad.inverse().apply(padded.view()).expect("crop"), a);

        let crop = CropPad::centred([3, 5, 7], [3, 2, 4]);
        let cropped = crop.apply(a.view()).expect("crop");
        assert_eq!(
            cropped[[0, 0, 0]],
            a[[0, 2, 2]],
            "crop 3 rows -> 2 before; 3 cols -> 2 before"
        );
        let back = crop.inverse().apply(cropped.view()).expect("pad");
        assert_eq!(back.dim(), a.dim());
        assert_eq!(back[[0, 2, 2]], a[[0, 2, 2]]);
        assert_eq!(back[[0, 0, 0]], 0, "cropped voxels come back as 0");
    }

    #[test]
    fn target_shape_rules() {
        assert_eq!(
            target_shape([17, 100, 33], [4, 32, 32], TemporalCrop::Keep).expect("ok"),
            [17, 128, 64]
        );
        assert_eq!(
            target_shape([17, 64, 32], [4, 32, 32], TemporalCrop::FloorToMultiple).expect("ok"),
            [16, 64, 32]
        );
        assert_eq!(
            target_shape([3, 8, 8], [4, 16, 16], TemporalCrop::FloorToMultiple).expect("ok")[0],
            4
        );
        assert!(target_shape([3, 8, 8], [0, 16, 16], TemporalCrop::Keep).is_err());
    }
}
