//! Every test metric of one case at once (the original's `full_test_metrics`, method.md 9):
//! Dice and Hausdorff against the ground truth, anatomical and temporal validity of the
//! prediction, and the mitral-valve landmark distances.
//!
//! The original cleans the prediction to its largest foreground blob first
//! (`morph::keep_largest_foreground_sequence`); this function scores what it is given, so the
//! caller decides.

use ndarray::{ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use super::anatomical::{SequenceValidity, check_sequence_of};
use super::frame::FrameMasks;
use super::landmarks::{LandmarkScores, mitral_valve_distance_of};
use super::overlap::{DiceScores, HausdorffScores, dice_scores, hausdorff_scores_of};
use super::temporal::{Attribute, TemporalValidity, temporal_validity_of};
use super::{check_same_shape, check_spacing};
use crate::{Error, Result};

/// All metrics of one predicted sequence against its ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseMetrics {
    pub dice: DiceScores,
    pub hausdorff: HausdorffScores,
    /// Offline evaluation's `endo_epi-Dice`: mean of LV and epicardium Dice.
    pub endo_epi_dice: f64,
    /// Offline evaluation's `endo_epi-HD`: mean of LV and epicardium Hausdorff.
    pub endo_epi_hd: f64,
    /// Anatomical validity of every predicted frame.
    pub anatomical: SequenceValidity,
    /// Temporal validity of the predicted sequence.
    pub temporal: TemporalValidity,
    /// Mitral-valve distances; `None` when the spacing is not isotropic (the original raises).
    pub landmarks: Option<LandmarkScores>,
}

/// Computes [`CaseMetrics`] for `[T, H, W]` label sequences with pixel spacing `[dy, dx]` (mm).
/// Each frame's masks, surfaces and base points are computed once and shared by the metrics
/// (`frame`); the values are those of the metrics' own functions.
pub fn evaluate_case(
    pred: &ArrayView3<u8>,
    gt: &ArrayView3<u8>,
    spacing: [f64; 2],
) -> Result<CaseMetrics> {
    check_same_shape("evaluate", pred.shape(), gt.shape())?;
    check_spacing("evaluate", spacing)?;
    if pred.len_of(Axis(0)) == 0 {
        return Err(Error::invalid("evaluate", "the sequence has no frame"));
    }
    let dice = dice_scores(pred, gt)?;
    let (p, g) = (FrameMasks::sequence(pred), FrameMasks::sequence(gt));
    let hausdorff = hausdorff_scores_of(&p, &g, spacing);
    let isotropic = (spacing[0] - spacing[1]).abs() <= 0.001;
    let landmarks = isotropic.then(|| mitral_valve_distance_of(&p, &g, spacing));
    Ok(CaseMetrics {
        endo_epi_dice: (dice.lv + dice.epi) / 2.0,
        endo_epi_hd: (hausdorff.lv.hd + hausdorff.epi.hd) / 2.0,
        dice,
        hausdorff,
        anatomical: check_sequence_of(&p),
        temporal: temporal_validity_of(&p, spacing, &Attribute::default_threshold),
        landmarks,
    })
}
