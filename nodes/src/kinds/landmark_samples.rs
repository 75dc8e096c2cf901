//! `landmark_samples`: the training set of the landmark ("static") reward net (issue #5,
//! method.md 2.6), made once from a labelled data set (the synthetic source): on random
//! `window`-frame windows of each labelled sequence, segmentations whose LV base points may be
//! misplaced, from the policy itself, from copies of it with weight noise (method.md 4.4) and
//! from direct distortions of the ground truth (`echo::distort`); each is paired with the
//! landmark target of `echo::reward::landmark_target`: 1 everywhere except a blurred line from
//! a misplaced base point to the true one. The output is a `reward_set` whose samples carry
//! that target, so `train_reward` trains the landmark net as it trains the anatomical one.
//!
//! The original trains it on a separate labelled set of some model's predictions (method.md
//! 2.6); the perturbations here give the net misplaced annuli to learn from even when the
//! policy's own predictions on its training domain are nearly perfect.

use echo::distort::{DistortConfig, distort_each};
use echo::preprocess::preprocess_arrays;
use echo::reward::{LandmarkTargetConfig, landmark_target};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use ndarray::{Array3, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::distort::{WeightNoise, act};
use crate::compute::{bar, device};
use crate::rewardset::{self, REWARD_SET, Sample};
use crate::seqs::{self, Sequences, Subset};
use crate::{policy, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "landmark_samples",
    doc: "training samples of the landmark reward net (misplaced LV base points) from labelled sequences",
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
    output: REWARD_SET,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `landmark_samples`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Labelled sequences to use.
    pub subset: Subset,
    /// At most this many sequences (0 = all).
    pub max_cases: usize,
    /// Frames per window (method.md 1.3: 4).
    pub window: usize,
    /// Random windows per sequence.
    pub windows_per_case: usize,
    /// The target map (threshold, blur).
    pub target: LandmarkTargetConfig,
    /// Predictions of copies of the policy with weight noise.
    pub weights: WeightNoise,
    /// Distortions of the ground truth (the families that move the base: boundary shifts,
    /// erosion/dilation).
    pub segmentation: DistortConfig,
}

impl Default for Config {
    fn default() -> Self {
        let off = DistortConfig::default();
        let mut segmentation = off.clone();
        segmentation.holes.enabled = false;
        segmentation.blobs.enabled = false;
        segmentation.temporal_glitch.enabled = false;
        Config {
            subset: Subset::TrainVal,
            max_cases: 0,
            window: 4,
            windows_per_case: 2,
            target: LandmarkTargetConfig::default(),
            weights: WeightNoise {
                enabled: true,
                scales: vec![0.05, 0.1],
            },
            segmentation,
        }
    }
}

/// The landmark target of a label window, or `None` when some frame has no base points.
fn window_target(
    gt: &Array3<u8>,
    seg: &Array3<u8>,
    spacing: [f64; 2],
    cfg: &LandmarkTargetConfig,
) -> Result<Option<Array3<f32>>, NodeError> {
    let mut out = Array3::<f32>::zeros(gt.raw_dim());
    for (k, mut frame) in out.axis_iter_mut(Axis(0)).enumerate() {
        let g = gt.index_axis(Axis(0), k);
        let p = seg.index_axis(Axis(0), k);
        match landmark_target(&g, &p, spacing, cfg).map_err(user_err)? {
            Some(t) => frame.assign(&t),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if cfg.window == 0 || cfg.windows_per_case == 0 {
        return Err(NodeError::user(format!(
            "{}: window and windows_per_case must be >= 1",
            ctx.node_id
        )));
    }
    cfg.target.validate().map_err(user_err)?;
    cfg.segmentation.validate().map_err(user_err)?;
    let device = device(ctx)?;
    let pol = policy::load(ctx.input("policy")?, &device)?;
    let data = Sequences::open(ctx.input("data")?)?;
    let mut ids = data.ids(cfg.subset)?;
    if cfg.max_cases > 0 {
        ids.truncate(cfg.max_cases);
    }
    let perturbed = cfg.weights.perturbed(&pol.actor, ctx.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    let mut out = rewardset::Writer::create(ctx, cfg)?;
    let (mut labelled, mut marked, mut skipped) = (0usize, 0usize, 0usize);
    let progress = bar(ctx, ids.len() as u64, "landmarks");
    for id in &ids {
        progress.inc(1);
        let case = data.case(id)?;
        let Some(label) = case.label.as_ref() else {
            continue;
        };
        let pp = preprocess_arrays(
            &case.image,
            Some(label),
            case.geometry.spacing,
            &pol.preprocess,
        )
        .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
        let Some(gt) = pp.label.as_ref() else {
            continue;
        };
        let t = pp.image.dim().0;
        if t < cfg.window {
            continue;
        }
        labelled += 1;
        let spacing = [pp.record.spacing[1], pp.record.spacing[2]];
        for w in 0..cfg.windows_per_case {
            let start = rng.random_range(0..=t - cfg.window);
            let frames = Slice::from(start..start + cfg.window);
            let image = pp.image.slice_axis(Axis(0), frames).to_owned();
            let gt_w = gt.slice_axis(Axis(0), frames).to_owned();
            let mut candidates = vec![(
                "policy".to_string(),
                act(&pol.actor, &image, &device, None)?,
            )];
            for (m, net) in &perturbed {
                candidates.push((format!("weights_{m}"), act(net, &image, &device, None)?));
            }
            for (kind, seg) in distort_each(&gt_w, &cfg.segmentation, &mut rng).map_err(user_err)? {
                candidates.push((kind.name().to_string(), seg));
            }
            for (family, seg) in candidates {
                let Some(target) = window_target(&gt_w, &seg, spacing, &cfg.target)? else {
                    skipped += 1;
                    continue;
                };
                if target.iter().any(|&v| v < 1.0) {
                    marked += 1;
                }
                out.write(&Sample {
                    id: format!("{id}_w{w}_{family}"),
                    image: image.clone(),
                    seg,
                    gt: gt_w.clone(),
                    sequence: id.clone(),
                    family,
                    iteration: 0,
                    spacing: pp.record.spacing,
                    target: Some(target),
                })?;
            }
        }
    }
    progress.finish_and_clear();
    let total = out.len();
    out.finish()?;
    if total == 0 {
        return Err(NodeError::user(format!(
            "{}: no landmark sample: the {:?} subset has no labelled sequence of at least {} frames with LV base points",
            ctx.node_id, cfg.subset, cfg.window
        )));
    }
    tracing::info!(
        "{}: {total} samples from {labelled} labelled sequences ({marked} with a misplaced base point; {skipped} without base points skipped)",
        ctx.node_id
    );
    Ok(Metrics::from([
        ("samples".to_string(), total as f64),
        ("with_misplaced_base".to_string(), marked as f64),
        ("skipped".to_string(), skipped as f64),
        ("sequences".to_string(), labelled as f64),
    ]))
}
