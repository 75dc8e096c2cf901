//! `train_supervised`: trains the actor U-Net on a labelled data set (issue #4): random 4-frame
//! windows of the whole frame, cross-entropy (+ optional soft Dice), Adam, validation Dice each
//! epoch, best weights kept. Writes a `policy` artifact and a loss-curve PNG + history CSV.
//! With the optional `init` input it fine-tunes a given policy instead of a fresh Kaiming-
//! initialised net (the adapt pipeline's oracle starts from the source-pretrained policy).

use std::fmt::Write as _;

use dataset::render::{Series, line_plot};
use echo::augment::{TrainAugmentConfig, augment_training};
use echo::preprocess::{PreprocessConfig, TemporalCrop, preprocess};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::UNetConfig;
use models::train::supervised::{
    Labelled, Progress, SupervisedConfig, TrainOutcome, train_supervised,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device, model_err};
use crate::seqs::{self, Sequences, Subset};
use crate::{policy, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "train_supervised",
    doc: "supervised training of the segmentation policy on labelled sequences",
    version: 1,
    inputs: &[
        Port {
            name: "data",
            accepts: &[seqs::SEQUENCES],
            optional: false,
        },
        Port {
            name: "init",
            accepts: &[policy::POLICY],
            optional: true,
        },
    ],
    output: policy::POLICY,
    cacheable: true,
};

pub fn train_subset() -> Subset {
    Subset::Train
}
pub fn val_subset() -> Subset {
    Subset::Val
}

/// `[nodes.<id>]` of kind `train_supervised`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Network architecture (a `configs/model/*.toml` preset); in/out channels are set here.
    pub model: UNetConfig,
    /// Optimisation settings.
    #[serde(default)]
    pub train: SupervisedConfig,
    /// Preprocessing of training and (recorded for) inference data.
    #[serde(default)]
    pub preprocess: PreprocessConfig,
    /// Training augmentation (geometric transforms applied to image and labels alike).
    #[serde(default)]
    pub augment: TrainAugmentConfig,
    /// Cases to train on.
    #[serde(default = "train_subset")]
    pub train_subset: Subset,
    /// Cases to validate on (best epoch by validation Dice).
    #[serde(default = "val_subset")]
    pub val_subset: Subset,
}

/// Median of the training cases' spacings, per axis.
fn median_spacing(spacings: &[[f64; 3]]) -> [f64; 3] {
    let mut out = [1.0; 3];
    for (axis, o) in out.iter_mut().enumerate() {
        let mut v: Vec<f64> = spacings.iter().map(|s| s[axis]).collect();
        v.sort_by(f64::total_cmp);
        if !v.is_empty() {
            *o = v[v.len() / 2];
        }
    }
    out
}

/// The preprocessing used for training, and the one recorded for inference: inference always
/// resamples, to the training spacing (the configured one, or the data's median spacing).
pub fn preprocessing(cfg: &Config, spacings: &[[f64; 3]]) -> (PreprocessConfig, PreprocessConfig) {
    let mut train = cfg.preprocess.clone();
    let net = cfg.model.required_divisibility();
    for (d, n) in train.divisibility.iter_mut().zip(net) {
        *d = (*d).max(n);
    }
    train.temporal = TemporalCrop::FloorToMultiple;
    let mut infer = train.clone();
    infer.temporal = TemporalCrop::Keep;
    if !train.resample {
        infer.spacing = median_spacing(spacings);
        infer.spacing[0] = 1.0;
    }
    infer.resample = true;
    (train, infer)
}

pub fn as_labelled(pp: &[echo::preprocess::Preprocessed]) -> Vec<Labelled<'_>> {
    pp.iter()
        .filter_map(|p| {
            p.label.as_ref().map(|l| Labelled {
                image: p.image.view(),
                labels: l.view(),
            })
        })
        .collect()
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let device = device(ctx)?;
    let data = Sequences::open(ctx.input("data")?)?;
    let train_cases = data.cases(cfg.train_subset)?;
    let val_cases = data.cases(cfg.val_subset)?;
    if train_cases.is_empty() {
        return Err(NodeError::user(format!(
            "{}: no cases in the {:?} subset to train on; check the data node's splits",
            ctx.node_id, cfg.train_subset
        )));
    }
    let spacings: Vec<[f64; 3]> = train_cases.iter().map(|c| c.geometry.spacing).collect();
    let (train_prep, infer_prep) = preprocessing(cfg, &spacings);
    let prep = |cases: &[echo::Case]| -> Result<Vec<_>, NodeError> {
        cases
            .iter()
            .map(|c| {
                if c.label.is_none() {
                    return Err(NodeError::user(format!(
                        "{}: case {} has no labels; supervised training needs a labelled data set",
                        ctx.node_id, c.id
                    )));
                }
                preprocess(c, &train_prep).map_err(user_err)
            })
            .collect()
    };
    let train_pp = prep(&train_cases)?;
    let val_pp = prep(&val_cases)?;
    let (train_set, val_set) = (as_labelled(&train_pp), as_labelled(&val_pp));

    let arch = cfg.model.clone().with_io(1, echo::NUM_CLASSES);
    let net = match ctx.inputs.get("init") {
        None => arch.init_seeded(&device, ctx.seed).map_err(model_err)?,
        Some(dir) => {
            let start = policy::load(dir, &device)?.actor;
            if start.config() != &arch {
                return Err(NodeError::user(format!(
                    "{}: the `init` policy ({}) is not the configured model; fine-tuning needs \
                     the same architecture: set this node's `model` to the one the init policy \
                     was trained with",
                    ctx.node_id,
                    dir.display()
                )));
            }
            start
        }
    };
    let epochs = cfg.train.epochs as u64;
    let progress = bar(ctx, epochs, "epochs");
    let outcome = train_supervised(
        net,
        &train_set,
        &val_set,
        &cfg.train,
        ctx.seed,
        |img, lab, rng| {
            if cfg.augment.enabled {
                let (i, l) =
                    augment_training(img, Some(lab), &cfg.augment, rng).map_err(user_err)?;
                *img = i;
                if let Some(l) = l {
                    *lab = l;
                }
            }
            Ok::<(), NodeError>(())
        },
        epoch_logger(ctx, &progress),
    )
    .map_err(model_err)?;
    progress.finish_and_clear();

    policy::save(&ctx.output_dir, &outcome.best, None, &infer_prep)?;
    write_history(ctx, &outcome, "supervised training", Vec::new())?;

    let mut m = Metrics::new();
    m.insert("best_epoch".into(), outcome.best_epoch as f64);
    if let Some(d) = outcome.best_dice {
        m.insert("val_dice".into(), d);
    }
    if let Some(last) = outcome.history.last() {
        m.insert("train_loss".into(), last.train_loss);
    }
    m.insert("params".into(), arch.num_params() as f64);
    Ok(m)
}

/// `history.csv` (loss and validation Dice per epoch) and `loss_curve.png` of a training run,
/// with `extra` curves drawn beside them.
pub fn write_history(
    ctx: &NodeContext,
    outcome: &TrainOutcome,
    title: &str,
    extra: Vec<Series>,
) -> Result<(), NodeError> {
    let files = ctx.files_dir()?;
    let mut csv = String::from("epoch,train_loss,val_dice,val_dice_lv,val_dice_myo\n");
    for e in &outcome.history {
        let per = |i: usize| {
            e.val_dice_per_class
                .get(i)
                .map_or(String::new(), |v| format!("{v:.5}"))
        };
        let _ = writeln!(
            csv,
            "{},{:.6},{},{},{}",
            e.epoch,
            e.train_loss,
            e.val_dice.map_or(String::new(), |v| format!("{v:.5}")),
            per(0),
            per(1)
        );
    }
    std::fs::write(files.join("history.csv"), csv)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    let loss = Series {
        name: "train loss".into(),
        points: outcome
            .history
            .iter()
            .map(|e| (e.epoch as f64, e.train_loss))
            .collect(),
    };
    let dice = Series {
        name: "val Dice".into(),
        points: outcome
            .history
            .iter()
            .filter_map(|e| e.val_dice.map(|d| (e.epoch as f64, d)))
            .collect(),
    };
    line_plot(
        &files.join("loss_curve.png"),
        &format!("{}: {title}", ctx.node_id),
        "epoch",
        "value",
        &[vec![loss, dice], extra].concat(),
    )
    .map_err(user_err)?;
    Ok(())
}

/// The progress callback of a training run: the bar's position and message, and one log line
/// per epoch (so `run.log` shows the training with the bars off too).
pub fn epoch_logger<'a>(
    ctx: &'a NodeContext,
    progress: &'a indicatif::ProgressBar,
) -> impl FnMut(&Progress) + 'a {
    move |p| {
        progress.set_position((p.epoch - 1) as u64);
        if let Some(d) = p.dice {
            tracing::info!(
                "{}: epoch {}/{} loss {:.4} val Dice {d:.3}",
                ctx.node_id,
                p.epoch,
                p.epochs,
                p.loss
            );
        }
        let dice = p
            .dice
            .map(|d| format!(" val Dice {d:.3}"))
            .unwrap_or_default();
        progress.set_message(format!(
            "step {}/{} loss {:.4}{dice}",
            p.step, p.steps, p.loss
        ));
    }
}
