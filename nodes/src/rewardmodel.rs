//! Reward-model artifacts (`reward_model`): the reward U-Net (`reward.safetensors` +
//! `reward.json`, method.md 2.4: in 2 = image + label map, out 1 logit) and `calibration.json`
//! with the temperature fitted on validation data (method.md 5). Written by `train_reward`, read
//! by `ppo`, `predict` (reward / uncertainty maps) and the next iteration's `train_reward`.

use std::path::Path;

use engine::NodeError;
use models::{Device, UNet, checkpoint};
use serde::{Deserialize, Serialize};

use crate::compute::model_err;

pub const REWARD_MODEL: &str = "reward_model";
const WEIGHTS: &str = "reward.safetensors";
const CALIBRATION: &str = "calibration.json";

/// What `train_reward` measured, stored beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Temperature `T` of `sigmoid(logit / T)` fitted on validation (1 = none).
    pub temperature: f64,
    /// Voxel accuracy of `reward > 0.5` against the correctness target on validation.
    pub val_accuracy: Option<f64>,
    /// Fraction of known-wrong validation voxels the net flags (reward < 0.5).
    pub val_error_recall: Option<f64>,
}

/// A loaded reward model.
pub struct RewardModel {
    pub net: UNet,
    pub calibration: Calibration,
}

pub fn save(dir: &Path, net: &UNet, calibration: &Calibration) -> Result<(), NodeError> {
    checkpoint::save(net, &dir.join(WEIGHTS)).map_err(model_err)?;
    let text = serde_json::to_string_pretty(calibration)
        .map_err(|e| NodeError::internal(e.to_string()))?;
    std::fs::write(dir.join(CALIBRATION), text).map_err(|e| {
        NodeError::internal(format!(
            "cannot write {}: {e}",
            dir.join(CALIBRATION).display()
        ))
    })
}

pub fn load(dir: &Path, device: &Device) -> Result<RewardModel, NodeError> {
    let net = checkpoint::load(&dir.join(WEIGHTS), device).map_err(model_err)?;
    if net.config().in_channels != 2 || net.config().out_channels != 1 {
        return Err(NodeError::user(format!(
            "{}: a reward net takes 2 input channels (image, labels) and gives 1; this one has {} and {}",
            dir.join(WEIGHTS).display(),
            net.config().in_channels,
            net.config().out_channels
        )));
    }
    let path = dir.join(CALIBRATION);
    let calibration = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            NodeError::user(format!(
                "{}: not a calibration record ({e})",
                path.display()
            ))
        })?,
        Err(_) => Calibration {
            temperature: 1.0,
            val_accuracy: None,
            val_error_recall: None,
        },
    };
    Ok(RewardModel { net, calibration })
}
