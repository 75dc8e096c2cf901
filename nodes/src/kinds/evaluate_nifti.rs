//! `evaluate_nifti`: scores a folder of predicted NIfTI label files against a folder of
//! ground-truth NIfTI files, matched by case id (the original's `eval_from_nifti_3D.py`).
//! Unmatched files on either side are reported, not silently dropped. The result is a
//! `predictions` artifact (so `evaluate` scores it) holding each pair.

use std::path::PathBuf;

use dataset::layout::pair_by_id;
use dataset::nifti;
use echo::Case;
use engine::{KindInfo, Metrics, NodeContext, NodeError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::predictions::{self, PREDICTIONS};
use crate::splits::Split;
use crate::user_err;

pub static INFO: KindInfo = KindInfo {
    name: "evaluate_nifti",
    doc: "pair predicted and ground-truth NIfTI label folders by case id (feeds `evaluate`)",
    version: 1,
    inputs: &[],
    output: PREDICTIONS,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `evaluate_nifti`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Folder (or file) of predicted label maps.
    pub pred_path: PathBuf,
    /// Folder (or file) of ground-truth label maps.
    pub gt_path: PathBuf,
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    for (key, p) in [("pred_path", &cfg.pred_path), ("gt_path", &cfg.gt_path)] {
        if p.as_os_str().is_empty() {
            return Err(NodeError::user(format!(
                "{}: `{key}` is empty; set it to a folder of NIfTI label files",
                ctx.node_id
            )));
        }
    }
    let pairing = pair_by_id(&cfg.pred_path, &cfg.gt_path).map_err(user_err)?;
    for (id, p) in &pairing.unmatched_pred {
        tracing::warn!(
            "prediction {id} ({}) has no ground truth of the same id: not scored",
            p.display()
        );
    }
    for (id, p) in &pairing.unmatched_gt {
        tracing::warn!(
            "ground truth {id} ({}) has no prediction of the same id: not scored",
            p.display()
        );
    }
    if pairing.matched.is_empty() {
        return Err(NodeError::user(format!(
            "no case id appears in both {} and {}; ids are the file names without .nii[.gz]",
            cfg.pred_path.display(),
            cfg.gt_path.display()
        )));
    }
    let mut out = predictions::Writer::create(ctx, cfg)?;
    for (id, pred_path, gt_path) in &pairing.matched {
        let (pred, _) = nifti::read_labels(pred_path).map_err(user_err)?;
        let (gt, geometry) = nifti::read_labels(gt_path).map_err(user_err)?;
        if pred.dim() != gt.dim() {
            return Err(NodeError::user(format!(
                "{}: shape {:?} differs from its ground truth {} {:?}",
                pred_path.display(),
                pred.shape(),
                gt_path.display(),
                gt.shape()
            )));
        }
        let image = gt.mapv(|v| f32::from(v) / 2.0);
        let case = Case {
            id: id.clone(),
            image,
            label: Some(gt),
            geometry,
            domain: "user".into(),
            view: String::new(),
        };
        out.write(&case, Split::Test, &pred, None, &[])?;
    }
    let n = out.finish()?;
    Ok(Metrics::from([
        ("matched".to_string(), n as f64),
        (
            "unmatched_pred".to_string(),
            pairing.unmatched_pred.len() as f64,
        ),
        (
            "unmatched_gt".to_string(),
            pairing.unmatched_gt.len() as f64,
        ),
    ]))
}
