//! `ppo`: fine-tunes the segmentation policy with PPO against frozen reward nets (issue #5,
//! method.md 3): one-step episodes on 4-frame windows of unlabelled sequences, per-voxel
//! categorical policy, clipped ratio, k updates per batch, entropy bonus, penalty on the
//! log-ratio to the frozen reference policy, a critic U-Net with deep supervision, gradient
//! norm clipping; reward = voxel-wise minimum of the reward nets (method.md 2.4) with per-frame
//! min-max normalisation during rollouts; best weights by validation reward. Writes a `policy`
//! artifact (actor + critic) and the training history with a plot.
//!
//! Coefficient schedule: `auto_iteration` divides the configured entropy and divergence
//! coefficients by the iteration i, the local loop's `entropy = 0.3 / (2i)`, `divergence =
//! 0.1 / (2i)` (method.md 8) when they are set to the original's 0.15 and 0.05; `constant`
//! keeps the configured ones (the SLURM loop's behaviour).

use std::fmt::Write as _;

use dataset::render::{Series, line_plot};
use echo::preprocess::preprocess_arrays;
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::TrainError;
use models::rl::ppo::{PpoConfig, PpoEpoch, train_ppo};
use models::rl::reward::reward_nets_map;
use models::roles::critic_config;
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
    version: 1,
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
}

/// Reward options of the rollouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RewardOptions {
    /// Per-frame min-max normalisation of each reward map (method.md 2.4 step 2; a constant
    /// frame gives 1 instead of the original's NaN).
    pub normalise: bool,
    /// Divide the first net's logits by its fitted temperature (the original's `temp_factor`,
    /// whose use is commented out in its loop, method.md 5).
    pub use_temperature: bool,
}

impl Default for RewardOptions {
    fn default() -> Self {
        RewardOptions {
            normalise: true,
            use_temperature: false,
        }
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
    if let (Schedule::AutoIteration, Some(i)) = (cfg.schedule, iteration) {
        let i = f64::from(i.max(1));
        ppo.entropy_coeff = cfg.ppo.entropy_coeff / i;
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
    if let Some(dir) = ctx.inputs.get("landmark") {
        nets.push(rewardmodel::load(dir, &device)?);
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
    let mut reward = |image, actions| -> Result<_, TrainError> {
        let pairs: Vec<_> = nets
            .iter()
            .zip(&temperatures)
            .map(|(n, &t)| (&n.net, t))
            .collect();
        reward_nets_map(&pairs, image, actions, normalise)
    };
    let train_views: Vec<_> = train.iter().map(|a| a.view()).collect();
    let val_views: Vec<_> = val.iter().map(|a| a.view()).collect();
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
        |p| {
            progress.set_position(p.epoch.saturating_sub(1) as u64);
            progress.set_message(format!(
                "step {}/{} reward {:.3} kl {:.4}",
                p.step, p.steps, p.stats.reward, p.stats.approx_kl
            ));
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
        "epoch,reward,advantage,value,approx_kl,ratio,entropy,actor_loss,critic_loss,val_reward\n",
    );
    for e in &outcome.history {
        let s = &e.stats;
        let _ = writeln!(
            csv,
            "{},{:.5},{:.5},{:.5},{:.6},{:.5},{:.5},{:.6},{:.6},{:.5}",
            e.epoch,
            s.reward,
            s.advantage,
            s.value,
            s.approx_kl,
            s.ratio,
            s.entropy,
            s.actor_loss,
            s.critic_loss,
            e.val_reward.unwrap_or(f64::NAN)
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
            series("val reward", &|e| e.val_reward.unwrap_or(f64::NAN)),
            series("approx KL x10", &|e| 10.0 * e.stats.approx_kl),
            series("entropy", &|e| e.stats.entropy),
        ],
    )
    .map_err(user_err)?;
    let mut m = Metrics::new();
    m.insert("best_epoch".into(), outcome.best_epoch as f64);
    if let Some(v) = outcome.best_val_reward {
        m.insert("val_reward".into(), v);
    }
    m.insert("entropy_coeff".into(), ppo.entropy_coeff);
    m.insert("divergence_coeff".into(), ppo.divergence_coeff);
    if let Some(last) = outcome.history.last() {
        m.insert("train_reward".into(), last.stats.reward);
        m.insert("approx_kl".into(), last.stats.approx_kl);
    }
    if let Some(v) = outcome.initial_val_reward {
        m.insert("initial_val_reward".into(), v);
    }
    Ok(m)
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
    }
}
