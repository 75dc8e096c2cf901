//! Anatomical validity of one label frame: every criterion of method.md 6.1 (vital's
//! `check_segmentation_validity` with labels `[0, 1, 2]`, as the arnaudjudge fork configures
//! it), returning each measured value and the list of criteria that failed.
//!
//! A criterion fails when its value is NaN (structure missing), outside its `[min, max]`
//! thresholds, or nonzero when it has no thresholds. None of them depends on the pixel
//! spacing. `small = rows·cols / 2^14` pixels is vital's size of negligible blobs.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use crate::morph::{
    Border, Connectivity, StructuringElement, dilate, edt, erode, holes, label,
    remove_small_objects,
};
use crate::types::{BG, LV, MYO};

/// One criterion of method.md 6.1 (names as in vital).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// No LV pixel at all.
    LvPixels,
    HolesInLv,
    DisconnectivityInLv,
    DisconnectivityInMyo,
    ErosionRatioBeforeMyoSplit,
    HolesInEpi,
    HolesBetweenLvAndMyo,
    WidthRatioBetweenLvAndMyo,
    /// vital fork: `frontier_ratio_between_lv_and_bg_no_atr`.
    FrontierRatioBetweenLvAndBg,
}

/// Thresholds of the criteria that have them (method.md 6.1 and 12.10); every other
/// criterion must be 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Minimum of `erosion_ratio_before_myo_split`.
    pub erosion_ratio_min: f64,
    /// Maximum of `width_ratio_between_lv_and_myo`.
    pub width_ratio_max: f64,
    /// Bounds of `frontier_ratio_between_lv_and_bg_no_atr`.
    pub frontier_ratio_min: f64,
    pub frontier_ratio_max: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        // method.md 6.1 / 12.10.
        Thresholds {
            erosion_ratio_min: 0.12,
            width_ratio_max: 4.15,
            frontier_ratio_min: 0.05,
            frontier_ratio_max: 1.5,
        }
    }
}

/// Every measured value (pixel counts or ratios; NaN = structure missing).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnatomicalMetrics {
    /// 1 if the frame has no LV pixel, else 0.
    pub lv_pixels: usize,
    pub holes_in_lv: usize,
    pub disconnectivity_in_lv: usize,
    pub disconnectivity_in_myo: usize,
    pub erosion_ratio_before_myo_split: f64,
    pub holes_in_epi: usize,
    pub holes_between_lv_and_myo: usize,
    pub width_ratio_between_lv_and_myo: f64,
    pub frontier_ratio_between_lv_and_bg: f64,
}

/// Result of [`check_frame`]: the values and the criteria that failed (empty = valid).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameValidity {
    pub metrics: AnatomicalMetrics,
    pub failed: Vec<Criterion>,
}

impl FrameValidity {
    pub fn is_valid(&self) -> bool {
        self.failed.is_empty()
    }

    pub fn failed(&self, criterion: Criterion) -> bool {
        self.failed.contains(&criterion)
    }
}

/// Validity of every frame of a sequence, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceValidity {
    pub frames: Vec<FrameValidity>,
    /// Fraction of valid frames (the original's `anat_valid_frames`; NaN for no frame).
    pub valid_fraction: f64,
    /// Every frame valid (the original's `anat_valid`).
    pub all_valid: bool,
}

impl SequenceValidity {
    pub fn from_frames(frames: Vec<FrameValidity>) -> Self {
        let valid = frames.iter().filter(|f| f.is_valid()).count();
        let valid_fraction = if frames.is_empty() {
            f64::NAN
        } else {
            valid as f64 / frames.len() as f64
        };
        SequenceValidity {
            all_valid: valid == frames.len(),
            valid_fraction,
            frames,
        }
    }
}

/// Anatomical validity of one `[H, W]` frame with the default thresholds.
pub fn check_frame(frame: &ArrayView2<u8>) -> FrameValidity {
    check_frame_with(frame, &Thresholds::default())
}

/// Anatomical validity of one frame with explicit thresholds.
pub fn check_frame_with(frame: &ArrayView2<u8>, thresholds: &Thresholds) -> FrameValidity {
    let metrics = measure_frame(frame);
    let m = &metrics;
    let mut failed = Vec::new();
    let mut nonzero = |v: usize, c: Criterion| {
        if v != 0 {
            failed.push(c);
        }
    };
    nonzero(m.lv_pixels, Criterion::LvPixels);
    nonzero(m.holes_in_lv, Criterion::HolesInLv);
    nonzero(m.disconnectivity_in_lv, Criterion::DisconnectivityInLv);
    nonzero(m.disconnectivity_in_myo, Criterion::DisconnectivityInMyo);
    // NaN compares false, so a missing structure fails every range check.
    let in_range = |v: f64, lo: f64, hi: f64| v >= lo && v <= hi;
    if !in_range(
        m.erosion_ratio_before_myo_split,
        thresholds.erosion_ratio_min,
        f64::INFINITY,
    ) {
        failed.push(Criterion::ErosionRatioBeforeMyoSplit);
    }
    if m.holes_in_epi != 0 {
        failed.push(Criterion::HolesInEpi);
    }
    if m.holes_between_lv_and_myo != 0 {
        failed.push(Criterion::HolesBetweenLvAndMyo);
    }
    if !in_range(
        m.width_ratio_between_lv_and_myo,
        0.0,
        thresholds.width_ratio_max,
    ) {
        failed.push(Criterion::WidthRatioBetweenLvAndMyo);
    }
    let (lo, hi) = (thresholds.frontier_ratio_min, thresholds.frontier_ratio_max);
    if !in_range(m.frontier_ratio_between_lv_and_bg, lo, hi) {
        failed.push(Criterion::FrontierRatioBetweenLvAndBg);
    }
    FrameValidity { metrics, failed }
}

/// [`check_frame`] on every frame of a `[T, H, W]` sequence, with the summary.
pub fn check_sequence(seq: &ArrayView3<u8>) -> SequenceValidity {
    SequenceValidity::from_frames(seq.axis_iter(Axis(0)).map(|f| check_frame(&f)).collect())
}

/// Measures every criterion of method.md 6.1 on one frame.
pub fn measure_frame(frame: &ArrayView2<u8>) -> AnatomicalMetrics {
    let (h, w) = frame.dim();
    let small = (h * w) as f64 / 16384.0;
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
    let mut current = mask.to_owned();
    let mut erosions = 0usize;
    while label(&current.view(), Connectivity::Eight).count() == 1 {
        let eroded = erode(
            &current.view(),
            StructuringElement::Square,
            1,
            Border::Foreground,
        );
        let next = remove_small_objects(&eroded.view(), small, Connectivity::Four);
        erosions += 1;
        if next == current {
            break;
        }
        current = next;
    }
    erosions as f64 / max_thickness
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
    let bg_dilated = dilate(bg, StructuringElement::Square, 1, Border::Background);
    let touching = lv
        .iter()
        .zip(bg_dilated.iter())
        .filter(|&(&l, &b)| l && b)
        .count();
    let touching = if touching > 1 { touching } else { 0 };
    touching as f64 / (max_c + 1 - min_c) as f64
}
