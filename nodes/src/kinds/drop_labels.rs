//! `drop_labels`: the unlabelled view of a data set. The RL loop reads target data only through
//! this node, so it cannot see the hidden target labels: that guarantee is structural.

use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::seqs::{self, Sequences, Subset};

pub static INFO: KindInfo = KindInfo {
    name: "drop_labels",
    doc: "copy of a data set without its labels (what an unsupervised target domain looks like)",
    version: 1,
    inputs: &[Port {
        name: "data",
        accepts: &[seqs::SEQUENCES],
        optional: false,
    }],
    output: seqs::SEQUENCES,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `drop_labels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which cases to keep.
    #[serde(default)]
    pub subset: Subset,
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let data = Sequences::open(ctx.input("data")?)?;
    let mut cases = Vec::new();
    for id in data.ids(cfg.subset)? {
        let mut case = data.case(&id)?;
        case.label = None;
        cases.push((case, data.split(&id)?));
    }
    let n = seqs::write(ctx, cfg, cases.iter().map(|(c, s)| (c, *s)))?;
    Ok(Metrics::from([("cases".to_string(), n as f64)]))
}
