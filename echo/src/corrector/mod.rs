//! A corrector that needs no weights, replacing the original's private AR-VAE corrector
//! (method.md 4.2, 11): per-frame morphological repair (`morph::clean_frame`, method.md 4.2.1),
//! then temporal smoothing of the shapes — the signed distance maps of the LV and of the
//! epicardium (LV ∪ MYO) go through a per-pixel temporal median (removes single-frame glitches)
//! and a Gaussian along time (σ in frames) — then relabelling (LV where sdf_LV < 0, MYO where
//! sdf_epi < 0 and not LV) and the morphological repair again.
//!
//! Frames where a structure is empty count as missing for that structure: they take the shape
//! interpolated from their neighbours instead of crashing (method.md 12.14) or pulling their
//! neighbours towards "nothing".

pub mod sdf;

use ndarray::{Array3, Axis};
use serde::{Deserialize, Serialize};

use crate::morph::clean_frame;
use crate::{Error, LV, MYO, Result};
use sdf::{signed_distance, temporal_gaussian, temporal_median};

/// Corrector settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CorrectorConfig {
    /// Morphological repair of each frame before smoothing.
    pub clean_before: bool,
    /// Temporal median window in frames (odd; 1 = off).
    pub median_window: usize,
    /// Gaussian σ along time in frames (0 = off).
    pub sigma_frames: f32,
    /// Morphological repair of each frame after relabelling.
    pub clean_after: bool,
}

impl Default for CorrectorConfig {
    fn default() -> Self {
        CorrectorConfig {
            clean_before: true,
            median_window: 3,
            sigma_frames: 1.0,
            clean_after: true,
        }
    }
}

impl CorrectorConfig {
    pub fn validate(&self) -> Result<()> {
        if self.median_window == 0 || self.median_window.is_multiple_of(2) {
            return Err(Error::invalid(
                "corrector.median_window",
                format!(
                    "{} must be odd (1 turns the median off)",
                    self.median_window
                ),
            ));
        }
        if !(self.sigma_frames.is_finite() && self.sigma_frames >= 0.0) {
            return Err(Error::invalid(
                "corrector.sigma_frames",
                format!(
                    "{} must be finite and >= 0 (0 turns the smoothing off)",
                    self.sigma_frames
                ),
            ));
        }
        Ok(())
    }
}

/// Corrects a label sequence `[T, H, W]`.
pub fn correct_sequence(labels: &Array3<u8>, cfg: &CorrectorConfig) -> Result<Array3<u8>> {
    cfg.validate()?;
    crate::preprocess::check_labels(labels.view(), "labels to correct")?;
    let mut seq = labels.clone();
    if cfg.clean_before {
        clean_in_place(&mut seq);
    }
    let lv = smoothed_sdf(&seq, |v| v == LV, cfg);
    let epi = smoothed_sdf(&seq, |v| v == LV || v == MYO, cfg);
    let mut out = Array3::<u8>::zeros(seq.raw_dim());
    ndarray::Zip::from(&mut out)
        .and(&lv)
        .and(&epi)
        .for_each(|o, &l, &e| {
            *o = if l < 0.0 {
                LV
            } else if e < 0.0 {
                MYO
            } else {
                0
            };
        });
    if cfg.clean_after {
        clean_in_place(&mut out);
    }
    Ok(out)
}

fn clean_in_place(seq: &mut Array3<u8>) {
    for mut frame in seq.axis_iter_mut(Axis(0)) {
        let cleaned = clean_frame(&frame.view());
        frame.assign(&cleaned);
    }
}

/// Signed distance maps of one structure, smoothed along time; `+inf` in frames where it stays
/// missing after smoothing (so nothing is drawn there).
fn smoothed_sdf(
    seq: &Array3<u8>,
    is_in: impl Fn(u8) -> bool,
    cfg: &CorrectorConfig,
) -> Array3<f32> {
    let mut sdf = Array3::<f32>::zeros(seq.raw_dim());
    let mut present = Vec::with_capacity(seq.dim().0);
    for (frame, mut dst) in seq.axis_iter(Axis(0)).zip(sdf.axis_iter_mut(Axis(0))) {
        let mask = frame.mapv(&is_in);
        match signed_distance(mask.view()) {
            Some(s) => {
                dst.assign(&s);
                present.push(true);
            }
            None => present.push(false),
        }
    }
    let (sdf, present) = temporal_median(&sdf, &present, cfg.median_window);
    let (mut sdf, present) = temporal_gaussian(&sdf, &present, cfg.sigma_frames);
    for (mut frame, &p) in sdf.axis_iter_mut(Axis(0)).zip(&present) {
        if !p {
            frame.fill(f32::INFINITY);
        }
    }
    sdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_closed_and_defaults_are_documented_values() {
        let cfg: CorrectorConfig = serde_json::from_str("{}").expect("defaults");
        assert_eq!(cfg, CorrectorConfig::default());
        assert_eq!((cfg.median_window, cfg.sigma_frames), (3, 1.0));
        assert!(serde_json::from_str::<CorrectorConfig>(r#"{"sigma": 2}"#).is_err());
    }

    #[test]
    fn a_structure_missing_everywhere_stays_missing() {
        let mut seq = Array3::<u8>::zeros((4, 10, 10));
        for t in 0..4 {
            for r in 3..7 {
                for c in 3..7 {
                    seq[[t, r, c]] = MYO; // myocardium only, no LV at all
                }
            }
        }
        let out = correct_sequence(&seq, &CorrectorConfig::default()).expect("valid");
        assert!(out.iter().all(|&v| v != LV));
        assert_eq!(out, seq);
    }
}
