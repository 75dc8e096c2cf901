//! `ppo`: fine-tunes the segmentation policy with PPO against frozen reward nets (issue #5,
//! method.md 3): one-step episodes on 4-frame windows of unlabelled sequences, per-voxel
//! categorical policy, clipped ratio, k updates per batch, entropy bonus, penalty on the
//! log-ratio to the frozen reference policy, a critic U-Net with deep supervision, gradient
//! norm clipping; reward = voxel-wise minimum of the reward nets (method.md 2.4) with per-frame
//! min-max normalisation during rollouts; best weights by validation reward, or with
//! `ppo.selection = "validity"` by the fraction of anatomically valid frames (method.md 6.1,
//! after the largest-blob cleanup of predictions) of the validation rollouts, a label-free
//! guard against reward hacking. Writes a `policy` artifact (actor + critic) and the training
//! history with a plot.
//!
//! Coefficient schedule: `auto_iteration` divides the configured entropy and divergence
//! coefficients by the iteration i, the local loop's `entropy = 0.3 / (2i)`, `divergence =
//! 0.1 / (2i)` (method.md 8) when they are set to the original's 0.15 and 0.05; `constant`
//! keeps the configured ones (the SLURM loop's behaviour); `decay_entropy` divides only the
//! entropy coefficient, so the pull towards the reference policy stays as strong in the last
//! iteration as in the first.

use std::fmt::Write as _;

use dataset::render::{Series, line_plot};
use echo::metrics::check_sequence;
use echo::morph::keep_largest_foreground_sequence;
use echo::preprocess::preprocess_arrays;
use echo::reward::{TemporalPenaltyConfig, apply_temporal_penalty, temporal_penalty};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::TrainError;
use models::burn::tensor::{Int, Tensor, TensorData};
use models::convert::{float_values, int_values};
use models::rl::reward::{centre_per_class, reward_nets_map};
use models::rl::{PpoConfig, PpoEpoch, ValScore, train_ppo};
use models::roles::{NUM_CLASSES, critic_config};
use ndarray::Array3;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device, model_err};
use crate::rewardmodel::{self, REWARD_MODEL};
use crate::seqs::{self, Sequences, Subset};
use crate::{policy, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "ppo",
    doc: "fine-tune the policy with PPO against frozen reward nets (fused by voxel-wise minimum)",
    version: 2,
    inputs: &[
        Port {
            name: "policy",
            accepts: &[policy::POLICY],
            optional: false,
        },
        Port {
            name: "reference",
            accepts: &[policy::POLICY],
            optional: false,
        },
        Port {
            name: "reward",
            accepts: &[REWARD_MODEL],
            optional: false,
        },
        Port {
            name: "landmark",
            accepts: &[REWARD_MODEL],
            optional: true,
        },
        Port {
            name: "data",
            accepts: &[seqs::SEQUENCES],
            optional: false,
        },
    ],
    output: policy::POLICY,
    cacheable: true,
};

/// How the entropy and divergence coefficients change over the loop's iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The configured coefficients at every iteration.
    Constant,
    /// The configured coefficients divided by the iteration i: with 0.15 and 0.05, the local
    /// auto_iteration loop's `entropy = 0.3 / (2i)`, `divergence = 0.1 / (2i)` (method.md 8).
    AutoIteration,
    /// Only the entropy coefficient divided by i; the divergence coefficient stays as
    /// configured (the SLURM loop keeps it constant too, method.md 8).
    DecayEntropy,
}

/// Reward options of the rollouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RewardOptions {
    /// Require a landmark reward net (method.md 2.6) on the `landmark` input, fused with the
    /// anatomical one (a connected one is fused either way). Pipelines switch the nodes that
    /// train it on this key (`when = "nodes.<ppo>.reward.landmark"`).
    pub landmark: bool,
    /// The "temporal" reward variant (method.md 2.5): frames whose area or centre jumps within
    /// the window get a wider low-reward region (penalty per frame, not per batch index as in
    /// the original's bug).
    pub temporal_penalty: bool,
    /// Its settings (`sigma_px` is in pixels of the network grid).
    pub temporal: TemporalPenaltyConfig,
    /// Per-frame min-max normalisation of each reward map (method.md 2.4 step 2; a constant
    /// frame gives 1 instead of the original's NaN).
    pub normalise: bool,
    /// Share (0-1) of each predicted class's mean reward removed per frame (beyond the original,
    /// `models::rl::centre_per_class`): at 1 each class keeps only its voxels' standing among
    /// themselves, so the class with the lowest typical correctness (the thin myocardium) is not
    /// pushed out as a whole; 0 is the original's reward.
    #[serde(deserialize_with = "share")]
    pub class_centring: f64,
    /// Divide the first net's logits by its fitted temperature (the original's `temp_factor`,
    /// whose use is commented out in its loop, method.md 5).
    pub use_temperature: bool,
}

impl Default for RewardOptions {
    fn default() -> Self {
        RewardOptions {
            landmark: false,
            temporal_penalty: false,
            temporal: TemporalPenaltyConfig::default(),
            normalise: true,
            class_centring: 0.0,
            use_temperature: false,
        }
    }
}

/// A share in [0, 1], checked when the config is read (so `rl4seg show`/`plan` already reject it).
fn share<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = <f64 as serde::Deserialize>::deserialize(d)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is not a share: give a number between 0 (off) and 1"
        )))
    }
}

fn train_subset() -> Subset {
    Subset::Train
}
fn val_subset() -> Subset {
    Subset::Val
}
fn auto_iteration() -> Schedule {
    Schedule::AutoIteration
}

/// `[nodes.<id>]` of kind `ppo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub ppo: PpoConfig,
    /// Coefficient schedule over the loop's iterations.
    #[serde(default = "auto_iteration")]
    pub schedule: Schedule,
    #[serde(default)]
    pub reward: RewardOptions,
    /// Sequences to train on (the unlabelled target's training split).
    #[serde(default = "train_subset")]
    pub train_subset: Subset,
    /// Sequences to validate on (best weights by mean reward).
    #[serde(default = "val_subset")]
    pub val_subset: Subset,
}

/// The PPO settings of this call after the schedule.
pub fn scheduled(cfg: &Config, iteration: Option<u32>) -> PpoConfig {
    let mut ppo = cfg.ppo.clone();
    let Some(i) = iteration.map(|i| f64::from(i.max(1))) else {
        return ppo;
    };
    if matches!(
        cfg.schedule,
        Schedule::AutoIteration | Schedule::DecayEntropy
    ) {
        ppo.entropy_coeff = cfg.ppo.entropy_coeff / i;
    }
    if cfg.schedule == Schedule::AutoIteration {
        ppo.divergence_coeff = cfg.ppo.divergence_coeff / i;
    }
    ppo
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let device = device(ctx)?;
    let pol = policy::load(ctx.input("policy")?, &device)?;
    let reference = policy::load(ctx.input("reference")?, &device)?;
    if reference.actor.config() != pol.actor.config() {
        return Err(NodeError::user(format!(
            "{}: the reference policy's architecture differs from the policy's; give the pretrained policy this one started from",
            ctx.node_id
        )));
    }
    let mut nets = vec![rewardmodel::load(ctx.input("reward")?, &device)?];
    match ctx.inputs.get("landmark") {
        Some(dir) => nets.push(rewardmodel::load(dir, &device)?),
        None if cfg.reward.landmark => {
            return Err(NodeError::user(format!(
                "{}: reward.landmark = true but no landmark reward model is connected; connect the `landmark` input or set reward.landmark = false",
                ctx.node_id
            )));
        }
        None => {}
    }
    let data = Sequences::open(ctx.input("data")?)?;
    let prep = |subset| -> Result<Vec<Array3<f32>>, NodeError> {
        data.cases(subset)?
            .iter()
            .map(|c| {
                preprocess_arrays(&c.image, None, c.geometry.spacing, &pol.preprocess)
                    .map(|p| p.image)
                    .map_err(|e| NodeError::user(format!("case {}: {e}", c.id)))
            })
            .collect()
    };
    let train = prep(cfg.train_subset)?;
    let val = prep(cfg.val_subset)?;
    if train.is_empty() {
        return Err(NodeError::user(format!(
            "{}: no sequences in the {:?} subset of the data to fine-tune on",
            ctx.node_id, cfg.train_subset
        )));
    }
    let ppo = scheduled(cfg, ctx.iteration);
    let critic = match pol.critic {
        Some(c) => c,
        None => critic_config(pol.actor.config())
            .init_seeded(&device, ctx.seed ^ 0xC417)
            .map_err(model_err)?,
    };
    let temperatures: Vec<f64> = nets
        .iter()
        .enumerate()
        .map(|(k, n)| {
            if k == 0 && cfg.reward.use_temperature {
                n.calibration.temperature
            } else {
                1.0
            }
        })
        .collect();
    let normalise = cfg.reward.normalise;
    let class_centring = cfg.reward.class_centring;
    cfg.reward.temporal.validate().map_err(user_err)?;
    let temporal = cfg.reward.temporal_penalty.then_some(&cfg.reward.temporal);
    let mut reward = |image, actions: Tensor<4, Int>| -> Result<_, TrainError> {
        let pairs: Vec<_> = nets
            .iter()
            .zip(&temperatures)
            .map(|(n, &t)| (&n.net, t))
            .collect();
        let fused = reward_nets_map(&pairs, image, actions.clone(), normalise)?;
        let fused = match temporal {
            Some(t) => with_temporal_penalty(fused, actions.clone(), t)?,
            None => fused,
        };
        Ok(if class_centring > 0.0 {
            centre_per_class(fused, actions, NUM_CLASSES, class_centring)
        } else {
            fused
        })
    };
    let train_views: Vec<_> = train.iter().map(|a| a.view()).collect();
    let val_views: Vec<_> = val.iter().map(|a| a.view()).collect();
    // Label-free: the anatomical validity of the cleaned greedy labels, as a prediction is judged.
    let mut validity = |labels: &Array3<u8>| {
        check_sequence(&keep_largest_foreground_sequence(&labels.view()).view()).valid_fraction
    };
    let progress = bar(ctx, ppo.epochs as u64, "epochs");
    let outcome = train_ppo(
        pol.actor,
        critic,
        reference.actor,
        &train_views,
        &val_views,
        &ppo,
        ctx.seed,
        &mut reward,
        Some(&mut validity),
        |p| {
            progress.set_position(p.epoch.saturating_sub(1) as u64);
            progress.set_message(format!(
                "step {}/{} reward {:.3} kl {:.4}",
                p.step, p.steps, p.stats.reward, p.stats.approx_kl
            ));
            if let Some(v) = p.val {
                tracing::info!(
                    "{}: epoch {}/{}: train reward {:.4}, val reward {:.4}, val valid frames {}",
                    ctx.node_id,
                    p.epoch,
                    p.epochs,
                    p.stats.reward,
                    v.reward,
                    v.valid_fraction.map_or("-".into(), |f| format!("{f:.3}"))
                );
            }
        },
    )
    .map_err(model_err)?;
    progress.finish_and_clear();
    policy::save(
        &ctx.output_dir,
        &outcome.actor,
        Some(&outcome.critic),
        &pol.preprocess,
    )?;

    let files = ctx.files_dir()?;
    let mut csv = String::from(
        "epoch,reward,advantage,value,approx_kl,ratio,entropy,actor_loss,critic_loss,val_reward,val_valid_frames\n",
    );
    let val_of = |v: Option<ValScore>| {
        (
            v.map_or(f64::NAN, |v| v.reward),
            v.and_then(|v| v.valid_fraction).unwrap_or(f64::NAN),
        )
    };
    for e in &outcome.history {
        let s = &e.stats;
        let _ = writeln!(
            csv,
            "{},{:.5},{:.5},{:.5},{:.6},{:.5},{:.5},{:.6},{:.6},{:.5},{:.4}",
            e.epoch,
            s.reward,
            s.advantage,
            s.value,
            s.approx_kl,
            s.ratio,
            s.entropy,
            s.actor_loss,
            s.critic_loss,
            val_of(e.val).0,
            val_of(e.val).1
        );
    }
    std::fs::write(files.join("history.csv"), csv)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    let series = |name: &str, f: &dyn Fn(&PpoEpoch) -> f64| Series {
        name: name.into(),
        points: outcome
            .history
            .iter()
            .map(|e| (e.epoch as f64, f(e)))
            .collect(),
    };
    line_plot(
        &files.join("ppo.png"),
        &format!("{}: PPO", ctx.node_id),
        "epoch",
        "value",
        &[
            series("train reward", &|e| e.stats.reward),
            series("val reward", &|e| val_of(e.val).0),
            series("val valid frames", &|e| val_of(e.val).1),
            series("approx KL x10", &|e| 10.0 * e.stats.approx_kl),
            series("entropy", &|e| e.stats.entropy),
        ],
    )
    .map_err(user_err)?;
    let mut m = Metrics::new();
    m.insert("best_epoch".into(), outcome.best_epoch as f64);
    if let Some(v) = outcome.best_val {
        m.insert("val_reward".into(), v.reward);
        if let Some(f) = v.valid_fraction {
            m.insert("val_valid_frames".into(), f);
        }
    }
    m.insert("entropy_coeff".into(), ppo.entropy_coeff);
    m.insert("divergence_coeff".into(), ppo.divergence_coeff);
    if let Some(last) = outcome.history.last() {
        m.insert("train_reward".into(), last.stats.reward);
        m.insert("approx_kl".into(), last.stats.approx_kl);
    }
    if let Some(v) = outcome.initial_val {
        m.insert("initial_val_reward".into(), v.reward);
        if let Some(f) = v.valid_fraction {
            m.insert("initial_val_valid_frames".into(), f);
        }
    }
    Ok(m)
}

/// The temporal reward variant on a batch of fused reward maps `[B, T, H, W]` and the actions
/// they judge (method.md 2.5).
fn with_temporal_penalty(
    reward: Tensor<4>,
    actions: Tensor<4, Int>,
    cfg: &TemporalPenaltyConfig,
) -> Result<Tensor<4>, TrainError> {
    let dims = reward.dims();
    let [b, t, h, w] = dims;
    let device = reward.device();
    let shape_err = |e: ndarray::ShapeError| TrainError::RlConfig {
        stage: "reward",
        message: format!("temporal penalty: {e}"),
    };
    let r =
        ndarray::Array4::from_shape_vec((b, t, h, w), float_values(reward)).map_err(shape_err)?;
    let labels: Vec<u8> = int_values(actions).into_iter().map(|v| v as u8).collect();
    let a = ndarray::Array4::from_shape_vec((b, t, h, w), labels).map_err(shape_err)?;
    let mut out = Vec::with_capacity(b * t * h * w);
    for (rb, ab) in r.outer_iter().zip(a.outer_iter()) {
        let penalty = temporal_penalty(&ab, cfg);
        let penalised =
            apply_temporal_penalty(&rb, &penalty, cfg).map_err(|e| TrainError::RlConfig {
                stage: "reward",
                message: e.to_string(),
            })?;
        out.extend(penalised.iter().copied());
    }
    Ok(Tensor::<4>::from_data(TensorData::new(out, dims), &device))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(schedule: Schedule, entropy: f64, divergence: f64) -> Config {
        let mut c: Config = toml::from_str("").expect("every field has a default");
        c.schedule = schedule;
        c.ppo.entropy_coeff = entropy;
        c.ppo.divergence_coeff = divergence;
        c
    }

    #[test]
    fn auto_iteration_with_the_original_coefficients_is_its_table() {
        // method.md 8: 0.15/0.05, 0.075/0.025, 0.05/0.0167, 0.0375/0.0125.
        let c = config(Schedule::AutoIteration, 0.15, 0.05);
        let table = [
            (1, 0.15, 0.05),
            (2, 0.075, 0.025),
            (3, 0.05, 0.05 / 3.0),
            (4, 0.0375, 0.0125),
        ];
        for (i, entropy, divergence) in table {
            let p = scheduled(&c, Some(i));
            assert!(
                (p.entropy_coeff - entropy).abs() < 1e-12,
                "{i}: {}",
                p.entropy_coeff
            );
            assert!(
                (p.divergence_coeff - divergence).abs() < 1e-12,
                "{i}: {}",
                p.divergence_coeff
            );
        }
        // Outside a loop, or with the constant schedule, the configured values are kept.
        assert_eq!(scheduled(&c, None).entropy_coeff, 0.15);
        let k = config(Schedule::Constant, 0.01, 0.05);
        assert_eq!(scheduled(&k, Some(3)).entropy_coeff, 0.01);
        assert_eq!(scheduled(&k, Some(3)).divergence_coeff, 0.05);
        let d = config(Schedule::DecayEntropy, 0.01, 0.05);
        assert!((scheduled(&d, Some(4)).entropy_coeff - 0.0025).abs() < 1e-15);
        assert_eq!(scheduled(&d, Some(4)).divergence_coeff, 0.05);
    }
}
