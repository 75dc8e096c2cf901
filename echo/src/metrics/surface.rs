//! Surface (boundary) distances between 2-D masks, as MedPy's `hd` / `hd95`:
//! the surface of a mask is the set of its pixels removed by one erosion with the 4-connected
//! cross (outside the image counts as background), and distances are Euclidean in mm with
//! spacing `[dy, dx]`.
//!
//! A [`Surface`] stores a mask's boundary pixels bucketed on a coarse grid, so that the nearest
//! boundary pixel of another mask is found by looking at a few nearby buckets: exact
//! nearest-neighbour distances (the values MedPy reads off a distance transform) at a cost that
//! grows with the boundary length rather than the image area. One surface can be compared with
//! several others (temporal Hausdorff between neighbouring frames). Inside the crate a frame's
//! boundary pixels (`Boundary`, from bit masks) are found once and bucketed on the window of
//! each comparison; coordinates are taken from that window's corner, so a distance is the same
//! floating-point value whichever metric asks for it.

use ndarray::ArrayView2;

use crate::morph::Window;
use crate::morph::bits::BitMask;

/// Side of the buckets, pixels.
const CELL: usize = 4;

/// Surface pixels of one non-empty mask, `[row, col]` in frame coordinates, in raster order:
/// what a frame's structure contributes to every distance it takes part in.
#[derive(Debug, Clone)]
pub(crate) struct Boundary {
    pub(super) points: Vec<[u32; 2]>,
}

impl Boundary {
    /// Surface of `mask` whose top-left pixel is `origin` in the frame; `None` when empty. The
    /// pixels just outside the mask's grid count as background, so the grid must hold every
    /// in-image neighbour of the mask's pixels.
    pub fn of(mask: &BitMask, origin: [usize; 2]) -> Option<Self> {
        let points: Vec<[u32; 2]> = mask
            .boundary()
            .ones()
            .map(|(r, c)| [(r + origin[0]) as u32, (c + origin[1]) as u32])
            .collect();
        (!points.is_empty()).then_some(Boundary { points })
    }

    /// The surface of a one-pixel mask.
    pub fn single(pixel: [usize; 2]) -> Self {
        Boundary {
            points: vec![[pixel[0] as u32, pixel[1] as u32]],
        }
    }
}

/// Boundary pixels of one non-empty mask, bucketed for nearest-neighbour queries.
#[derive(Debug, Clone)]
pub struct Surface {
    /// Boundary pixels `[row, col]` relative to the window, grouped by bucket (row-major bucket
    /// order).
    points: Vec<[u32; 2]>,
    /// The same points in mm (`[row · dy, col · dx]`).
    scaled: Vec<[f64; 2]>,
    /// `points[starts[b]..starts[b + 1]]` lie in bucket `b`.
    starts: Vec<usize>,
    /// Buckets per row and column.
    cells: [usize; 2],
    spacing: [f64; 2],
}

impl Surface {
    /// `None` when the mask is empty (MedPy raises there).
    pub fn new(mask: &ArrayView2<bool>, spacing: [f64; 2]) -> Option<Self> {
        let (h, w) = mask.dim();
        let boundary = Boundary::of(&BitMask::from_bools(mask), [0, 0])?;
        Some(Surface::on_window(&boundary, &Window::full(h, w), spacing))
    }

    /// A boundary bucketed on `window` (which holds it), with coordinates relative to the
    /// window's corner: surfaces compared with each other must share the window.
    pub(crate) fn on_window(boundary: &Boundary, window: &Window, spacing: [f64; 2]) -> Self {
        let (h, w) = (window.rows.len(), window.cols.len());
        let (r0, c0) = (window.rows.start as u32, window.cols.start as u32);
        let cells = [h.div_ceil(CELL), w.div_ceil(CELL)];
        let bucket = |p: &[u32; 2]| (p[0] as usize / CELL) * cells[1] + p[1] as usize / CELL;
        let relative = |p: &[u32; 2]| [p[0] - r0, p[1] - c0];
        let mut starts = vec![0usize; cells[0] * cells[1] + 1];
        for p in &boundary.points {
            starts[bucket(&relative(p)) + 1] += 1;
        }
        for b in 0..cells[0] * cells[1] {
            starts[b + 1] += starts[b];
        }
        let mut fill = starts.clone();
        let mut points = vec![[0u32; 2]; boundary.points.len()];
        for p in &boundary.points {
            let q = relative(p);
            let b = bucket(&q);
            points[fill[b]] = q;
            fill[b] += 1;
        }
        let scaled = points
            .iter()
            .map(|p| [f64::from(p[0]) * spacing[0], f64::from(p[1]) * spacing[1]])
            .collect();
        Surface {
            points,
            scaled,
            starts,
            cells,
            spacing,
        }
    }

    /// Squared distance (mm²) from pixel `q` to the nearest boundary pixel: buckets are visited
    /// in rings of growing Chebyshev radius until no unvisited bucket can be closer. Returns
    /// early, with a value ≤ `enough`, once some pixel is that close (for a maximum of nearest
    /// distances, a pixel that close cannot matter; `-1` never stops early).
    fn nearest_sq(&self, q: [u32; 2], enough: f64) -> f64 {
        let [dy, dx] = self.spacing;
        let (qr, qc) = (
            (q[0] as usize / CELL) as isize,
            (q[1] as usize / CELL) as isize,
        );
        let (rows, cols) = (self.cells[0] as isize, self.cells[1] as isize);
        let mut best = f64::INFINITY;
        let (qy, qx) = (f64::from(q[0]) * dy, f64::from(q[1]) * dx);
        let scan = |br: isize, bc: isize, best: &mut f64| {
            if br < 0 || bc < 0 || br >= rows || bc >= cols {
                return;
            }
            let b = br as usize * self.cells[1] + bc as usize;
            for p in &self.scaled[self.starts[b]..self.starts[b + 1]] {
                let (a, c) = (p[0] - qy, p[1] - qx);
                *best = best.min(a * a + c * c);
            }
        };
        for k in 0..=rows.max(cols) {
            for br in qr - k..=qr + k {
                if (br - qr).abs() == k {
                    for bc in qc - k..=qc + k {
                        scan(br, bc, &mut best);
                    }
                } else {
                    scan(br, qc - k, &mut best);
                    if k > 0 {
                        scan(br, qc + k, &mut best);
                    }
                }
                if best <= enough {
                    return best;
                }
            }
            // Every pixel of a bucket in ring k + 1 is at least k·CELL + 1 pixels away along a
            // row or a column.
            let gap = (k as usize * CELL + 1) as f64 * dy.min(dx);
            if best <= gap * gap {
                break;
            }
        }
        best
    }

    /// Squared distances from each of `self`'s boundary pixels to `other`'s boundary (both on
    /// the same grid).
    fn sq_distances_to<'a>(&'a self, other: &'a Surface) -> impl Iterator<Item = f64> + 'a {
        self.points.iter().map(move |&q| other.nearest_sq(q, -1.0))
    }

    /// The larger of `floor` and the largest squared distance from `self`'s boundary to
    /// `other`'s, skipping the search for pixels that cannot raise it.
    fn directed_sq(&self, other: &Surface, floor: f64) -> f64 {
        let mut max = floor;
        for &q in &self.points {
            let d = other.nearest_sq(q, max);
            if d > max {
                max = d;
            }
        }
        max
    }

    /// Largest distance from `self`'s boundary to `other`'s (directed Hausdorff), in mm.
    pub fn directed_hausdorff(&self, other: &Surface) -> f64 {
        self.directed_sq(other, 0.0).sqrt()
    }

    /// Symmetric Hausdorff distance (MedPy `hd`), in mm.
    pub fn hausdorff(&self, other: &Surface) -> f64 {
        other.directed_sq(self, self.directed_sq(other, 0.0)).sqrt()
    }

    /// 95th percentile of the pooled surface distances in both directions (MedPy `hd95`), in mm.
    pub fn hausdorff95(&self, other: &Surface) -> f64 {
        self.hausdorff_and_95(other).1
    }

    /// [`Surface::hausdorff`] and [`Surface::hausdorff95`] from one set of distance queries.
    pub fn hausdorff_and_95(&self, other: &Surface) -> (f64, f64) {
        let mut all: Vec<f64> = self
            .sq_distances_to(other)
            .chain(other.sq_distances_to(self))
            .collect();
        let max = all.iter().copied().fold(0.0, f64::max).sqrt();
        // Squared distances have the same order; interpolate between the roots.
        (max, percentile_with(&mut all, 95.0, f64::sqrt))
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
    let sa = Surface::new(a, spacing)?;
    let sb = Surface::new(b, spacing)?;
    Some(sa.hausdorff(&sb))
}

/// MedPy `hd95(a, b, spacing)`: `None` when either mask is empty.
pub fn hausdorff95(a: &ArrayView2<bool>, b: &ArrayView2<bool>, spacing: [f64; 2]) -> Option<f64> {
    let sa = Surface::new(a, spacing)?;
    let sb = Surface::new(b, spacing)?;
    Some(sa.hausdorff95(&sb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::morph::{StructuringElement, boundary};
    use ndarray::Array2;
    use proptest::prelude::*;

    /// MedPy's definition by brute force: all boundary pairs.
    fn brute_force(a: &Array2<bool>, b: &Array2<bool>, sp: [f64; 2]) -> (f64, f64) {
        let pts = |m: &Array2<bool>| -> Vec<(f64, f64)> {
            boundary(&m.view(), StructuringElement::Cross)
                .indexed_iter()
                .filter(|(_, v)| **v)
                .map(|((r, c), _)| (r as f64, c as f64))
                .collect()
        };
        let (pa, pb) = (pts(a), pts(b));
        let directed = |x: &[(f64, f64)], y: &[(f64, f64)]| -> Vec<f64> {
            x.iter()
                .map(|p| {
                    y.iter()
                        .map(|q| {
                            (((p.0 - q.0) * sp[0]).powi(2) + ((p.1 - q.1) * sp[1]).powi(2)).sqrt()
                        })
                        .fold(f64::INFINITY, f64::min)
                })
                .collect()
        };
        let (ab, ba) = (directed(&pa, &pb), directed(&pb, &pa));
        let hd = ab.iter().chain(&ba).copied().fold(0.0, f64::max);
        let mut all: Vec<f64> = ab.into_iter().chain(ba).collect();
        all.sort_by(f64::total_cmp);
        let pos = 0.95 * (all.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        (hd, all[lo] + (all[hi] - all[lo]) * (pos - lo as f64))
    }

    proptest! {
        #[test]
        fn bucketed_search_matches_brute_force(
            h in 1usize..40, w in 1usize..40,
            a_bits in proptest::collection::vec(proptest::bool::weighted(0.05), 1600),
            b_bits in proptest::collection::vec(proptest::bool::weighted(0.3), 1600),
            dy in 0.2f64..2.0, dx in 0.2f64..2.0,
        ) {
            let a = Array2::from_shape_fn((h, w), |(r, c)| a_bits[r * 40 + c]);
            let b = Array2::from_shape_fn((h, w), |(r, c)| b_bits[r * 40 + c]);
            let (got_hd, got_95) = (hausdorff(&a.view(), &b.view(), [dy, dx]), hausdorff95(&a.view(), &b.view(), [dy, dx]));
            if a.iter().any(|&v| v) && b.iter().any(|&v| v) {
                let (hd, hd95) = brute_force(&a, &b, [dy, dx]);
                prop_assert!((got_hd.unwrap_or(f64::NAN) - hd).abs() < 1e-9);
                prop_assert!((got_95.unwrap_or(f64::NAN) - hd95).abs() < 1e-9);
            } else {
                prop_assert!(got_hd.is_none() && got_95.is_none());
            }
        }
    }

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
