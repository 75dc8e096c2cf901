//! Learned shape correctors (`corrector` artifacts): a U-Net that reads a label map (0/1/2 as
//! float, one channel, as the reward nets read theirs; method.md 2.4) and writes the 3-class
//! segmentation it should have been. Trained by `train_corrector` on labelled-source labels
//! corrupted by the segmentation distortions (a denoiser), it carries the source's shape prior
//! (wall thickness, base, apex) into `anatomical_filter`, the role the original's private AR-VAE
//! plays there (method.md 4.2.2). It never sees an image, so the imaging domain gap does not
//! reach it. On disk it is a policy artifact (`actor.safetensors` + `preprocess.json`, the
//! geometry it was trained on); the artifact kind keeps it out of policy ports.

use std::path::Path;

use echo::preprocess::{PreprocessConfig, preprocess_arrays, undo_labels};
use engine::NodeError;
use models::sliding::SlidingWindow;
use models::{Device, UNet};
use ndarray::Array3;

use crate::infer::{actor_probs, labels_from_probs};
use crate::policy;

/// Artifact kind of learned shape correctors.
pub const CORRECTOR: &str = "corrector";

/// The corrector's input image: the label map as float 0/1/2.
pub fn encode(labels: &Array3<u8>) -> Array3<f32> {
    labels.mapv(f32::from)
}

/// A loaded corrector with the geometry it was trained on.
pub struct Corrector {
    pub net: UNet,
    pub preprocess: PreprocessConfig,
}

impl Corrector {
    pub fn load(dir: &Path, device: &Device) -> Result<Self, NodeError> {
        let p = policy::load(dir, device)?;
        Ok(Corrector {
            net: p.actor,
            preprocess: p.preprocess,
        })
    }

    /// The corrected version of a label sequence `[T, H, W]` at `spacing` `[dt, dy, dx]`, on the
    /// same grid: the labels are resampled (nearest) to the training grid, corrected by the
    /// temporal sliding window, then mapped back. An all-background input stays all background.
    pub fn correct(
        &self,
        labels: &Array3<u8>,
        spacing: [f64; 3],
        device: &Device,
    ) -> Result<Array3<u8>, NodeError> {
        if labels.iter().all(|&v| v == 0) {
            return Ok(labels.clone());
        }
        // The image slot only carries the grid: the net reads the resampled labels.
        let grid_only = PreprocessConfig {
            clahe: false,
            ..self.preprocess.clone()
        };
        let pp = preprocess_arrays(&encode(labels), Some(labels), spacing, &grid_only)
            .map_err(|e| NodeError::user(format!("corrector input: {e}")))?;
        let on_grid = pp
            .label
            .as_ref()
            .ok_or_else(|| NodeError::internal("preprocessing dropped the labels"))?;
        let probs = actor_probs(
            &self.net,
            &encode(on_grid),
            &SlidingWindow::default(),
            device,
        )?;
        undo_labels(&labels_from_probs(&probs), &pp.record)
            .map_err(|e| NodeError::internal(format!("corrector output: {e}")))
    }
}
