//! `erosion_ratio_before_myo_split` (method.md 6.1): how many 3×3 erosions split the
//! myocardium, relative to its thickness (the maximal Euclidean distance transform).
//!
//! Repeated 3×3 erosions with scikit-image's border rule (outside the image is foreground) are
//! thresholds of the chessboard distance to the nearest pixel outside the structure:
//! `k` erosions keep exactly the pixels at chessboard distance > k. When vital's small-object
//! removal between erosions is a no-op (`small ≤ 1`, frames up to 128×128) the loop reads the
//! thresholds off one distance map; otherwise it erodes step by step.

use super::runs::{Runs, components};

/// Number of 8-connected components of a row-major mask.
fn count8(mask: &[bool], h: usize, w: usize) -> usize {
    components(&Runs::of(mask, h, w), true).sizes.len()
}

/// Squared Euclidean distance from the farthest structure pixel to the nearest pixel outside
/// the structure (within the image, as SciPy's `distance_transform_edt`); infinite when the
/// structure fills the image. Rows are scanned outwards only while they can still be closer.
pub(super) fn max_inner_sq_distance(mask: &[bool], h: usize, w: usize) -> f64 {
    // Squared horizontal distance to the nearest outside pixel in the same row.
    let mut row_sq = vec![usize::MAX; h * w];
    for r in 0..h {
        let (line, out) = (&mask[r * w..(r + 1) * w], &mut row_sq[r * w..(r + 1) * w]);
        let mut last: Option<usize> = None;
        for c in 0..w {
            if !line[c] {
                last = Some(c);
            }
            if let Some(l) = last {
                out[c] = (c - l) * (c - l);
            }
        }
        let mut next: Option<usize> = None;
        for c in (0..w).rev() {
            if !line[c] {
                next = Some(c);
            }
            if let Some(n) = next {
                out[c] = out[c].min((n - c) * (n - c));
            }
        }
    }
    let mut farthest = 0usize;
    for r in 0..h {
        for c in 0..w {
            if !mask[r * w + c] {
                continue;
            }
            let mut best = row_sq[r * w + c];
            let mut k = 1;
            while k * k < best && (k <= r || r + k < h) {
                for rr in [r.checked_sub(k), Some(r + k).filter(|&x| x < h)]
                    .into_iter()
                    .flatten()
                {
                    best = best.min(row_sq[rr * w + c].saturating_add(k * k));
                }
                k += 1;
            }
            farthest = farthest.max(best);
        }
    }
    if farthest >= usize::MAX / 2 {
        f64::INFINITY
    } else {
        farthest as f64
    }
}

/// Chessboard distance to the nearest pixel outside the structure (outside the image counts as
/// structure); `u32::MAX` when there is none.
fn chessboard(mask: &[bool], h: usize, w: usize) -> Vec<u32> {
    let mut d: Vec<u32> = mask.iter().map(|&m| if m { u32::MAX } else { 0 }).collect();
    let relax = |d: &mut Vec<u32>, i: usize, j: usize| {
        let v = d[j].saturating_add(1);
        if v < d[i] {
            d[i] = v;
        }
    };
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            if c > 0 {
                relax(&mut d, i, i - 1);
            }
            if r > 0 {
                relax(&mut d, i, i - w);
                if c > 0 {
                    relax(&mut d, i, i - w - 1);
                }
                if c + 1 < w {
                    relax(&mut d, i, i - w + 1);
                }
            }
        }
    }
    for r in (0..h).rev() {
        for c in (0..w).rev() {
            let i = r * w + c;
            if c + 1 < w {
                relax(&mut d, i, i + 1);
            }
            if r + 1 < h {
                relax(&mut d, i, i + w);
                if c + 1 < w {
                    relax(&mut d, i, i + w + 1);
                }
                if c > 0 {
                    relax(&mut d, i, i + w - 1);
                }
            }
        }
    }
    d
}

/// Erosions until the structure is no longer one 8-connected component. The original loops
/// forever when erosion stops changing a one-component mask (a structure filling the image);
/// we stop there and use the count reached.
pub(super) fn erosions_before_split(mask: &[bool], h: usize, w: usize, small: f64) -> usize {
    if small > 1.0 {
        return erosions_step_by_step(mask, h, w, small);
    }
    let d = chessboard(mask, h, w);
    let mut current = mask.to_vec();
    let mut erosions = 0;
    let mut k = 0u32;
    while count8(&current, h, w) == 1 {
        erosions += 1;
        k += 1;
        // The eroded mask equals the current one only when no pixel sits at distance k.
        if !d.contains(&k) {
            break;
        }
        for (m, &dist) in current.iter_mut().zip(&d) {
            *m = dist > k;
        }
    }
    erosions
}

/// The literal loop: erode, remove objects smaller than `small` (4-connected), repeat.
fn erosions_step_by_step(mask: &[bool], h: usize, w: usize, small: f64) -> usize {
    let mut current = mask.to_vec();
    let mut tmp = vec![false; h * w];
    let mut next = vec![false; h * w];
    let mut erosions = 0;
    while count8(&current, h, w) == 1 {
        // 3×3 erosion, separably (rows then columns); outside the image counts as foreground.
        for r in 0..h {
            let (src, dst) = (&current[r * w..(r + 1) * w], &mut tmp[r * w..(r + 1) * w]);
            for c in 0..w {
                let left = c == 0 || src[c - 1];
                let right = c + 1 == w || src[c + 1];
                dst[c] = left && src[c] && right;
            }
        }
        for r in 0..h {
            for c in 0..w {
                let i = r * w + c;
                let up = r == 0 || tmp[i - w];
                let down = r + 1 == h || tmp[i + w];
                next[i] = up && tmp[i] && down;
            }
        }
        // scikit-image `remove_small_objects(min_size=small)`, 4-connected.
        let runs = Runs::of(&next, h, w);
        let comps = components(&runs, false);
        for i in 0..runs.len() {
            if (comps.sizes[comps.id[i]] as f64) < small {
                runs.paint(i, &mut next, false);
            }
        }
        erosions += 1;
        if next == current {
            break;
        }
        std::mem::swap(&mut current, &mut next);
    }
    erosions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::morph::{Border, StructuringElement, edt, erode};
    use ndarray::Array2;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn distance_threshold_loop_matches_literal_erosions(
            h in 1usize..16, w in 1usize..16,
            bits in proptest::collection::vec(proptest::bool::weighted(0.8), 256),
        ) {
            let m = Array2::from_shape_fn((h, w), |(r, c)| bits[r * 16 + c]);
            let flat: Vec<bool> = m.iter().copied().collect();
            // small = 1 removes nothing: both loops must agree with repeated erosions.
            prop_assert_eq!(
                erosions_before_split(&flat, h, w, 1.0),
                erosions_step_by_step(&flat, h, w, 1.0)
            );
            // k erosions = chessboard threshold.
            let d = chessboard(&flat, h, w);
            let twice = erode(&m.view(), StructuringElement::Square, 2, Border::Foreground);
            for (e, &dist) in twice.iter().zip(&d) {
                prop_assert_eq!(*e, dist > 2);
            }
            // Maximal inner distance = maximum of SciPy's EDT.
            if flat.contains(&false) {
                let expected = edt(&m.view(), [1.0, 1.0]).iter().copied().fold(0.0, f64::max);
                prop_assert!((max_inner_sq_distance(&flat, h, w).sqrt() - expected).abs() < 1e-12);
            }
        }
    }
}
