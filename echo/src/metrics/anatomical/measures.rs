//! The measures behind each anatomical criterion (vital's `Segmentation2DMetrics` as the
//! fork configures it, method.md 6.1), on row-major boolean masks of one frame. Components are
//! labelled over horizontal runs (`runs`), which keeps a whole frame to a few passes over its
//! pixels.

use ndarray::ArrayView2;

use super::AnatomicalMetrics;
use super::runs::{Runs, components};
use super::thickness::{erosions_before_split, max_inner_sq_distance};
use crate::morph::{Window, dilate_square_flat};
use crate::types::{BG, LV, MYO};

/// Measures every criterion of method.md 6.1 on one frame. When LV ∪ MYO stays off the image
/// border the work is done on its window with a one-pixel margin, which gives the same values
/// as the whole frame (see `morph::window`; a property test checks it).
pub fn measure_frame(frame: &ArrayView2<u8>) -> AnatomicalMetrics {
    let (h, w) = frame.dim();
    let small = (h * w) as f64 / 16384.0;
    match Window::around_labels(frame, 0, |&v| v == LV || v == MYO) {
        Some(win) if win.is_interior(h, w) => measure_in(&win.widened(1, h, w).view(frame), small),
        _ => measure_in(frame, small),
    }
}

/// [`measure_frame`] on the given pixels without cropping; `small` is vital's negligible blob
/// size, `rows·cols / 2^14` of the whole frame.
pub fn measure_in(frame: &ArrayView2<u8>, small: f64) -> AnatomicalMetrics {
    let (h, w) = frame.dim();
    let labels: Vec<u8> = frame.iter().copied().collect();
    let lv: Vec<bool> = labels.iter().map(|&v| v == LV).collect();
    let myo: Vec<bool> = labels.iter().map(|&v| v == MYO).collect();
    let epi: Vec<bool> = labels.iter().map(|&v| v == LV || v == MYO).collect();
    let bg: Vec<bool> = labels.iter().map(|&v| v == BG).collect();
    AnatomicalMetrics {
        lv_pixels: usize::from(!lv.contains(&true)),
        holes_in_lv: holes_flat(&lv, h, w),
        disconnectivity_in_lv: disconnectivity_flat(&lv, h, w),
        disconnectivity_in_myo: disconnectivity_flat(&myo, h, w),
        erosion_ratio_before_myo_split: erosion_ratio_flat(&myo, h, w, small),
        holes_in_epi: holes_flat(&epi, h, w),
        holes_between_lv_and_myo: holes_between_flat(&lv, &myo, h, w, small),
        width_ratio_between_lv_and_myo: width_ratio_flat(&lv, &myo, h, w),
        frontier_ratio_between_lv_and_bg: frontier_ratio_flat(&lv, &bg, h, w),
    }
}

fn flat(mask: &ArrayView2<bool>) -> (Vec<bool>, usize, usize) {
    let (h, w) = mask.dim();
    (mask.iter().copied().collect(), h, w)
}

fn not(mask: &[bool]) -> Vec<bool> {
    mask.iter().map(|&v| !v).collect()
}

/// Pixels not in the structure that cannot reach the border through 8-connected non-structure
/// pixels (vital pads the complement with a 1-border and labels it with connectivity 2).
pub fn count_holes(mask: &ArrayView2<bool>) -> usize {
    let (m, h, w) = flat(mask);
    holes_flat(&m, h, w)
}

fn holes_flat(mask: &[bool], h: usize, w: usize) -> usize {
    let runs = Runs::of(&not(mask), h, w);
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
    let (m, h, w) = flat(mask);
    disconnectivity_flat(&m, h, w)
}

fn disconnectivity_flat(mask: &[bool], h: usize, w: usize) -> usize {
    let sizes = components(&Runs::of(mask, h, w), true).sizes;
    sizes.iter().sum::<usize>() - sizes.iter().copied().max().unwrap_or(0)
}

/// Number of 3×3 erosions (scikit-image's, border = foreground), each followed by removing
/// objects smaller than `small` (4-connected), until the mask is no longer one 8-connected
/// component, divided by the maximal distance transform value (thickness). NaN without MYO.
///
/// The original loops forever when erosion stops changing a one-component mask (a structure
/// filling the image); we stop there and use the count reached.
pub fn erosion_ratio_before_split(mask: &ArrayView2<bool>, small: f64) -> f64 {
    let (m, h, w) = flat(mask);
    erosion_ratio_flat(&m, h, w, small)
}

fn erosion_ratio_flat(mask: &[bool], h: usize, w: usize, small: f64) -> f64 {
    if !mask.contains(&true) {
        return f64::NAN;
    }
    let thickness = max_inner_sq_distance(mask, h, w).sqrt();
    erosions_before_split(mask, h, w, small) as f64 / thickness
}

/// Components of the complement of `a` (4-connected) other than the one containing pixel
/// (0, 0), keeping only those that contain no pixel of `b`.
fn holes_without(a: &[bool], b: &[bool], h: usize, w: usize) -> Vec<bool> {
    let runs = Runs::of(&not(a), h, w);
    let comps = components(&runs, false);
    let outside = if h > 0 && w > 0 {
        runs.at(0, 0).map(|i| comps.id[i])
    } else {
        None
    };
    let mut touches_b = vec![false; comps.sizes.len()];
    for i in 0..runs.len() {
        let base = runs.row[i] * w;
        if b[base + runs.start[i]..base + runs.end[i]].contains(&true) {
            touches_b[comps.id[i]] = true;
        }
    }
    let mut out = vec![false; h * w];
    for i in 0..runs.len() {
        let k = comps.id[i];
        if Some(k) != outside && !touches_b[k] {
            runs.paint(i, &mut out, true);
        }
    }
    out
}

/// Pixels in gaps between two structures that should touch (vital
/// `count_holes_between_regions`), counted only above `small`.
pub fn count_holes_between(a: &ArrayView2<bool>, b: &ArrayView2<bool>, small: f64) -> usize {
    let ((fa, h, w), (fb, _, _)) = (flat(a), flat(b));
    holes_between_flat(&fa, &fb, h, w, small)
}

fn holes_between_flat(a: &[bool], b: &[bool], h: usize, w: usize, small: f64) -> usize {
    let ha = holes_without(a, b, h, w);
    let hb = holes_without(b, a, h, w);
    let not_both: Vec<bool> = (0..h * w)
        .map(|i| !(a[i] || b[i] || ha[i] || hb[i]))
        .collect();
    let runs = Runs::of(&not_both, h, w);
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
    let ((fl, h, w), (fm, _, _)) = (flat(lv), flat(myo));
    width_ratio_flat(&fl, &fm, h, w)
}

fn width_ratio_flat(lv: &[bool], myo: &[bool], h: usize, w: usize) -> f64 {
    let (mut sum_r, mut n) = (0usize, 0usize);
    for r in 0..h {
        let k = (r * w..(r + 1) * w).filter(|&i| lv[i] || myo[i]).count();
        sum_r += r * k;
        n += k;
    }
    if n == 0 {
        return f64::NAN;
    }
    let row = (sum_r as f64 / n as f64) as usize;
    let count = |m: &[bool]| m[row * w..(row + 1) * w].iter().filter(|&&v| v).count();
    let (lv_w, myo_w) = (count(lv), count(myo));
    if lv_w == 0 || myo_w == 0 {
        f64::NAN
    } else {
        lv_w as f64 / myo_w as f64
    }
}

/// LV pixels touching background (background dilated 3×3; a count of 1 counts as 0) divided by
/// the LV bounding-box width in columns; 0 without LV.
pub fn frontier_ratio(lv: &ArrayView2<bool>, bg: &ArrayView2<bool>) -> f64 {
    let ((fl, h, w), (fb, _, _)) = (flat(lv), flat(bg));
    frontier_ratio_flat(&fl, &fb, h, w)
}

fn frontier_ratio_flat(lv: &[bool], bg: &[bool], h: usize, w: usize) -> f64 {
    // Background dilated 3×3 (outside the image counts as nothing: scikit-image reflects).
    let near_bg = dilate_square_flat(bg, h, w);
    let (mut min_c, mut max_c, mut touching) = (usize::MAX, 0usize, 0usize);
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            if lv[i] {
                min_c = min_c.min(c);
                max_c = max_c.max(c);
                touching += usize::from(near_bg[i]);
            }
        }
    }
    if min_c == usize::MAX {
        return 0.0;
    }
    let touching = if touching > 1 { touching } else { 0 };
    touching as f64 / (max_c + 1 - min_c) as f64
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
