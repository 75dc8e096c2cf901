//! The executor: runs a [`Plan`] in topological order, one `tracing` span per node, skipping
//! cache hits, with a progress bar over nodes and one log line per node
//! (`✓ simulate (cached)`, `▶ train (running)`, `✓ train 12.3 s`). A failing node stops the job
//! (the nodes after it are reported "not run"). After each node its `files/` are linked into the
//! run directory and its metrics gathered into `metrics.json`. Non-cacheable kinds always run,
//! into a temporary directory removed when the job ends. [`run_node`] executes exactly one
//! instance whose inputs are already cached (what a cluster job calls).

pub mod outputs;

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cache::{Cache, CacheError, EntryMeta, GetError, KeyLock, Lookup, Outcome, TmpDir};
use crate::node::{Metrics, NodeContext, NodeError, Registry, RuntimeKnobs};
use crate::plan::errors::nearest;
use crate::plan::{Plan, PlannedNode};
use crate::spec::ProgressMode;

/// A failure of the engine itself (not of a node).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("cannot {what} {}: {source}", .path.display())]
    RunDir {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the plan has no node `{id}`{}; its nodes are: {}", .suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default(), .known.join(", "))]
    UnknownNode {
        id: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("node `{node}`: input `{port}` (node `{upstream}`, key {key}) is not in the cache at {}; run `{upstream}` first", .cache.display())]
    InputNotCached {
        node: String,
        port: String,
        upstream: String,
        key: String,
        cache: PathBuf,
    },
}

/// How one node instance ended.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeStatus {
    Cached,
    Ran { seconds: f64 },
    Failed { message: String, user: bool },
    NotRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeOutcome {
    pub id: String,
    pub kind: String,
    pub status: NodeStatus,
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    pub nodes: Vec<NodeOutcome>,
    /// Node id -> metrics (cached nodes included: they come from the manifest).
    pub metrics: BTreeMap<String, Metrics>,
}

impl JobReport {
    /// Nodes that were computed (not cached).
    pub fn executed(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| matches!(n.status, NodeStatus::Ran { .. }))
            .map(|n| n.id.as_str())
            .collect()
    }
    pub fn cached(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Cached)
            .map(|n| n.id.as_str())
            .collect()
    }
    /// The failed node, if any.
    pub fn failure(&self) -> Option<&NodeOutcome> {
        self.nodes
            .iter()
            .find(|n| matches!(n.status, NodeStatus::Failed { .. }))
    }
    pub fn ok(&self) -> bool {
        self.failure().is_none()
    }
}

thread_local! {
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// For a panic hook: whether this thread is running a node (the executor reports the panic as
/// that node's failure). If so, the location is kept for the debug log and `true` is returned.
pub fn panic_is_caught(location: Option<String>) -> bool {
    let caught = CATCHING.with(|c| c.get());
    if caught {
        PANIC_AT.with(|a| *a.borrow_mut() = location);
    }
    caught
}

/// Whether to draw a progress bar for this runtime setting.
pub fn progress_enabled(mode: ProgressMode) -> bool {
    match mode {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    }
}

struct Job<'a> {
    registry: &'a dyn Registry,
    cache: Cache,
    run_dir: &'a Path,
    knobs: RuntimeKnobs,
}

/// Runs every node of `plan` (cache hits skipped); node outputs go to `run_dir`.
pub fn run_plan(
    plan: &Plan,
    registry: &dyn Registry,
    run_dir: &Path,
) -> Result<JobReport, ExecError> {
    let job = Job::new(plan, registry, run_dir)?;
    let bar = if job.knobs.progress {
        let bar = ProgressBar::with_draw_target(
            Some(plan.nodes.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} nodes  {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let _attached = crate::logging::attach_progress(&bar);

    let mut dirs: HashMap<String, PathBuf> = HashMap::new();
    let mut held: Vec<(KeyLock, TmpDir)> = Vec::new();
    let mut report = JobReport {
        nodes: Vec::new(),
        metrics: BTreeMap::new(),
    };
    let mut failed = false;
    for n in &plan.nodes {
        if failed {
            report.nodes.push(NodeOutcome {
                id: n.id.clone(),
                kind: n.kind.clone(),
                status: NodeStatus::NotRun,
            });
            continue;
        }
        bar.set_message(n.id.clone());
        let status = match job.execute(n, &dirs, &mut held) {
            Ok((dir, metrics, status)) => {
                dirs.insert(n.id.clone(), dir);
                report.metrics.insert(n.id.clone(), metrics);
                outputs::write_metrics(run_dir, &report.metrics)?;
                status
            }
            Err(status) => {
                failed = true;
                status
            }
        };
        report.nodes.push(NodeOutcome {
            id: n.id.clone(),
            kind: n.kind.clone(),
            status,
        });
        bar.inc(1);
    }
    let not_run: Vec<&str> = report
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::NotRun)
        .map(|n| n.id.as_str())
        .collect();
    if !not_run.is_empty() {
        tracing::info!("not run: {}", not_run.join(", "));
    }
    Ok(report)
}

/// Runs exactly one instance of `plan`; every input must already be cached.
pub fn run_node(
    plan: &Plan,
    node_id: &str,
    registry: &dyn Registry,
    run_dir: &Path,
) -> Result<NodeOutcome, ExecError> {
    let job = Job::new(plan, registry, run_dir)?;
    let n = plan.node(node_id).ok_or_else(|| ExecError::UnknownNode {
        id: node_id.to_string(),
        suggestion: nearest(node_id, plan.nodes.iter().map(|n| n.id.as_str())),
        known: plan.nodes.iter().map(|n| n.id.clone()).collect(),
    })?;
    let mut dirs = HashMap::new();
    for (port, up) in &n.inputs {
        let upstream = plan.node(up).ok_or_else(|| ExecError::UnknownNode {
            id: up.clone(),
            suggestion: None,
            known: vec![],
        })?;
        match job.cache.check(&upstream.kind, &upstream.key, true) {
            Lookup::Hit(hit) => {
                dirs.insert(up.clone(), hit.dir);
            }
            Lookup::Missing | Lookup::Corrupt(_) => {
                return Err(ExecError::InputNotCached {
                    node: n.id.clone(),
                    port: port.clone(),
                    upstream: up.clone(),
                    key: upstream.key.clone(),
                    cache: job.cache.root().to_path_buf(),
                });
            }
        }
    }
    let mut held = Vec::new();
    let status = match job.execute(n, &dirs, &mut held) {
        Ok((_, metrics, status)) => {
            outputs::merge_metrics(run_dir, &n.id, metrics)?;
            status
        }
        Err(status) => status,
    };
    Ok(NodeOutcome {
        id: n.id.clone(),
        kind: n.kind.clone(),
        status,
    })
}

impl<'a> Job<'a> {
    fn new(
        plan: &'a Plan,
        registry: &'a dyn Registry,
        run_dir: &'a Path,
    ) -> Result<Self, ExecError> {
        std::fs::create_dir_all(run_dir).map_err(|e| ExecError::RunDir {
            what: "create",
            path: run_dir.into(),
            source: e,
        })?;
        let knobs = RuntimeKnobs {
            threads: plan.runtime.threads,
            device: plan.runtime.device.clone(),
            progress: progress_enabled(plan.runtime.progress),
        };
        Ok(Job {
            registry,
            cache: Cache::new(&plan.runtime.cache_dir),
            run_dir,
            knobs,
        })
    }

    /// Runs or fetches one instance: (entry dir, metrics, status), or the failed status.
    fn execute(
        &self,
        n: &PlannedNode,
        dirs: &HashMap<String, PathBuf>,
        held: &mut Vec<(KeyLock, TmpDir)>,
    ) -> Result<(PathBuf, Metrics, NodeStatus), NodeStatus> {
        let span = tracing::info_span!("node", id = %n.id, kind = %n.kind);
        let _entered = span.enter();
        let result = if n.cacheable {
            self.cached(n, dirs)
        } else {
            self.uncached(n, dirs, held)
        };
        let result = result.and_then(|(dir, metrics, status)| {
            outputs::link_files(&dir, self.run_dir, &n.id)
                .map_err(|e| NodeError::internal(e.to_string()))?;
            Ok((dir, metrics, status))
        });
        result.map_err(|e| {
            let (message, user) = match e {
                NodeError::User(m) => (m, true),
                NodeError::Internal(m) => (m, false),
            };
            tracing::error!("✗ {} failed: {message}", n.id);
            NodeStatus::Failed { message, user }
        })
    }

    fn context(
        &self,
        n: &PlannedNode,
        dirs: &HashMap<String, PathBuf>,
        output_dir: &Path,
    ) -> Result<NodeContext, NodeError> {
        let mut inputs = BTreeMap::new();
        for (port, up) in &n.inputs {
            let dir = dirs.get(up).ok_or_else(|| {
                NodeError::internal(format!(
                    "input `{port}` of `{}` (node `{up}`) has no output",
                    n.id
                ))
            })?;
            inputs.insert(port.clone(), dir.clone());
        }
        Ok(NodeContext {
            node_id: n.id.clone(),
            key: n.key.clone(),
            iteration: n.iteration,
            seed: n.seed,
            inputs,
            output_dir: output_dir.to_path_buf(),
            run_dir: self.run_dir.to_path_buf(),
            runtime: self.knobs.clone(),
        })
    }

    /// Calls the registry, turning a panic into an internal error.
    fn call(&self, n: &PlannedNode, ctx: &NodeContext) -> Result<Metrics, NodeError> {
        let run = || self.registry.run(&n.kind, &n.config, ctx);
        CATCHING.with(|c| c.set(true));
        let result = std::panic::catch_unwind(AssertUnwindSafe(run));
        CATCHING.with(|c| c.set(false));
        result.unwrap_or_else(|payload| {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            let at = PANIC_AT
                .with(|a| a.take())
                .map(|a| format!(" at {a}"))
                .unwrap_or_default();
            tracing::debug!("node `{}` panicked{at}", n.id);
            Err(NodeError::internal(format!(
                "node `{}` ({}) panicked: {msg}; this is a bug",
                n.id, n.kind
            )))
        })
    }

    fn cached(
        &self,
        n: &PlannedNode,
        dirs: &HashMap<String, PathBuf>,
    ) -> Result<(PathBuf, Metrics, NodeStatus), NodeError> {
        let meta = EntryMeta {
            kind: &n.kind,
            kind_version: n.kind_version,
            key: &n.key,
            node_id: &n.id,
            iteration: n.iteration,
            seed: n.seed,
            config: &n.config,
            inputs: &n.input_keys,
        };
        let outcome = self.cache.get_or_compute(
            &meta,
            || tracing::info!("… {} (waiting: another process is computing it)", n.id),
            || tracing::info!("▶ {} (running)", n.id),
            |dir| {
                let ctx = self.context(n, dirs, dir)?;
                self.call(n, &ctx)
            },
        );
        match outcome {
            Ok(Outcome::Cached(hit)) => {
                tracing::info!("✓ {} (cached)", n.id);
                Ok((hit.dir, hit.manifest.metrics, NodeStatus::Cached))
            }
            Ok(Outcome::Computed { hit, seconds }) => {
                tracing::info!("✓ {} {seconds:.1} s", n.id);
                Ok((hit.dir, hit.manifest.metrics, NodeStatus::Ran { seconds }))
            }
            Err(GetError::Compute(e)) => Err(e),
            Err(GetError::Cache(e)) => Err(NodeError::internal(e.to_string())),
        }
    }

    fn uncached(
        &self,
        n: &PlannedNode,
        dirs: &HashMap<String, PathBuf>,
        held: &mut Vec<(KeyLock, TmpDir)>,
    ) -> Result<(PathBuf, Metrics, NodeStatus), NodeError> {
        let internal = |e: CacheError| NodeError::internal(e.to_string());
        let lock = self.cache.lock(&n.kind, &n.key).map_err(internal)?;
        let tmp = self.cache.tmp_dir(&n.kind, &n.key).map_err(internal)?;
        tracing::info!("▶ {} (running, not cached)", n.id);
        let start = std::time::Instant::now();
        let ctx = self.context(n, dirs, tmp.path())?;
        let metrics = self.call(n, &ctx)?;
        let seconds = start.elapsed().as_secs_f64();
        tracing::info!("✓ {} {seconds:.1} s", n.id);
        let dir = tmp.path().to_path_buf();
        // Kept (and locked) until the job ends: later nodes may read it.
        held.push((lock, tmp));
        Ok((dir, metrics, NodeStatus::Ran { seconds }))
    }
}

#[cfg(test)]
mod tests;
