//! Where the jobs of a submission stand: the state of every task (from `scontrol show job -o`;
//! for a job the controller has forgotten, from the cache: its artifact is there or it is not),
//! the table `status` prints (job, node, task, sweep jobs, state, log of failed tasks), the
//! tail of each failed task's log, and [`wait`], which polls until every task has ended, with a
//! progress bar and one log line per task that ends.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::SlurmError;
use super::record::{Record, Submitted};
use super::scheduler::{JobLine, Scheduler};
use crate::cache::{Cache, Lookup};

/// Lines of a failed task's log shown by `status` and `--wait`.
const LOG_TAIL_LINES: usize = 12;

/// The state of one array task (or plain job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Written by `--dry-run` and not submitted.
    NotSubmitted,
    Pending {
        reason: String,
    },
    Running,
    /// Requeued (preemption, node failure, time limit near); it will run again.
    Requeued,
    Completed,
    /// Forgotten by the controller, but its artifact is in the cache.
    CompletedCached,
    /// Ended badly (`FAILED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, ...).
    Failed {
        state: String,
        exit_code: String,
        reason: String,
    },
    /// Cancelled by SLURM because a job it depends on failed: it never ran.
    NeverRun,
    Cancelled {
        reason: String,
    },
    /// Forgotten by the controller and not in the cache.
    Unknown,
}

impl TaskState {
    pub fn from_line(line: &JobLine) -> TaskState {
        let reason = line.get("Reason").unwrap_or("None").to_string();
        let never = reason == "DependencyNeverSatisfied";
        match line.get("JobState").unwrap_or("UNKNOWN") {
            "PENDING" if never => TaskState::NeverRun,
            "PENDING" | "REQUEUE_HOLD" => TaskState::Pending { reason },
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED" | "RESIZING" | "SIGNALING"
            | "STAGE_OUT" => TaskState::Running,
            "REQUEUED" | "REQUEUE_FED" => TaskState::Requeued,
            "COMPLETED" => TaskState::Completed,
            "CANCELLED" if never => TaskState::NeverRun,
            "CANCELLED" => TaskState::Cancelled { reason },
            other => TaskState::Failed {
                state: other.to_string(),
                exit_code: line.get("ExitCode").unwrap_or("?").to_string(),
                reason,
            },
        }
    }

    /// Whether the task will not change any more.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            TaskState::Pending { .. } | TaskState::Running | TaskState::Requeued
        )
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, TaskState::Completed | TaskState::CompletedCached)
    }

    /// Short label and detail for the table.
    pub fn describe(&self) -> (String, String) {
        match self {
            TaskState::NotSubmitted => (
                "NOT SUBMITTED".into(),
                "dry run: submit with slurm/submit.sh".into(),
            ),
            TaskState::Pending { reason } => ("PENDING".into(), reason.clone()),
            TaskState::Running => ("RUNNING".into(), String::new()),
            TaskState::Requeued => ("REQUEUED".into(), "will run again".into()),
            TaskState::Completed => ("COMPLETED".into(), String::new()),
            TaskState::CompletedCached => (
                "COMPLETED".into(),
                "gone from the queue; artifact cached".into(),
            ),
            TaskState::Failed {
                state,
                exit_code,
                reason,
            } => (state.clone(), format!("exit code {exit_code}, {reason}")),
            TaskState::NeverRun => ("NEVER RUN".into(), "a job it depends on failed".into()),
            TaskState::Cancelled { reason } => ("CANCELLED".into(), reason.clone()),
            TaskState::Unknown => (
                "UNKNOWN".into(),
                "gone from the queue and not in the cache".into(),
            ),
        }
    }
}

/// One task of one submitted job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// Index into `Record::submitted`.
    pub group: usize,
    pub task: usize,
    /// `12` for a plain job, `12_3` for an array task; `None` when not submitted.
    pub job_id: Option<String>,
    pub state: TaskState,
    pub log: PathBuf,
    pub restarts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusReport {
    pub tasks: Vec<TaskStatus>,
}

impl StatusReport {
    pub fn all_final(&self) -> bool {
        self.tasks.iter().all(|t| t.state.is_final())
    }
    pub fn ok(&self) -> bool {
        self.tasks.iter().all(|t| t.state.is_ok())
    }
    /// Tasks that ended badly (failed, cancelled by a user, unknown; not those that never ran).
    pub fn failed(&self) -> Vec<&TaskStatus> {
        self.tasks
            .iter()
            .filter(|t| {
                matches!(
                    t.state,
                    TaskState::Failed { .. } | TaskState::Cancelled { .. } | TaskState::Unknown
                )
            })
            .collect()
    }
    /// `n completed, n running, ...` in a fixed order, zero counts left out.
    pub fn counts(&self) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for t in &self.tasks {
            let label = t.state.describe().0.to_lowercase();
            match counts.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => counts.push((label, 1)),
            }
        }
        counts.sort_by_key(|(l, _)| ORDER.iter().position(|o| o == l).unwrap_or(ORDER.len()));
        counts
            .iter()
            .map(|(l, n)| format!("{n} {l}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const ORDER: &[&str] = &[
    "completed",
    "running",
    "requeued",
    "pending",
    "not submitted",
    "failed",
    "never run",
    "cancelled",
    "unknown",
];

/// The state of every task of `record`.
pub fn query(record: &Record, scheduler: &dyn Scheduler) -> Result<StatusReport, SlurmError> {
    let cache = Cache::new(&record.cache_dir);
    let mut tasks = Vec::new();
    for (gi, s) in record.submitted.iter().enumerate() {
        let lines = match &s.job_id {
            Some(id) => scheduler.show_job(id)?,
            None => None,
        };
        for (ti, task) in s.group.tasks.iter().enumerate() {
            let line = lines.as_ref().and_then(|lines| line_of(lines, s, ti));
            let state = match (&s.job_id, line) {
                (None, _) => TaskState::NotSubmitted,
                (Some(_), Some(line)) => TaskState::from_line(line),
                (Some(_), None) => match task
                    .cacheable
                    .then(|| cache.check(&task.kind, &task.key, false))
                {
                    Some(Lookup::Hit(_)) => TaskState::CompletedCached,
                    _ => TaskState::Unknown,
                },
            };
            let own = line.and_then(|l| l.get("JobId"));
            let job_id = s.job_id.as_ref().map(|id| {
                if s.group.is_array() {
                    format!("{id}_{ti}")
                } else {
                    id.clone()
                }
            });
            let restarts = line
                .and_then(|l| l.get("Restarts"))
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            tasks.push(TaskStatus {
                group: gi,
                task: ti,
                job_id,
                state,
                log: s.log_of(ti, own),
                restarts,
            });
        }
    }
    Ok(StatusReport { tasks })
}

fn line_of<'a>(lines: &'a [JobLine], s: &Submitted, task: usize) -> Option<&'a JobLine> {
    if s.group.is_array() {
        lines
            .iter()
            .find(|l| l.task_ids().is_some_and(|ids| ids.contains(&task)))
    } else {
        lines.first()
    }
}

/// The table `status` prints, then the log tails of the failed tasks.
pub fn render(record: &Record, root: &Path, report: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "SLURM jobs of pipeline `{}` in {} ({} sweep job{}, scripts written {}{})",
        record.pipeline,
        root.display(),
        record.jobs.len(),
        if record.jobs.len() == 1 { "" } else { "s" },
        record.created,
        if record.dry_run { ", dry run" } else { "" }
    );
    let header = ["job", "node", "task", "sweep jobs", "state", "detail"]
        .map(String::from)
        .to_vec();
    let mut rows = vec![header];
    for t in &report.tasks {
        let s = &record.submitted[t.group];
        let task = &s.group.tasks[t.task];
        let (state, mut detail) = t.state.describe();
        if t.restarts > 0 {
            detail = format!("{detail} (restarted {}x)", t.restarts)
                .trim()
                .to_string();
        }
        if !t.state.is_ok()
            && t.state.is_final()
            && t.state != TaskState::NeverRun
            && t.state != TaskState::NotSubmitted
        {
            detail = format!("{detail}; log: {}", t.log.display());
        }
        let jobs: Vec<String> = task.jobs().iter().map(ToString::to_string).collect();
        rows.push(vec![
            t.job_id.clone().unwrap_or_else(|| "-".into()),
            s.group.node.clone(),
            if s.group.is_array() {
                t.task.to_string()
            } else {
                "-".into()
            },
            jobs.join(","),
            state,
            detail,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    let _ = writeln!(
        out,
        "{} task{}: {}",
        report.tasks.len(),
        if report.tasks.len() == 1 { "" } else { "s" },
        report.counts()
    );
    if !record.cached.is_empty() {
        let nodes: Vec<&str> = record.cached.iter().map(|c| c.node.as_str()).collect();
        let _ = writeln!(out, "not submitted, already cached: {}", nodes.join(", "));
    }
    for t in report.failed() {
        let s = &record.submitted[t.group];
        let _ = writeln!(
            out,
            "\n--- {} (job {}): last lines of {}",
            s.group.node,
            t.job_id.as_deref().unwrap_or("-"),
            t.log.display()
        );
        out.push_str(&log_tail(&t.log, LOG_TAIL_LINES));
    }
    out
}

/// The last `n` lines of a log, or a note saying why there are none.
pub fn log_tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let mut s = lines[lines.len().saturating_sub(n)..].join("\n");
            s.push('\n');
            s
        }
        Err(e) => format!("(cannot read it: {e})\n"),
    }
}

/// Polls every `poll` until every task has ended; logs each task that ends, and draws a bar.
pub fn wait(
    record: &Record,
    scheduler: &dyn Scheduler,
    poll: Duration,
    progress: bool,
) -> Result<StatusReport, SlurmError> {
    let total = record
        .submitted
        .iter()
        .map(|s| s.group.tasks.len())
        .sum::<usize>();
    let bar = if progress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} SLURM tasks  {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let _attached = crate::logging::attach_progress(&bar);
    let mut seen: Vec<Option<TaskState>> = vec![None; total];
    loop {
        let report = query(record, scheduler)?;
        for (i, t) in report.tasks.iter().enumerate() {
            if seen.get(i).and_then(Option::as_ref) == Some(&t.state) {
                continue;
            }
            let s = &record.submitted[t.group];
            let name = if s.group.is_array() {
                format!("{}[{}]", s.group.node, t.task)
            } else {
                s.group.node.clone()
            };
            let id = t.job_id.as_deref().unwrap_or("-");
            match &t.state {
                st if st.is_ok() => tracing::info!("✓ {name} (job {id}) completed"),
                TaskState::NeverRun => {
                    tracing::warn!("✗ {name} (job {id}) never ran: a job it depends on failed")
                }
                st if st.is_final() => tracing::error!(
                    "✗ {name} (job {id}) {}: log {}",
                    st.describe().0.to_lowercase(),
                    t.log.display()
                ),
                TaskState::Running => tracing::info!("▶ {name} (job {id}) running"),
                TaskState::Requeued => tracing::warn!("↻ {name} (job {id}) requeued"),
                _ => {}
            }
            if let Some(slot) = seen.get_mut(i) {
                *slot = Some(t.state.clone());
            }
        }
        bar.set_position(report.tasks.iter().filter(|t| t.state.is_final()).count() as u64);
        bar.set_message(report.counts());
        if report.all_final() {
            bar.finish_and_clear();
            return Ok(report);
        }
        std::thread::sleep(poll);
    }
}
