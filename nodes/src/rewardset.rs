//! Reward data set artifacts (`reward_set`), written by `distort` and read by `train_reward`
//! (method.md 4), and by `landmark_samples` (method.md 2.6): samples of (image window,
//! segmentation, pseudo ground truth) on the policy's network grid. The reward target is
//! `seg == pseudo_gt` (method.md 4.8), computed when read, unless the sample stores its own
//! target map (`target`, f32, 1 = correct: the landmark reward net's error map).
//! Each sample records the sequence it came from (validation splits never cut a sequence),
//! the distortion family that made it and the loop iteration, so a set can accumulate over
//! iterations as the original's reward directory does (method.md 4.9).

use std::path::Path;

use dataset::h5::{ArtifactReader, ArtifactWriter};
use echo::{Case, Geometry};
use engine::{NodeContext, NodeError};
use ndarray::{Array3, Ix3};
use serde::Serialize;

use crate::seqs::config_text;
use crate::user_err;

pub const REWARD_SET: &str = "reward_set";
const SEG: &str = "seg";
const TARGET: &str = "target";
const ATTR_SEQUENCE: &str = "sequence";
const ATTR_FAMILY: &str = "family";
const ATTR_ITERATION: &str = "iteration";

/// One training sample of the reward net.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub id: String,
    /// Image window `[T, H, W]` (preprocessed).
    pub image: Array3<f32>,
    /// The segmentation the reward net judges.
    pub seg: Array3<u8>,
    /// The pseudo ground truth it is judged against.
    pub gt: Array3<u8>,
    /// Id of the sequence the window was cut from.
    pub sequence: String,
    /// Distortion family (`weights_0.1`, `contrast_0.4`, `holes`, `correction`, ...).
    pub family: String,
    /// Loop iteration that made it (0 outside a loop).
    pub iteration: u32,
    /// Spacing `[dt, dy, dx]` of the window.
    pub spacing: [f64; 3],
    /// An explicit target map in [0, 1] (1 = correct) instead of `seg == gt`.
    pub target: Option<Array3<f32>>,
}

impl Sample {
    /// The reward target: the stored map, else 1 where `seg == gt` (method.md 4.8).
    pub fn target(&self) -> Array3<f32> {
        if let Some(t) = &self.target {
            return t.clone();
        }
        ndarray::Zip::from(&self.seg)
            .and(&self.gt)
            .map_collect(|a, b| f32::from(u8::from(a == b)))
    }
}

fn internal(e: echo::Error) -> NodeError {
    NodeError::internal(e.to_string())
}

/// Streams samples into a reward-set artifact.
pub struct Writer {
    inner: ArtifactWriter,
    n: usize,
}

impl Writer {
    pub fn create<C: Serialize>(ctx: &NodeContext, config: &C) -> Result<Self, NodeError> {
        let inner = ArtifactWriter::create(
            &ctx.artifact_path(),
            REWARD_SET,
            &ctx.key,
            &config_text(config),
        )
        .map_err(internal)?;
        Ok(Writer { inner, n: 0 })
    }

    pub fn write(&mut self, s: &Sample) -> Result<(), NodeError> {
        let shape = [s.image.dim().0, s.image.dim().1, s.image.dim().2];
        let case = Case {
            id: s.id.clone(),
            image: s.image.clone(),
            label: Some(s.gt.clone()),
            geometry: Geometry::identity(shape, s.spacing),
            domain: String::new(),
            view: String::new(),
        };
        self.inner.write_case(&case).map_err(internal)?;
        self.inner
            .put_u8(&s.id, SEG, s.seg.view().into_dyn())
            .map_err(internal)?;
        if let Some(t) = &s.target {
            self.inner
                .put_f32(&s.id, TARGET, t.view().into_dyn())
                .map_err(internal)?;
        }
        self.inner
            .set_case_attr_str(&s.id, ATTR_SEQUENCE, &s.sequence)
            .map_err(internal)?;
        self.inner
            .set_case_attr_str(&s.id, ATTR_FAMILY, &s.family)
            .map_err(internal)?;
        self.inner
            .set_case_attr_f64s(&s.id, ATTR_ITERATION, &[f64::from(s.iteration)])
            .map_err(internal)?;
        self.n += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn finish(self) -> Result<usize, NodeError> {
        self.inner.finish().map_err(internal)?;
        Ok(self.n)
    }
}

/// An open reward set.
pub struct RewardSet {
    reader: ArtifactReader,
}

impl RewardSet {
    pub fn open(dir: &Path) -> Result<Self, NodeError> {
        Ok(RewardSet {
            reader: ArtifactReader::open_kind(&dir.join("artifact.h5"), REWARD_SET)
                .map_err(user_err)?,
        })
    }

    pub fn ids(&self) -> Result<Vec<String>, NodeError> {
        self.reader.case_ids().map_err(user_err)
    }

    pub fn sample(&self, id: &str) -> Result<Sample, NodeError> {
        let case = self.reader.read_case(id).map_err(user_err)?;
        let gt = case.label.ok_or_else(|| {
            NodeError::user(format!("reward sample {id} has no pseudo ground truth"))
        })?;
        let seg = self
            .reader
            .get_u8(id, SEG)
            .map_err(user_err)?
            .into_dimensionality::<Ix3>()
            .map_err(|e| {
                NodeError::user(format!("reward sample {id}: `seg` is not [T, H, W] ({e})"))
            })?;
        if seg.dim() != gt.dim() || seg.dim() != case.image.dim() {
            return Err(NodeError::user(format!(
                "reward sample {id}: image {:?}, seg {:?} and pseudo-GT {:?} differ in shape",
                case.image.dim(),
                seg.dim(),
                gt.dim()
            )));
        }
        let target = if self.reader.has(id, TARGET) {
            let t = self
                .reader
                .get_f32(id, TARGET)
                .map_err(user_err)?
                .into_dimensionality::<Ix3>()
                .map_err(|e| {
                    NodeError::user(format!(
                        "reward sample {id}: `target` is not [T, H, W] ({e})"
                    ))
                })?;
            if t.dim() != seg.dim() || t.iter().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(NodeError::user(format!(
                    "reward sample {id}: `target` must be [T, H, W] like `seg` with values in [0, 1]"
                )));
            }
            Some(t)
        } else {
            None
        };
        let attr = |name| self.reader.case_attr_str(id, name).map_err(user_err);
        let iteration = self
            .reader
            .case_attr_f64s(id, ATTR_ITERATION)
            .ok()
            .and_then(|v| v.first().copied())
            .unwrap_or(0.0);
        Ok(Sample {
            id: id.to_string(),
            image: case.image,
            seg,
            gt,
            sequence: attr(ATTR_SEQUENCE)?,
            family: attr(ATTR_FAMILY)?,
            iteration: iteration as u32,
            spacing: case.geometry.spacing,
            target,
        })
    }

    pub fn samples(&self) -> Result<Vec<Sample>, NodeError> {
        self.ids()?.iter().map(|id| self.sample(id)).collect()
    }
}
