//! Surface (boundary) distances between 2-D masks, as MedPy's `hd` / `hd95`:
//! the surface of a mask is the set of its pixels removed by one erosion with the 4-connected
//! cross (outside the image counts as background), and distances are Euclidean in mm with
//! spacing `[dy, dx]`.
//!
//! A [`Surface`] stores a mask's boundary pixels and the squared distance map to them, so that
//! one mask can be compared with several others (temporal Hausdorff between neighbouring
//! frames) with a single distance transform.

use ndarray::{Array2, ArrayView2};

use crate::morph::{EdtWorkspace, StructuringElement, boundary, squared_distance_to};

/// Boundary of one non-empty mask and the squared distance of every pixel to it.
#[derive(Debug, Clone)]
pub struct Surface {
    /// Flat (row-major) indices of the boundary pixels.
    boundary: Vec<usize>,
    /// Squared distance (mm²) of every pixel to the nearest boundary pixel, row-major.
    sq_dist: Array2<f64>,
}

impl Surface {
    /// `None` when the mask is empty (MedPy raises there).
    pub fn new(mask: &ArrayView2<bool>, spacing: [f64; 2], ws: &mut EdtWorkspace) -> Option<Self> {
        if !mask.iter().any(|&v| v) {
            return None;
        }
        let edge = boundary(mask, StructuringElement::Cross);
        let idx: Vec<usize> = edge
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| b.then_some(i))
            .collect();
        let sq_dist = squared_distance_to(&edge.view(), spacing, ws);
        Some(Surface {
            boundary: idx,
            sq_dist,
        })
    }

    /// Squared distances from each of `self`'s boundary pixels to `other`'s boundary.
    fn sq_distances_to<'a>(&'a self, other: &'a Surface) -> impl Iterator<Item = f64> + 'a {
        let flat = other.sq_dist.as_slice_memory_order();
        self.boundary
            .iter()
            .map(move |&i| flat.map_or(f64::INFINITY, |f| f[i]))
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
            .map(f64::sqrt)
            .collect();
        percentile(&mut all, 95.0)
    }
}

/// NumPy's default (`linear`) percentile; sorts `values` in place. NaN for an empty slice.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    values[lo] + (values[hi] - values[lo]) * frac
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
