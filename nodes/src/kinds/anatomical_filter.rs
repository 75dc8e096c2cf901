//! `anatomical_filter`: splits the current policy's predictions on unlabelled target sequences
//! into good and bad ones and gives each a pseudo ground truth (issue #5, method.md 4.2-4.5).
//!
//! * Good: the morphologically cleaned prediction (method.md 4.2.1: largest component per class,
//!   filled holes, inter-class gaps closed) is anatomically valid in every frame (method.md 6.1),
//!   the sequence is temporally valid (6.2) and the prediction agrees with its temporally
//!   corrected version (Dice >= `min_agreement`). Pseudo-GT = the cleaned prediction.
//! * Otherwise bad: the weight-free corrector (`echo::corrector`, replacing the original's private
//!   AR-VAE) repairs it; if the repair is anatomically valid the case is `corrected` and the
//!   repair is its pseudo-GT, else it is `rejected`.
//!
//! With the optional `corrector` input (a learned shape corrector, `train_corrector`), the
//! prediction goes through it first and the weight-free corrector then cleans and smooths its
//! output: the source's shape prior decides agreement and gives bad cases their pseudo-GT, as
//! the original's AR-VAE does (method.md 4.2.2), so a systematic error of the policy that stays
//! anatomically valid (a myocardium too thin everywhere) still counts as disagreement.
//!
//! The original's agreement test `ae_comp > 0.95` (method.md 4.2.4) measures the Dice of the last
//! label only (a bug, method.md 12); here it is the mean Dice of LV and MYO, as intended.

use std::fmt::Write as _;

use echo::corrector::{CorrectorConfig, correct_sequence};
use echo::metrics::{check_sequence, check_temporal_validity, dice_scores};
use echo::morph::clean_sequence;
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device};
use crate::corrector::{CORRECTOR, Corrector};
use crate::predictions::{PREDICTIONS, Predictions};
use crate::pseudo::{self, PSEUDO_LABELS, Status};
use crate::user_err;

pub static INFO: KindInfo = KindInfo {
    name: "anatomical_filter",
    doc: "split predictions into anatomically valid (good) and invalid (bad) sequences with pseudo ground truths",
    version: 1,
    inputs: &[
        Port {
            name: "predictions",
            accepts: &[PREDICTIONS],
            optional: false,
        },
        Port {
            name: "corrector",
            accepts: &[CORRECTOR],
            optional: true,
        },
    ],
    output: PSEUDO_LABELS,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `anatomical_filter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The weight-free corrector used on bad sequences (and for the agreement test).
    pub corrector: CorrectorConfig,
    /// Minimum mean Dice (LV, MYO) between a prediction and its corrected version for a good
    /// case (method.md 4.4: `ae_comp > 0.95`).
    pub min_agreement: f64,
    /// Require temporal validity (method.md 6.2) for a good case.
    pub require_temporal: bool,
    /// Keep corrected bad cases as training targets (the original's `predict_do_corrections`).
    pub use_corrections: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            corrector: CorrectorConfig::default(),
            min_agreement: 0.95,
            require_temporal: true,
            use_corrections: true,
        }
    }
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if !(0.0..=1.0).contains(&cfg.min_agreement) {
        return Err(NodeError::user(format!(
            "{}: min_agreement = {} must be in [0, 1]",
            ctx.node_id, cfg.min_agreement
        )));
    }
    cfg.corrector.validate().map_err(user_err)?;
    let preds = Predictions::open(ctx.input("predictions")?)?;
    let learned = match ctx.inputs.get("corrector") {
        Some(dir) => {
            let device = device(ctx)?;
            Some((Corrector::load(dir, &device)?, device))
        }
        None => None,
    };
    let ids = preds.ids()?;
    let mut out = pseudo::Writer::create(ctx, cfg)?;
    let progress = bar(ctx, ids.len() as u64, "filter");
    let mut counts = [0usize; 3];
    let mut csv = String::from("id,status,anat_valid_frames,temporal_valid,agreement\n");
    for id in &ids {
        let case = preds.case(id)?;
        let pred = preds.pred(id)?;
        let spacing = [case.geometry.spacing[1], case.geometry.spacing[2]];
        let prior = learned
            .as_ref()
            .map(|(c, device)| c.correct(&pred, case.geometry.spacing, device))
            .transpose()
            .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
        let (status, pseudo_gt, row) = classify(cfg, &pred, prior.as_ref(), spacing)
            .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
        counts[status as usize] += 1;
        let _ = writeln!(csv, "{id},{},{row}", status.as_str());
        let split = preds.split(id)?;
        out.write(&case, split, &pred, &pseudo_gt, status)?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    out.finish()?;
    std::fs::write(ctx.files_dir()?.join("filter.csv"), csv)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    let [good, corrected, rejected] = counts;
    tracing::info!(
        "{}: {} sequences: {good} good, {} bad ({corrected} corrected, {rejected} rejected)",
        ctx.node_id,
        ids.len(),
        corrected + rejected
    );
    Ok(Metrics::from([
        ("cases".to_string(), ids.len() as f64),
        ("good".to_string(), good as f64),
        ("bad".to_string(), (corrected + rejected) as f64),
        ("corrected".to_string(), corrected as f64),
        ("rejected".to_string(), rejected as f64),
    ]))
}

/// The decision for one predicted sequence: status, pseudo-GT and a CSV fragment. `prior` is the
/// learned corrector's version of `pred`, which the weight-free corrector then repairs instead
/// of `pred` itself.
pub fn classify(
    cfg: &Config,
    pred: &ndarray::Array3<u8>,
    prior: Option<&ndarray::Array3<u8>>,
    spacing: [f64; 2],
) -> Result<(Status, ndarray::Array3<u8>, String), echo::Error> {
    let cleaned = clean_sequence(&pred.view());
    let anat = check_sequence(&cleaned.view());
    let temporal_ok =
        !cfg.require_temporal || check_temporal_validity(&cleaned.view(), spacing)?.valid;
    let corrected = correct_sequence(prior.unwrap_or(pred), &cfg.corrector)?;
    let agreement = dice_scores(&pred.view(), &corrected.view())?.mean;
    // An all-background prediction has NaN Dice: it never agrees (and is never valid).
    let agrees = agreement.is_finite() && agreement >= cfg.min_agreement;
    let row = format!(
        "{:.4},{},{:.4}",
        anat.valid_fraction,
        u8::from(temporal_ok),
        agreement
    );
    if anat.all_valid && temporal_ok && agrees {
        return Ok((Status::Good, cleaned, row));
    }
    let corrected_valid = check_sequence(&corrected.view()).all_valid;
    if cfg.use_corrections && corrected_valid {
        Ok((Status::Corrected, corrected, row))
    } else {
        Ok((Status::Rejected, cleaned, row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// A plausible apical frame: LV ellipse-ish cavity inside a myocardial wall open at the base.
    fn heart(t: usize, grow: usize) -> Array3<u8> {
        let (h, w) = (64usize, 64usize);
        let mut seq = Array3::<u8>::zeros((t, h, w));
        for f in 0..t {
            let ry = 20.0 + (f % 2) as f64 * 0.5 + grow as f64;
            let rx = 10.0;
            for y in 0..h {
                for x in 0..w {
                    let dy = (y as f64 - 40.0) / ry;
                    let dx = (x as f64 - 32.0) / rx;
                    let dy2 = (y as f64 - 40.0) / (ry + 4.0);
                    let dx2 = (x as f64 - 32.0) / (rx + 4.0);
                    if y > 54 {
                        continue; // open base
                    }
                    if dy * dy + dx * dx <= 1.0 {
                        seq[[f, y, x]] = 1;
                    } else if dy2 * dy2 + dx2 * dx2 <= 1.0 {
                        seq[[f, y, x]] = 2;
                    }
                }
            }
        }
        seq
    }

    #[test]
    fn a_valid_sequence_is_good_and_a_holed_one_is_not() {
        // Anatomy only: this hand-made clip is too short and too regular for the temporal criteria.
        let cfg = Config {
            require_temporal: false,
            ..Config::default()
        };
        let good = heart(8, 0);
        let (status, pseudo, _) = classify(&cfg, &good, None, [0.37, 0.37]).expect("classify");
        assert_eq!(
            status,
            Status::Good,
            "{:?}",
            check_sequence(&good.view()).frames
        );
        assert_eq!(pseudo, clean_sequence(&good.view()));

        // Frame 3: the LV leaks through the wall into the background (a hole in the myocardium)
        // and a detached blob of MYO: invalid, not good.
        let mut bad = good.clone();
        for y in 30..34 {
            for x in 18..24 {
                bad[[3, y, x]] = 1;
            }
        }
        for y in 2..8 {
            for x in 2..8 {
                bad[[3, y, x]] = 2;
            }
        }
        let (status, _, _) = classify(&cfg, &bad, None, [0.37, 0.37]).expect("classify");
        assert_ne!(status, Status::Good);
    }

    #[test]
    fn a_learned_prior_that_disagrees_makes_a_valid_case_corrected() {
        let cfg = Config {
            require_temporal: false,
            ..Config::default()
        };
        let pred = heart(8, 0);
        // The prior says the same heart with a longer cavity (a systematic error of `pred`
        // that stays anatomically valid): agreement drops, and the repaired prior is the target.
        let prior = heart(8, 3);
        let (status, pseudo, row) =
            classify(&cfg, &pred, Some(&prior), [0.37, 0.37]).expect("classify");
        assert_eq!(status, Status::Corrected, "{row}");
        assert_eq!(
            pseudo,
            correct_sequence(&prior, &cfg.corrector).expect("correct")
        );
        // The same prediction as its own prior is good, as without one.
        let (status, _, _) = classify(&cfg, &pred, Some(&pred), [0.37, 0.37]).expect("classify");
        assert_eq!(status, Status::Good);
    }

    #[test]
    fn an_all_background_prediction_is_rejected_without_crashing() {
        let empty = Array3::<u8>::zeros((4, 32, 32));
        let (status, _, _) =
            classify(&Config::default(), &empty, None, [0.37, 0.37]).expect("classify");
        assert_eq!(status, Status::Rejected);
    }
}
