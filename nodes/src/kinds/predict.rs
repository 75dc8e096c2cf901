//! `predict`: full-sequence inference of a policy on a data set (issue #4): preprocessing as the
//! policy was trained, the original's temporal sliding window, softmax, argmax, largest-component
//! cleanup, and the result mapped back to each file's own grid. Writes a `predictions` artifact
//! (image, prediction, labels when the data set has them, optional probabilities).
//!
//! With reward models connected (issue #5) it also writes the reward maps of the final
//! prediction (method.md 2.4, full-sequence path: sliding window on logits, sigmoid, no
//! temperature or normalisation): `reward` (the voxel-wise minimum over the nets) and one map per
//! net when there are two; `1 - reward` is the uncertainty. `tto` runs test-time optimisation
//! (method.md 7.3) on sequences that fail anatomical or temporal validity (`on`) or on all
//! (`force`); each sequence starts from the policy's own weights (the original keeps the adapted
//! weights for the next sequence, a bug, method.md 12). With `tto.settings.score = "validity"`
//! a pass is judged by the fraction of anatomically valid frames of exactly what this node would
//! write with its weights (TTA, clean-up), so TTO never makes a written sequence less valid.
//! `tto.replace = "invalid_frames"` keeps the policy's own output on its anatomically valid
//! frames and takes the optimised prediction only on the others (the judge sees that merge).
//!
//! `cleanup` chooses the label clean-up after the argmax: `largest_blob` (the original's, method.md
//! 7.1 step 5: the largest foreground component per frame) or `morphological` (an extension: the
//! pseudo-ground-truth fix of method.md 4.2.1 per frame, i.e. the largest component per class,
//! filled holes and closed LV/MYO gaps, which removes the detached blobs and holes that make most
//! otherwise good frames anatomically invalid). The TTO trigger judges the cleaned prediction.

use echo::augment::{TtaConfig, TtaSet, check_tta_config};
use echo::metrics::{check_sequence, check_temporal_validity};
use echo::morph::clean_sequence;
use echo::preprocess::{preprocess_arrays, undo_float, undo_float_channels, undo_labels};
use engine::plan::node_seed;
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use models::rl::reward::reward_nets_map;
use models::rl::tto::{TtoConfig, TtoJudges, TtoScore, tto_sequence};
use models::sliding::SlidingWindow;
use models::{Device, TrainError, UNet};
use ndarray::{Array3, Array4, Axis, Zip};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{bar, device};
use crate::infer::{Fail, actor_probs, labels_from_probs, reward_map};
use crate::predictions::{self, PREDICTIONS};
use crate::rewardmodel::{self, REWARD_MODEL, RewardModel};
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
        Port {
            name: "reward",
            accepts: &[REWARD_MODEL],
            optional: true,
        },
        Port {
            name: "landmark",
            accepts: &[REWARD_MODEL],
            optional: true,
        },
        Port {
            name: "reference",
            accepts: &[policy::POLICY],
            optional: true,
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
    /// Test-time optimisation against the reward nets (needs the `reward` input).
    #[serde(default)]
    pub tto: Tto,
    /// Predict at most this many cases of the subset (0 = all), in the order the data file lists
    /// them (HDF5's link order: fixed for a given set of ids, but not alphabetical).
    #[serde(default)]
    pub max_cases: usize,
    /// Inside a repeat block, iteration i predicts the i-th run of `max_cases` cases of the
    /// subset (wrapping round), not the first `max_cases` again: the original predicts 2,500 new
    /// target sequences in every iteration (method.md 4 step 3, 8), so the reward set grows with
    /// new cases. Needs `max_cases`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub walk: bool,
    /// Label clean-up after the argmax (`largest_blob`: the original's; `morphological`: the
    /// per-class fix of method.md 4.2.1).
    #[serde(default)]
    pub cleanup: Cleanup,
}

/// The clean-up of predicted labels (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cleanup {
    /// The largest foreground (LV ∪ MYO) component per frame (method.md 7.1 step 5).
    #[default]
    LargestBlob,
    /// Per frame: the largest component per class, holes filled, LV/MYO gaps closed with MYO
    /// (method.md 4.2.1, the "good" cases' pseudo-ground truth).
    Morphological,
}

impl Cleanup {
    /// Labels `[T, H, W]` from class probabilities `[C, T, H, W]`: argmax, then this clean-up.
    fn labels(self, probs: &Array4<f32>) -> Array3<u8> {
        self.after_largest_blob(labels_from_probs(probs))
    }

    fn after_largest_blob(self, largest: Array3<u8>) -> Array3<u8> {
        match self {
            Cleanup::LargestBlob => largest,
            Cleanup::Morphological => clean_sequence(&largest.view()),
        }
    }
}

/// When test-time optimisation runs (method.md 7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TtoMode {
    /// Never.
    #[default]
    Off,
    /// On sequences whose prediction fails anatomical or temporal validity.
    On,
    /// On every sequence.
    Force,
}

/// TTO switch and settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Tto {
    pub mode: TtoMode,
    /// The optimisation (method.md 7.3: lr 1e-3, β 0.01, entropy 0.1, 4 update passes).
    pub settings: TtoConfig,
    /// Which frames of the output the optimised policy's prediction replaces.
    pub replace: TtoReplace,
}

/// Which frames the test-time optimised prediction replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TtoReplace {
    /// The whole sequence (the original).
    #[default]
    Sequence,
    /// Only the frames of the policy's own prediction that are anatomically invalid (an
    /// extension): valid frames keep the policy's output, so TTO repairs without moving them.
    InvalidFrames,
}

/// `tto` probabilities `[C, T, H, W]` with the frames where `keep[t]` taken from `base`.
fn keep_frames(base: &Array4<f32>, mut tto: Array4<f32>, keep: &[bool]) -> Array4<f32> {
    for (t, &k) in keep.iter().enumerate() {
        if k {
            tto.index_axis_mut(Axis(1), t)
                .assign(&base.index_axis(Axis(1), t));
        }
    }
    tto
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

/// Probabilities of `actor` over one preprocessed sequence, with TTA when enabled.
fn probabilities(
    actor: &UNet,
    image: &Array3<f32>,
    cfg: &Config,
    tta: &TtaSet,
    sw: &SlidingWindow,
    device: &Device,
) -> Result<Array4<f32>, NodeError> {
    if cfg.tta.enabled {
        let (_, h, w) = image.dim();
        check_tta_config(&cfg.tta.passes, h, w).map_err(user_err)?;
        tta.average(image, |img| {
            actor_probs(actor, img, sw, device).map_err(Fail)
        })
        .map_err(|f| f.0)
    } else {
        actor_probs(actor, image, sw, device)
    }
}

/// The cases to predict: all of `ids` (`max_cases` 0), the first `max_cases`, or with
/// `walk = Some(i)` the i-th (1-based) run of `max_cases`, wrapping round the list.
fn case_window(ids: Vec<String>, max_cases: usize, walk: Option<u32>) -> Vec<String> {
    if max_cases == 0 || max_cases >= ids.len() {
        return ids;
    }
    let start = walk.map_or(0, |i| (i.max(1) as usize - 1) * max_cases % ids.len());
    (0..max_cases)
        .map(|j| ids[(start + j) % ids.len()].clone())
        .collect()
}

/// Whether a prediction fails anatomical (any frame) or temporal validity (method.md 7.1).
fn invalid(pred: &Array3<u8>, spacing: [f64; 3]) -> Result<bool, NodeError> {
    let anat = check_sequence(&pred.view());
    let temporal =
        check_temporal_validity(&pred.view(), [spacing[1], spacing[2]]).map_err(user_err)?;
    Ok(!anat.all_valid || !temporal.valid)
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if cfg.walk && cfg.max_cases == 0 {
        return Err(NodeError::user(format!(
            "{}: walk = true steps through the subset `max_cases` cases at a time; set max_cases \
             (e.g. max_cases=12) or walk=false",
            ctx.node_id
        )));
    }
    let device = device(ctx)?;
    let pol = policy::load(ctx.input("policy")?, &device)?;
    let data = Sequences::open(ctx.input("data")?)?;
    let all = data.ids(cfg.subset)?;
    let available = all.len();
    let ids = case_window(
        all,
        cfg.max_cases,
        cfg.walk.then_some(ctx.iteration.unwrap_or(1)),
    );
    if ids.len() < available {
        let shown = if ids.len() <= 16 {
            ids.join(", ")
        } else {
            format!("{}, ..., {}", ids[..3].join(", "), ids[ids.len() - 1])
        };
        tracing::info!(
            "{}: {} of the {available} {} cases{}: {shown}",
            ctx.node_id,
            ids.len(),
            format!("{:?}", cfg.subset).to_lowercase(),
            if cfg.walk { " (walk)" } else { "" }
        );
    }
    let mut nets: Vec<RewardModel> = Vec::new();
    if let Some(dir) = ctx.inputs.get("reward") {
        nets.push(rewardmodel::load(dir, &device)?);
    }
    if let Some(dir) = ctx.inputs.get("landmark") {
        nets.push(rewardmodel::load(dir, &device)?);
    }
    if cfg.tto.mode != TtoMode::Off && nets.is_empty() {
        return Err(NodeError::user(format!(
            "{}: tto = {:?} needs a reward model: connect the `reward` input or set tto=off",
            ctx.node_id, cfg.tto.mode
        )));
    }
    let reference = match ctx.inputs.get("reference") {
        Some(dir) => policy::load(dir, &device)?.actor,
        None => pol.actor.clone(),
    };
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
    let (mut tto_runs, mut tto_kept, mut tto_gain) = (0usize, 0usize, 0.0f64);
    for id in &ids {
        let case = data.case(id)?;
        let pp = preprocess_arrays(&case.image, None, case.geometry.spacing, &pol.preprocess)
            .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
        let mut probs = probabilities(&pol.actor, &pp.image, cfg, &tta, &sw, &device)?;
        let mut pred = cfg.cleanup.labels(&probs);
        let run_tto = match cfg.tto.mode {
            TtoMode::Off => false,
            TtoMode::Force => true,
            TtoMode::On => invalid(&pred, pp.record.spacing)?,
        };
        let input_validity = check_sequence(&pred.view());
        // With every frame valid, no pass can be more valid and no frame needs replacing.
        let run_tto = run_tto
            && !(input_validity.all_valid
                && (cfg.tto.settings.score == TtoScore::Validity
                    || cfg.tto.replace == TtoReplace::InvalidFrames));
        let keep: Vec<bool> = match cfg.tto.replace {
            TtoReplace::Sequence => vec![false; input_validity.frames.len()],
            TtoReplace::InvalidFrames => {
                input_validity.frames.iter().map(|f| f.is_valid()).collect()
            }
        };
        if run_tto {
            // TTO's random draws per case (from the node's seed and the case id), so a case's
            // result does not depend on which other cases ran before it.
            let mut rng = ChaCha8Rng::seed_from_u64(node_seed(ctx.seed, id, None));
            // A fresh copy of the policy for every sequence (method.md 12: the original does not reset).
            // The rollouts' reward is normalised per frame (method.md 7.3); the score's is raw.
            let pairs: Vec<_> = nets.iter().map(|n| (&n.net, 1.0)).collect();
            let mut rollout = |image, actions| reward_nets_map(&pairs, image, actions, true);
            let mut score = |image, actions| reward_nets_map(&pairs, image, actions, false);
            // `score = "validity"`: the anatomically valid frames of what would be written with
            // a pass's weights (TTA, clean-up); each pass's probabilities are kept, so the chosen
            // pass is not predicted again. Pass 0 is the input policy, whose output is `probs`.
            let mut pass_probs: Vec<Array4<f32>> = Vec::new();
            let mut validity = |actor: &UNet| -> Result<f64, TrainError> {
                let p = if pass_probs.is_empty() {
                    probs.clone()
                } else {
                    let p =
                        probabilities(actor, &pp.image, cfg, &tta, &sw, &device).map_err(|e| {
                            TrainError::Callback {
                                stage: "test-time optimisation",
                                message: format!("predicting with a pass's weights: {e}"),
                            }
                        })?;
                    keep_frames(&probs, p, &keep)
                };
                let valid = check_sequence(&cfg.cleanup.labels(&p).view()).valid_fraction;
                pass_probs.push(p);
                Ok(valid)
            };
            let outcome = tto_sequence(
                pol.actor.clone(),
                &reference,
                None,
                pp.image.view(),
                &cfg.tto.settings,
                TtoJudges {
                    rollout: &mut rollout,
                    score: &mut score,
                    validity: Some(&mut validity),
                },
                &mut rng,
            )
            .map_err(|e| {
                NodeError::user(format!("case {id}: test-time optimisation failed: {e}"))
            })?;
            tto_runs += 1;
            tto_gain += outcome.best_score.reward - outcome.initial_score.reward;
            tto_kept += usize::from(outcome.best_pass == 0);
            probs = if pass_probs.len() == outcome.passes {
                pass_probs.swap_remove(outcome.best_pass)
            } else {
                let p = probabilities(&outcome.actor, &pp.image, cfg, &tta, &sw, &device)?;
                keep_frames(&probs, p, &keep)
            };
            pred = cfg.cleanup.labels(&probs);
        }
        let mut maps: Vec<(String, Array3<f32>)> = Vec::new();
        if !nets.is_empty() {
            let per_net: Vec<Array3<f32>> = nets
                .iter()
                .map(|n| reward_map(&n.net, &pp.image, &pred, &sw, &device))
                .collect::<Result<_, _>>()?;
            let mut fused = per_net[0].clone();
            for m in &per_net[1..] {
                Zip::from(&mut fused).and(m).for_each(|a, &b| *a = a.min(b));
            }
            maps.push((
                "reward".into(),
                undo_float(&fused, &pp.record).map_err(user_err)?,
            ));
            if per_net.len() > 1 {
                for (name, m) in ["reward_anatomical", "reward_landmark"]
                    .iter()
                    .zip(&per_net)
                {
                    maps.push(((*name).into(), undo_float(m, &pp.record).map_err(user_err)?));
                }
            }
        }
        let pred_orig = undo_labels(&pred, &pp.record).map_err(user_err)?;
        let probs_orig = if cfg.write_probs {
            Some(undo_float_channels(&probs, &pp.record).map_err(user_err)?)
        } else {
            None
        };
        let named: Vec<(&str, &Array3<f32>)> = maps.iter().map(|(n, m)| (n.as_str(), m)).collect();
        out.write(
            &case,
            data.split(id)?,
            &pred_orig,
            probs_orig.as_ref(),
            &named,
        )?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let n = out.finish()?;
    let mut m = Metrics::from([("cases".to_string(), n as f64)]);
    if cfg.tto.mode != TtoMode::Off {
        m.insert("tto_runs".into(), tto_runs as f64);
        m.insert("tto_kept_input".into(), tto_kept as f64);
        if tto_runs > 0 {
            m.insert("tto_mean_gain".into(), tto_gain / tto_runs as f64);
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_takes_the_next_cases_each_iteration_and_wraps_round() {
        let ids: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
        let pick = |max, walk| case_window(ids.clone(), max, walk).join(",");
        assert_eq!(pick(0, Some(3)), "c0,c1,c2,c3,c4", "0 = all cases");
        assert_eq!(pick(2, None), "c0,c1");
        assert_eq!(pick(2, Some(1)), "c0,c1");
        assert_eq!(pick(2, Some(2)), "c2,c3");
        assert_eq!(pick(2, Some(3)), "c4,c0", "wraps round");
        assert_eq!(pick(2, Some(4)), "c1,c2");
        assert_eq!(
            pick(7, Some(2)),
            "c0,c1,c2,c3,c4",
            "more than there are: all"
        );
    }

    /// One 24x24 frame: an LV disk (radius 5) in a MYO ring (radius 8) centred at (12, 12),
    /// with a background pinhole in the LV and a detached MYO speck in a corner.
    fn frame_with_flaws() -> Array3<u8> {
        let mut f = Array3::<u8>::zeros((1, 24, 24));
        for ((_, r, c), v) in f.indexed_iter_mut() {
            let d2 = (r as i32 - 12).pow(2) + (c as i32 - 12).pow(2);
            *v = if d2 <= 25 {
                1
            } else if d2 <= 64 {
                2
            } else {
                0
            };
        }
        f[[0, 12, 12]] = 0; // pinhole
        f[[0, 1, 1]] = 2; // detached speck
        f
    }

    #[test]
    fn cleanups_remove_the_detached_speck_and_only_morphological_fills_the_pinhole() {
        let flawed = frame_with_flaws();
        // Class probabilities whose argmax is `flawed`.
        let mut probs = Array4::<f32>::zeros((3, 1, 24, 24));
        for ((_, r, c), &k) in flawed.indexed_iter() {
            probs[[k as usize, 0, r, c]] = 1.0;
        }
        let blob = Cleanup::LargestBlob.labels(&probs);
        assert_eq!(
            blob[[0, 1, 1]],
            0,
            "the speck is not the largest foreground blob"
        );
        assert_eq!(blob[[0, 12, 12]], 0, "the original's clean-up keeps holes");
        let morph = Cleanup::Morphological.labels(&probs);
        assert_eq!(morph[[0, 1, 1]], 0);
        assert_eq!(
            morph[[0, 12, 12]],
            1,
            "the hole is filled with the LV around it"
        );
        // Nothing else changes.
        let mut expected = flawed.clone();
        expected[[0, 1, 1]] = 0;
        assert_eq!(blob, expected);
        expected[[0, 12, 12]] = 1;
        assert_eq!(morph, expected);
    }

    #[test]
    fn invalid_frames_take_the_tto_prediction_and_valid_ones_keep_the_policys() {
        let base = Array4::<f32>::from_elem((3, 3, 2, 2), 0.25);
        let tto = Array4::<f32>::from_elem((3, 3, 2, 2), 0.75);
        let merged = keep_frames(&base, tto.clone(), &[true, false, true]);
        for t in 0..3 {
            let want = if t == 1 { 0.75 } else { 0.25 };
            assert!(
                merged.index_axis(Axis(1), t).iter().all(|&v| v == want),
                "frame {t}"
            );
        }
        assert_eq!(keep_frames(&base, tto.clone(), &[false; 3]), tto);
    }

    #[test]
    fn cleanup_names_are_checked() {
        let ok: Config = serde_json::from_str(r#"{"cleanup": "morphological"}"#).expect("parse");
        assert_eq!(ok.cleanup, Cleanup::Morphological);
        let e = serde_json::from_str::<Config>(r#"{"cleanup": "median"}"#)
            .expect_err("unknown variant")
            .to_string();
        assert!(
            e.contains("largest_blob") && e.contains("morphological"),
            "{e}"
        );
    }
}
