//! `report`: collects evaluation summaries into one comparison table and plot (issue #5): each
//! call appends one row (its optional `evaluation` input, labelled by `label`, plus the reward
//! net's validation accuracy when a `reward` model is connected) to the rows of its optional
//! `previous` report. Chained through a repeat block (`previous = "report@prev|baseline"`) it
//! gives the per-iteration history of the RL loop; the last one adds the oracle, where there is
//! one. Columns that no row has (Dice without target labels) are left out. Writes `report.json`
//! (the artifact), `report.md`, `report.csv` and `report.png` (metrics per row).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use dataset::render::{Panel, Series, line_plots};
use engine::{KindInfo, Metrics, NodeContext, NodeError, Port};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rewardmodel::REWARD_MODEL;
use crate::user_err;

pub const REPORT: &str = "report";
const FILE: &str = "report.json";

pub static INFO: KindInfo = KindInfo {
    name: "report",
    doc: "append an evaluation to a comparison table (per-iteration history, baselines, oracle) with a plot",
    version: 4,
    inputs: &[
        Port {
            name: "evaluation",
            accepts: &["evaluation"],
            optional: true,
        },
        Port {
            name: "previous",
            accepts: &[REPORT],
            optional: true,
        },
        Port {
            name: "reward",
            accepts: &[REWARD_MODEL],
            optional: true,
        },
    ],
    output: REPORT,
    cacheable: true,
};

fn default_columns() -> Vec<String> {
    [
        "dice_lv",
        "dice_myo",
        "dice",
        "hd",
        "anat_valid_frames",
        "anat_valid",
        "temporal_valid",
        "mean_reward",
        "uncertainty",
        "reward_net_accuracy",
        "corr_uncertainty_error",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// `[nodes.<id>]` of kind `report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Row label; `{iteration}` is replaced by the loop iteration (0 outside a loop).
    pub label: String,
    /// Table title.
    #[serde(default)]
    pub title: String,
    /// Metrics shown in the table and the plot, in order: a missing one is left blank, and a
    /// column no row has (Dice and Hausdorff of a target without labels) is left out.
    #[serde(default = "default_columns")]
    pub columns: Vec<String>,
}

/// One row: a label and metric -> (mean, std).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub metrics: BTreeMap<String, (f64, Option<f64>)>,
}

/// Mean and std per metric of an `evaluate` node's `files/summary.json`.
fn read_evaluation(dir: &Path) -> Result<BTreeMap<String, (f64, Option<f64>)>, NodeError> {
    let path = dir.join("files").join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        NodeError::user(format!(
            "{}: cannot read the evaluation summary ({e})",
            path.display()
        ))
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        NodeError::user(format!(
            "{}: not an evaluation summary ({e})",
            path.display()
        ))
    })?;
    let mut out = BTreeMap::new();
    if let Some(summary) = v.get("summary").and_then(|s| s.as_object()) {
        for (k, s) in summary {
            // JSON has no NaN: a metric without a value is `null` and is left out.
            if let Some(m) = s.get("mean").and_then(|x| x.as_f64()) {
                out.insert(k.clone(), (m, s.get("std").and_then(|x| x.as_f64())));
            }
        }
    }
    if let Some(head) = v.get("headline").and_then(|s| s.as_object()) {
        for (k, x) in head {
            if let Some(x) = x.as_f64() {
                out.entry(k.clone()).or_insert((x, None));
            }
        }
    }
    Ok(out)
}

pub fn read_rows(dir: &Path) -> Result<Vec<Row>, NodeError> {
    let path = dir.join(FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        NodeError::user(format!("{}: cannot read the report ({e})", path.display()))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| NodeError::user(format!("{}: not a report ({e})", path.display())))
}

fn cell(v: Option<&(f64, Option<f64>)>) -> String {
    match v {
        Some((m, Some(s))) if m.is_finite() && s.is_finite() && *s > 0.0 => {
            format!("{m:.3} ± {s:.3}")
        }
        Some((m, _)) if m.is_finite() => format!("{m:.3}"),
        _ => String::new(),
    }
}

/// The Markdown table of the rows.
pub fn markdown(title: &str, columns: &[String], rows: &[Row]) -> String {
    let mut md = String::new();
    if !title.is_empty() {
        let _ = writeln!(md, "### {title}\n");
    }
    let _ = writeln!(md, "| | {} |", columns.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(columns.len()));
    for r in rows {
        let cells: Vec<String> = columns.iter().map(|c| cell(r.metrics.get(c))).collect();
        let _ = writeln!(md, "| {} | {} |", r.label, cells.join(" | "));
    }
    md
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let mut rows = match ctx.inputs.get("previous") {
        Some(dir) => read_rows(dir)?,
        None => Vec::new(),
    };
    // Without an evaluation (e.g. `eval_oracle|` when there is no oracle) the table is the
    // previous one, under this node's title.
    if let Some(dir) = ctx.inputs.get("evaluation") {
        rows.push(evaluation_row(cfg, ctx, dir)?);
    }
    if rows.is_empty() {
        return Err(NodeError::user(format!(
            "report `{}` has neither an evaluation nor a previous report to show; connect one",
            ctx.node_id
        )));
    }
    write_outputs(cfg, ctx, &rows)
}

/// The row of one evaluation, with the reward net's validation accuracy when one is connected.
fn evaluation_row(cfg: &Config, ctx: &NodeContext, dir: &Path) -> Result<Row, NodeError> {
    let mut metrics = read_evaluation(dir)?;
    if let Some(dir) = ctx.inputs.get("reward") {
        let path = dir.join("calibration.json");
        if let Ok(text) = std::fs::read_to_string(&path) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                if let Some(a) = v.get("val_accuracy").and_then(|x| x.as_f64()) {
                    metrics.insert("reward_net_accuracy".into(), (a, None));
                }
                if let Some(a) = v.get("val_error_recall").and_then(|x| x.as_f64()) {
                    metrics.insert("reward_net_error_recall".into(), (a, None));
                }
            }
        }
    }
    let label = cfg
        .label
        .replace("{iteration}", &ctx.iteration.unwrap_or(0).to_string());
    metrics.retain(|_, (m, _)| m.is_finite());
    Ok(Row { label, metrics })
}

/// `report.json` (the artifact), and `report.md`, `report.csv`, `report.png` for people.
fn write_outputs(cfg: &Config, ctx: &NodeContext, rows: &[Row]) -> Result<Metrics, NodeError> {
    let json =
        serde_json::to_string_pretty(rows).map_err(|e| NodeError::internal(e.to_string()))?;
    std::fs::write(ctx.output_dir.join(FILE), json)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    let files = ctx.files_dir()?;
    let columns: Vec<String> = cfg
        .columns
        .iter()
        .filter(|c| rows.iter().any(|r| r.metrics.contains_key(*c)))
        .cloned()
        .collect();
    let md = markdown(&cfg.title, &columns, rows);
    std::fs::write(files.join("report.md"), &md).map_err(|e| NodeError::internal(e.to_string()))?;
    let mut csv = format!("label,{}\n", columns.join(","));
    for r in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                r.metrics
                    .get(c)
                    .map_or(String::new(), |(m, _)| format!("{m:.6}"))
            })
            .collect();
        let _ = writeln!(csv, "{},{}", r.label, cells.join(","));
    }
    std::fs::write(files.join("report.csv"), csv)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    // The plot: the fractions over the rows (x = row number) and, beside them, the Hausdorff
    // distance in mm (on one axis it would flatten the fractions).
    let series_of = |names: &[&str]| -> Vec<Series> {
        names
            .iter()
            .filter(|c| columns.iter().any(|x| x == *c))
            .map(|c| Series {
                name: (*c).to_string(),
                points: rows
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.metrics.get(*c).map(|(m, _)| (i as f64, *m)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    let fractions = series_of(&[
        "dice_lv",
        "dice_myo",
        "anat_valid_frames",
        "temporal_valid",
        "mean_reward",
        "reward_net_accuracy",
    ]);
    let distances = series_of(&["hd_lv", "hd_myo", "hd"]);
    let x_label = rows
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{i}={}", short_label(&r.label)))
        .collect::<Vec<_>>()
        .join("  ");
    // The long row legend under the first panel only; the next ones just number the rows.
    let panels: Vec<Panel> = [("fraction", &fractions), ("Hausdorff (mm)", &distances)]
        .into_iter()
        .filter(|(_, s)| !s.is_empty())
        .enumerate()
        .map(|(k, (y_label, series))| Panel {
            x_label: if k == 0 { &x_label } else { "row" },
            y_label,
            series,
        })
        .collect();
    if !panels.is_empty() {
        let title = if cfg.title.is_empty() {
            ctx.node_id.as_str()
        } else {
            cfg.title.as_str()
        };
        line_plots(&files.join("report.png"), title, &panels).map_err(user_err)?;
    }
    tracing::info!("{}\n{}", ctx.node_id, md.trim_end());
    let mut m = Metrics::from([("rows".to_string(), rows.len() as f64)]);
    if let Some(last) = rows.last() {
        for c in &columns {
            if let Some((v, _)) = last.metrics.get(c) {
                m.insert(c.clone(), *v);
            }
        }
    }
    Ok(m)
}

/// A row label short enough for the plot's x axis (the table keeps the full one): without a
/// parenthesised remark, "iteration" as "it".
fn short_label(label: &str) -> String {
    let head = label.split(" (").next().unwrap_or(label).trim();
    head.replace("iteration ", "it ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn plot_labels_drop_remarks_and_shorten_iterations() {
        assert_eq!(
            super::short_label("oracle (target labels, upper bound)"),
            "oracle"
        );
        assert_eq!(super::short_label("iteration 3"), "it 3");
        assert_eq!(super::short_label("final + TTA/TTO"), "final + TTA/TTO");
    }
}
