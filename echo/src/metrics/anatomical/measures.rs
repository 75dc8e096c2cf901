//! The measures behind each anatomical criterion (vital's `Segmentation2DMetrics` as the
//! fork configures it, method.md 6.1), on bit-packed masks of one frame. Components are
//! labelled over horizontal runs (`morph::runs`), which keeps a whole frame to a few passes over
//! its words.

use ndarray::ArrayView2;

use super::AnatomicalMetrics;
use super::thickness::{erosions_before_split, max_inner_sq_distance};
use crate::metrics::frame::FrameMasks;
use crate::morph::bits::BitMask;
use crate::morph::runs::{Runs, components};
use crate::types::{BG, LV, MYO};

/// vital's negligible blob size for an `h × w` frame: `h·w / 2^14` pixels.
fn small_size(h: usize, w: usize) -> f64 {
    (h * w) as f64 / 16384.0
}

/// Measures every criterion of method.md 6.1 on one frame. When LV ∪ MYO stays off the image
/// border the work is done on its window with a one-pixel margin, which gives the same values
/// as the whole frame (see `morph::window`; a property test checks it).
pub fn measure_frame(frame: &ArrayView2<u8>) -> AnatomicalMetrics {
    measure_masks(&FrameMasks::of(*frame))
}

/// [`measure_frame`] from the frame's masks (on that window).
pub(crate) fn measure_masks(masks: &FrameMasks) -> AnatomicalMetrics {
    let (h, w) = masks.frame_dim();
    let bg = masks.background();
    measure_bits(&masks.lv, &masks.myo, &masks.epi, &bg, small_size(h, w))
}

/// [`measure_frame`] on the given pixels without cropping; `small` is vital's negligible blob
/// size, `rows·cols / 2^14` of the whole frame.
pub fn measure_in(frame: &ArrayView2<u8>, small: f64) -> AnatomicalMetrics {
    let [lv, myo, bg] = BitMask::equal_to_each(frame, [LV, MYO, BG]);
    measure_bits(&lv, &myo, &lv.or(&myo), &bg, small)
}

fn measure_bits(
    lv: &BitMask,
    myo: &BitMask,
    epi: &BitMask,
    bg: &BitMask,
    small: f64,
) -> AnatomicalMetrics {
    AnatomicalMetrics {
        lv_pixels: usize::from(lv.is_empty()),
        holes_in_lv: holes(lv),
        disconnectivity_in_lv: disconnectivity(lv),
        disconnectivity_in_myo: disconnectivity(myo),
        erosion_ratio_before_myo_split: erosion_ratio(myo, small),
        holes_in_epi: holes(epi),
        holes_between_lv_and_myo: holes_between(lv, myo, small),
        width_ratio_between_lv_and_myo: width_ratio_bits(lv, myo, epi),
        frontier_ratio_between_lv_and_bg: frontier_ratio_bits(lv, bg),
    }
}

fn bits(mask: &ArrayView2<bool>) -> BitMask {
    BitMask::from_bools(mask)
}

/// Pixels not in the structure that cannot reach the border through 8-connected non-structure
/// pixels (vital pads the complement with a 1-border and labels it with connectivity 2).
pub fn count_holes(mask: &ArrayView2<bool>) -> usize {
    holes(&bits(mask))
}

fn holes(mask: &BitMask) -> usize {
    let runs = Runs::of(&mask.not());
    let comps = components(&runs, true);
    let mut open = vec![false; comps.sizes.len()];
    for i in 0..runs.len() {
        if runs.on_border(i) {
            open[comps.id[i]] = true;
        }
    }
    comps
        .sizes
        .iter()
        .zip(&open)
        .filter(|(_, o)| !**o)
        .map(|(s, _)| s)
        .sum()
}

/// Pixels outside the largest 8-connected component.
pub fn count_disconnectivity(mask: &ArrayView2<bool>) -> usize {
    disconnectivity(&bits(mask))
}

fn disconnectivity(mask: &BitMask) -> usize {
    let sizes = components(&Runs::of(mask), true).sizes;
    sizes.iter().sum::<usize>() - sizes.iter().copied().max().unwrap_or(0)
}

/// Number of 3×3 erosions (scikit-image's, border = foreground), each followed by removing
/// objects smaller than `small` (4-connected), until the mask is no longer one 8-connected
/// component, divided by the maximal distance transform value (thickness). NaN without MYO.
///
/// The original loops forever when erosion stops changing a one-component mask (a structure
/// filling the image); we stop there and use the count reached.
pub fn erosion_ratio_before_split(mask: &ArrayView2<bool>, small: f64) -> f64 {
    erosion_ratio(&bits(mask), small)
}

fn erosion_ratio(mask: &BitMask, small: f64) -> f64 {
    if mask.is_empty() {
        return f64::NAN;
    }
    let thickness = max_inner_sq_distance(mask).sqrt();
    erosions_before_split(mask, small) as f64 / thickness
}

/// Components of the complement of `a` (4-connected) other than the one containing pixel
/// (0, 0), keeping only those that contain no pixel of `b`.
fn holes_without(a: &BitMask, b: &BitMask) -> BitMask {
    let (h, w) = a.dim();
    let runs = Runs::of(&a.not());
    let comps = components(&runs, false);
    let outside = if h > 0 && w > 0 {
        runs.at(0, 0).map(|i| comps.id[i])
    } else {
        None
    };
    let mut touches_b = vec![false; comps.sizes.len()];
    for i in 0..runs.len() {
        if b.any_in(runs.row[i], runs.start[i], runs.end[i]) {
            touches_b[comps.id[i]] = true;
        }
    }
    let mut out = BitMask::new(h, w);
    for i in 0..runs.len() {
        let k = comps.id[i];
        if Some(k) != outside && !touches_b[k] {
            runs.paint(i, &mut out);
        }
    }
    out
}

/// Pixels in gaps between two structures that should touch (vital
/// `count_holes_between_regions`), counted only above `small`.
pub fn count_holes_between(a: &ArrayView2<bool>, b: &ArrayView2<bool>, small: f64) -> usize {
    holes_between(&bits(a), &bits(b), small)
}

fn holes_between(a: &BitMask, b: &BitMask, small: f64) -> usize {
    let (h, w) = a.dim();
    let (ha, hb) = (holes_without(a, b), holes_without(b, a));
    let not_both = a.or(b).or(&ha).or(&hb).not();
    let runs = Runs::of(&not_both);
    let comps = components(&runs, false);
    let outside = if h > 0 && w > 0 {
        runs.at(0, 0).map(|i| comps.id[i])
    } else {
        None
    };
    let n: usize = comps
        .sizes
        .iter()
        .enumerate()
        .filter(|(k, _)| Some(*k) != outside)
        .map(|(_, s)| s)
        .sum();
    if n as f64 > small { n } else { 0 }
}

/// At the row of the centre of mass of LV ∪ MYO (truncated), LV pixels / MYO pixels in that
/// row; NaN when either is 0 or both structures are missing.
pub fn width_ratio(lv: &ArrayView2<bool>, myo: &ArrayView2<bool>) -> f64 {
    let (l, m) = (bits(lv), bits(myo));
    width_ratio_bits(&l, &m, &l.or(&m))
}

/// `epi` is `lv ∪ myo`.
fn width_ratio_bits(lv: &BitMask, myo: &BitMask, epi: &BitMask) -> f64 {
    let (mut sum_r, mut n) = (0usize, 0usize);
    for r in 0..epi.dim().0 {
        let k = epi.count_row(r);
        sum_r += r * k;
        n += k;
    }
    if n == 0 {
        return f64::NAN;
    }
    let row = (sum_r as f64 / n as f64) as usize;
    let (lv_w, myo_w) = (lv.count_row(row), myo.count_row(row));
    if lv_w == 0 || myo_w == 0 {
        f64::NAN
    } else {
        lv_w as f64 / myo_w as f64
    }
}

/// LV pixels touching background (background dilated 3×3; a count of 1 counts as 0) divided by
/// the LV bounding-box width in columns; 0 without LV.
pub fn frontier_ratio(lv: &ArrayView2<bool>, bg: &ArrayView2<bool>) -> f64 {
    frontier_ratio_bits(&bits(lv), &bits(bg))
}

fn frontier_ratio_bits(lv: &BitMask, bg: &BitMask) -> f64 {
    // Background dilated 3×3 (outside the image counts as nothing: scikit-image reflects).
    let touching = lv.and(&bg.dilate_square()).count();
    let Some(lv_box) = lv.bounding_box() else {
        return 0.0;
    };
    let touching = if touching > 1 { touching } else { 0 };
    touching as f64 / lv_box.cols.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use proptest::prelude::*;

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b
    }

    proptest! {
        #[test]
        fn cropping_to_the_window_changes_nothing(
            h in 6usize..20, w in 6usize..20,
            r0 in 0usize..6, c0 in 0usize..6,
            labels in proptest::collection::vec(0u8..3, 100),
        ) {
            // A random 10x10 label patch placed in a larger empty frame (possibly at an edge).
            let frame = Array2::from_shape_fn((h + 4, w + 4), |(r, c)| {
                let (pr, pc) = (r.wrapping_sub(r0), c.wrapping_sub(c0));
                if pr < 10 && pc < 10 && r < h + 4 && c < w + 4 { labels[pr * 10 + pc] } else { 0 }
            });
            let small = frame.len() as f64 / 16384.0;
            let a = measure_frame(&frame.view());
            let b = measure_in(&frame.view(), small);
            prop_assert_eq!(
                (a.lv_pixels, a.holes_in_lv, a.disconnectivity_in_lv, a.disconnectivity_in_myo),
                (b.lv_pixels, b.holes_in_lv, b.disconnectivity_in_lv, b.disconnectivity_in_myo)
            );
            prop_assert_eq!(
                (a.holes_in_epi, a.holes_between_lv_and_myo),
                (b.holes_in_epi, b.holes_between_lv_and_myo)
            );
            prop_assert!(same(a.erosion_ratio_before_myo_split, b.erosion_ratio_before_myo_split));
            prop_assert!(same(a.width_ratio_between_lv_and_myo, b.width_ratio_between_lv_and_myo));
            prop_assert!(same(a.frontier_ratio_between_lv_and_bg, b.frontier_ratio_between_lv_and_bg));
        }
    }
}
