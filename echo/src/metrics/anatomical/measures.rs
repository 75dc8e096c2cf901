//! The measures behind each anatomical criterion (vital's `Segmentation2DMetrics` as the
//! fork configures it, method.md 6.1), on boolean masks of one frame.

use ndarray::{Array2, ArrayView2};

use super::AnatomicalMetrics;
use crate::morph::{Connectivity, Window, edt, holes, label};
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
    let lv = frame.mapv(|v| v == LV);
    let myo = frame.mapv(|v| v == MYO);
    let epi = frame.mapv(|v| v == LV || v == MYO);
    let bg = frame.mapv(|v| v == BG);
    let has_lv = lv.iter().any(|&v| v);
    AnatomicalMetrics {
        lv_pixels: usize::from(!has_lv),
        holes_in_lv: count_holes(&lv.view()),
        disconnectivity_in_lv: count_disconnectivity(&lv.view()),
        disconnectivity_in_myo: count_disconnectivity(&myo.view()),
        erosion_ratio_before_myo_split: erosion_ratio_before_split(&myo.view(), small),
        holes_in_epi: count_holes(&epi.view()),
        holes_between_lv_and_myo: count_holes_between(&lv.view(), &myo.view(), small),
        width_ratio_between_lv_and_myo: width_ratio(&lv.view(), &myo.view()),
        frontier_ratio_between_lv_and_bg: frontier_ratio(&lv.view(), &bg.view()),
    }
}

fn count_true(mask: &Array2<bool>) -> usize {
    mask.iter().filter(|&&v| v).count()
}

/// Pixels not in the structure that cannot reach the border through 8-connected non-structure
/// pixels (vital pads the complement with a 1-border and labels it with connectivity 2).
pub fn count_holes(mask: &ArrayView2<bool>) -> usize {
    count_true(&holes(mask, Connectivity::Eight))
}

/// Pixels outside the largest 8-connected component.
pub fn count_disconnectivity(mask: &ArrayView2<bool>) -> usize {
    let c = label(mask, Connectivity::Eight);
    let largest = c.sizes.iter().copied().max().unwrap_or(0);
    c.sizes.iter().sum::<usize>() - largest
}

/// Number of 3×3 erosions (scikit-image's, border = foreground), each followed by removing
/// objects smaller than `small` (4-connected), until the mask is no longer one 8-connected
/// component, divided by the maximal distance transform value (thickness). NaN without MYO.
///
/// The original loops forever when erosion stops changing a one-component mask (a structure
/// filling the image); we stop there and use the count reached.
pub fn erosion_ratio_before_split(mask: &ArrayView2<bool>, small: f64) -> f64 {
    if !mask.iter().any(|&v| v) {
        return f64::NAN;
    }
    let max_thickness = edt(mask, [1.0, 1.0]).iter().copied().fold(0.0, f64::max);
    erosions_before_split(mask, small) as f64 / max_thickness
}

/// The erosion loop of [`erosion_ratio_before_split`] on a padded flat grid whose ring holds
/// the outside value of scikit-image's erosion (foreground); labelling ignores the ring.
fn erosions_before_split(mask: &ArrayView2<bool>, small: f64) -> usize {
    let (h, w) = mask.dim();
    let pw = w + 2;
    let interior = |i: usize| {
        let (r, c) = (i / pw, i % pw);
        r >= 1 && r <= h && c >= 1 && c <= w
    };
    let mut grid = vec![true; (h + 2) * pw];
    for (r, row) in mask.rows().into_iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            grid[(r + 1) * pw + c + 1] = v;
        }
    }
    let ring: Vec<bool> = (0..grid.len()).map(|i| !interior(i)).collect();
    let (mut tmp, mut next) = (grid.clone(), grid.clone());
    let mut visited = vec![false; grid.len()];
    let mut stack = Vec::new();
    let mut erosions = 0;
    while components_up_to(&grid, &ring, pw, &mut visited, &mut stack, 2) == 1 {
        // 3×3 erosion, separably: rows then columns (the ring stays foreground).
        for r in 0..h + 2 {
            for i in r * pw + 1..r * pw + 1 + w {
                tmp[i] = grid[i - 1] && grid[i] && grid[i + 1];
            }
        }
        for r in 1..=h {
            for i in r * pw + 1..r * pw + 1 + w {
                next[i] = tmp[i - pw] && tmp[i] && tmp[i + pw];
            }
        }
        if small > 1.0 {
            remove_small_4(&mut next, &ring, pw, small, &mut visited, &mut stack);
        }
        erosions += 1;
        // The original loops forever when nothing changes; stop there.
        if next == grid {
            break;
        }
        std::mem::swap(&mut grid, &mut next);
    }
    erosions
}

/// Number of 8-connected components of the interior `true` cells, counting stops at `limit`.
fn components_up_to(
    grid: &[bool],
    ring: &[bool],
    pw: usize,
    visited: &mut [bool],
    stack: &mut Vec<usize>,
    limit: usize,
) -> usize {
    visited.copy_from_slice(ring);
    let offsets = eight_offsets(pw);
    let mut count = 0;
    for start in 0..grid.len() {
        if visited[start] || !grid[start] {
            continue;
        }
        count += 1;
        if count >= limit {
            return count;
        }
        visited[start] = true;
        stack.push(start);
        while let Some(p) = stack.pop() {
            for &o in &offsets {
                let q = (p as isize + o) as usize;
                if !visited[q] && grid[q] {
                    visited[q] = true;
                    stack.push(q);
                }
            }
        }
    }
    count
}

fn eight_offsets(pw: usize) -> [isize; 8] {
    let pw = pw as isize;
    [-pw - 1, -pw, -pw + 1, -1, 1, pw - 1, pw, pw + 1]
}

/// scikit-image `remove_small_objects(min_size=small)` (4-connected) on the interior cells.
fn remove_small_4(
    grid: &mut [bool],
    ring: &[bool],
    pw: usize,
    small: f64,
    visited: &mut [bool],
    stack: &mut Vec<usize>,
) {
    visited.copy_from_slice(ring);
    let pwi = pw as isize;
    let offsets = [-pwi, -1, 1, pwi];
    let mut component = Vec::new();
    for start in 0..grid.len() {
        if visited[start] || !grid[start] {
            continue;
        }
        component.clear();
        visited[start] = true;
        stack.push(start);
        while let Some(p) = stack.pop() {
            component.push(p);
            for &o in &offsets {
                let q = (p as isize + o) as usize;
                if !visited[q] && grid[q] {
                    visited[q] = true;
                    stack.push(q);
                }
            }
        }
        if (component.len() as f64) < small {
            component.iter().for_each(|&p| grid[p] = false);
        }
    }
}

/// Components of the complement of `a` (4-connected) other than the one containing pixel
/// (0, 0), keeping only those that contain no pixel of `b`.
fn holes_without(a: &ArrayView2<bool>, b: &ArrayView2<bool>) -> Array2<bool> {
    let not_a = a.mapv(|v| !v);
    let c = label(&not_a.view(), Connectivity::Four);
    let outside = c.labels.first().copied().unwrap_or(0);
    let mut touches_b = vec![false; c.count() + 1];
    ndarray::Zip::from(&c.labels).and(b).for_each(|&l, &bv| {
        if bv {
            touches_b[l as usize] = true;
        }
    });
    c.labels
        .mapv(|l| l != 0 && l != outside && !touches_b[l as usize])
}

/// Pixels in gaps between two structures that should touch (vital
/// `count_holes_between_regions`), counted only above `small`.
pub fn count_holes_between(a: &ArrayView2<bool>, b: &ArrayView2<bool>, small: f64) -> usize {
    let ha = holes_without(a, b);
    let hb = holes_without(b, a);
    let mut not_both = a.to_owned();
    ndarray::Zip::from(&mut not_both)
        .and(b)
        .and(&ha)
        .and(&hb)
        .for_each(|o, &bv, &x, &y| {
            *o = !(*o || bv || x || y);
        });
    let c = label(&not_both.view(), Connectivity::Four);
    let outside = c.labels.first().copied().unwrap_or(0);
    let n = c.labels.iter().filter(|&&l| l != 0 && l != outside).count();
    if n as f64 > small { n } else { 0 }
}

/// At the row of the centre of mass of LV ∪ MYO (truncated), LV pixels / MYO pixels in that
/// row; NaN when either is 0 or both structures are missing.
pub fn width_ratio(lv: &ArrayView2<bool>, myo: &ArrayView2<bool>) -> f64 {
    let (mut sum_r, mut n) = (0.0, 0usize);
    for (((r, _), &a), &b) in lv.indexed_iter().zip(myo.iter()) {
        if a || b {
            sum_r += r as f64;
            n += 1;
        }
    }
    if n == 0 {
        return f64::NAN;
    }
    let row = (sum_r / n as f64) as usize;
    let lv_w = lv.row(row).iter().filter(|&&v| v).count();
    let myo_w = myo.row(row).iter().filter(|&&v| v).count();
    if lv_w == 0 || myo_w == 0 {
        f64::NAN
    } else {
        lv_w as f64 / myo_w as f64
    }
}

/// LV pixels touching background (background dilated 3×3; a count of 1 counts as 0) divided by
/// the LV bounding-box width in columns; 0 without LV.
pub fn frontier_ratio(lv: &ArrayView2<bool>, bg: &ArrayView2<bool>) -> f64 {
    let (mut min_c, mut max_c) = (usize::MAX, 0usize);
    for ((_, c), &v) in lv.indexed_iter() {
        if v {
            min_c = min_c.min(c);
            max_c = max_c.max(c);
        }
    }
    if min_c == usize::MAX {
        return 0.0;
    }
    // LV pixels with a background pixel in their 3×3 neighbourhood (background dilated 3×3;
    // outside the image counts as nothing, as scikit-image's reflect mode).
    let (h, w) = lv.dim();
    let mut touching = 0usize;
    for ((r, c), &l) in lv.indexed_iter() {
        if !l {
            continue;
        }
        let near_bg = (r.saturating_sub(1)..(r + 2).min(h))
            .any(|nr| (c.saturating_sub(1)..(c + 2).min(w)).any(|nc| bg[[nr, nc]]));
        touching += usize::from(near_bg);
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
