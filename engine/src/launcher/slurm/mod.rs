//! The SLURM launcher: a run (or every point of a sweep) resolved locally into plans, the nodes
//! whose artifacts are already cached dropped, the rest submitted with `sbatch --parsable` as one
//! job per node instance, the sweep points of an instance as one job array, edges as
//! `--dependency=afterok:` (`aftercorr` between matching arrays). Each task runs
//! `run-node --plan <run dir>/plan.json --node <id>` against the same cache on the shared file
//! system, so a cluster run produces the same artifacts as a local one. SLURM does all the
//! scheduling; this module only writes scripts, submits them and reads the queue.
//!
//! Files, all under `<run or sweep dir>/slurm/`: `NN_<node>.sbatch` (one per SLURM job),
//! `submit.sh` (submits by hand), `jobs.json` (the [`Record`]) and `logs/` (one per task).

pub mod config;
mod error;
pub mod group;
pub mod record;
pub mod scheduler;
pub mod script;
pub mod status;

use std::path::{Path, PathBuf};

pub use config::{SlurmConfig, SlurmConfigError, SlurmNodeResources};
pub use error::SlurmError;
pub use group::{LaunchJob, Layout, layout};
pub use record::{Record, RecordJob, SLURM_DIR, Submitted};
pub use scheduler::{Scheduler, SlurmCli};
pub use status::{StatusReport, TaskState, query, render, wait};

use script::ScriptContext;

/// Everything a launch's files depend on besides the layout.
#[derive(Debug, Clone)]
pub struct LaunchSpec<'a> {
    /// The run directory (single run) or the sweep root: scripts go to `<root>/slurm/`. Absolute.
    pub root: &'a Path,
    pub jobs: &'a [LaunchJob],
    pub config: &'a SlurmConfig,
    /// Program name and version (`rl4seg 0.3.0`), for comments and the record.
    pub program: &'a str,
    /// Shell words that start the program on a compute node.
    pub command: &'a str,
    /// Working directory of the jobs (absolute).
    pub workdir: &'a Path,
    /// Cache root (absolute).
    pub cache_dir: &'a Path,
    /// Time stamp for the record (RFC 3339).
    pub created: &'a str,
    pub dry_run: bool,
}

/// Writes every job script, `submit.sh` and `jobs.json` (no job ids yet); returns the record.
pub fn write_scripts(spec: &LaunchSpec<'_>, layout: &Layout) -> Result<Record, SlurmError> {
    let dir = spec.root.join(SLURM_DIR);
    let log_dir = dir.join("logs");
    std::fs::create_dir_all(&log_dir).map_err(SlurmError::io("create", &log_dir))?;
    let ctx = ScriptContext {
        pipeline: spec
            .jobs
            .first()
            .map_or("pipeline", |j| j.plan.pipeline.as_str()),
        program: spec.program,
        command: spec.command,
        workdir: spec.workdir,
        log_dir: &log_dir,
        config: spec.config,
    };
    let stems: Vec<String> = layout
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| script::stem(i, &g.node))
        .collect();
    let mut submitted = Vec::with_capacity(layout.groups.len());
    for (i, g) in layout.groups.iter().enumerate() {
        let path = dir.join(format!("{}.sbatch", stems[i]));
        write_executable(&path, &script::render(i, g, &stems, &ctx))?;
        submitted.push(Submitted {
            stem: stems[i].clone(),
            script: path,
            log: script::log_pattern(&log_dir, &stems[i], g.is_array()),
            job_id: None,
            dependency: None,
            group: g.clone(),
        });
    }
    write_executable(
        &dir.join("submit.sh"),
        &script::submit_script(&layout.groups, &stems),
    )?;
    let record = Record {
        format: record::RECORD_FORMAT,
        pipeline: ctx.pipeline.to_string(),
        program: spec.program.to_string(),
        workdir: spec.workdir.to_path_buf(),
        cache_dir: spec.cache_dir.to_path_buf(),
        created: spec.created.to_string(),
        dry_run: spec.dry_run,
        jobs: spec
            .jobs
            .iter()
            .map(|j| RecordJob {
                index: j.index,
                overrides: j.overrides.clone(),
                dir: j.dir.clone(),
            })
            .collect(),
        submitted,
        cached: layout.cached.clone(),
    };
    record.write(spec.root)?;
    Ok(record)
}

fn write_executable(path: &Path, text: &str) -> Result<(), SlurmError> {
    std::fs::write(path, text).map_err(SlurmError::io("write", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(SlurmError::io("make executable", path))?;
    }
    Ok(())
}

/// Submits the record's jobs in order (each with the dependency on the ids of its upstream jobs),
/// rewriting `jobs.json` after each one. If sbatch refuses one, the jobs already submitted are
/// cancelled, so that a failed submission leaves nothing queued.
pub fn submit(
    root: &Path,
    record: &mut Record,
    scheduler: &dyn Scheduler,
) -> Result<(), SlurmError> {
    let mut ids: Vec<String> = Vec::with_capacity(record.submitted.len());
    for i in 0..record.submitted.len() {
        let dependency = script::dependency(&record.submitted[i].group, &ids);
        let script_path = record.submitted[i].script.clone();
        match scheduler.submit(&script_path, dependency.as_deref()) {
            Ok(id) => {
                tracing::debug!("submitted {} as job {id}", script_path.display());
                let s = &mut record.submitted[i];
                s.job_id = Some(id.clone());
                s.dependency = dependency;
                ids.push(id);
                record.write(root)?;
            }
            Err(e) => {
                scheduler.cancel(&ids);
                for s in &mut record.submitted {
                    s.job_id = None;
                    s.dependency = None;
                }
                record.write(root)?;
                return Err(match e {
                    SlurmError::Sbatch { script, stderr, .. } => SlurmError::Sbatch {
                        script,
                        stderr,
                        cancelled: ids,
                    },
                    other => other,
                });
            }
        }
    }
    Ok(())
}

/// One line per submitted job: `101  source`, `102  double [4 tasks]`.
pub fn submitted_summary(record: &Record) -> String {
    let mut out = String::new();
    for s in &record.submitted {
        let tasks = if s.group.is_array() {
            format!(" [{} tasks]", s.group.tasks.len())
        } else {
            String::new()
        };
        let dep = s
            .dependency
            .as_deref()
            .map(|d| format!("  after {d}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<8} {}{tasks}{dep}\n",
            s.job_id.as_deref().unwrap_or("-"),
            s.group.node
        ));
    }
    out
}

/// The absolute form of `path` (relative to the current directory), without touching the disk.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests;
