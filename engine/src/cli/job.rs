//! `run` (single job), `show`, `plan` and `run-node`: composing a pipeline with its overrides,
//! parsing it into a spec, planning it, and executing it into a fresh run directory.

use std::path::{Path, PathBuf};

use super::{AppInfo, CliError, Global, PlanFormat};
use crate::cache::{Cache, Lookup};
use crate::config::{self, Composed, ConfigErrors, ConfigSources};
use crate::exec::{self, NodeStatus};
use crate::plan::Plan;
use crate::plan::render::{self, Status};
use crate::rundir::{self, JobRecord, Stamp};
use crate::spec::PipelineSpec;

/// A composed, parsed and planned job.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub composed: Composed,
    pub spec: PipelineSpec,
    pub plan: Plan,
}

/// Several config problems read as one message.
pub fn config_errors(e: &ConfigErrors) -> CliError {
    match e.0.as_slice() {
        [one] => CliError::user(one),
        many => {
            let mut s = format!("{} problems in the config:", many.len());
            for (i, e) in many.iter().enumerate() {
                s.push_str(&format!("\n  {}. {e}", i + 1));
            }
            CliError::User(s)
        }
    }
}

pub fn sources(app: AppInfo, g: &Global) -> Result<ConfigSources, CliError> {
    ConfigSources::discover(app.builtin, &g.config_dir).map_err(CliError::user)
}

/// Composes, parses and plans one job (every error is a user error).
pub fn prepare(
    app: AppInfo,
    g: &Global,
    sources: &ConfigSources,
    pipeline: &str,
    overrides: &[String],
) -> Result<Prepared, CliError> {
    let composed = config::compose(sources, pipeline, overrides).map_err(|e| config_errors(&e))?;
    let mut spec = crate::spec_parse::parse(&composed).map_err(|e| config_errors(&e))?;
    if let Some(dir) = &g.cache_dir {
        spec.runtime.cache_dir = dir.clone();
    }
    let lookup = |path: &str| composed.provenance.source_of(path).map(|s| s.to_string());
    let plan = Plan::build_with_sources(&spec, app.registry, &lookup).map_err(CliError::user)?;
    Ok(Prepared {
        composed,
        spec,
        plan,
    })
}

/// Cache status of every instance (sizes checked, not hashes: `run` re-verifies).
pub fn statuses(plan: &Plan) -> Vec<Status> {
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

pub fn show(
    app: AppInfo,
    g: &Global,
    pipeline: &str,
    overrides: &[String],
) -> Result<(), CliError> {
    let sources = sources(app, g)?;
    let composed = config::compose(&sources, pipeline, overrides).map_err(|e| config_errors(&e))?;
    let mut spec = crate::spec_parse::parse(&composed).map_err(|e| config_errors(&e))?;
    if let Some(dir) = &g.cache_dir {
        spec.runtime.cache_dir = dir.clone();
    }
    print!("{}", super::show::render(&composed, &spec, app.registry)?);
    Ok(())
}

pub fn plan(
    app: AppInfo,
    g: &Global,
    pipeline: &str,
    overrides: &[String],
    format: PlanFormat,
) -> Result<(), CliError> {
    let p = prepare(app, g, &sources(app, g)?, pipeline, overrides)?;
    let status = statuses(&p.plan);
    match format {
        PlanFormat::Text => print!("{}", render::text(&p.plan, &status)),
        PlanFormat::Dot => print!("{}", render::dot(&p.plan, &status)),
        PlanFormat::Json => println!("{}", p.plan.to_json()),
    }
    Ok(())
}

/// Writes the job record into `dir` and executes the plan, logging into `dir/run.log`.
pub fn execute(app: AppInfo, p: &Prepared, dir: &Path) -> Result<exec::JobReport, CliError> {
    let config_toml = super::show::render(&p.composed, &p.spec, app.registry)?;
    let plan_text = render::text(&p.plan, &statuses(&p.plan));
    let record = JobRecord {
        config_toml: &config_toml,
        choices: &p.composed.choices,
        overrides: &p.composed.overrides,
        plan: &p.plan,
        plan_text: &plan_text,
    };
    rundir::write_record(dir, &record).map_err(CliError::internal)?;
    let _log = crate::logging::set_run_log(&dir.join("run.log")).map_err(|e| {
        CliError::internal(format!(
            "cannot write {}: {e}",
            dir.join("run.log").display()
        ))
    })?;
    tracing::info!("run directory: {}", dir.display());
    exec::run_plan(&p.plan, app.registry, dir).map_err(CliError::internal)
}

/// The error a failed job ends with (user errors keep exit code 2).
pub fn job_error(report: &exec::JobReport) -> Option<CliError> {
    let f = report.failure()?;
    match &f.status {
        NodeStatus::Failed {
            message,
            user: true,
        } => Some(CliError::User(format!(
            "node `{}` ({}) failed: {message}",
            f.id, f.kind
        ))),
        NodeStatus::Failed {
            message,
            user: false,
        } => Some(CliError::Internal(format!(
            "node `{}` ({}) failed: {message}",
            f.id, f.kind
        ))),
        _ => None,
    }
}

pub fn run(app: AppInfo, g: &Global, pipeline: &str, overrides: &[String]) -> Result<(), CliError> {
    let p = prepare(app, g, &sources(app, g)?, pipeline, overrides)?;
    let dir = rundir::single(&p.spec.runtime.run_dir, &p.plan.pipeline, &Stamp::now())
        .map_err(CliError::internal)?;
    let start = std::time::Instant::now();
    let report = execute(app, &p, &dir)?;
    if let Some(e) = job_error(&report) {
        return Err(e);
    }
    tracing::info!(
        "done: {} nodes ({} ran, {} cached) in {:.1} s; outputs in {}",
        report.nodes.len(),
        report.executed().len(),
        report.cached().len(),
        start.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

pub fn run_node(
    app: AppInfo,
    plan_path: &Path,
    node: &str,
    run_dir: Option<&Path>,
) -> Result<(), CliError> {
    let plan = Plan::read(plan_path).map_err(CliError::user)?;
    let dir: PathBuf = match run_dir {
        Some(d) => d.to_path_buf(),
        None => plan_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let _log = crate::logging::set_run_log(&dir.join("run.log")).map_err(|e| {
        CliError::internal(format!(
            "cannot write {}: {e}",
            dir.join("run.log").display()
        ))
    })?;
    let outcome = exec::run_node(&plan, node, app.registry, &dir).map_err(|e| match e {
        exec::ExecError::UnknownNode { .. } => CliError::user(e),
        other => CliError::internal(other),
    })?;
    let report = exec::JobReport {
        nodes: vec![outcome],
        metrics: Default::default(),
    };
    job_error(&report).map_or(Ok(()), Err)
}
