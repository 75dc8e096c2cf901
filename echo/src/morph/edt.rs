//! Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012, separable lower
//! envelope of parabolas) with anisotropic pixel spacing.
//!
//! [`distance_to`] gives, for every pixel, the distance to the nearest "feature" pixel;
//! [`edt`] is SciPy's `distance_transform_edt` convention: for every `true` pixel, the distance
//! to the nearest `false` pixel (0 on `false` pixels). Where there is no feature pixel at all
//! the distance is `f64::INFINITY` (SciPy returns meaningless finite numbers there).

use ndarray::{Array2, ArrayView2};

/// Reusable buffers for repeated transforms of same-sized frames (hot loops in the metrics).
#[derive(Debug, Default)]
pub struct EdtWorkspace {
    line: Vec<f64>,
    out: Vec<f64>,
    sites: Vec<usize>,
    bounds: Vec<f64>,
}

impl EdtWorkspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// 1-D squared distance transform of `line` (`INFINITY` = no feature) into `self.out`,
    /// positions `i * step`.
    fn transform_line(&mut self, n: usize, step: f64) {
        let f = &self.line;
        self.out.clear();
        self.out.resize(n, f64::INFINITY);
        self.sites.clear();
        self.bounds.clear();
        for q in 0..n {
            if !f[q].is_finite() {
                continue;
            }
            let pq = q as f64 * step;
            loop {
                match self.sites.last() {
                    None => break,
                    Some(&v) => {
                        let pv = v as f64 * step;
                        // Abscissa where parabolas rooted at v and q intersect.
                        let s = ((f[q] + pq * pq) - (f[v] + pv * pv)) / (2.0 * (pq - pv));
                        let last_bound = *self.bounds.last().unwrap_or(&f64::NEG_INFINITY);
                        if s <= last_bound {
                            self.sites.pop();
                            self.bounds.pop();
                        } else {
                            self.bounds.push(s);
                            break;
                        }
                    }
                }
            }
            if self.sites.is_empty() {
                self.bounds.clear();
            }
            self.sites.push(q);
        }
        if self.sites.is_empty() {
            return;
        }
        // bounds[k] separates sites[k] and sites[k + 1].
        let mut k = 0;
        for q in 0..n {
            let pq = q as f64 * step;
            while k < self.bounds.len() && self.bounds[k] < pq {
                k += 1;
            }
            let v = self.sites[k];
            let d = pq - v as f64 * step;
            self.out[q] = f[v] + d * d;
        }
    }
}

/// Squared distance (in physical units, spacing `[dy, dx]`) from every pixel to the nearest
/// `true` pixel of `features`.
pub fn squared_distance_to(
    features: &ArrayView2<bool>,
    spacing: [f64; 2],
    ws: &mut EdtWorkspace,
) -> Array2<f64> {
    let (h, w) = features.dim();
    let flat: Vec<bool> = features.iter().copied().collect();
    let grid = squared_distance_flat(&flat, h, w, spacing, ws);
    Array2::from_shape_vec((h, w), grid).unwrap_or_else(|_| Array2::zeros((h, w)))
}

/// [`squared_distance_to`] on a row-major `h × w` slice, returning a row-major vector.
pub fn squared_distance_flat(
    features: &[bool],
    h: usize,
    w: usize,
    spacing: [f64; 2],
    ws: &mut EdtWorkspace,
) -> Vec<f64> {
    let mut grid = vec![f64::INFINITY; h * w];
    // Pass 1: distance along each column to the nearest feature (two sweeps, row-major).
    let mut nearest = vec![usize::MAX; w];
    for r in 0..h {
        let (f_row, g_row) = (&features[r * w..(r + 1) * w], &mut grid[r * w..(r + 1) * w]);
        for c in 0..w {
            if f_row[c] {
                nearest[c] = r;
            }
            if nearest[c] != usize::MAX {
                let d = (r - nearest[c]) as f64 * spacing[0];
                g_row[c] = d * d;
            }
        }
    }
    nearest.fill(usize::MAX);
    for r in (0..h).rev() {
        let (f_row, g_row) = (&features[r * w..(r + 1) * w], &mut grid[r * w..(r + 1) * w]);
        for c in 0..w {
            if f_row[c] {
                nearest[c] = r;
            }
            if nearest[c] != usize::MAX {
                let d = (nearest[c] - r) as f64 * spacing[0];
                g_row[c] = g_row[c].min(d * d);
            }
        }
    }
    // Pass 2: along columns (axis 1) in each row.
    for r in 0..h {
        let row = &mut grid[r * w..(r + 1) * w];
        ws.line.clear();
        ws.line.extend_from_slice(row);
        ws.transform_line(w, spacing[1]);
        row.copy_from_slice(&ws.out);
    }
    grid
}

/// Distance from every pixel to the nearest `true` pixel of `features`.
pub fn distance_to(features: &ArrayView2<bool>, spacing: [f64; 2]) -> Array2<f64> {
    squared_distance_to(features, spacing, &mut EdtWorkspace::new()).mapv_into(f64::sqrt)
}

/// SciPy's `distance_transform_edt(mask, sampling=spacing)`: distance from each `true` pixel to
/// the nearest `false` pixel, 0 on `false` pixels.
pub fn edt(mask: &ArrayView2<bool>, spacing: [f64; 2]) -> Array2<f64> {
    let background = mask.mapv(|v| !v);
    distance_to(&background.view(), spacing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_force(features: &Array2<bool>, spacing: [f64; 2]) -> Array2<f64> {
        let (h, w) = features.dim();
        Array2::from_shape_fn((h, w), |(r, c)| {
            let mut best = f64::INFINITY;
            for ((fr, fc), &f) in features.indexed_iter() {
                if f {
                    let dy = (r as f64 - fr as f64) * spacing[0];
                    let dx = (c as f64 - fc as f64) * spacing[1];
                    best = best.min((dy * dy + dx * dx).sqrt());
                }
            }
            best
        })
    }

    #[test]
    fn single_feature_gives_euclidean_distances() {
        let mut f = Array2::from_elem((3, 4), false);
        f[[0, 0]] = true;
        let d = distance_to(&f.view(), [1.0, 1.0]);
        assert!((d[[2, 3]] - 13f64.sqrt()).abs() < 1e-12);
        assert_eq!(d[[0, 0]], 0.0);
    }

    #[test]
    fn no_feature_is_infinite() {
        let f = Array2::from_elem((2, 3), false);
        assert!(
            distance_to(&f.view(), [1.0, 1.0])
                .iter()
                .all(|v| v.is_infinite())
        );
    }

    #[test]
    fn edt_matches_scipy_convention_on_a_block() {
        let mut m = Array2::from_elem((5, 5), false);
        crate::morph::fill_rect(m.view_mut(), 1..4, 1..4, true);
        let d = edt(&m.view(), [1.0, 1.0]);
        assert_eq!(d[[2, 2]], 2.0);
        assert_eq!(d[[1, 1]], 1.0);
        assert_eq!(d[[0, 0]], 0.0);
    }

    proptest! {
        #[test]
        fn matches_brute_force_on_random_masks(
            h in 1usize..9, w in 1usize..9,
            bits in proptest::collection::vec(proptest::bool::weighted(0.2), 64),
            dy in 0.2f64..2.0, dx in 0.2f64..2.0,
        ) {
            let f = Array2::from_shape_fn((h, w), |(r, c)| bits[r * 8 + c]);
            let fast = distance_to(&f.view(), [dy, dx]);
            let slow = brute_force(&f, [dy, dx]);
            for (a, b) in fast.iter().zip(slow.iter()) {
                if b.is_infinite() {
                    prop_assert!(a.is_infinite());
                } else {
                    prop_assert!((a - b).abs() < 1e-9, "{} vs {}", a, b);
                }
            }
        }
    }
}
