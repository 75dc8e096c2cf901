//! `distort`: builds the reward net's training set from the current policy on unlabelled target
//! sequences and their pseudo ground truths (issue #5, method.md 4.4-4.9). On each good sequence,
//! one random window (method.md 4: one 4-frame window per item) gives negative samples by
//!
//! * policy weight noise, `N(0, 1)·m` on every parameter (4.4), m in [0.01, 0.02, 0.03, 0.05]
//!   (the original's [0.1, 0.15, 0.2, 0.25] wreck the `small` net: `configs/distort/default.toml`);
//! * image contrast [0.4, 0.05] and additive noise σ [0.3, 0.6] before the policy predicts (4.4);
//! * direct segmentation distortions of the pseudo-GT (beyond the original): erosion/dilation,
//!   holes, detached blobs, boundary shifts and temporal glitches (`echo::distort`);
//!
//! and corrected bad sequences give (sampled action, corrected) pairs (4.5); with
//! `distort_corrected` (beyond the original) the three families above also run on corrected
//! sequences against their corrected pseudo-GT, so the reward net sees negatives even in an
//! iteration whose policy produced no good sequence at all (the source policy on a shifted
//! domain often does not: the original then learns from corrections alone). Samples whose
//! segmentation is empty or equal to the pseudo-GT are skipped, as in the original (4.4).
//! With the optional `previous` input the earlier iterations' samples are carried over, so the
//! set accumulates over the loop (4.9).
//!
//! Choice (method.md 4.4 does not say which image is stored for image perturbations): the
//! sample keeps the *unperturbed* image, so the reward net learns to judge a plausible wrong
//! segmentation of the image it will see during rollouts.

use std::collections::BTreeMap;

use echo::augment::{RewardIntensityConfig, reward_intensity_distortions};
use echo::distort::{DistortConfig, distort_each};
use echo::preprocess::preprocess_arrays;
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::burn::tensor::Tensor;
use models::convert::{image_to_tensor, int_values};
use models::perturb::perturb_weights;
use models::policy::{greedy, sample};
use models::{Device, UNet};
use ndarray::{Array3, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device, model_err};
use crate::pseudo::{PSEUDO_LABELS, PseudoLabels, Status};
use crate::rewardset::{self, REWARD_SET, RewardSet, Sample};
use crate::{policy, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "distort",
    doc: "reward-net training pairs from weight, image and segmentation distortions of the policy's predictions",
    version: 2,
    inputs: &[
        Port {
            name: "policy",
            accepts: &[policy::POLICY],
            optional: false,
        },
        Port {
            name: "pseudo",
            accepts: &[PSEUDO_LABELS],
            optional: false,
        },
        Port {
            name: "previous",
            accepts: &[REWARD_SET],
            optional: true,
        },
    ],
    output: REWARD_SET,
    cacheable: true,
};

/// Policy weight noise (method.md 4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WeightNoise {
    pub enabled: bool,
    /// Standard deviations `m` of the noise added to every parameter.
    pub scales: Vec<f64>,
}

impl WeightNoise {
    /// One perturbed copy of `actor` per scale (none when disabled), each seeded from `seed`
    /// and its index, so a call is reproducible.
    pub fn perturbed(&self, actor: &UNet, seed: u64) -> Vec<(f64, UNet)> {
        if !self.enabled {
            return Vec::new();
        }
        self.scales
            .iter()
            .enumerate()
            .map(|(k, &m)| (m, perturb_weights(actor, m, seed ^ (k as u64 + 1))))
            .collect()
    }
}

impl Default for WeightNoise {
    fn default() -> Self {
        WeightNoise {
            enabled: true,
            scales: vec![0.01, 0.02, 0.03, 0.05],
        }
    }
}

/// The sample families (the `distort` config group): switch any off to run an ablation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Families {
    /// Policy weight noise.
    pub weights: WeightNoise,
    /// Image contrast and noise before prediction.
    pub intensity: RewardIntensityConfig,
    /// Direct distortions of the pseudo ground truth (each family has an `enabled` switch).
    pub segmentation: DistortConfig,
    /// Samples from corrected bad sequences: (sampled action, corrected), method.md 4.5.
    pub corrections: bool,
    /// Also make the weight, intensity and segmentation samples of corrected bad sequences
    /// (against the corrected pseudo-GT); the original makes them for good sequences only.
    pub distort_corrected: bool,
}

impl Default for Families {
    fn default() -> Self {
        Families {
            weights: WeightNoise::default(),
            intensity: RewardIntensityConfig::default(),
            segmentation: DistortConfig::default(),
            corrections: true,
            distort_corrected: true,
        }
    }
}

/// `[nodes.<id>]` of kind `distort`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Frames per window (method.md 1.3: 4).
    pub window: usize,
    /// Random windows per sequence (the original: 1).
    pub windows_per_case: usize,
    /// Which samples to make.
    pub families: Families,
    /// Carry the `previous` input's samples over (method.md 4.9: the set is cumulative).
    pub accumulate: bool,
    /// At most this many sequences per call (0 = all).
    pub max_cases: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window: 4,
            windows_per_case: 1,
            families: Families::default(),
            accumulate: true,
            max_cases: 0,
        }
    }
}

fn check(cfg: &Config, node: &str) -> Result<(), NodeError> {
    let bad = |m: String| Err(NodeError::user(format!("{node}: {m}")));
    if cfg.window == 0 || cfg.windows_per_case == 0 {
        return bad("window and windows_per_case must be >= 1".into());
    }
    if let Some(m) = cfg
        .families
        .weights
        .scales
        .iter()
        .find(|m| !(m.is_finite() && **m >= 0.0))
    {
        return bad(format!("weights.scales: {m} must be finite and >= 0"));
    }
    cfg.families.intensity.validate().map_err(user_err)?;
    cfg.families.segmentation.validate().map_err(user_err)
}

/// Labels of the greedy (or sampled) action of `net` on one window `[T, H, W]`.
pub(crate) fn act(
    net: &UNet,
    image: &Array3<f32>,
    device: &Device,
    rng: Option<&mut ChaCha8Rng>,
) -> Result<Array3<u8>, NodeError> {
    let logits: Tensor<5> = net
        .forward(image_to_tensor(image.view(), device))
        .map_err(model_err)?;
    let actions = match rng {
        Some(r) => sample(logits, r),
        None => greedy(logits),
    };
    let values: Vec<u8> = int_values(actions).into_iter().map(|v| v as u8).collect();
    Array3::from_shape_vec(image.raw_dim(), values).map_err(|e| NodeError::internal(e.to_string()))
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    check(cfg, &ctx.node_id)?;
    let device = device(ctx)?;
    let pol = policy::load(ctx.input("policy")?, &device)?;
    let pseudo = PseudoLabels::open(ctx.input("pseudo")?)?;
    let mut ids = pseudo.ids()?;
    if cfg.max_cases > 0 {
        ids.truncate(cfg.max_cases);
    }
    let iteration = ctx.iteration.unwrap_or(0);
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    let perturbed = cfg.families.weights.perturbed(&pol.actor, ctx.seed);

    let mut out = rewardset::Writer::create(ctx, cfg)?;
    let mut families: BTreeMap<String, usize> = BTreeMap::new();
    let (mut good, mut corrected) = (0usize, 0usize);
    let progress = bar(ctx, ids.len() as u64, "distort");
    for id in &ids {
        let entry = pseudo.entry(id)?;
        progress.inc(1);
        let use_case = match entry.status {
            Status::Good => true,
            Status::Corrected => cfg.families.corrections || cfg.families.distort_corrected,
            Status::Rejected => false,
        };
        if !use_case {
            continue;
        }
        let Some(gt) = entry.case.label.as_ref() else {
            continue;
        };
        let pp = preprocess_arrays(
            &entry.case.image,
            Some(gt),
            entry.case.geometry.spacing,
            &pol.preprocess,
        )
        .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
        let Some(pp_gt) = pp.label.as_ref() else {
            continue;
        };
        let t = pp.image.dim().0;
        if t < cfg.window {
            tracing::warn!(
                "{}: case {id} has {t} frames < window {}; skipped",
                ctx.node_id,
                cfg.window
            );
            continue;
        }
        match entry.status {
            Status::Good => good += 1,
            _ => corrected += 1,
        }
        for w in 0..cfg.windows_per_case {
            let start = rng.random_range(0..=t - cfg.window);
            let frames = Slice::from(start..start + cfg.window);
            let image = pp.image.slice_axis(Axis(0), frames).to_owned();
            let gt_w = pp_gt.slice_axis(Axis(0), frames).to_owned();
            let mut candidates: Vec<(String, Array3<u8>)> = Vec::new();
            if entry.status == Status::Good || cfg.families.distort_corrected {
                for (m, net) in &perturbed {
                    candidates.push((format!("weights_{m}"), act(net, &image, &device, None)?));
                }
                for d in reward_intensity_distortions(&image, &cfg.families.intensity, &mut rng) {
                    let seg = act(&pol.actor, &d.image, &device, None)?;
                    candidates.push((format!("{}_{}", d.kind, d.magnitude), seg));
                }
                for (kind, seg) in
                    distort_each(&gt_w, &cfg.families.segmentation, &mut rng).map_err(user_err)?
                {
                    candidates.push((kind.name().to_string(), seg));
                }
            }
            if entry.status == Status::Corrected && cfg.families.corrections {
                candidates.push((
                    "correction".into(),
                    act(&pol.actor, &image, &device, Some(&mut rng))?,
                ));
            }
            for (family, seg) in candidates {
                // method.md 4.4: empty predictions are skipped; so are exact copies of the
                // pseudo-GT (no negative signal).
                if seg.iter().all(|&v| v == 0) || seg == gt_w {
                    continue;
                }
                *families.entry(family.clone()).or_default() += 1;
                out.write(&Sample {
                    id: format!("i{iteration}_{id}_w{w}_{family}"),
                    image: image.clone(),
                    seg,
                    gt: gt_w.clone(),
                    sequence: id.clone(),
                    family,
                    iteration,
                    spacing: pp.record.spacing,
                    target: None,
                })?;
            }
        }
    }
    progress.finish_and_clear();
    let new = out.len();
    let mut carried = 0usize;
    if cfg.accumulate {
        if let Some(prev) = ctx.inputs.get("previous") {
            let prev = RewardSet::open(prev)?;
            for sid in prev.ids()? {
                out.write(&prev.sample(&sid)?)?;
                carried += 1;
            }
        }
    }
    let total = out.finish()?;
    let summary: Vec<String> = families.iter().map(|(k, v)| format!("{k} {v}")).collect();
    tracing::info!(
        "{}: {new} new samples from {good} good and {corrected} corrected sequences ({}); {carried} carried over, {total} in all",
        ctx.node_id,
        summary.join(", ")
    );
    let mut metrics = Metrics::from([
        ("new_samples".to_string(), new as f64),
        ("samples".to_string(), total as f64),
        ("good_sequences".to_string(), good as f64),
        ("corrected_sequences".to_string(), corrected as f64),
    ]);
    for (k, v) in families {
        metrics.insert(format!("family_{k}"), v as f64);
    }
    Ok(metrics)
}
