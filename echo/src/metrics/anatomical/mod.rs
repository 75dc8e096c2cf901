//! Anatomical validity of one label frame: every criterion of method.md 6.1 (vital's
//! `check_segmentation_validity` with labels `[0, 1, 2]`, as the arnaudjudge fork configures
//! it), returning each measured value and the list of criteria that failed.
//!
//! A criterion fails when its value is NaN (structure missing), outside its `[min, max]`
//! thresholds, or nonzero when it has no thresholds. None of them depends on the pixel
//! spacing. `small = rows·cols / 2^14` pixels is vital's size of negligible blobs.

use ndarray::{ArrayView2, ArrayView3};
use serde::{Deserialize, Serialize};

use super::frame::FrameMasks;

mod measures;
mod thickness;

pub use measures::{
    count_disconnectivity, count_holes, count_holes_between, erosion_ratio_before_split,
    frontier_ratio, measure_frame, measure_in, width_ratio,
};

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
    judge(measure_frame(frame), thresholds)
}

/// The criteria that `metrics` fail.
fn judge(metrics: AnatomicalMetrics, thresholds: &Thresholds) -> FrameValidity {
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
    check_sequence_of(&FrameMasks::sequence(seq))
}

/// [`check_sequence`] on the frames' masks.
pub(crate) fn check_sequence_of(frames: &[FrameMasks]) -> SequenceValidity {
    let thresholds = Thresholds::default();
    let each = frames
        .iter()
        .map(|f| judge(measures::measure_masks(f), &thresholds));
    SequenceValidity::from_frames(each.collect())
}
