//! Multirun (`run -m`): expands the sweep into jobs, prepares every job before running any
//! (config errors common to all jobs are reported once, exit 2), runs the jobs one after the
//! other in `multirun/<pipeline>/<date>_<time>/<job>_<overrides>/` (jobs share cache entries, so
//! common upstream nodes are computed once), keeps going when a job fails, and ends with a table
//! (job, overrides, status, headline metrics) on stdout plus `summary.md` / `summary.json` at the
//! sweep root. Exit code 1 if any job failed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::{AppInfo, CliError, Global, Prepared, prepare};
use crate::config::{self, SweepMode};
use crate::node::Metrics;
use crate::rundir::{Stamp, SweepDirs};

/// At most this many metric columns in the printed table (summary.json has all).
const MAX_METRIC_COLUMNS: usize = 6;

#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub job: usize,
    pub overrides: Vec<String>,
    pub dir: String,
    /// `ok`, `failed` or `invalid`.
    pub status: String,
    /// Failure message, if any.
    pub error: Option<String>,
    pub ran: usize,
    pub cached: usize,
    pub metrics: BTreeMap<String, Metrics>,
}

pub fn run(
    app: AppInfo,
    g: &Global,
    pipeline: &str,
    overrides: &[String],
    mode: SweepMode,
) -> Result<(), CliError> {
    let sources = crate::cli::job_sources(app, g)?;
    let jobs = config::expand_sweep(&sources, pipeline, overrides, mode)
        .map_err(|e| crate::cli::config_errors(&e))?;
    let prepared: Vec<Result<Prepared, CliError>> = jobs
        .iter()
        .map(|o| prepare(app, g, &sources, pipeline, o))
        .collect();
    let Some(first) = prepared.iter().find_map(|p| p.as_ref().ok()) else {
        // Every job is invalid: report each distinct problem once and run nothing.
        let mut seen: Vec<String> = Vec::new();
        for e in prepared.iter().filter_map(|p| p.as_ref().err()) {
            if !seen.contains(&e.to_string()) {
                seen.push(e.to_string());
            }
        }
        return Err(CliError::User(match seen.as_slice() {
            [one] if jobs.len() > 1 => format!("{one} (in all {} jobs)", jobs.len()),
            [one] => one.clone(),
            many => format!(
                "every job of the sweep is invalid:\n  - {}",
                many.join("\n  - ")
            ),
        }));
    };
    let stamp = Stamp::now();
    let name = first.plan.pipeline.clone();
    let dirs = SweepDirs::create(&first.spec.runtime.sweep_dir, &name, &stamp)
        .map_err(CliError::internal)?;
    tracing::info!("sweep: {} jobs in {}", jobs.len(), dirs.root.display());

    let mut summaries = Vec::with_capacity(jobs.len());
    for (i, (job_overrides, p)) in jobs.iter().zip(&prepared).enumerate() {
        let dir = dirs
            .job(i, &config::override_dirname(job_overrides), &name, &stamp)
            .map_err(CliError::internal)?;
        tracing::info!(
            "[job {}/{}] {}",
            i + 1,
            jobs.len(),
            if job_overrides.is_empty() {
                "(no overrides)".into()
            } else {
                job_overrides.join(" ")
            }
        );
        let mut s = JobSummary {
            job: i,
            overrides: job_overrides.clone(),
            dir: dir.display().to_string(),
            status: "ok".into(),
            error: None,
            ran: 0,
            cached: 0,
            metrics: BTreeMap::new(),
        };
        match p {
            Err(e) => {
                tracing::error!("job {i}: {e}");
                let _ = std::fs::write(dir.join("error.txt"), format!("{e}\n"));
                s.status = "invalid".into();
                s.error = Some(e.to_string());
            }
            Ok(p) => match crate::cli::execute_job(app, p, &dir) {
                Err(e) => {
                    tracing::error!("job {i}: {e}");
                    s.status = "failed".into();
                    s.error = Some(e.to_string());
                }
                Ok(report) => {
                    s.ran = report.executed().len();
                    s.cached = report.cached().len();
                    s.metrics = report.metrics.clone();
                    if let Some(e) = crate::cli::job_error(&report) {
                        s.status = "failed".into();
                        s.error = Some(e.to_string());
                    }
                }
            },
        }
        summaries.push(s);
    }

    let table = table(&summaries, &prepared);
    print!("{table}");
    let md = format!(
        "# Sweep of `{name}`\n\n`{}`\n\n{table}",
        overrides.join(" ")
    );
    let json = serde_json::to_string_pretty(&summaries).map_err(CliError::internal)?;
    for (file, text) in [("summary.md", md), ("summary.json", json + "\n")] {
        let path = dirs.root.join(file);
        std::fs::write(&path, text)
            .map_err(|e| CliError::internal(format!("cannot write {}: {e}", path.display())))?;
    }
    let failed = summaries.iter().filter(|s| s.status != "ok").count();
    if failed > 0 {
        return Err(CliError::Failed(format!(
            "error: {failed} of {} jobs failed; see {}",
            summaries.len(),
            dirs.root.join("summary.md").display()
        )));
    }
    Ok(())
}

/// Headline metric columns: the metrics of the nodes nothing else reads (the pipeline's
/// results), in plan order, at most [`MAX_METRIC_COLUMNS`].
fn metric_columns(
    summaries: &[JobSummary],
    prepared: &[Result<Prepared, CliError>],
) -> Vec<(String, String)> {
    let mut cols: Vec<(String, String)> = Vec::new();
    for p in prepared.iter().filter_map(|p| p.as_ref().ok()) {
        let read: std::collections::HashSet<&str> = p
            .plan
            .nodes
            .iter()
            .flat_map(|n| n.inputs.values().map(String::as_str))
            .collect();
        for n in p
            .plan
            .nodes
            .iter()
            .filter(|n| !read.contains(n.id.as_str()))
        {
            for s in summaries {
                for metric in s.metrics.get(&n.id).into_iter().flat_map(|m| m.keys()) {
                    let col = (n.id.clone(), metric.clone());
                    if !cols.contains(&col) {
                        cols.push(col);
                    }
                }
            }
        }
    }
    cols.truncate(MAX_METRIC_COLUMNS);
    cols
}

fn fmt_metric(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// The summary table (Markdown, also readable in a terminal).
pub fn table(summaries: &[JobSummary], prepared: &[Result<Prepared, CliError>]) -> String {
    let cols = metric_columns(summaries, prepared);
    let mut header = vec![
        "job".to_string(),
        "overrides".into(),
        "status".into(),
        "ran".into(),
        "cached".into(),
    ];
    header.extend(cols.iter().map(|(n, m)| format!("{n}.{m}")));
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let status = match &s.error {
                Some(e) => format!("{}: {}", s.status, e.lines().next().unwrap_or_default()),
                None => s.status.clone(),
            };
            let mut r = vec![
                s.job.to_string(),
                s.overrides.join(" "),
                status,
                s.ran.to_string(),
                s.cached.to_string(),
            ];
            r.extend(cols.iter().map(|(n, m)| {
                s.metrics
                    .get(n)
                    .and_then(|x| x.get(m))
                    .map_or_else(|| "-".into(), |v| fmt_metric(*v))
            }));
            r
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", padded.join(" | "));
    };
    line(&header, &mut out);
    line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        &mut out,
    );
    for r in &rows {
        line(r, &mut out);
    }
    out
}
