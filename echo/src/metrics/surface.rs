//! Surface (boundary) distances between 2-D masks, as MedPy's `hd` / `hd95`:
//! the surface of a mask is the set of its pixels removed by one erosion with the 4-connected
//! cross (outside the image counts as background), and distances are Euclidean in mm with
//! spacing `[dy, dx]`.
//!
//! A [`Surface`] stores a mask's boundary pixels and the squared distance map to them, so that
//! one mask can be compared with several others (temporal Hausdorff between neighbouring
//! frames) with a single distance transform.

use ndarray::ArrayView2;

use crate::morph::{EdtWorkspace, squared_distance_flat};

/// Boundary of one non-empty mask and the squared distance of every pixel to it.
#[derive(Debug, Clone)]
pub struct Surface {
    /// Flat (row-major) indices of the boundary pixels.
    boundary: Vec<usize>,
    /// Squared distance (mm²) of every pixel to the nearest boundary pixel, row-major.
    sq_dist: Vec<f64>,
}

impl Surface {
    /// `None` when the mask is empty (MedPy raises there).
    pub fn new(mask: &ArrayView2<bool>, spacing: [f64; 2], ws: &mut EdtWorkspace) -> Option<Self> {
        let (h, w) = mask.dim();
        let flat: Vec<bool> = mask.iter().copied().collect();
        // Surface: mask pixels with a 4-neighbour outside the mask or the image (one erosion with
        // the cross, outside = background).
        let mut edge = vec![false; h * w];
        let mut boundary = Vec::new();
        for r in 0..h {
            for c in 0..w {
                let i = r * w + c;
                if !flat[i] {
                    continue;
                }
                let inner = r > 0
                    && r + 1 < h
                    && c > 0
                    && c + 1 < w
                    && flat[i - 1]
                    && flat[i + 1]
                    && flat[i - w]
                    && flat[i + w];
                if !inner {
                    edge[i] = true;
                    boundary.push(i);
                }
            }
        }
        if boundary.is_empty() {
            return None;
        }
        let sq_dist = squared_distance_flat(&edge, h, w, spacing, ws);
        Some(Surface { boundary, sq_dist })
    }

    /// Squared distances from each of `self`'s boundary pixels to `other`'s boundary (both on
    /// the same grid).
    fn sq_distances_to<'a>(&'a self, other: &'a Surface) -> impl Iterator<Item = f64> + 'a {
        self.boundary
            .iter()
            .map(move |&i| other.sq_dist.get(i).copied().unwrap_or(f64::INFINITY))
    }

    /// Largest distance from `self`'s boundary to `other`'s (directed Hausdorff), in mm.
    pub fn directed_hausdorff(&self, other: &Surface) -> f64 {
        self.sq_distances_to(other).fold(0.0, f64::max).sqrt()
    }

    /// Symmetric Hausdorff distance (MedPy `hd`), in mm.
    pub fn hausdorff(&self, other: &Surface) -> f64 {
        self.directed_hausdorff(other)
            .max(other.directed_hausdorff(self))
    }

    /// 95th percentile of the pooled surface distances in both directions (MedPy `hd95`), in mm.
    pub fn hausdorff95(&self, other: &Surface) -> f64 {
        let mut all: Vec<f64> = self
            .sq_distances_to(other)
            .chain(other.sq_distances_to(self))
            .collect();
        // Squared distances have the same order; interpolate between the roots.
        percentile_with(&mut all, 95.0, f64::sqrt)
    }
}

/// NumPy's `linear` percentile of `f(v)` for a monotone `f`, selecting the two order statistics
/// it needs in linear time (reorders `values`). NaN for an empty slice.
fn percentile_with(values: &mut [f64], q: f64, f: impl Fn(f64) -> f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let (_, &mut v_lo, upper) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let v_hi = if pos > lo as f64 {
        upper.iter().copied().fold(f64::INFINITY, f64::min)
    } else {
        v_lo
    };
    let (a, b) = (f(v_lo), f(v_hi));
    a + (b - a) * (pos - lo as f64)
}

/// NumPy's default (`linear`) percentile; reorders `values`. NaN for an empty slice.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    percentile_with(values, q, |v| v)
}

/// MedPy `hd(a, b, spacing)`: `None` when either mask is empty.
pub fn hausdorff(a: &ArrayView2<bool>, b: &ArrayView2<bool>, spacing: [f64; 2]) -> Option<f64> {
    let mut ws = EdtWorkspace::new();
    let sa = Surface::new(a, spacing, &mut ws)?;
    let sb = Surface::new(b, spacing, &mut ws)?;
    Some(sa.hausdorff(&sb))
}

/// MedPy `hd95(a, b, spacing)`: `None` when either mask is empty.
pub fn hausdorff95(a: &ArrayView2<bool>, b: &ArrayView2<bool>, spacing: [f64; 2]) -> Option<f64> {
    let mut ws = EdtWorkspace::new();
    let sa = Surface::new(a, spacing, &mut ws)?;
    let sb = Surface::new(b, spacing, &mut ws)?;
    Some(sa.hausdorff95(&sb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn rect(
        h: usize,
        w: usize,
        r: std::ops::Range<usize>,
        c: std::ops::Range<usize>,
    ) -> Array2<bool> {
        Array2::from_shape_fn((h, w), |(i, j)| r.contains(&i) && c.contains(&j))
    }

    #[test]
    fn shifted_square_hausdorff_is_the_shift() {
        let a = rect(10, 10, 2..5, 2..5);
        let b = rect(10, 10, 2..5, 4..7);
        assert_eq!(hausdorff(&a.view(), &b.view(), [1.0, 1.0]), Some(2.0));
        assert_eq!(hausdorff(&a.view(), &b.view(), [1.0, 0.5]), Some(1.0));
        assert_eq!(hausdorff(&a.view(), &a.view(), [1.0, 1.0]), Some(0.0));
    }

    #[test]
    fn empty_mask_gives_none() {
        let a = rect(4, 4, 0..0, 0..0);
        let b = rect(4, 4, 1..2, 1..2);
        assert_eq!(hausdorff(&a.view(), &b.view(), [1.0, 1.0]), None);
        assert_eq!(hausdorff95(&b.view(), &a.view(), [1.0, 1.0]), None);
    }

    #[test]
    fn percentile_interpolates_linearly_like_numpy() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        // np.percentile([1, 2, 3, 4], 95) = 3.85
        assert!((percentile(&mut v, 95.0) - 3.85).abs() < 1e-12);
        assert!(percentile(&mut [], 50.0).is_nan());
    }
}
