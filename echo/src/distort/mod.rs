//! Segmentation distortions on label sequences `[T, H, W]` (issue #5, going beyond the original,
//! whose reward set only perturbs network weights and image intensities, method.md 4.4): erosion
//! and dilation of a structure, punched holes, detached blobs, smooth boundary shifts and
//! temporal glitches. Each takes its parameters and an RNG and returns a new label array; each has
//! a config with an on/off switch and magnitude ranges so ablations can be swept. The reward
//! target of a distorted prediction is [`correctness_map`] (method.md 4.8: `1[gt == pred]`).

mod common;
pub mod morphological;
pub mod shapes;
pub mod temporal;

use ndarray::{Array3, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use common::{Choice, Structure, displacement_field};
pub use morphological::{ErodeDilateConfig, ErodeDilateMode, erode_dilate, erode_dilate_frame};
pub use shapes::{
    BlobsConfig, BoundaryShiftConfig, HoleFill, HolesConfig, ShiftedBoundary, boundary_shift,
    detached_blobs, punch_holes,
};
pub use temporal::{GlitchMode, TemporalGlitchConfig, replace_frame, swap_frames, temporal_glitch};

use crate::{Error, Result};

/// The distortion families, in the order [`distort_all`] applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DistortionKind {
    ErodeDilate,
    Holes,
    Blobs,
    BoundaryShift,
    TemporalGlitch,
}

impl DistortionKind {
    pub const ALL: [DistortionKind; 5] = [
        DistortionKind::ErodeDilate,
        DistortionKind::Holes,
        DistortionKind::Blobs,
        DistortionKind::BoundaryShift,
        DistortionKind::TemporalGlitch,
    ];

    /// Name used in file names and logs (`erode_dilate`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DistortionKind::ErodeDilate => "erode_dilate",
            DistortionKind::Holes => "holes",
            DistortionKind::Blobs => "blobs",
            DistortionKind::BoundaryShift => "boundary_shift",
            DistortionKind::TemporalGlitch => "temporal_glitch",
        }
    }
}

/// All segmentation distortions (each with its own `enabled` switch).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DistortConfig {
    pub erode_dilate: ErodeDilateConfig,
    pub holes: HolesConfig,
    pub blobs: BlobsConfig,
    pub boundary_shift: BoundaryShiftConfig,
    pub temporal_glitch: TemporalGlitchConfig,
}

impl DistortConfig {
    pub fn is_enabled(&self, kind: DistortionKind) -> bool {
        match kind {
            DistortionKind::ErodeDilate => self.erode_dilate.enabled,
            DistortionKind::Holes => self.holes.enabled,
            DistortionKind::Blobs => self.blobs.enabled,
            DistortionKind::BoundaryShift => self.boundary_shift.enabled,
            DistortionKind::TemporalGlitch => self.temporal_glitch.enabled,
        }
    }

    pub fn enabled_kinds(&self) -> Vec<DistortionKind> {
        DistortionKind::ALL
            .into_iter()
            .filter(|k| self.is_enabled(*k))
            .collect()
    }

    /// Checks every range (min <= max, probabilities in [0, 1]).
    pub fn validate(&self) -> Result<()> {
        self.erode_dilate.validate()?;
        self.holes.validate()?;
        self.blobs.validate()?;
        self.boundary_shift.validate()?;
        self.temporal_glitch.validate()
    }

    /// Applies one distortion family with its config (whether enabled or not).
    pub fn apply<R: Rng + ?Sized>(
        &self,
        kind: DistortionKind,
        labels: &Array3<u8>,
        rng: &mut R,
    ) -> Result<Array3<u8>> {
        crate::preprocess::check_labels(labels.view(), "labels to distort")?;
        Ok(match kind {
            DistortionKind::ErodeDilate => erode_dilate(labels, &self.erode_dilate, rng)?,
            DistortionKind::Holes => punch_holes(labels, &self.holes, rng)?,
            DistortionKind::Blobs => detached_blobs(labels, &self.blobs, rng)?,
            DistortionKind::BoundaryShift => boundary_shift(labels, &self.boundary_shift, rng)?,
            DistortionKind::TemporalGlitch => temporal_glitch(labels, &self.temporal_glitch, rng)?,
        })
    }
}

/// One distorted copy per enabled family (the reward data set's one-sample-per-distortion scheme).
pub fn distort_each<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &DistortConfig,
    rng: &mut R,
) -> Result<Vec<(DistortionKind, Array3<u8>)>> {
    cfg.enabled_kinds()
        .into_iter()
        .map(|k| Ok((k, cfg.apply(k, labels, rng)?)))
        .collect()
}

/// Every enabled family applied in turn to the same copy.
pub fn distort_all<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &DistortConfig,
    rng: &mut R,
) -> Result<Array3<u8>> {
    let mut out = labels.clone();
    for k in cfg.enabled_kinds() {
        out = cfg.apply(k, &out, rng)?;
    }
    Ok(out)
}

/// Each enabled family applied in turn with probability `p` to the same copy, at least one of
/// them always (drawn uniformly when none was picked): varied compound corruptions, e.g. for a
/// denoising shape corrector. Without an enabled family the labels come back unchanged.
pub fn distort_some<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &DistortConfig,
    p: f64,
    rng: &mut R,
) -> Result<Array3<u8>> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::invalid(
            "distortion probability",
            format!("{p} must be in [0, 1]"),
        ));
    }
    let kinds = cfg.enabled_kinds();
    let mut picked: Vec<DistortionKind> = kinds
        .iter()
        .copied()
        .filter(|_| rng.random_bool(p))
        .collect();
    if picked.is_empty() && !kinds.is_empty() {
        picked.push(kinds[rng.random_range(0..kinds.len())]);
    }
    let mut out = labels.clone();
    for k in picked {
        out = cfg.apply(k, &out, rng)?;
    }
    Ok(out)
}

/// The reward target (method.md 4.8): 1.0 where `pred == gt`, 0.0 elsewhere.
pub fn correctness_map(pred: &Array3<u8>, gt: &Array3<u8>) -> Result<Array3<f32>> {
    if pred.dim() != gt.dim() {
        return Err(Error::invalid(
            "correctness map",
            format!(
                "prediction shape {:?} differs from pseudo-ground-truth shape {:?}",
                pred.shape(),
                gt.shape()
            ),
        ));
    }
    let mut out = Array3::<f32>::zeros(pred.raw_dim());
    Zip::from(&mut out)
        .and(pred)
        .and(gt)
        .for_each(|o, p, g| *o = if p == g { 1.0 } else { 0.0 });
    Ok(out)
}
