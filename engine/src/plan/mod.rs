//! The plan: a validated, unrolled, keyed DAG of node instances, ready to execute.
//!
//! [`Plan::build`] takes a typed [`PipelineSpec`] and a [`Registry`], validates the whole graph
//! (reporting every problem together, see [`PlanErrors`]), unrolls repeat blocks, orders the
//! instances topologically and derives each instance's seed and cache key. A plan is plain data
//! and round-trips through JSON (`plan.json` in a run directory; `run-node --plan` reads it).

pub mod errors;
pub mod key;
pub mod render;
mod unroll;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use errors::{PlanError, PlanErrors};
pub use key::{ARTIFACT_FORMAT_VERSION, KeyInput, cache_key, node_seed};
pub use validate::SourceLookup;

use crate::node::Registry;
use crate::spec::{PipelineSpec, RuntimeConfig};

/// Version of the engine, recorded in plans and cache manifests.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A whole job, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub pipeline: String,
    pub seed: u64,
    pub engine_version: String,
    pub artifact_format_version: u32,
    pub runtime: RuntimeConfig,
    /// Node instances in execution (topological) order.
    pub nodes: Vec<PlannedNode>,
}

/// One node instance (`id` or `id@i` inside a repeat block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedNode {
    /// Instance id (`ppo@2`).
    pub id: String,
    /// Declared node id (`ppo`).
    pub node: String,
    pub kind: String,
    pub kind_version: u32,
    /// Artifact type it produces.
    pub output: String,
    pub cacheable: bool,
    /// 1-based iteration inside a repeat block.
    pub iteration: Option<u32>,
    /// Name of its repeat block.
    pub block: Option<String>,
    pub seed: u64,
    /// Canonical config from `Registry::resolve` (every default set).
    pub config: toml::Table,
    /// Port -> upstream instance id.
    pub inputs: BTreeMap<String, String>,
    /// Port -> upstream cache key.
    pub input_keys: BTreeMap<String, String>,
    /// Cache key (64 hex digits).
    pub key: String,
}

impl PlannedNode {
    /// First 12 hex digits of the key, as shown to people.
    pub fn short_key(&self) -> &str {
        &self.key[..self.key.len().min(12)]
    }
}

/// A `plan.json` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "plan file {path} is not a valid plan ({source}); regenerate it with `plan --format json` or use the run directory's plan.json"
    )]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

impl Plan {
    /// Validates and plans a pipeline; errors carry no provenance.
    pub fn build(spec: &PipelineSpec, registry: &dyn Registry) -> Result<Plan, PlanErrors> {
        Plan::build_with_sources(spec, registry, &|_| None)
    }

    /// Validates and plans a pipeline; `sources` maps a dotted config path
    /// (`nodes.<id>.<key>`) to where its value came from, for error messages.
    pub fn build_with_sources(
        spec: &PipelineSpec,
        registry: &dyn Registry,
        sources: SourceLookup<'_>,
    ) -> Result<Plan, PlanErrors> {
        let (checked, errors) = validate::validate(spec, registry, sources);
        if !errors.is_empty() {
            return Err(PlanErrors(errors));
        }
        let nodes = unroll::unroll(spec, &checked).map_err(|e| PlanErrors(vec![*e]))?;
        Ok(Plan {
            pipeline: spec.name.clone(),
            seed: spec.seed,
            engine_version: ENGINE_VERSION.to_string(),
            artifact_format_version: ARTIFACT_FORMAT_VERSION,
            runtime: spec.runtime.clone(),
            nodes,
        })
    }

    /// A node instance by id.
    pub fn node(&self, id: &str) -> Option<&PlannedNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Pretty JSON (what `plan.json` holds).
    pub fn to_json(&self) -> String {
        // A plan holds only strings, numbers and TOML values: serialising it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    pub fn from_json(text: &str, path: &str) -> Result<Plan, PlanFileError> {
        serde_json::from_str(text).map_err(|source| PlanFileError::Parse {
            path: path.into(),
            source,
        })
    }

    pub fn read(path: &std::path::Path) -> Result<Plan, PlanFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
            path: shown.clone(),
            source,
        })?;
        Plan::from_json(&text, &shown)
    }

    /// Instance ids that (transitively) read `id`'s output, in plan order.
    pub fn descendants(&self, id: &str) -> Vec<&str> {
        let mut marked: std::collections::HashSet<&str> = [id].into();
        let mut out = Vec::new();
        for n in &self.nodes {
            if n.inputs.values().any(|u| marked.contains(u.as_str())) {
                marked.insert(&n.id);
                out.push(n.id.as_str());
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests;
