//! `checkpoint`: a policy from a file (the original's `ckpt_path`): our own checkpoint folder or
//! `actor.safetensors` (+ `actor.json` beside it), or the original RL4Seg3D PyTorch weights
//! (`.pt`/`.ckpt`/`.pth`: a bare state_dict, or a Lightning checkpoint with the network under
//! `state_dict` / `actor.actor.net.`) loaded into the `rl4seg3d` architecture.

use std::path::{Path, PathBuf};

use echo::preprocess::PreprocessConfig;
use engine::{KindInfo, Metrics, NodeContext, NodeError};
use models::UNetConfig;
use models::checkpoint;
use models::checkpoint::pytorch::{PytorchSource, load_pytorch};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{device, model_err};
use crate::policy;

pub static INFO: KindInfo = KindInfo {
    name: "checkpoint",
    doc: "load a policy from ckpt_path (our safetensors checkpoint, or the original's PyTorch weights)",
    version: 1,
    inputs: &[],
    output: policy::POLICY,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `checkpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Checkpoint folder, `.safetensors` file, or PyTorch `.pt`/`.ckpt`/`.pth` file.
    pub path: PathBuf,
    /// For PyTorch files: the dictionary key holding the state_dict (`""` = bare state_dict;
    /// Lightning checkpoints use `state_dict`).
    #[serde(default)]
    pub torch_key: String,
    /// For PyTorch files: key prefix of the actor network (`actor.actor.net.` in the original's
    /// full checkpoint; `""` for its bare `actor.ckpt`).
    #[serde(default)]
    pub torch_prefix: String,
    /// For PyTorch files: the architecture (defaults to the original's `rl4seg3d`).
    #[serde(default = "UNetConfig::rl4seg3d")]
    pub torch_model: UNetConfig,
}

fn actor_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("actor.safetensors")
    } else {
        path.to_path_buf()
    }
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if cfg.path.as_os_str().is_empty() {
        return Err(NodeError::user(
            "checkpoint: `path` (ckpt_path) is empty; give a checkpoint file or folder",
        ));
    }
    if !cfg.path.exists() {
        return Err(NodeError::user(format!(
            "ckpt_path {} does not exist",
            cfg.path.display()
        )));
    }
    let device = device(ctx)?;
    let ext = cfg
        .path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (actor, prep) = if matches!(ext.as_str(), "pt" | "pth" | "ckpt") {
        let source = PytorchSource {
            top_level_key: Some(cfg.torch_key.clone()).filter(|k| !k.is_empty()),
            prefix: cfg.torch_prefix.clone(),
        };
        let arch = models::roles::actor_config(&cfg.torch_model);
        (
            load_pytorch(&cfg.path, &source, &arch, &device).map_err(model_err)?,
            PreprocessConfig::default(),
        )
    } else if cfg.path.is_dir() {
        let p = policy::load(&cfg.path, &device)?;
        (p.actor, p.preprocess)
    } else {
        (
            checkpoint::load(&actor_file(&cfg.path), &device).map_err(model_err)?,
            PreprocessConfig::default(),
        )
    };
    policy::save(&ctx.output_dir, &actor, None, &prep)?;
    Ok(Metrics::from([(
        "params".to_string(),
        actor.config().num_params() as f64,
    )]))
}
