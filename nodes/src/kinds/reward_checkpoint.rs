//! `reward_checkpoint`: a reward model from a file (the `reward_path` of `rl4seg run predict`):
//! a `train_reward` output folder (`reward.safetensors` + `calibration.json`) or a bare
//! `.safetensors` file with its `.json` config beside it. Lets `predict` write uncertainty maps
//! and run test-time optimisation with a reward net trained elsewhere.

use std::path::PathBuf;

use engine::{KindInfo, Metrics, NodeContext, NodeError};
use models::checkpoint;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::compute::{device, model_err};
use crate::rewardmodel::{self, Calibration, REWARD_MODEL};

pub static INFO: KindInfo = KindInfo {
    name: "reward_checkpoint",
    doc: "load a reward net from reward_path (a train_reward folder or a .safetensors file)",
    version: 1,
    inputs: &[],
    output: REWARD_MODEL,
    cacheable: true,
};

/// `[nodes.<id>]` of kind `reward_checkpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Reward-model folder or `.safetensors` file.
    pub path: PathBuf,
}

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    if cfg.path.as_os_str().is_empty() || !cfg.path.exists() {
        return Err(NodeError::user(format!(
            "reward_path {:?} does not exist; give a train_reward output folder or a .safetensors file",
            cfg.path.display().to_string()
        )));
    }
    let device = device(ctx)?;
    let model = if cfg.path.is_dir() {
        rewardmodel::load(&cfg.path, &device)?
    } else {
        let net = checkpoint::load(&cfg.path, &device).map_err(model_err)?;
        rewardmodel::RewardModel {
            net,
            calibration: Calibration {
                temperature: 1.0,
                val_accuracy: None,
                val_error_recall: None,
            },
        }
    };
    rewardmodel::save(&ctx.output_dir, &model.net, &model.calibration)?;
    Ok(Metrics::from([(
        "params".to_string(),
        model.net.config().num_params() as f64,
    )]))
}
