//! The contract between the engine and the node kinds it runs.
//!
//! The engine knows node kinds only through a [`Registry`]: a static list of kinds (name, doc,
//! version, typed input ports, output artifact type) plus three functions: resolve a raw node
//! config into its canonical typed form, describe its JSON schema, and run it. The real registry
//! (burn, echo) lives in the `nodes` crate; the engine's own tests use a toy registry.
//!
//! A node run gets a [`NodeContext`]: the artifact directories of its inputs, a fresh temporary
//! artifact directory to fill (the engine renames it into the cache atomically when `run`
//! returns `Ok`), a seed derived from (global seed, node id), and the runtime knobs that do not
//! change results (threads, device, progress display).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One input port of a node kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// Name used in the pipeline file: `inputs = { <name> = "<node id>" }`.
    pub name: &'static str,
    /// Artifact types accepted on this port (an upstream node's `output` must be one of them).
    pub accepts: &'static [&'static str],
    /// An optional port may be left unconnected.
    pub optional: bool,
}

/// Static description of a node kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub name: &'static str,
    /// One line, shown by `rl4seg list`.
    pub doc: &'static str,
    /// Bump when the kind's results change for the same config: it is part of the cache key.
    pub version: u32,
    pub inputs: &'static [Port],
    /// Artifact type of the output (e.g. "sequences", "predictions", "checkpoint").
    pub output: &'static str,
    /// `false` for side-effect nodes (e.g. writing files to a user path) that run every time.
    pub cacheable: bool,
}

/// Error from resolving a node config: `path` is the dotted key inside the node's config
/// (empty for the whole table), `message` says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

/// Error from running a node. `User` errors (bad input data, missing file) exit with code 2;
/// `Internal` errors exit with code 1.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("{0}")]
    User(String),
    #[error("{0}")]
    Internal(String),
}

impl NodeError {
    pub fn user(msg: impl Into<String>) -> Self {
        NodeError::User(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        NodeError::Internal(msg.into())
    }
}

/// Headline numbers a node reports (shown in the run log and the multirun summary table,
/// written to `<run dir>/metrics.json`).
pub type Metrics = BTreeMap<String, f64>;

/// Runtime knobs that never change results and are therefore not hashed.
#[derive(Debug, Clone)]
pub struct RuntimeKnobs {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Compute device, e.g. "cpu", "vulkan:0", "cuda:0".
    pub device: String,
    /// Draw progress bars (only when stderr is a terminal).
    pub progress: bool,
}

/// Everything a node needs to run once.
#[derive(Debug)]
pub struct NodeContext {
    /// Node instance id as the user sees it (`ppo@2` for iteration 2 of a repeat block).
    pub node_id: String,
    /// Its cache key (hex).
    pub key: String,
    /// Iteration number (1-based) when the node is inside a repeat block.
    pub iteration: Option<u32>,
    /// Seed derived from (global seed, node id without the iteration suffix, iteration).
    pub seed: u64,
    /// For each connected input port: the upstream artifact directory. Each directory holds
    /// `artifact.h5` (or whatever the upstream kind wrote) and `files/`.
    pub inputs: BTreeMap<String, PathBuf>,
    /// The directory to fill. Write the main artifact to `output_dir/artifact.h5`, files meant for
    /// people (PNG, GIF, CSV, NIfTI) to `output_dir/files/`; the engine links those into the run
    /// directory under `<run dir>/<node id>/`.
    pub output_dir: PathBuf,
    /// The run directory of the current job (for logs only; write outputs to `output_dir`).
    pub run_dir: PathBuf,
    pub runtime: RuntimeKnobs,
}

impl NodeContext {
    /// Upstream artifact directory of a connected port.
    pub fn input(&self, port: &str) -> Result<&Path, NodeError> {
        self.inputs.get(port).map(PathBuf::as_path).ok_or_else(|| {
            NodeError::internal(format!(
                "node `{}`: input port `{port}` is not connected",
                self.node_id
            ))
        })
    }
    /// Main artifact path for this node's output.
    pub fn artifact_path(&self) -> PathBuf {
        self.output_dir.join("artifact.h5")
    }
    /// Folder for files meant for people (created on demand).
    pub fn files_dir(&self) -> Result<PathBuf, NodeError> {
        let dir = self.output_dir.join("files");
        std::fs::create_dir_all(&dir)
            .map_err(|e| NodeError::internal(format!("cannot create {}: {e}", dir.display())))?;
        Ok(dir)
    }
}

/// The set of node kinds a binary knows.
pub trait Registry: Send + Sync {
    /// Every kind, in the order `rl4seg list` shows them.
    fn kinds(&self) -> &'static [KindInfo];

    /// Check a node's raw config (the `[nodes.<id>]` table without `kind` and `inputs`) against
    /// the kind's typed, strict config, and return the canonical form with every default set.
    /// The canonical form is what is hashed and what `rl4seg show` prints.
    fn resolve(&self, kind: &str, raw: toml::Table) -> Result<toml::Table, Vec<ConfigIssue>>;

    /// JSON Schema of the kind's config (for `rl4seg schema`).
    fn schema(&self, kind: &str) -> serde_json::Value;

    /// Run one node. `config` is the canonical table returned by `resolve`.
    fn run(
        &self,
        kind: &str,
        config: &toml::Table,
        ctx: &NodeContext,
    ) -> Result<Metrics, NodeError>;

    /// Fingerprint of what a node reads from outside the cache (e.g. the size and modification
    /// time of every input file of a `load` node), hashed into its cache key so that a changed
    /// file invalidates the entry. `None` for kinds that read only their inputs and config.
    fn external_fingerprint(
        &self,
        _kind: &str,
        _config: &toml::Table,
    ) -> Result<Option<String>, NodeError> {
        Ok(None)
    }

    /// Look a kind up by name.
    fn kind(&self, name: &str) -> Option<&'static KindInfo> {
        self.kinds().iter().find(|k| k.name == name)
    }
}

/// Resolve a raw node config through its typed, strict config struct `C`: deserialize (every
/// unknown key, wrong type or bad enum value becomes a [`ConfigIssue`] naming the key path), then
/// serialize back so the canonical table has every default set. Registries call this from
/// [`Registry::resolve`].
pub fn resolve_typed<C>(raw: toml::Table) -> Result<toml::Table, Vec<ConfigIssue>>
where
    C: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: C = serde_path_to_error::deserialize(toml::Value::Table(raw)).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        vec![ConfigIssue {
            path,
            message: e.into_inner().to_string().trim().to_string(),
        }]
    })?;
    toml::Table::try_from(&typed).map_err(|e| {
        vec![ConfigIssue {
            path: String::new(),
            message: format!("cannot canonicalise config: {e}"),
        }]
    })
}

/// Deserialize a canonical table (as returned by [`resolve_typed`]) into `C` for running.
pub fn typed<C: serde::de::DeserializeOwned>(config: &toml::Table) -> Result<C, NodeError> {
    C::deserialize(toml::Value::Table(config.clone()))
        .map_err(|e| NodeError::internal(format!("canonical config does not deserialize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[serde(default = "two")]
        b: u32,
    }
    fn two() -> u32 {
        2
    }
    #[derive(serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        a: String,
        #[serde(default = "inner")]
        inner: Inner,
    }
    fn inner() -> Inner {
        Inner { b: 2 }
    }

    #[test]
    fn resolve_fills_defaults_and_names_bad_keys() {
        let raw: toml::Table = toml::from_str("a = 'x'").expect("toml");
        let got = resolve_typed::<Outer>(raw).expect("valid");
        assert_eq!(
            toml::to_string(&got).expect("ser").trim(),
            "a = \"x\"\n\n[inner]\nb = 2"
        );

        let raw: toml::Table = toml::from_str("a = 'x'\n[inner]\nbb = 3").expect("toml");
        let err = resolve_typed::<Outer>(raw).expect_err("unknown key");
        assert_eq!(err[0].path, "inner.bb");
        assert!(
            err[0].message.contains("unknown field `bb`"),
            "{}",
            err[0].message
        );

        let raw: toml::Table = toml::from_str("a = 3").expect("toml");
        let err = resolve_typed::<Outer>(raw).expect_err("type");
        assert_eq!(err[0].path, "a");
    }
}
