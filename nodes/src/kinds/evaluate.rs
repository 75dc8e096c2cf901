//! `evaluate`: scores predictions (issue #3 section 4, issue #5 uncertainty). With labels: Dice,
//! Hausdorff/HD95, anatomical and temporal validity per case; without: validity rates. With a
//! reward map: mean reward, calibration (ECE, MCE, ACE, NMI), the correlation of per-case
//! uncertainty with 1 - Dice, and a reliability diagram. Writes `cases.csv`, `summary.json`,
//! a readable table in the run log, and returns the means as headline metrics. With labels and
//! a reward map it also draws `uncertainty.png`: for up to four cases spread over the Dice
//! ranking (worst first), the frame with the most wrong pixels as image with the true and the
//! predicted contours, the wrong pixels, and the uncertainty `1 - reward` (colours up to its
//! largest value shown), so one sees whether the uncertainty falls on the errors.
//!
//! Per-case uncertainty comes in the original's two forms (method.md 9): the mean of
//! `1 - reward` over the sequence (`uncertainty`, `corr_uncertainty_error`) and the
//! foreground-weighted sum `Σ unc / Σ (pred != 0)` (`fg_uncertainty`,
//! `corr_fg_uncertainty_error`). The second divides the whole map's uncertainty by the predicted
//! area, so it follows the heart's size more than the error: on the main job's test split it
//! correlated negatively with 1 - Dice (r = -0.26 to -0.61) where the mean gave 0.53 to 0.84.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dataset::render::{OverlayStyle, Paint, RenderOptions, Tile, png_montage, reliability_diagram};
use echo::metrics::calibration::{DEFAULT_BINS, foreground_mean_uncertainty, foreground_samples};
use echo::metrics::{
    AceWeighting, BinEdges, ace, calibration, check_sequence, check_temporal_validity,
    evaluate_case, normalized_mutual_information, pearson,
};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::predictions::{PREDICTIONS, Predictions};
use crate::user_err;

pub static INFO: KindInfo = KindInfo {
    name: "evaluate",
    doc: "Dice, Hausdorff, anatomical/temporal validity and uncertainty calibration of predictions",
    version: 3,
    inputs: &[Port {
        name: "predictions",
        accepts: &[PREDICTIONS],
        optional: false,
    }],
    output: "evaluation",
    cacheable: true,
};

fn reward() -> String {
    "reward".into()
}

/// `[nodes.<id>]` of kind `evaluate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the reward (confidence) map to assess, if the predictions carry it.
    #[serde(default = "reward")]
    pub reward_map: String,
    /// Label used in the log table and plots.
    #[serde(default)]
    pub title: String,
}

/// Per-case rows: name -> value.
type Row = BTreeMap<&'static str, f64>;

fn mean_std(values: &[f64]) -> (f64, f64) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

/// Mean of a map, in f64.
fn mean(map: &ndarray::Array3<f32>) -> f64 {
    map.iter().map(|&v| f64::from(v)).sum::<f64>() / map.len().max(1) as f64
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let preds = Predictions::open(ctx.input("predictions")?)?;
    let ids = preds.ids()?;
    let mut rows: Vec<(String, Row)> = Vec::new();
    let (mut conf_all, mut ok_all) = (Vec::new(), Vec::new());
    let (mut unc_case, mut err_case) = (Vec::new(), Vec::new());
    let mut ranked: Vec<(f64, String)> = Vec::new();
    for id in &ids {
        let case = preds.case(id)?;
        let pred = preds.pred(id)?;
        let spacing = [case.geometry.spacing[1], case.geometry.spacing[2]];
        let mut row = Row::new();
        let reward = preds.map(id, &cfg.reward_map)?;
        if let Some(gt) = &case.label {
            let m = evaluate_case(&pred.view(), &gt.view(), spacing)
                .map_err(|e| NodeError::user(format!("case {id}: {e}")))?;
            row.insert("dice_lv", m.dice.lv);
            row.insert("dice_myo", m.dice.myo);
            row.insert("dice", m.dice.mean);
            row.insert("dice_epi", m.dice.epi);
            row.insert("hd_lv", m.hausdorff.lv.hd);
            row.insert("hd_myo", m.hausdorff.myo.hd);
            row.insert("hd", m.hausdorff.mean_hd);
            row.insert("hd95", m.hausdorff.mean_hd95);
            row.insert("anat_valid_frames", m.anatomical.valid_fraction);
            row.insert("anat_valid", f64::from(u8::from(m.anatomical.all_valid)));
            row.insert("temporal_valid", f64::from(u8::from(m.temporal.valid)));
            row.insert("temporal_errors", m.temporal.frames_with_errors as f64);
            if let Some(r) = &reward {
                let (c, ok) =
                    foreground_samples(&pred.view(), &gt.view(), &r.view()).map_err(user_err)?;
                conf_all.extend(c);
                ok_all.extend(ok);
                let unc = r.mapv(|v| 1.0 - v);
                unc_case.push((
                    mean(&unc),
                    foreground_mean_uncertainty(&pred.view(), &unc.view()).map_err(user_err)?,
                ));
                err_case.push(1.0 - m.dice.mean);
                ranked.push((m.dice.mean, id.clone()));
            }
        } else {
            let anat = check_sequence(&pred.view());
            let temporal = check_temporal_validity(&pred.view(), spacing).map_err(user_err)?;
            row.insert("anat_valid_frames", anat.valid_fraction);
            row.insert("anat_valid", f64::from(u8::from(anat.all_valid)));
            row.insert("temporal_valid", f64::from(u8::from(temporal.valid)));
            row.insert("temporal_errors", temporal.frames_with_errors as f64);
        }
        if let Some(r) = &reward {
            row.insert("mean_reward", mean(r));
            let unc = r.mapv(|v| 1.0 - v);
            row.insert("uncertainty", mean(&unc));
            row.insert(
                "fg_uncertainty",
                foreground_mean_uncertainty(&pred.view(), &unc.view()).map_err(user_err)?,
            );
        }
        rows.push((id.clone(), row));
    }

    // Summary: mean and std of every column over cases.
    let columns: Vec<&'static str> = rows
        .iter()
        .flat_map(|(_, r)| r.keys().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut summary = serde_json::Map::new();
    let mut metrics = Metrics::new();
    for c in &columns {
        let values: Vec<f64> = rows.iter().filter_map(|(_, r)| r.get(c).copied()).collect();
        let (m, s) = mean_std(&values);
        summary.insert(
            (*c).into(),
            serde_json::json!({ "mean": m, "std": s, "n": values.len() }),
        );
        metrics.insert((*c).to_string(), m);
    }
    metrics.insert("cases".into(), rows.len() as f64);
    let files = ctx.files_dir()?;
    if !conf_all.is_empty() {
        let cal =
            calibration(&conf_all, &ok_all, DEFAULT_BINS, BinEdges::Strict).map_err(user_err)?;
        let ace_v =
            ace(&conf_all, &ok_all, DEFAULT_BINS, AceWeighting::default()).map_err(user_err)?;
        let acc: Vec<f64> = ok_all.iter().map(|&b| f64::from(u8::from(b))).collect();
        let nmi = normalized_mutual_information(&acc, &conf_all, 10).map_err(user_err)?;
        metrics.insert("ece".into(), cal.ece);
        metrics.insert("mce".into(), cal.mce);
        metrics.insert("ace".into(), ace_v);
        metrics.insert("nmi".into(), nmi);
        if unc_case.len() >= 3 {
            let (plain, weighted): (Vec<f64>, Vec<f64>) = unc_case.iter().copied().unzip();
            if let Ok(r) = pearson(&plain, &err_case) {
                metrics.insert("corr_uncertainty_error".into(), r);
            }
            if let Ok(r) = pearson(&weighted, &err_case) {
                metrics.insert("corr_fg_uncertainty_error".into(), r);
            }
        }
        let bins: Vec<(f64, f64, usize)> = cal
            .bins
            .iter()
            .filter(|b| b.count > 0) // empty bins have no confidence or accuracy (NaN)
            .map(|b| (b.confidence, b.accuracy, b.count))
            .collect();
        reliability_diagram(&files.join("reliability.png"), &bins, cal.ece).map_err(user_err)?;
        uncertainty_montage(
            &preds,
            &cfg.reward_map,
            ranked,
            &files.join("uncertainty.png"),
        )?;
        summary.insert(
            "calibration".into(),
            serde_json::to_value(&cal).unwrap_or_default(),
        );
    }

    let mut csv = format!("id,{}\n", columns.join(","));
    for (id, row) in &rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| row.get(c).map_or(String::new(), |v| format!("{v:.6}")))
            .collect();
        let _ = writeln!(csv, "{id},{}", cells.join(","));
    }
    std::fs::write(files.join("cases.csv"), csv).map_err(|e| NodeError::internal(e.to_string()))?;
    let text = serde_json::to_string_pretty(
        &serde_json::json!({ "summary": summary, "headline": metrics }),
    )
    .map_err(|e| NodeError::internal(e.to_string()))?;
    std::fs::write(files.join("summary.json"), text)
        .map_err(|e| NodeError::internal(e.to_string()))?;

    let title = if cfg.title.is_empty() {
        ctx.node_id.clone()
    } else {
        cfg.title.clone()
    };
    let mut table = format!("{title}: {} cases\n", rows.len());
    for (k, v) in &metrics {
        let _ = writeln!(table, "  {k:<24} {v:>10.4}");
    }
    tracing::info!("{}", table.trim_end());
    Ok(metrics)
}

/// Cases shown in `uncertainty.png`.
const MONTAGE_CASES: usize = 4;

/// `uncertainty.png` (see the module doc): `ranked` holds (Dice, id) of the labelled cases with
/// a reward map.
fn uncertainty_montage(
    preds: &Predictions,
    reward_map: &str,
    mut ranked: Vec<(f64, String)>,
    path: &std::path::Path,
) -> Result<(), NodeError> {
    ranked.retain(|(d, _)| d.is_finite());
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = ranked.len().min(MONTAGE_CASES);
    if n == 0 {
        return Ok(());
    }
    // Evenly spread over the ranking, worst and best included.
    let picks: Vec<&(f64, String)> = (0..n)
        .map(|k| {
            &ranked[if n == 1 {
                0
            } else {
                k * (ranked.len() - 1) / (n - 1)
            }]
        })
        .collect();
    let mut frames = Vec::new();
    for (dice, id) in picks {
        let case = preds.case(id)?;
        let (Some(gt), Some(reward)) = (case.label, preds.map(id, reward_map)?) else {
            continue;
        };
        let pred = preds.pred(id)?;
        let wrong = ndarray::Zip::from(&pred)
            .and(&gt)
            .map_collect(|p, g| f32::from(u8::from(p != g)));
        let t = (0..wrong.dim().0)
            .max_by_key(|&t| wrong.index_axis(ndarray::Axis(0), t).sum() as usize)
            .unwrap_or(0);
        let at = |a: &ndarray::Array3<f32>| a.index_axis(ndarray::Axis(0), t).to_owned();
        let at_u8 = |a: &ndarray::Array3<u8>| a.index_axis(ndarray::Axis(0), t).to_owned();
        frames.push((
            format!("{id} t={t}"),
            *dice,
            at(&case.image),
            at_u8(&gt),
            at_u8(&pred),
            at(&wrong),
            at(&reward).mapv(|r| 1.0 - r),
        ));
    }
    if frames.is_empty() {
        return Ok(());
    }
    // Uncertainty is mostly far below 1: its colour scale ends at the largest value shown.
    let top = frames
        .iter()
        .flat_map(|f| f.6.iter().copied())
        .filter(|v| v.is_finite())
        .fold(1e-6_f32, f32::max);
    let scaled: Vec<ndarray::Array2<f32>> = frames.iter().map(|f| f.6.mapv(|v| v / top)).collect();
    let mut tiles = Vec::new();
    for ((name, dice, image, gt, pred, wrong, _), unc) in frames.iter().zip(&scaled) {
        let tile = |image, labels, title: String, paint| Tile {
            image,
            labels,
            title: Some(title),
            paint,
        };
        tiles.push(tile(
            image.view(),
            Some(gt.view()),
            format!("{name}: truth"),
            Paint::Gray,
        ));
        tiles.push(tile(
            image.view(),
            Some(pred.view()),
            format!("prediction, Dice {dice:.3}"),
            Paint::Gray,
        ));
        tiles.push(tile(wrong.view(), None, "wrong pixels".into(), Paint::Heat));
        tiles.push(tile(
            unc.view(),
            None,
            format!("1 - reward (0 to {top:.2})"),
            Paint::Heat,
        ));
    }
    let opts = RenderOptions {
        scale: 3,
        style: OverlayStyle::Contour,
        ..RenderOptions::default()
    };
    png_montage(path, &tiles, 4, &opts).map_err(user_err)
}
