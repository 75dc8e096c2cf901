//! `export`: writes predictions for people and other tools, as the original's `predict_3d` does
//! (method.md 7.1 step 8): `{id}.nii.gz` (uint8 labels on the input's grid, with its full affine),
//! `{id}_<map>.nii.gz` float maps (reward / uncertainty), and `{id}.gif` (the sequence with the
//! overlay, and the uncertainty beside it when known). Runs every time (its output is outside the cache).

use std::path::PathBuf;

use dataset::nifti;
use dataset::render::{RenderOptions, gif_overlay};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::predictions::{PREDICTIONS, Predictions};
use crate::user_err;

pub static INFO: KindInfo = KindInfo {
    name: "export",
    doc: "write predictions as NIfTI labels, float reward maps and GIFs to output_path",
    version: 1,
    inputs: &[Port {
        name: "predictions",
        accepts: &[PREDICTIONS],
        optional: false,
    }],
    output: "files",
    cacheable: false,
};

fn yes() -> bool {
    true
}

/// `[nodes.<id>]` of kind `export`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Folder to write into (created if missing). Empty: only the run directory gets the files.
    #[serde(default)]
    pub output_path: PathBuf,
    /// Write `{id}.gif` (the original's `save_as_gif`).
    #[serde(default = "yes")]
    pub gif: bool,
    /// Write the float maps (`{id}_reward.nii.gz`, ...).
    #[serde(default = "yes")]
    pub maps: bool,
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let preds = Predictions::open(ctx.input("predictions")?)?;
    let out = if cfg.output_path.as_os_str().is_empty() {
        ctx.files_dir()?
    } else {
        cfg.output_path.clone()
    };
    std::fs::create_dir_all(&out).map_err(|e| {
        NodeError::user(format!("cannot create output_path {}: {e}", out.display()))
    })?;
    let mut written = 0usize;
    for id in preds.ids()? {
        let case = preds.case(&id)?;
        let pred = preds.pred(&id)?;
        nifti::write_labels(&out.join(format!("{id}.nii.gz")), &pred, &case.geometry)
            .map_err(user_err)?;
        written += 1;
        let mut heat = None;
        if cfg.maps {
            for name in preds.maps(&id)? {
                if let Some(map) = preds.map(&id, &name)? {
                    nifti::write_float(
                        &out.join(format!("{id}_{name}.nii.gz")),
                        &map,
                        &case.geometry,
                    )
                    .map_err(user_err)?;
                    written += 1;
                    if name == "reward" {
                        heat = Some(map.mapv(|v| 1.0 - v));
                    }
                }
            }
        }
        if cfg.gif {
            gif_overlay(
                &out.join(format!("{id}.gif")),
                &case.image,
                Some(&pred),
                heat.as_ref(),
                &RenderOptions::default(),
            )
            .map_err(user_err)?;
            written += 1;
        }
    }
    tracing::info!(
        "{}: wrote {written} files to {}",
        ctx.node_id,
        out.display()
    );
    Ok(Metrics::from([("files".to_string(), written as f64)]))
}
