//! Segmentation metrics on label arrays (method.md 6 and 9), pure functions on `ndarray`
//! views: Dice and Hausdorff (`overlap`, on top of `surface`), anatomical validity of a frame
//! (`anatomical`), temporal validity of a sequence (`temporal`), LV landmarks and the
//! mitral-valve distance metrics (`landmarks`), uncertainty calibration (`calibration`), 1-D
//! signal helpers shared by them (`signal`), and everything at once for one case
//! (`evaluate`, which computes each frame's masks and surfaces once, in `frame`, for all of
//! them).
//!
//! Frames are `[H, W]` = (rows = depth with the apex at the top, cols = lateral), i.e. the
//! original's `frame.T` (method.md 12.1); sequences are `[T, H, W]`; spacing is `[dy, dx]` in
//! mm. Labels: 0 background, 1 LV, 2 MYO; any other value is neither LV nor MYO (and is not
//! the background of the LV-background frontier, which vital defines as label 0).

pub mod anatomical;
pub mod calibration;
pub mod evaluate;
mod frame;
pub mod landmarks;
pub mod overlap;
pub mod phantom;
pub mod signal;
pub mod surface;
pub mod temporal;

pub use anatomical::{
    AnatomicalMetrics, Criterion, FrameValidity, SequenceValidity, Thresholds, check_frame,
    check_frame_with, check_sequence,
};
pub use calibration::{
    AceWeighting, BinEdges, Calibration, ReliabilityBin, ace, calibration,
    normalized_mutual_information, pearson,
};
pub use evaluate::{CaseMetrics, evaluate_case};
pub use landmarks::{
    LandmarkScores, MistakeRate, estimate_num_cycles, lv_apex, lv_base_points, lv_base_width,
    lv_length, mitral_valve_distance,
};
pub use overlap::{
    DiceScores, HausdorffScore, HausdorffScores, dice, dice_scores, hausdorff_scores,
    hausdorff_structure,
};
pub use surface::{Surface, hausdorff, hausdorff95, percentile};
pub use temporal::{
    Attribute, AttributeCheck, DEFAULT_SPACING, TemporalValidity, check_temporal_validity,
    check_temporal_validity_with,
};

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::types::{LV, MYO};
use crate::{Error, Result};

/// A structure scored by the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Structure {
    /// LV cavity (label 1).
    Lv,
    /// Myocardium (label 2).
    Myo,
    /// Epicardium: LV ∪ MYO.
    Epi,
}

impl Structure {
    /// Whether a label value belongs to the structure.
    #[inline]
    pub fn contains(self, label: u8) -> bool {
        match self {
            Structure::Lv => label == LV,
            Structure::Myo => label == MYO,
            Structure::Epi => label == LV || label == MYO,
        }
    }

    /// Binary mask of the structure in one frame.
    pub fn mask(self, frame: &ArrayView2<u8>) -> Array2<bool> {
        frame.mapv(|v| self.contains(v))
    }
}

/// Spacing must be finite and positive.
pub(crate) fn check_spacing(what: &str, spacing: [f64; 2]) -> Result<()> {
    if spacing.iter().all(|s| s.is_finite() && *s > 0.0) {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            format!("pixel spacing {spacing:?} (mm, [dy, dx]) must be finite and positive"),
        ))
    }
}

/// Prediction and ground truth must have the same shape.
pub(crate) fn check_same_shape(what: &str, pred: &[usize], gt: &[usize]) -> Result<()> {
    if pred == gt {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            format!(
                "prediction shape {pred:?} differs from ground-truth shape {gt:?}; resample one \
                 onto the other's grid first"
            ),
        ))
    }
}
