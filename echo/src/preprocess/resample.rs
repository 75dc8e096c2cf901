//! Resampling of `[T, H, W]` arrays to a new spacing with torchio's output-grid rule
//! (method.md 1.3, torchio 0.18 `Resample` on SimpleITK): `new_size = ceil(old_size ·
//! old_spacing / new_spacing)`, new voxel 0 at continuous old index `0.5·(new/old − 1)`, and the
//! ITK interpolation semantics (a point is inside when its continuous index is in `[−0.5, n−0.5)`;
//! linear interpolation clamps to the edge voxel there; nearest rounds half up; outside = 0).
//! The exact inverse grid maps the resampled array back onto the original voxels (method.md 7.1
//! step 7).

use ndarray::{Array3, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Interpolation used along every axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// (Tri)linear, for intensities and float maps.
    Linear,
    /// Nearest neighbour, for label maps.
    Nearest,
}

/// Largest size one resampled axis may have (guards against absurd spacings).
const MAX_AXIS_SIZE: usize = 1 << 15;

/// How one axis is resampled: output voxel `j` sits at physical offset
/// `origin + j·new_spacing` from input voxel 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AxisGrid {
    pub old_size: usize,
    pub new_size: usize,
    pub old_spacing: f64,
    pub new_spacing: f64,
    /// Physical position of output voxel 0 relative to input voxel 0.
    pub origin: f64,
}

impl AxisGrid {
    /// torchio's rule for one axis. Singleton axes stay singletons and are not moved (torchio keeps
    /// the size 1 but shifts the origin, which would read outside the image: we keep the voxel).
    pub fn torchio(old_size: usize, old_spacing: f64, new_spacing: f64) -> Result<Self> {
        if old_size == 1 {
            return Ok(AxisGrid {
                old_size,
                new_size: 1,
                old_spacing,
                new_spacing,
                origin: 0.0,
            });
        }
        // numpy evaluates `old_size * old_spacing / new_spacing` left to right.
        let exact = (old_size as f64) * old_spacing / new_spacing;
        let new_size = exact.ceil();
        if !(new_size >= 1.0 && new_size <= MAX_AXIS_SIZE as f64) {
            return Err(Error::invalid(
                "resampling",
                format!(
                    "{old_size} voxels at spacing {old_spacing} resampled to spacing {new_spacing} \
                     would give {exact} voxels; check the spacings"
                ),
            ));
        }
        // `TransformContinuousIndexToPhysicalPoint(0.5 * (new/old - 1))`.
        let origin = 0.5 * (new_spacing / old_spacing - 1.0) * old_spacing;
        Ok(AxisGrid {
            old_size,
            new_size: new_size as usize,
            old_spacing,
            new_spacing,
            origin,
        })
    }

    /// The grid that maps the output of `self` back onto exactly the input voxels.
    pub fn inverse(&self) -> Self {
        AxisGrid {
            old_size: self.new_size,
            new_size: self.old_size,
            old_spacing: self.new_spacing,
            new_spacing: self.old_spacing,
            origin: -self.origin,
        }
    }

    /// Continuous input index of output voxel `j` (ITK: physical point times the inverse spacing).
    fn position(&self, j: usize) -> f64 {
        (self.origin + j as f64 * self.new_spacing) * (1.0 / self.old_spacing)
    }

    fn is_identity(&self) -> bool {
        self.old_size == self.new_size && self.origin == 0.0 && self.old_spacing == self.new_spacing
    }
}

/// A resampling of all three axes `[T, H, W]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResampleGrid {
    pub axes: [AxisGrid; 3],
}

impl ResampleGrid {
    /// torchio's `Resample(new_spacing)` grid for an array of `shape` at `spacing` (`[dt, dy, dx]`).
    pub fn torchio(shape: [usize; 3], spacing: [f64; 3], new_spacing: [f64; 3]) -> Result<Self> {
        check_spacing(spacing, "input spacing [dt, dy, dx]")?;
        check_spacing(new_spacing, "target spacing [dt, dy, dx]")?;
        if shape.contains(&0) {
            return Err(Error::invalid(
                "resampling",
                format!("array shape {shape:?} is empty"),
            ));
        }
        Ok(ResampleGrid {
            axes: [
                AxisGrid::torchio(shape[0], spacing[0], new_spacing[0])?,
                AxisGrid::torchio(shape[1], spacing[1], new_spacing[1])?,
                AxisGrid::torchio(shape[2], spacing[2], new_spacing[2])?,
            ],
        })
    }

    pub fn old_shape(&self) -> [usize; 3] {
        self.axes.map(|a| a.old_size)
    }

    pub fn new_shape(&self) -> [usize; 3] {
        self.axes.map(|a| a.new_size)
    }

    /// The grid that maps the resampled array back onto the original voxels.
    pub fn inverse(&self) -> Self {
        ResampleGrid {
            axes: self.axes.map(|a| a.inverse()),
        }
    }
}

/// Fails with `Error::Invalid` when a spacing is not finite and positive.
pub fn check_spacing(spacing: [f64; 3], what: &str) -> Result<()> {
    if let Some((i, s)) = spacing
        .iter()
        .enumerate()
        .find(|(_, s)| !(s.is_finite() && **s > 0.0))
    {
        let axis = ["dt (frames)", "dy (depth, mm)", "dx (lateral, mm)"][i];
        return Err(Error::invalid(
            what,
            format!(
                "{axis} = {s} in {spacing:?}; spacings must be finite and positive (fix the file's pixdim/affine)"
            ),
        ));
    }
    Ok(())
}

/// Resamples a float array (linear or nearest).
pub fn resample_f32(
    a: ArrayView3<f32>,
    grid: &ResampleGrid,
    interp: Interp,
) -> Result<Array3<f32>> {
    check_shape(a.dim(), grid)?;
    let mut cur = a.to_owned();
    for (axis, g) in grid.axes.iter().enumerate() {
        if !g.is_identity() {
            let taps = match interp {
                Interp::Linear => linear_taps(g),
                Interp::Nearest => nearest_taps(g),
            };
            cur = resample_axis(
                cur.view(),
                Axis(axis),
                g.new_size,
                &taps,
                |v: f32, w| f64::from(v) * w,
                |acc| acc as f32,
            );
        }
    }
    Ok(cur)
}

/// Resamples a label array with nearest neighbour.
pub fn resample_labels(a: ArrayView3<u8>, grid: &ResampleGrid) -> Result<Array3<u8>> {
    check_shape(a.dim(), grid)?;
    let mut cur = a.to_owned();
    for (axis, g) in grid.axes.iter().enumerate() {
        if !g.is_identity() {
            let taps = nearest_taps(g);
            cur = resample_axis(
                cur.view(),
                Axis(axis),
                g.new_size,
                &taps,
                |v: u8, w| {
                    if w > 0.0 { f64::from(v) } else { 0.0 }
                },
                |acc| acc as u8,
            );
        }
    }
    Ok(cur)
}

fn check_shape((t, h, w): (usize, usize, usize), grid: &ResampleGrid) -> Result<()> {
    if [t, h, w] != grid.old_shape() {
        return Err(Error::invalid(
            "resampling",
            format!(
                "array of shape {:?} does not match the grid's input shape {:?}",
                [t, h, w],
                grid.old_shape()
            ),
        ));
    }
    Ok(())
}

/// Up to two `(input index, weight)` taps per output index; no taps = outside (0).
type Taps = Vec<Vec<(usize, f64)>>;

fn inside(n: usize, p: f64) -> bool {
    p >= -0.5 && p < n as f64 - 0.5
}

/// ITK `LinearInterpolateImageFunction` in 1-D: inside `[−0.5, n−0.5)` the neighbours are
/// clamped to the edge voxel; outside the buffer the value is 0.
fn linear_taps(g: &AxisGrid) -> Taps {
    let n = g.old_size;
    (0..g.new_size)
        .map(|j| {
            let p = g.position(j);
            if !inside(n, p) {
                return vec![];
            }
            let base = (p.floor().max(0.0)) as usize;
            let dist = p - base as f64;
            if dist <= 0.0 || base + 1 > n - 1 {
                vec![(base, 1.0)]
            } else {
                vec![(base, 1.0 - dist), (base + 1, dist)]
            }
        })
        .collect()
}

/// ITK `NearestNeighborInterpolateImageFunction` in 1-D (round half up); 0 outside.
fn nearest_taps(g: &AxisGrid) -> Taps {
    let n = g.old_size;
    (0..g.new_size)
        .map(|j| {
            let p = g.position(j);
            if inside(n, p) {
                vec![(((p + 0.5).floor().max(0.0) as usize).min(n - 1), 1.0)]
            } else {
                vec![]
            }
        })
        .collect()
}

fn resample_axis<T: Copy + Default>(
    a: ArrayView3<T>,
    axis: Axis,
    new_size: usize,
    taps: &Taps,
    weigh: impl Fn(T, f64) -> f64,
    finish: impl Fn(f64) -> T,
) -> Array3<T> {
    let mut shape = [a.shape()[0], a.shape()[1], a.shape()[2]];
    shape[axis.index()] = new_size;
    let mut out = Array3::<T>::from_elem(shape, T::default());
    let mut buf = Vec::new();
    for (src, mut dst) in a.lanes(axis).into_iter().zip(out.lanes_mut(axis)) {
        buf.clear();
        buf.extend(src.iter().copied());
        for (d, tap) in dst.iter_mut().zip(taps) {
            if !tap.is_empty() {
                *d = finish(tap.iter().map(|&(i, w)| weigh(buf[i], w)).sum());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn torchio_size_and_origin_rule() {
        let g = AxisGrid::torchio(10, 0.5, 0.37).expect("valid");
        assert_eq!(g.new_size, 14, "ceil(10 * 0.5 / 0.37) = ceil(13.51)");
        assert!((g.position(0) - 0.5 * (0.74 - 1.0)).abs() < 1e-12);
        let same = AxisGrid::torchio(7, 1.0, 1.0).expect("valid");
        assert!(same.is_identity());
    }

    #[test]
    fn upsampling_by_two_interpolates_between_voxels() {
        // old spacing 1, new 0.5: positions -0.25, 0.25, 0.75, 1.25, ...
        let a = Array3::from_shape_vec((1, 1, 3), vec![0.0f32, 4.0, 8.0]).expect("shape");
        let grid = ResampleGrid::torchio([1, 1, 3], [1.0, 1.0, 1.0], [1.0, 1.0, 0.5]).expect("ok");
        assert_eq!(grid.new_shape(), [1, 1, 6]);
        let out = resample_f32(a.view(), &grid, Interp::Linear).expect("shape");
        let want = [0.0, 1.0, 3.0, 5.0, 7.0, 8.0];
        for (o, w) in out.iter().zip(want) {
            assert!((o - w).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn inverse_grid_restores_the_original_voxels_for_integer_upsampling() {
        let a = Array3::from_shape_fn((2, 5, 4), |(t, h, w)| (t * 100 + h * 10 + w) as f32);
        let grid = ResampleGrid::torchio([2, 5, 4], [1.0, 0.6, 0.9], [1.0, 0.3, 0.3]).expect("ok");
        let up = resample_f32(a.view(), &grid, Interp::Linear).expect("shape");
        let back = resample_f32(up.view(), &grid.inverse(), Interp::Linear).expect("shape");
        assert_eq!(back.dim(), a.dim());
        // Linear resampling loses the edge voxels (clamped); on a ramp the interior comes back.
        for ((t, h, w), x) in a.indexed_iter() {
            if (1..4).contains(&h) {
                assert!(
                    (x - back[[t, h, w]]).abs() < 1e-3,
                    "{x} vs {}",
                    back[[t, h, w]]
                );
            }
        }
        let labels = a.mapv(|v| (v as u32 % 3) as u8);
        let up = resample_labels(labels.view(), &grid).expect("shape");
        let back = resample_labels(up.view(), &grid.inverse()).expect("shape");
        assert_eq!(back, labels);
    }

    #[test]
    fn bad_spacings_and_shapes_are_errors() {
        let err =
            ResampleGrid::torchio([2, 4, 4], [1.0, 0.0, 0.3], [1.0, 0.37, 0.37]).expect_err("0");
        assert!(err.to_string().contains("dy (depth, mm) = 0"), "{err}");
        let err = ResampleGrid::torchio([2, 4, 4], [1.0, 0.3, f64::NAN], [1.0, 0.37, 0.37]);
        assert!(err.is_err());
        let err = ResampleGrid::torchio([2, 4, 4], [1.0, 0.3, 0.3], [1.0, 1e-12, 0.37]);
        assert!(
            err.expect_err("huge")
                .to_string()
                .contains("check the spacings")
        );
        let grid =
            ResampleGrid::torchio([2, 4, 4], [1.0, 0.3, 0.3], [1.0, 0.37, 0.37]).expect("ok");
        let a = Array3::<f32>::zeros((2, 4, 5));
        assert!(resample_f32(a.view(), &grid, Interp::Linear).is_err());
    }
}
