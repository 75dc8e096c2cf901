//! Prediction artifacts (`predictions`): per case the image and (when known) the labels on the
//! original grid, the predicted labels `pred`, optional `probs` `[3, T, H, W]` and any number of
//! named float maps (reward maps: `reward`, `reward_<k>`). Written by `predict`, read by
//! `evaluate`, `export` and the RL nodes.

use std::path::Path;

use dataset::h5::{ArtifactReader, ArtifactWriter};
use echo::Case;
use engine::{NodeContext, NodeError};
use ndarray::{Array3, Array4, Ix3};
use serde::Serialize;

use crate::seqs::{ATTR_SPLIT, config_text};
use crate::splits::Split;
use crate::user_err;

pub const PREDICTIONS: &str = "predictions";
pub const PRED: &str = "pred";
pub const PROBS: &str = "probs";

/// Streams cases into a predictions artifact.
pub struct Writer {
    inner: ArtifactWriter,
    n: usize,
}

fn internal(e: echo::Error) -> NodeError {
    NodeError::internal(e.to_string())
}

impl Writer {
    pub fn create<C: Serialize>(ctx: &NodeContext, config: &C) -> Result<Self, NodeError> {
        let inner = ArtifactWriter::create(
            &ctx.artifact_path(),
            PREDICTIONS,
            &ctx.key,
            &config_text(config),
        )
        .map_err(internal)?;
        Ok(Writer { inner, n: 0 })
    }

    /// One case: `case` as read (image, labels if any, geometry), its prediction, optional
    /// probabilities and named float maps, all on the original grid.
    pub fn write(
        &mut self,
        case: &Case,
        split: Split,
        pred: &Array3<u8>,
        probs: Option<&Array4<f32>>,
        maps: &[(&str, &Array3<f32>)],
    ) -> Result<(), NodeError> {
        self.inner.write_case(case).map_err(internal)?;
        self.inner
            .set_case_attr_str(&case.id, ATTR_SPLIT, split.as_str())
            .map_err(internal)?;
        self.inner
            .put_u8(&case.id, PRED, pred.view().into_dyn())
            .map_err(internal)?;
        if let Some(p) = probs {
            self.inner
                .put_f32(&case.id, PROBS, p.view().into_dyn())
                .map_err(internal)?;
        }
        for (name, map) in maps {
            self.inner
                .put_f32(&case.id, name, map.view().into_dyn())
                .map_err(internal)?;
        }
        self.n += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<usize, NodeError> {
        self.inner.finish().map_err(internal)?;
        Ok(self.n)
    }
}

/// An open predictions artifact.
pub struct Predictions {
    pub reader: ArtifactReader,
}

impl Predictions {
    pub fn open(dir: &Path) -> Result<Self, NodeError> {
        Ok(Predictions {
            reader: ArtifactReader::open_kind(&dir.join("artifact.h5"), PREDICTIONS)
                .map_err(user_err)?,
        })
    }
    pub fn ids(&self) -> Result<Vec<String>, NodeError> {
        self.reader.case_ids().map_err(user_err)
    }
    pub fn case(&self, id: &str) -> Result<Case, NodeError> {
        self.reader.read_case(id).map_err(user_err)
    }
    /// The split the case had in the data set it was predicted from.
    pub fn split(&self, id: &str) -> Result<Split, NodeError> {
        let s = self
            .reader
            .case_attr_str(id, ATTR_SPLIT)
            .map_err(user_err)?;
        Split::parse(&s).ok_or_else(|| NodeError::user(format!("case {id}: unknown split {s:?}")))
    }
    pub fn pred(&self, id: &str) -> Result<Array3<u8>, NodeError> {
        self.reader
            .get_u8(id, PRED)
            .map_err(user_err)?
            .into_dimensionality::<Ix3>()
            .map_err(|e| NodeError::user(format!("case {id}: `pred` is not [T, H, W] ({e})")))
    }
    /// A named float map `[T, H, W]`, if stored.
    pub fn map(&self, id: &str, name: &str) -> Result<Option<Array3<f32>>, NodeError> {
        if !self.reader.has(id, name) {
            return Ok(None);
        }
        let a = self.reader.get_f32(id, name).map_err(user_err)?;
        a.into_dimensionality::<Ix3>()
            .map(Some)
            .map_err(|e| NodeError::user(format!("case {id}: `{name}` is not [T, H, W] ({e})")))
    }
    pub fn maps(&self, id: &str) -> Result<Vec<String>, NodeError> {
        let names = self.reader.dataset_names(id).map_err(user_err)?;
        Ok(names
            .into_iter()
            .filter(|n| n.starts_with("reward"))
            .collect())
    }
}
