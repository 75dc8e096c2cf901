//! `load`: a data set from the user's files (issue #3 section 2): one NIfTI/DICOM file, a folder
//! searched recursively, or the original's `img/` + `segmentation/` layout. Intensities are
//! brought to [0, 1]; labels are checked to be 0/1/2 and to match their image's shape.

use std::path::PathBuf;

use dataset::layout::discover;
use dataset::{dicom, nifti};
use echo::preprocess::{IntensityNorm, check_finite, check_labels, normalise};
use echo::{Case, Geometry};
use engine::{KindInfo, Metrics, NodeContext, NodeError};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::splits::{Split, Splits};
use crate::{seqs, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "load",
    doc: "NIfTI/DICOM sequences from a file or folder (plain or img/+segmentation/ layout)",
    version: 1,
    inputs: &[],
    output: seqs::SEQUENCES,
    cacheable: true,
};

/// What to do with segmentation files found beside the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Labels {
    /// Read them where present.
    #[default]
    Auto,
    /// Every case must have one (a labelled source domain).
    Require,
    /// Never read them (an unlabelled target domain).
    Ignore,
}

/// Which split the cases go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase", tag = "mode")]
pub enum SplitMode {
    /// All cases in one split.
    All { split: Split },
    /// Random fractions (deterministic from the seed and the case ids).
    Random { fractions: Splits },
}

impl Default for SplitMode {
    fn default() -> Self {
        SplitMode::All { split: Split::Test }
    }
}

fn default_norm() -> IntensityNorm {
    IntensityNorm::Max
}

/// `[nodes.<id>]` of kind `load`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// File or folder to read (`.nii`, `.nii.gz`, `.dcm`).
    pub path: PathBuf,
    #[serde(default)]
    pub labels: Labels,
    /// Intensity normalisation to [0, 1] (method.md 1.4 step 1).
    #[serde(default = "default_norm")]
    pub intensity: IntensityNorm,
    #[serde(default)]
    pub splits: SplitMode,
    /// Domain name recorded with every case.
    #[serde(default = "default_domain")]
    pub domain: String,
    /// Number of cases drawn in the montage PNG and written as GIFs.
    #[serde(default)]
    pub preview: usize,
}

fn default_domain() -> String {
    "user".into()
}

fn read_image(path: &std::path::Path) -> Result<(ndarray::Array3<f32>, Geometry), NodeError> {
    let is_dcm = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("dcm"));
    if is_dcm {
        dicom::read_dicom(path)
    } else {
        nifti::read_image(path)
    }
    .map_err(user_err)
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if cfg.path.as_os_str().is_empty() {
        return Err(NodeError::user(
            "load: `path` is empty; set it to a NIfTI/DICOM file or folder",
        ));
    }
    let files = discover(&cfg.path).map_err(user_err)?;
    let cases: Vec<Case> = files
        .par_iter()
        .map(|f| {
            let (raw, geometry) = read_image(&f.image)?;
            let what = f.image.display().to_string();
            check_finite(raw.view(), &what).map_err(user_err)?;
            let image = normalise(&raw, cfg.intensity, &what).map_err(user_err)?;
            let label = match (cfg.labels, &f.label) {
                (Labels::Ignore, _) | (Labels::Auto, None) => None,
                (Labels::Require, None) => {
                    return Err(NodeError::user(format!(
                        "{what}: no segmentation found for case {} (labels = \"require\"); put it in segmentation/ as {}.nii.gz or set labels = \"auto\"",
                        f.id, f.id
                    )));
                }
                (_, Some(p)) => {
                    let (l, _) = nifti::read_labels(p).map_err(user_err)?;
                    check_labels(l.view(), &p.display().to_string()).map_err(user_err)?;
                    if l.dim() != image.dim() {
                        return Err(NodeError::user(format!(
                            "{}: label shape {:?} (T, H, W) differs from its image {what} {:?}",
                            p.display(),
                            l.shape(),
                            image.shape()
                        )));
                    }
                    Some(l)
                }
            };
            Ok(Case { id: f.id.clone(), image, label, geometry, domain: cfg.domain.clone(), view: String::new() })
        })
        .collect::<Result<_, NodeError>>()?;
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let splits = match &cfg.splits {
        SplitMode::All { split } => vec![*split; cases.len()],
        SplitMode::Random { fractions } => {
            fractions.validate().map_err(NodeError::user)?;
            fractions.assign(&ids, ctx.seed)
        }
    };
    let n = seqs::write(ctx, cfg, cases.iter().zip(splits))?;
    crate::kinds::preview::write(&ctx.files_dir()?, &cases, cfg.preview)?;
    let labelled = cases.iter().filter(|c| c.label.is_some()).count();
    Ok(Metrics::from([
        ("cases".to_string(), n as f64),
        ("labelled".to_string(), labelled as f64),
    ]))
}
