//! Pseudo-label artifacts (`pseudo_labels`), written by `anatomical_filter` and read by
//! `distort`: per case the image on its original grid, the policy's prediction (`pred`), the
//! pseudo ground truth as the case's labels, and its status (`good`: the cleaned prediction is
//! valid; `corrected`: the corrector repaired an invalid prediction; `rejected`: neither).
//! Ground-truth labels of the data never reach this artifact: it is built from predictions only.

use std::path::Path;

use dataset::h5::{ArtifactReader, ArtifactWriter};
use echo::Case;
use engine::{NodeContext, NodeError};
use ndarray::{Array3, Ix3};
use serde::Serialize;

use crate::seqs::{ATTR_SPLIT, config_text};
use crate::splits::Split;
use crate::user_err;

pub const PSEUDO_LABELS: &str = "pseudo_labels";
const ATTR_STATUS: &str = "status";
const PRED: &str = "pred";

/// What the filter decided for one sequence (method.md 4.4-4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every frame of the cleaned prediction is anatomically valid and the sequence is
    /// temporally valid: pseudo-GT = cleaned prediction; distortions give negative samples.
    Good,
    /// Invalid, but the corrector's output is valid: pseudo-GT = corrected sequence.
    Corrected,
    /// Invalid and not repairable: kept for the record, never used as a target.
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Good => "good",
            Status::Corrected => "corrected",
            Status::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "good" => Some(Status::Good),
            "corrected" => Some(Status::Corrected),
            "rejected" => Some(Status::Rejected),
            _ => None,
        }
    }
}

fn internal(e: echo::Error) -> NodeError {
    NodeError::internal(e.to_string())
}

/// Streams cases into a pseudo-label artifact.
pub struct Writer {
    inner: ArtifactWriter,
}

impl Writer {
    pub fn create<C: Serialize>(ctx: &NodeContext, config: &C) -> Result<Self, NodeError> {
        let inner = ArtifactWriter::create(
            &ctx.artifact_path(),
            PSEUDO_LABELS,
            &ctx.key,
            &config_text(config),
        )
        .map_err(internal)?;
        Ok(Writer { inner })
    }

    /// `case` carries the image and geometry (its labels are ignored and replaced by `pseudo`).
    pub fn write(
        &mut self,
        case: &Case,
        split: Split,
        pred: &Array3<u8>,
        pseudo: &Array3<u8>,
        status: Status,
    ) -> Result<(), NodeError> {
        let mut case = case.clone();
        case.label = Some(pseudo.clone());
        self.inner.write_case(&case).map_err(internal)?;
        self.inner
            .set_case_attr_str(&case.id, ATTR_SPLIT, split.as_str())
            .map_err(internal)?;
        self.inner
            .set_case_attr_str(&case.id, ATTR_STATUS, status.as_str())
            .map_err(internal)?;
        self.inner
            .put_u8(&case.id, PRED, pred.view().into_dyn())
            .map_err(internal)
    }

    pub fn finish(self) -> Result<(), NodeError> {
        self.inner.finish().map_err(internal)
    }
}

/// An open pseudo-label artifact.
pub struct PseudoLabels {
    reader: ArtifactReader,
}

/// One sequence of a pseudo-label artifact.
pub struct Entry {
    /// Image, geometry; `label` = the pseudo ground truth.
    pub case: Case,
    pub pred: Array3<u8>,
    pub status: Status,
}

impl PseudoLabels {
    pub fn open(dir: &Path) -> Result<Self, NodeError> {
        Ok(PseudoLabels {
            reader: ArtifactReader::open_kind(&dir.join("artifact.h5"), PSEUDO_LABELS)
                .map_err(user_err)?,
        })
    }

    pub fn ids(&self) -> Result<Vec<String>, NodeError> {
        self.reader.case_ids().map_err(user_err)
    }

    pub fn entry(&self, id: &str) -> Result<Entry, NodeError> {
        let case = self.reader.read_case(id).map_err(user_err)?;
        let pred = self
            .reader
            .get_u8(id, PRED)
            .map_err(user_err)?
            .into_dimensionality::<Ix3>()
            .map_err(|e| NodeError::user(format!("case {id}: `pred` is not [T, H, W] ({e})")))?;
        let s = self
            .reader
            .case_attr_str(id, ATTR_STATUS)
            .map_err(user_err)?;
        let status = Status::parse(&s)
            .ok_or_else(|| NodeError::user(format!("case {id}: unknown status {s:?}")))?;
        Ok(Entry { case, pred, status })
    }
}
