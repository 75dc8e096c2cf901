//! `predict`: full-sequence inference of a policy on a data set (issue #4): preprocessing as the
//! policy was trained, the original's temporal sliding window, softmax, argmax, largest-component
//! cleanup, and the result mapped back to each file's own grid. Writes a `predictions` artifact
//! (image, prediction, labels when the data set has them, optional probabilities).

use echo::augment::{TtaConfig, TtaSet, check_tta_config};
use echo::preprocess::{preprocess_arrays, undo_float_channels, undo_labels};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::sliding::SlidingWindow;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device};
use crate::infer::{Fail, actor_probs, labels_from_probs};
use crate::predictions::{self, PREDICTIONS};
use crate::seqs::{self, Sequences, Subset};
use crate::{policy, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "predict",
    doc: "segment sequences with a policy (sliding window, softmax, argmax, cleanup), back on the original grid",
    version: 1,
    inputs: &[
        Port {
            name: "policy",
            accepts: &[policy::POLICY],
            optional: false,
        },
        Port {
            name: "data",
            accepts: &[seqs::SEQUENCES],
            optional: false,
        },
    ],
    output: PREDICTIONS,
    cacheable: true,
};

fn test_subset() -> Subset {
    Subset::Test
}
fn two() -> usize {
    2
}

/// `[nodes.<id>]` of kind `predict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Cases to predict.
    #[serde(default = "test_subset")]
    pub subset: Subset,
    /// Windows per forward pass (the original: 2).
    #[serde(default = "two")]
    pub sw_batch_size: usize,
    /// Also store the class probabilities `[3, T, H, W]` (large).
    #[serde(default)]
    pub write_probs: bool,
    /// Test-time augmentation (method.md 7.2): probabilities averaged over the passes, then argmax.
    #[serde(default)]
    pub tta: Tta,
}

/// TTA switch and passes (`tta=false` = a single identity pass).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Tta {
    pub enabled: bool,
    /// The passes; defaults to the original's 25 (translations in pixels of the network grid).
    pub passes: TtaConfig,
}

impl Default for Tta {
    fn default() -> Self {
        Tta {
            enabled: false,
            passes: TtaConfig::default(),
        }
    }
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let device = device(ctx)?;
    let pol = policy::load(ctx.input("policy")?, &device)?;
    let data = Sequences::open(ctx.input("data")?)?;
    let ids = data.ids(cfg.subset)?;
    let sw = SlidingWindow {
        sw_batch_size: cfg.sw_batch_size.max(1),
        ..SlidingWindow::default()
    };
    let tta = if cfg.tta.enabled {
        TtaSet::from_config(&cfg.tta.passes)
    } else {
        TtaSet::identity_only()
    };
    let mut out = predictions::Writer::create(ctx, cfg)?;
    let progress = bar(ctx, ids.len() as u64, "cases");
    for id in &ids {
        let case = data.case(id)?;
        let pp = preprocess_arrays(&case.image, None, case.geometry.spacing, &pol.preprocess)
            .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
        let probs = if cfg.tta.enabled {
            let (_, h, w) = pp.image.dim();
            check_tta_config(&cfg.tta.passes, h, w).map_err(user_err)?;
            tta.average(&pp.image, |img| {
                actor_probs(&pol.actor, img, &sw, &device).map_err(Fail)
            })
            .map_err(|f| f.0)?
        } else {
            actor_probs(&pol.actor, &pp.image, &sw, &device)?
        };
        let pred = labels_from_probs(&probs);
        let pred_orig = undo_labels(&pred, &pp.record).map_err(user_err)?;
        let probs_orig = if cfg.write_probs {
            Some(undo_float_channels(&probs, &pp.record).map_err(user_err)?)
        } else {
            None
        };
        out.write(&case, data.split(id)?, &pred_orig, probs_orig.as_ref(), &[])?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let n = out.finish()?;
    Ok(Metrics::from([("cases".to_string(), n as f64)]))
}
