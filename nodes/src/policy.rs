//! Policy artifacts (`policy`): the actor U-Net (`actor.safetensors` + `actor.json`), optionally
//! its critic, and the preprocessing it expects (`preprocess.json`), so that a checkpoint is
//! self-describing: `predict` resamples new data to the spacing the policy was trained at.

use std::path::Path;

use echo::preprocess::PreprocessConfig;
use engine::NodeError;
use models::{Device, UNet, checkpoint};

use crate::compute::model_err;

/// Artifact kind of segmentation policies.
pub const POLICY: &str = "policy";
const ACTOR: &str = "actor.safetensors";
const CRITIC: &str = "critic.safetensors";
const PREPROCESS: &str = "preprocess.json";

/// A loaded policy.
pub struct Policy {
    pub actor: UNet,
    pub critic: Option<UNet>,
    /// Preprocessing of inference inputs (always resamples to the training spacing).
    pub preprocess: PreprocessConfig,
}

/// Write a policy into an artifact directory.
pub fn save(
    dir: &Path,
    actor: &UNet,
    critic: Option<&UNet>,
    preprocess: &PreprocessConfig,
) -> Result<(), NodeError> {
    checkpoint::save(actor, &dir.join(ACTOR)).map_err(model_err)?;
    if let Some(c) = critic {
        checkpoint::save(c, &dir.join(CRITIC)).map_err(model_err)?;
    }
    let text =
        serde_json::to_string_pretty(preprocess).map_err(|e| NodeError::internal(e.to_string()))?;
    std::fs::write(dir.join(PREPROCESS), text).map_err(|e| {
        NodeError::internal(format!(
            "cannot write {}: {e}",
            dir.join(PREPROCESS).display()
        ))
    })
}

/// Read a policy from an artifact directory (or any folder laid out the same way).
pub fn load(dir: &Path, device: &Device) -> Result<Policy, NodeError> {
    let actor = checkpoint::load(&dir.join(ACTOR), device).map_err(model_err)?;
    let critic_path = dir.join(CRITIC);
    let critic = if critic_path.exists() {
        Some(checkpoint::load(&critic_path, device).map_err(model_err)?)
    } else {
        None
    };
    let prep_path = dir.join(PREPROCESS);
    let preprocess = match std::fs::read_to_string(&prep_path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            NodeError::user(format!(
                "{}: not a preprocessing record ({e})",
                prep_path.display()
            ))
        })?,
        // A bare checkpoint: the original's inference preprocessing (method.md 1.4).
        Err(_) => PreprocessConfig::default(),
    };
    Ok(Policy {
        actor,
        critic,
        preprocess,
    })
}
