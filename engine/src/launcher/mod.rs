//! Launchers: where the nodes of a run execute, chosen by `runtime.launcher`. `local` (the
//! default) is the executor in this process (`cli`, `sweep_run`); `slurm` submits them as batch
//! jobs ([`slurm`]). This module is the glue the CLI calls: [`run`] composes and plans every job
//! of a run or sweep, and when the launcher is not local creates the run directories, records
//! each job (config, plan), writes and submits the SLURM jobs, and with `--wait` follows them;
//! [`status`] shows (or follows) a submission later.

pub mod slurm;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cache::{Cache, Lookup};
use crate::cli::{AppInfo, CliError, Global, Prepared, prepare};
use crate::config::{self, SweepMode};
use crate::plan::Plan;
use crate::plan::render::{self, Status};
use crate::rundir::{self, JobRecord, Stamp, SweepDirs};
use crate::spec::{Launcher, RuntimeConfig};
use slurm::{LaunchJob, Record, SlurmCli, SlurmError};

/// Options of `run` that only matter to a non-local launcher.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    /// Write the job scripts without submitting them.
    pub dry_run: bool,
    /// Follow the jobs until they end (progress, failures with their logs); exit 1 if one failed.
    pub wait: bool,
}

fn slurm_error(e: SlurmError) -> CliError {
    if e.is_user() {
        CliError::user(e)
    } else {
        CliError::internal(e)
    }
}

/// `run` for the launcher the config chooses. Returns `Ok(false)` when it is `local` (the
/// caller then runs the jobs itself, as before); `sweep` is `Some` for `--multirun`.
pub fn run(
    app: AppInfo,
    g: &Global,
    pipeline: &str,
    overrides: &[String],
    sweep: Option<SweepMode>,
    opts: LaunchOptions,
) -> Result<bool, CliError> {
    let sources = crate::cli::job_sources(app, g)?;
    let jobs: Vec<Vec<String>> = match sweep {
        Some(mode) => config::expand_sweep(&sources, pipeline, overrides, mode)
            .map_err(|e| crate::cli::config_errors(&e))?,
        None => vec![overrides.to_vec()],
    };
    // Composing and parsing says which launcher each job wants (planning is left for later).
    let launchers: Vec<Launcher> = jobs
        .iter()
        .filter_map(|o| config::compose(&sources, pipeline, o).ok())
        .filter_map(|c| crate::spec_parse::parse(&c).ok())
        .map(|s| s.runtime.launcher)
        .collect();
    if launchers.iter().all(|l| *l == Launcher::Local) {
        // With no job that composes, the local path reports the config errors.
        if opts.dry_run && !launchers.is_empty() {
            return Err(CliError::User("--dry-run writes cluster job scripts, so it needs runtime.launcher = \"slurm\" (e.g. `launcher=slurm` where the pipeline declares that alias, or ++runtime.launcher=slurm)".into()));
        }
        // Local runs (and jobs that do not compose, whose errors the local path reports).
        return Ok(false);
    }
    if launchers.contains(&Launcher::Local) {
        return Err(CliError::User("the sweep mixes launchers (runtime.launcher differs between its jobs); sweep over it in separate runs".into()));
    }
    let prepared: Vec<Result<Prepared, CliError>> = jobs
        .iter()
        .map(|o| prepare(app, g, &sources, pipeline, o))
        .collect();
    let mut ok = Vec::with_capacity(prepared.len());
    let mut invalid = Vec::new();
    for (i, p) in prepared.into_iter().enumerate() {
        match p {
            Ok(p) => ok.push(p),
            Err(e) => invalid.push(format!("job {i} ({}): {e}", jobs[i].join(" "))),
        }
    }
    if !invalid.is_empty() {
        return Err(CliError::User(format!(
            "nothing was submitted: {} of {} jobs do not compose:\n{}",
            invalid.len(),
            jobs.len(),
            invalid.join("\n")
        )));
    }
    launch_slurm(app, &ok, &jobs, sweep.is_some(), opts).map(|()| true)
}

/// Creates the run directories, records the jobs, writes and submits the SLURM jobs.
fn launch_slurm(
    app: AppInfo,
    prepared: &[Prepared],
    jobs: &[Vec<String>],
    is_sweep: bool,
    opts: LaunchOptions,
) -> Result<(), CliError> {
    let first = &prepared[0];
    let runtime = &first.spec.runtime;
    if let Some(p) = prepared
        .iter()
        .find(|p| !same_launch_settings(&p.spec.runtime, runtime))
    {
        return Err(CliError::User(format!(
            "sweep job `{}` has other runtime.slurm or runtime.cache_dir settings than the first job; on SLURM every job of a sweep shares them: sweep over them in separate runs",
            p.composed.overrides.join(" ")
        )));
    }
    let mut declared: Vec<&str> = prepared
        .iter()
        .flat_map(|p| p.spec.nodes.iter().map(|n| n.id.as_str()))
        .collect();
    declared.sort_unstable();
    declared.dedup();
    let problems = runtime.slurm.validate(&declared);
    if !problems.is_empty() {
        return Err(slurm_error(SlurmError::Config(problems)));
    }

    let stamp = Stamp::now();
    let name = first.plan.pipeline.clone();
    let (root, dirs): (PathBuf, Vec<PathBuf>) = if is_sweep {
        let sweep =
            SweepDirs::create(&runtime.sweep_dir, &name, &stamp).map_err(CliError::internal)?;
        let dirs = jobs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                sweep
                    .job(i, &config::override_dirname(o), &name, &stamp)
                    .map_err(CliError::internal)
            })
            .collect::<Result<_, _>>()?;
        (sweep.root, dirs)
    } else {
        let dir = rundir::single(&runtime.run_dir, &name, &stamp).map_err(CliError::internal)?;
        (dir.clone(), vec![dir])
    };
    let root = slurm::absolute(&root);
    let mut launch_jobs = Vec::with_capacity(prepared.len());
    for (i, (p, dir)) in prepared.iter().zip(dirs).enumerate() {
        let dir = slurm::absolute(&dir);
        write_job_record(app, p, &dir)?;
        launch_jobs.push(LaunchJob {
            index: i,
            overrides: jobs[i].clone(),
            dir,
            plan: p.plan.clone(),
        });
    }

    let cache = Cache::new(&runtime.cache_dir);
    let layout = slurm::layout(&launch_jobs, &|n| {
        matches!(cache.check(&n.kind, &n.key, false), Lookup::Hit(_))
    })
    .map_err(slurm_error)?;
    link_cached(app, &launch_jobs, &layout);
    if layout.groups.is_empty() {
        tracing::info!(
            "nothing to submit: every node is already cached; outputs in {}",
            root.display()
        );
        println!("{}", root.display());
        return Ok(());
    }
    let workdir = std::env::current_dir()
        .map_err(|e| CliError::internal(format!("cannot read the current directory: {e}")))?;
    let command = match &runtime.slurm.command {
        Some(c) => c.clone(),
        None => {
            let exe = std::env::current_exe().map_err(|e| CliError::internal(format!("cannot find this program's path for the job scripts: {e}; set runtime.slurm.command")))?;
            slurm::script::quote(&exe.display().to_string())
        }
    };
    let program = format!("{} {}", app.name, app.version);
    let created = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let cache_dir = workdir.join(&runtime.cache_dir);
    let spec = slurm::LaunchSpec {
        root: &root,
        jobs: &launch_jobs,
        config: &runtime.slurm,
        program: &program,
        command: &command,
        workdir: &workdir,
        cache_dir: &cache_dir,
        created: &created,
        dry_run: opts.dry_run,
    };
    let mut record = slurm::write_scripts(&spec, &layout).map_err(slurm_error)?;
    let tasks: usize = layout.groups.iter().map(|g| g.tasks.len()).sum();
    if opts.dry_run {
        tracing::info!(
            "dry run: wrote {} job script(s) ({tasks} task(s)) to {}; submit them with `bash {}`",
            layout.groups.len(),
            root.join(slurm::SLURM_DIR).display(),
            root.join(slurm::SLURM_DIR).join("submit.sh").display()
        );
        println!("{}", root.display());
        return Ok(());
    }
    slurm::submit(&root, &mut record, &SlurmCli).map_err(slurm_error)?;
    tracing::info!(
        "submitted {} SLURM job(s) ({tasks} task(s)); {} node instance(s) already cached\n{}follow them with `{} status {}`",
        record.submitted.len(),
        record.cached.len(),
        slurm::submitted_summary(&record),
        app.name,
        root.display()
    );
    println!("{}", root.display());
    if opts.wait {
        follow(&root, &record, runtime)
    } else {
        Ok(())
    }
}

/// Settings that must not differ between the jobs of one SLURM launch.
fn same_launch_settings(a: &RuntimeConfig, b: &RuntimeConfig) -> bool {
    a.slurm == b.slurm && a.cache_dir == b.cache_dir
}

/// What a local run writes before executing: `config.toml`, `overrides.txt`, `plan.txt`, `plan.json`.
fn write_job_record(app: AppInfo, p: &Prepared, dir: &Path) -> Result<(), CliError> {
    let config_toml = crate::cli::show::render(&p.composed, &p.spec, app.registry)?;
    let plan_text = render::text(&p.plan, &statuses(&p.plan));
    let record = JobRecord {
        config_toml: &config_toml,
        choices: &p.composed.choices,
        overrides: &p.composed.overrides,
        plan: &p.plan,
        plan_text: &plan_text,
    };
    rundir::write_record(dir, &record).map_err(CliError::internal)
}

fn statuses(plan: &Plan) -> Vec<Status> {
    let cache = Cache::new(&plan.runtime.cache_dir);
    plan.nodes
        .iter()
        .map(
            |n| match (n.cacheable, cache.check(&n.kind, &n.key, false)) {
                (false, _) => Status::Always,
                (true, Lookup::Hit(_)) => Status::Cached,
                (true, _) => Status::ToRun,
            },
        )
        .collect()
}

/// Cached instances are not submitted; their files and metrics are linked into each job's run
/// directory here (a cache hit computes nothing), as a local run would.
fn link_cached(app: AppInfo, jobs: &[LaunchJob], layout: &slurm::Layout) {
    for unit in &layout.cached {
        for run in &unit.runs {
            let Some(job) = jobs.iter().find(|j| j.index == run.job) else {
                continue;
            };
            if let Err(e) = crate::exec::run_node(&job.plan, &run.node, app.registry, &run.dir) {
                tracing::warn!(
                    "could not link cached node `{}` into {}: {e}",
                    run.node,
                    run.dir.display()
                );
            }
        }
    }
}

/// `poll_interval_s` as a duration (validated at submission; clamped here all the same).
fn poll_interval(seconds: f64) -> Duration {
    Duration::from_secs_f64(if seconds.is_finite() {
        seconds.clamp(0.05, 3600.0)
    } else {
        5.0
    })
}

/// Polls until every job ended; prints the final table; failures exit 1.
fn follow(root: &Path, record: &Record, runtime: &RuntimeConfig) -> Result<(), CliError> {
    let poll = poll_interval(runtime.slurm.poll_interval_s);
    let report = slurm::wait(
        record,
        &SlurmCli,
        poll,
        crate::exec::progress_enabled(runtime.progress),
    )
    .map_err(slurm_error)?;
    let table = slurm::render(record, root, &report);
    if report.ok() {
        print!("{table}");
        Ok(())
    } else {
        Err(CliError::Failed(table))
    }
}

/// `status <run dir>`: the table of the jobs of a submission (`wait`: follow them first, polling
/// as often as the run's `runtime.slurm.poll_interval_s` says). Exits 1 when a task failed or never ran.
pub fn status(dir: &Path, wait: bool) -> Result<(), CliError> {
    let record = Record::read(dir).map_err(slurm_error)?;
    let report = if wait {
        // The run's own settings are in the first job's plan.
        let runtime = record
            .jobs
            .first()
            .and_then(|j| Plan::read(&j.dir.join("plan.json")).ok())
            .map(|p| p.runtime)
            .unwrap_or_default();
        let poll = poll_interval(runtime.slurm.poll_interval_s);
        slurm::wait(
            &record,
            &SlurmCli,
            poll,
            crate::exec::progress_enabled(runtime.progress),
        )
        .map_err(slurm_error)?
    } else {
        slurm::query(&record, &SlurmCli).map_err(slurm_error)?
    };
    let table = slurm::render(&record, dir, &report);
    if report.failed().is_empty()
        && !report
            .tasks
            .iter()
            .any(|t| t.state == slurm::TaskState::NeverRun)
    {
        print!("{table}");
        Ok(())
    } else {
        Err(CliError::Failed(table))
    }
}
