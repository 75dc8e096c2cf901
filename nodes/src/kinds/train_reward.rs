//! `train_reward`: trains the reward U-Net on a reward data set (issue #5, method.md 5): input
//! = image + segmentation (labels as float 0/1/2, method.md 2.4), target = per-voxel
//! correctness, MSE on the sigmoid (BCE as an option), Adam with plateau decay, best weights by
//! validation loss, temperature fitted on validation. The validation split is drawn by
//! *sequence*, so no window of a validation sequence is trained on (the original splits
//! samples and even lets its test set overlap training, method.md 4.10 / 12). With the optional
//! `previous` input the net starts from the previous iteration's weights.

use std::fmt::Write as _;

use dataset::render::{Series, line_plot};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::UNetConfig;
use models::rl::reward_train::{RewardSample, RewardTrainConfig, train_reward};
use models::roles::reward_config;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device, model_err};
use crate::rewardmodel::{self, Calibration, REWARD_MODEL};
use crate::rewardset::{REWARD_SET, RewardSet, Sample};
use crate::user_err;

pub static INFO: KindInfo = KindInfo {
    name: "train_reward",
    doc: "train the reward net (per-voxel correctness map) on a reward data set",
    version: 1,
    inputs: &[
        Port {
            name: "samples",
            accepts: &[REWARD_SET],
            optional: false,
        },
        Port {
            name: "previous",
            accepts: &[REWARD_MODEL],
            optional: true,
        },
    ],
    output: REWARD_MODEL,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `train_reward`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Network architecture (a `configs/model/*.toml` preset); in 2 / out 1 are set here.
    pub model: UNetConfig,
    /// Optimisation settings.
    #[serde(default)]
    pub train: RewardTrainConfig,
    /// Fraction of the *sequences* held out for validation (method.md 4.10: 10 %).
    #[serde(default = "val_fraction")]
    pub val_fraction: f64,
    /// Start from the `previous` reward model's weights when connected.
    #[serde(default = "yes")]
    pub warm_start: bool,
}

fn val_fraction() -> f64 {
    0.1
}
fn yes() -> bool {
    true
}

/// Whether a sequence id falls in the validation part (stable hash of the id and the seed).
pub fn is_val(sequence: &str, fraction: f64, seed: u64) -> bool {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(sequence.as_bytes());
    let bytes = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    (u64::from_le_bytes(first) as f64 / u64::MAX as f64) < fraction
}

/// Train/val split of samples by sequence; at least one sequence goes to each side when there
/// are two or more.
pub fn split_by_sequence(samples: &[Sample], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut sequences: Vec<&str> = samples.iter().map(|s| s.sequence.as_str()).collect();
    sequences.sort_unstable();
    sequences.dedup();
    let mut val_seqs: Vec<&str> = sequences
        .iter()
        .copied()
        .filter(|s| is_val(s, fraction, seed))
        .collect();
    if sequences.len() >= 2 && fraction > 0.0 {
        if val_seqs.is_empty() {
            val_seqs.push(sequences[sequences.len() - 1]);
        } else if val_seqs.len() == sequences.len() {
            val_seqs.pop();
        }
    }
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (i, s) in samples.iter().enumerate() {
        if val_seqs.contains(&s.sequence.as_str()) {
            val.push(i);
        } else {
            train.push(i);
        }
    }
    (train, val)
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if !(0.0..1.0).contains(&cfg.val_fraction) {
        return Err(NodeError::user(format!(
            "{}: val_fraction = {} must be in [0, 1)",
            ctx.node_id, cfg.val_fraction
        )));
    }
    let device = device(ctx)?;
    let set = RewardSet::open(ctx.input("samples")?)?;
    let samples = set.samples()?;
    if samples.is_empty() {
        return Err(NodeError::user(format!(
            "{}: the reward data set is empty: no good or corrected sequence gave a sample. \
             Check the anatomical filter's counts (too strict?) and the distortion switches",
            ctx.node_id
        )));
    }
    let targets: Vec<_> = samples.iter().map(Sample::target).collect();
    let (train_idx, val_idx) = split_by_sequence(&samples, cfg.val_fraction, ctx.seed);
    let view = |idx: &[usize]| -> Vec<RewardSample<'_>> {
        idx.iter()
            .map(|&i| RewardSample {
                image: samples[i].image.view(),
                seg: samples[i].seg.view(),
                target: targets[i].view(),
            })
            .collect()
    };
    let (train_set, val_set) = (view(&train_idx), view(&val_idx));

    let arch = reward_config(&cfg.model);
    let net = match (cfg.warm_start, ctx.inputs.get("previous")) {
        (true, Some(dir)) => {
            let prev = rewardmodel::load(dir, &device)?;
            if prev.net.config() != &arch {
                return Err(NodeError::user(format!(
                    "{}: the previous reward model has another architecture; set warm_start = false or use the same model",
                    ctx.node_id
                )));
            }
            prev.net
        }
        _ => arch.init_seeded(&device, ctx.seed).map_err(model_err)?,
    };
    let progress = bar(ctx, cfg.train.epochs as u64, "epochs");
    let outcome = train_reward(net, &train_set, &val_set, &cfg.train, ctx.seed, |p| {
        progress.set_position(p.epoch.saturating_sub(1) as u64);
        progress.set_message(format!("loss {:.4}", p.loss));
    })
    .map_err(model_err)?;
    progress.finish_and_clear();

    let calibration = Calibration {
        temperature: outcome.temperature,
        val_accuracy: Some(outcome.val_accuracy).filter(|v| v.is_finite()),
        val_error_recall: Some(outcome.val_error_recall).filter(|v| v.is_finite()),
    };
    rewardmodel::save(&ctx.output_dir, &outcome.best, &calibration)?;

    let files = ctx.files_dir()?;
    let mut csv = String::from("epoch,train_loss,val_loss,val_accuracy,lr\n");
    for e in &outcome.history {
        let _ = writeln!(
            csv,
            "{},{:.6},{:.6},{:.5},{:e}",
            e.epoch, e.train_loss, e.val_loss, e.val_accuracy, e.lr
        );
    }
    std::fs::write(files.join("history.csv"), csv)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    let series = |name: &str, f: &dyn Fn(&models::rl::reward_train::RewardEpoch) -> f64| Series {
        name: name.into(),
        points: outcome
            .history
            .iter()
            .map(|e| (e.epoch as f64, f(e)))
            .collect(),
    };
    line_plot(
        &files.join("loss_curve.png"),
        &format!("{}: reward net", ctx.node_id),
        "epoch",
        "value",
        &[
            series("train loss", &|e| e.train_loss),
            series("val loss", &|e| e.val_loss),
            series("val accuracy", &|e| e.val_accuracy),
        ],
    )
    .map_err(user_err)?;
    tracing::info!(
        "{}: {} train / {} val samples; val accuracy {:.3}, known errors found {:.3}, temperature {:.3}",
        ctx.node_id,
        train_set.len(),
        val_set.len(),
        outcome.val_accuracy,
        outcome.val_error_recall,
        outcome.temperature
    );
    Ok(Metrics::from([
        ("train_samples".to_string(), train_set.len() as f64),
        ("val_samples".to_string(), val_set.len() as f64),
        ("val_accuracy".to_string(), outcome.val_accuracy),
        ("val_error_recall".to_string(), outcome.val_error_recall),
        ("temperature".to_string(), outcome.temperature),
    ]))
}
