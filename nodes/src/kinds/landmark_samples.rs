//! `landmark_samples`: reward-net training samples made once from a labelled data set (the
//! synthetic source), on random `window`-frame windows of each labelled sequence, from the
//! policy itself, from copies of it with weight noise (method.md 4.4), from the policy on
//! contrast- and noise-distorted images, and from direct distortions of the ground truth
//! (`echo::distort`). Two targets (`mode`):
//!
//! * `landmark` (method.md 2.6, the landmark / "static" reward net): 1 everywhere except a
//!   blurred line from a misplaced LV base point to the true one (`echo::reward::landmark_target`).
//!   The original trains it on a separate labelled set of some model's predictions; the
//!   perturbations here give the net misplaced annuli to learn from even when the policy's own
//!   predictions on its training domain are nearly perfect.
//! * `correctness` (beyond the original): the anatomical net's target `seg == gt` with the
//!   *true* labels. Fed into the loop's reward set (`distort`'s `previous` input at iteration 1),
//!   these anchor the anatomical reward net on real errors of the policy on degraded images:
//!   on the target its pseudo ground truths are the policy's own cleaned predictions, so by
//!   itself it cannot see the policy's systematic errors. An intensity sample keeps the
//!   distorted image (it is the image whose segmentation is judged).
//!
//! The output is a `reward_set`, so `train_reward` trains on it as on `distort`'s samples.

use echo::augment::{RewardIntensityConfig, reward_intensity_distortions};
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

/// What a sample's target map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SampleTarget {
    /// The landmark net's map: low along the path of a misplaced LV base point (method.md 2.6).
    Landmark,
    /// `seg == gt` with the true labels (the anatomical net's target, method.md 4.8).
    Correctness,
}

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
    /// The target of each sample.
    pub mode: SampleTarget,
    /// The landmark target's threshold and blur (`mode = "landmark"`).
    pub target: LandmarkTargetConfig,
    /// Predictions of copies of the policy with weight noise.
    pub weights: WeightNoise,
    /// Predictions of the policy on contrast- and noise-distorted images (off by default).
    pub intensity: RewardIntensityConfig,
    /// Distortions of the ground truth (by default the families that move the base: boundary
    /// shifts, erosion/dilation).
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
            mode: SampleTarget::Landmark,
            target: LandmarkTargetConfig::default(),
            weights: WeightNoise {
                enabled: true,
                scales: vec![0.05, 0.1],
            },
            intensity: RewardIntensityConfig {
                contrast: false,
                noise: false,
                ..RewardIntensityConfig::default()
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
    cfg.intensity.validate().map_err(user_err)?;
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
            // (family, image the segmentation is judged on, segmentation)
            let mut candidates = vec![(
                "policy".to_string(),
                None,
                act(&pol.actor, &image, &device, None)?,
            )];
            for (m, net) in &perturbed {
                candidates.push((
                    format!("weights_{m}"),
                    None,
                    act(net, &image, &device, None)?,
                ));
            }
            for d in reward_intensity_distortions(&image, &cfg.intensity, &mut rng) {
                let seg = act(&pol.actor, &d.image, &device, None)?;
                candidates.push((format!("{}_{}", d.kind, d.magnitude), Some(d.image), seg));
            }
            for (kind, seg) in distort_each(&gt_w, &cfg.segmentation, &mut rng).map_err(user_err)? {
                candidates.push((kind.name().to_string(), None, seg));
            }
            for (family, distorted, seg) in candidates {
                let target = match cfg.mode {
                    SampleTarget::Landmark => {
                        let Some(t) = window_target(&gt_w, &seg, spacing, &cfg.target)? else {
                            skipped += 1;
                            continue;
                        };
                        Some(t)
                    }
                    // method.md 4.4: an empty segmentation is no sample.
                    SampleTarget::Correctness if seg.iter().all(|&v| v == 0) => {
                        skipped += 1;
                        continue;
                    }
                    SampleTarget::Correctness => None,
                };
                let wrong = match &target {
                    Some(t) => t.iter().any(|&v| v < 1.0),
                    None => seg != gt_w,
                };
                marked += usize::from(wrong);
                out.write(&Sample {
                    id: format!("{id}_w{w}_{family}"),
                    image: distorted.unwrap_or_else(|| image.clone()),
                    seg,
                    gt: gt_w.clone(),
                    sequence: id.clone(),
                    family,
                    iteration: 0,
                    spacing: pp.record.spacing,
                    target,
                })?;
            }
        }
    }
    progress.finish_and_clear();
    let total = out.len();
    out.finish()?;
    if total == 0 {
        let need = match cfg.mode {
            SampleTarget::Landmark => " with LV base points",
            SampleTarget::Correctness => " and a non-empty segmentation",
        };
        return Err(NodeError::user(format!(
            "{}: no sample: the {:?} subset has no labelled sequence of at least {} frames{need}",
            ctx.node_id, cfg.subset, cfg.window
        )));
    }
    let (mode, wrong, skip) = match cfg.mode {
        SampleTarget::Landmark => ("landmark", "a misplaced base point", "without base points"),
        SampleTarget::Correctness => ("correctness", "an error", "empty"),
    };
    tracing::info!(
        "{}: {total} {mode} samples from {labelled} labelled sequences ({marked} with {wrong}; {skipped} {skip} skipped)",
        ctx.node_id
    );
    Ok(Metrics::from([
        ("samples".to_string(), total as f64),
        ("with_errors".to_string(), marked as f64),
        ("skipped".to_string(), skipped as f64),
        ("sequences".to_string(), labelled as f64),
    ]))
}
