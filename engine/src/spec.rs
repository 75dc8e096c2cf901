//! The typed, strict form of a composed pipeline config: what the planner consumes.
//!
//! Composition (`config`) produces a `toml::Table` with provenance; [`PipelineSpec::from_table`]
//! turns it into these types. Every struct here is `deny_unknown_fields`; node configs stay
//! `toml::Table` here and are checked by the node kind's own typed config (`Registry::resolve`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A composed, validated pipeline (one job of a sweep).
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSpec {
    /// Pipeline name (file stem), used for run directories.
    pub name: String,
    /// Global seed; each node's seed is derived from (seed, node id, iteration).
    pub seed: u64,
    pub runtime: RuntimeConfig,
    /// Nodes by id, in file order.
    pub nodes: Vec<NodeSpec>,
    /// Repeat blocks by name.
    pub repeat: Vec<RepeatSpec>,
}

/// One `[nodes.<id>]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    pub id: String,
    pub kind: String,
    /// Port name -> reference (see [`InputRef`]).
    pub inputs: BTreeMap<String, InputRef>,
    /// The rest of the table: the node's own config, checked by `Registry::resolve`.
    pub config: toml::Table,
}

/// A reference to an upstream node, as written in `inputs = { port = "..." }`.
///
/// * `"id"`: node `id`. Inside a repeat block, a reference to a node of the same block means
///   the same iteration; from outside the block it means the last iteration.
/// * `"id@prev"`: the previous iteration's instance of block node `id`; the port is left
///   unconnected at iteration 1 (only allowed on optional ports).
/// * `"id@prev|other"`: as above, but iteration 1 reads node `other` (outside the block);
///   `"id@prev|a|b|"`: iteration 1 reads the first of `a`, `b` kept by its `when`, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRef {
    Node(String),
    Prev { node: String, first: Option<String> },
}

/// `[repeat.<name>]`: a group of nodes unrolled `iterations` times (instances `id@1`..`id@N`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatSpec {
    #[serde(skip)]
    pub name: String,
    /// Number of iterations (>= 1). Not hashed: raising it reuses the finished iterations.
    pub iterations: u32,
    /// Node ids in the block.
    pub nodes: Vec<String>,
}

/// `[runtime]`: knobs that never change results, so they are not part of any cache key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Cache root. Default `.rl4seg/cache`; the environment variable `RL4SEG_CACHE` overrides the default.
    pub cache_dir: PathBuf,
    /// Run directory template. `{pipeline}`, `{date}` (YYYY-MM-DD), `{time}` (HH-MM-SS) are expanded.
    pub run_dir: String,
    /// Multirun job directory template; also `{job}` (0-based number) and `{overrides}` (Hydra's override_dirname).
    pub sweep_dir: String,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
    /// Compute device: "cpu", "vulkan:0", "cuda:0".
    pub device: String,
    /// Progress bars.
    pub progress: ProgressMode,
    /// Where the nodes execute: `local` (this process) or `slurm` (batch jobs, see `slurm`).
    pub launcher: Launcher,
    /// Options of `launcher = "slurm"` (ignored by the local launcher).
    pub slurm: crate::launcher::slurm::SlurmConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: PathBuf::from(".rl4seg/cache"),
            run_dir: "outputs/{pipeline}/{date}_{time}".into(),
            sweep_dir: "multirun/{pipeline}/{date}_{time}/{job}_{overrides}".into(),
            threads: 0,
            device: "cpu".into(),
            progress: ProgressMode::Auto,
            launcher: Launcher::Local,
            slurm: crate::launcher::slurm::SlurmConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProgressMode {
    /// Bars when stderr is a terminal.
    Auto,
    Always,
    Never,
}

/// Where nodes execute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Launcher {
    /// In this process, one node after the other.
    Local,
    /// As SLURM batch jobs: one per node instance, the sweep points of a node as one job array,
    /// edges as dependencies; options in `[runtime.slurm]` (`engine::launcher::slurm`).
    Slurm,
}
