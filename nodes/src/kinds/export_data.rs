//! `export_data`: writes a data set (a `sequences` artifact, e.g. the simulator's output) as NIfTI
//! files in the original's layout (method.md 1.1): `img/{id}_0000.nii.gz` (float32 image in
//! [0, 1]) and, where the case is labelled, `segmentation/{id}.nii.gz` (uint8 labels 0/1/2), both
//! with the case's spacing and affine. `load` (and the original) read the folder back, so the
//! synthetic domains can be opened in ITK-SNAP or given to another tool, and the user-data paths
//! of the pipelines can be exercised on them. Runs every time (its output is outside the cache).

use std::path::PathBuf;

use dataset::nifti;
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::seqs::{self, Sequences, Subset};
use crate::user_err;

pub static INFO: KindInfo = KindInfo {
    name: "export_data",
    doc: "write a data set as NIfTI in the original's img/ + segmentation/ layout to output_path",
    version: 1,
    inputs: &[Port {
        name: "data",
        accepts: &[seqs::SEQUENCES],
        optional: false,
    }],
    output: "files",
    cacheable: false,
};

fn yes() -> bool {
    true
}

/// `[nodes.<id>]` of kind `export_data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Folder to write into (created if missing); it gets `img/` and `segmentation/`.
    pub output_path: PathBuf,
    /// Which cases to write.
    #[serde(default)]
    pub subset: Subset,
    /// Write the labels of labelled cases (false: images only, like an unlabelled target domain).
    #[serde(default = "yes")]
    pub labels: bool,
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if cfg.output_path.as_os_str().is_empty() {
        return Err(NodeError::user(
            "export_data: `output_path` is empty; set it to the folder to write the NIfTI files to",
        ));
    }
    let data = Sequences::open(ctx.input("data")?)?;
    let ids = data.ids(cfg.subset)?;
    let (img_dir, seg_dir) = (
        cfg.output_path.join("img"),
        cfg.output_path.join("segmentation"),
    );
    let mkdir = |dir: &PathBuf| {
        std::fs::create_dir_all(dir).map_err(|e| {
            NodeError::user(format!(
                "cannot create {}: {e}; check output_path",
                dir.display()
            ))
        })
    };
    mkdir(&img_dir)?;
    let (mut images, mut labels) = (0usize, 0usize);
    for id in &ids {
        let case = data.case(id)?;
        nifti::write_float(
            &img_dir.join(format!("{id}_0000.nii.gz")),
            &case.image,
            &case.geometry,
        )
        .map_err(user_err)?;
        images += 1;
        if let (true, Some(label)) = (cfg.labels, &case.label) {
            if labels == 0 {
                mkdir(&seg_dir)?;
            }
            nifti::write_labels(&seg_dir.join(format!("{id}.nii.gz")), label, &case.geometry)
                .map_err(user_err)?;
            labels += 1;
        }
    }
    tracing::info!(
        "{}: wrote {images} images and {labels} segmentations to {}",
        ctx.node_id,
        cfg.output_path.display()
    );
    Ok(Metrics::from([
        ("images".to_string(), images as f64),
        ("segmentations".to_string(), labels as f64),
    ]))
}
