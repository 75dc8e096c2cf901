//! Sequence artifacts (`sequences`): the HDF5 layout of `dataset::h5` with one extra case
//! attribute, `split` (train/val/test). Written by `simulate` and `load`, read by every node that
//! consumes data. Reading by subset keeps the other cases on disk.

use std::path::Path;

use dataset::h5::{ArtifactReader, ArtifactWriter};
use echo::Case;
use engine::{NodeContext, NodeError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::splits::Split;
use crate::user_err;

/// Artifact kind of data sets.
pub const SEQUENCES: &str = "sequences";
/// Case attribute holding the split name.
pub const ATTR_SPLIT: &str = "split";

/// Which cases of a data set a node reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Subset {
    #[default]
    All,
    Train,
    Val,
    Test,
    /// Train and val: everything but the held-out test cases.
    #[serde(rename = "train_val")]
    TrainVal,
}

impl Subset {
    pub fn contains(self, split: Split) -> bool {
        match self {
            Subset::All => true,
            Subset::Train => split == Split::Train,
            Subset::Val => split == Split::Val,
            Subset::Test => split == Split::Test,
            Subset::TrainVal => split != Split::Test,
        }
    }
}

/// The canonical node config as TOML text (stored in every artifact's root attributes).
pub fn config_text<C: Serialize>(config: &C) -> String {
    toml::to_string(config).unwrap_or_default()
}

/// Write a data set artifact into `ctx`'s output directory.
pub fn write<'a, C: Serialize>(
    ctx: &NodeContext,
    config: &C,
    cases: impl IntoIterator<Item = (&'a Case, Split)>,
) -> Result<usize, NodeError> {
    let mut writer = ArtifactWriter::create(
        &ctx.artifact_path(),
        SEQUENCES,
        &ctx.key,
        &config_text(config),
    )
    .map_err(internal)?;
    let mut n = 0;
    for (case, split) in cases {
        writer.write_case(case).map_err(internal)?;
        writer
            .set_case_attr_str(&case.id, ATTR_SPLIT, split.as_str())
            .map_err(internal)?;
        n += 1;
    }
    writer.finish().map_err(internal)?;
    Ok(n)
}

/// An open data set artifact.
pub struct Sequences {
    reader: ArtifactReader,
}

impl Sequences {
    /// Open the `sequences` artifact in an upstream node's directory.
    pub fn open(dir: &Path) -> Result<Self, NodeError> {
        let reader =
            ArtifactReader::open_kind(&dir.join("artifact.h5"), SEQUENCES).map_err(user_err)?;
        Ok(Sequences { reader })
    }

    /// Case ids in `subset`, in the order the file lists them (HDF5's link order: the same for
    /// the same ids, not alphabetical).
    pub fn ids(&self, subset: Subset) -> Result<Vec<String>, NodeError> {
        let mut out = Vec::new();
        for id in self.reader.case_ids().map_err(user_err)? {
            if subset.contains(self.split(&id)?) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The split of a case.
    pub fn split(&self, id: &str) -> Result<Split, NodeError> {
        let s = self
            .reader
            .case_attr_str(id, ATTR_SPLIT)
            .map_err(user_err)?;
        Split::parse(&s).ok_or_else(|| NodeError::user(format!("case {id}: unknown split {s:?}")))
    }

    /// Read one case.
    pub fn case(&self, id: &str) -> Result<Case, NodeError> {
        self.reader.read_case(id).map_err(user_err)
    }

    /// Read every case of `subset`.
    pub fn cases(&self, subset: Subset) -> Result<Vec<Case>, NodeError> {
        self.ids(subset)?.iter().map(|id| self.case(id)).collect()
    }

    pub fn reader(&self) -> &ArtifactReader {
        &self.reader
    }
}

fn internal(e: echo::Error) -> NodeError {
    NodeError::internal(e.to_string())
}
