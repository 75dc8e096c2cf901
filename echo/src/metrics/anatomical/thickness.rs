//! `erosion_ratio_before_myo_split` (method.md 6.1): how many 3×3 erosions split the
//! myocardium, relative to its thickness (the maximal Euclidean distance transform).
//!
//! The erosions are the literal loop on bit-packed masks (a 3×3 erosion costs a few word
//! operations per row). The thickness reads horizontal distances off the runs and searches
//! vertically only while a pixel can still beat the farthest one found, which leaves the
//! maximum exactly as a full distance transform gives it.

use crate::morph::bits::BitMask;
use crate::morph::runs::{Runs, components};

/// Squared Euclidean distance from the farthest pixel on to the nearest pixel off (within the
/// grid, as SciPy's `distance_transform_edt`); infinite when every pixel is on.
pub(super) fn max_inner_sq_distance(mask: &BitMask) -> f64 {
    let (h, w) = mask.dim();
    // Squared horizontal distance to the nearest pixel off in the same row (0 on pixels off,
    // `usize::MAX` when the row has none).
    let mut row_sq = vec![0usize; h * w];
    for r in 0..h {
        mask.for_runs_in_row(r, |s, e| {
            for c in s..e {
                let left = (s > 0).then(|| c + 1 - s);
                let right = (e < w).then(|| e - c);
                row_sq[r * w + c] = match left.into_iter().chain(right).min() {
                    Some(d) => d * d,
                    None => usize::MAX,
                };
            }
        });
    }
    let mut farthest = 0usize;
    for (r, c) in mask.ones() {
        let mut best = row_sq[r * w + c];
        // Rows k away add at least k²: stop once that cannot beat `best`, or once `best` can no
        // longer beat `farthest` (the maximum is then unchanged).
        let mut k = 1;
        while best > farthest && k * k < best && (k <= r || r + k < h) {
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
    if farthest >= usize::MAX / 2 {
        f64::INFINITY
    } else {
        farthest as f64
    }
}

/// Removes the 4-connected components with fewer than `small` pixels (scikit-image
/// `remove_small_objects(min_size=small)`).
fn remove_small_objects(mask: BitMask, runs: &Runs, small: f64) -> BitMask {
    let comps = components(runs, false);
    if comps.sizes.iter().all(|&s| s as f64 >= small) {
        return mask;
    }
    let (h, w) = mask.dim();
    let mut kept = BitMask::new(h, w);
    for i in 0..runs.len() {
        if comps.sizes[comps.id[i]] as f64 >= small {
            runs.paint(i, &mut kept);
        }
    }
    kept
}

/// Erosions (3×3, outside the grid counts as foreground, as scikit-image's), each followed by
/// removing objects smaller than `small`, until the structure is no longer one 8-connected
/// component. The original loops forever when erosion stops changing a one-component mask (a
/// structure filling the image); we stop there and use the count reached.
pub(super) fn erosions_before_split(mask: &BitMask, small: f64) -> usize {
    let mut current = mask.clone();
    let mut runs = Runs::of(&current);
    let mut erosions = 0;
    while components(&runs, true).sizes.len() == 1 {
        let mut next = current.erode_square(true);
        runs = Runs::of(&next);
        // Every component has at least one pixel: nothing is removed while `small ≤ 1`.
        if small > 1.0 {
            next = remove_small_objects(next, &runs, small);
            runs = Runs::of(&next);
        }
        erosions += 1;
        if next == current {
            break;
        }
        current = next;
    }
    erosions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::morph::{
        Border, Connectivity, StructuringElement, count_components, edt, erode,
        remove_small_objects as remove_small_bool,
    };
    use ndarray::Array2;
    use proptest::prelude::*;

    /// The definition with the `bool` morphology of `morph`.
    fn erosions_reference(mask: &Array2<bool>, small: f64) -> usize {
        let mut current = mask.clone();
        let mut erosions = 0;
        while count_components(&current.view(), Connectivity::Eight) == 1 {
            let eroded = erode(
                &current.view(),
                StructuringElement::Square,
                1,
                Border::Foreground,
            );
            let next = remove_small_bool(&eroded.view(), small, Connectivity::Four);
            erosions += 1;
            if next == current {
                break;
            }
            current = next;
        }
        erosions
    }

    proptest! {
        #[test]
        fn erosions_and_thickness_match_the_definitions(
            h in 1usize..16, w in 1usize..16,
            bits in proptest::collection::vec(proptest::bool::weighted(0.8), 256),
            small in prop_oneof![Just(0.5), Just(1.0), Just(2.5), Just(6.0)],
        ) {
            let m = Array2::from_shape_fn((h, w), |(r, c)| bits[r * 16 + c]);
            let b = BitMask::from_bools(&m.view());
            prop_assert_eq!(erosions_before_split(&b, small), erosions_reference(&m, small));
            // Maximal inner distance = maximum of SciPy's EDT.
            if m.iter().any(|&v| !v) {
                let expected = edt(&m.view(), [1.0, 1.0]).iter().copied().fold(0.0, f64::max);
                prop_assert!((max_inner_sq_distance(&b).sqrt() - expected).abs() < 1e-12);
            } else {
                prop_assert!(max_inner_sq_distance(&b).is_infinite());
            }
        }
    }
}
