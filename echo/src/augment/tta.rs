//! Test-time augmentation transforms with exact inverses for probability maps (method.md 7.2):
//! identity, per-frame contrast (torchvision `adjust_contrast`), translations by N pixels (zero
//! pad one side, crop the other; the map is shifted back and the uncovered border gets 0) and
//! rotations about the centre (torchvision `rotate`, nearest, fill 0; the map is rotated back by
//! the opposite angle). [`TtaSet::original25`] is the original's 25 passes.

use ndarray::{Array3, Array4, Axis};
use serde::{Deserialize, Serialize};

use super::intensity::adjust_contrast;
use super::warp::{rotate_nearest, shift};
use crate::{Error, Result};

/// A spatial axis of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpatialAxis {
    /// H, rows (the original's Y, dim 3).
    Depth,
    /// W, columns (the original's X, dim 2).
    Lateral,
}

/// One TTA pass.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TtaTransform {
    Identity,
    /// `adjust_contrast(frame, factor)` on the image; the map needs no inverse.
    Contrast {
        factor: f32,
    },
    /// Content moved by `pixels` along `axis` (positive = towards larger indices).
    Translate {
        axis: SpatialAxis,
        pixels: i64,
    },
    /// Content rotated counter-clockwise by `degrees` about the frame centre.
    Rotate {
        degrees: f32,
    },
}

impl TtaTransform {
    /// The transformed image `[T, H, W]` fed to the network.
    pub fn apply_image(&self, image: &Array3<f32>) -> Array3<f32> {
        match *self {
            TtaTransform::Identity => image.clone(),
            TtaTransform::Contrast { factor } => adjust_contrast(image, factor),
            TtaTransform::Translate { axis, pixels } => translate(image, axis, pixels),
            TtaTransform::Rotate { degrees } => rotate_nearest(image, f64::from(degrees)),
        }
    }

    /// A map `[T, H, W]` predicted on the transformed image, moved back onto the original image.
    pub fn invert_map(&self, map: &Array3<f32>) -> Array3<f32> {
        match *self {
            TtaTransform::Identity | TtaTransform::Contrast { .. } => map.clone(),
            TtaTransform::Translate { axis, pixels } => translate(map, axis, -pixels),
            TtaTransform::Rotate { degrees } => rotate_nearest(map, -f64::from(degrees)),
        }
    }

    /// Per-class probabilities `[C, T, H, W]` moved back onto the original image.
    pub fn invert_probs(&self, probs: &Array4<f32>) -> Array4<f32> {
        let mut out = probs.clone();
        for (src, mut dst) in probs.axis_iter(Axis(0)).zip(out.axis_iter_mut(Axis(0))) {
            dst.assign(&self.invert_map(&src.to_owned()));
        }
        out
    }

    /// Short name for logs and file names, e.g. `translate_lateral_-40`.
    pub fn name(&self) -> String {
        match *self {
            TtaTransform::Identity => "identity".into(),
            TtaTransform::Contrast { factor } => format!("contrast_{factor}"),
            TtaTransform::Translate {
                axis: SpatialAxis::Depth,
                pixels,
            } => format!("translate_depth_{pixels}"),
            TtaTransform::Translate {
                axis: SpatialAxis::Lateral,
                pixels,
            } => {
                format!("translate_lateral_{pixels}")
            }
            TtaTransform::Rotate { degrees } => format!("rotate_{degrees}"),
        }
    }
}

fn translate(a: &Array3<f32>, axis: SpatialAxis, pixels: i64) -> Array3<f32> {
    match axis {
        SpatialAxis::Depth => shift(a, pixels, 0),
        SpatialAxis::Lateral => shift(a, 0, pixels),
    }
}

/// Which TTA passes to run (defaults: the original's 25, method.md 7.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TtaConfig {
    /// Include the untransformed pass.
    pub identity: bool,
    /// Contrast factors (original: 1.1, 0.9, 1.25, 0.75).
    pub contrast_factors: Vec<f32>,
    /// Translation magnitudes in pixels, each used in the 4 directions ±W, ±H
    /// (original: 40, 60, 80, 120 on frames of about 300 px; scale them down for small frames).
    pub translations_px: Vec<i64>,
    /// Rotation angles in degrees (original: 5, 10, −5, −10).
    pub rotations_deg: Vec<f32>,
}

impl Default for TtaConfig {
    fn default() -> Self {
        TtaConfig {
            identity: true,
            contrast_factors: vec![1.1, 0.9, 1.25, 0.75],
            translations_px: vec![40, 60, 80, 120],
            rotations_deg: vec![5.0, 10.0, -5.0, -10.0],
        }
    }
}

/// An ordered set of TTA passes; probabilities are averaged over all of them.
#[derive(Debug, Clone, PartialEq)]
pub struct TtaSet {
    transforms: Vec<TtaTransform>,
}

impl TtaSet {
    /// The original's 25 passes: identity, 4 contrasts, 4 magnitudes × 4 directions, 4 rotations.
    pub fn original25() -> Self {
        TtaSet::from_config(&TtaConfig::default())
    }

    /// A single identity pass (`tta=false`).
    pub fn identity_only() -> Self {
        TtaSet {
            transforms: vec![TtaTransform::Identity],
        }
    }

    pub fn from_config(cfg: &TtaConfig) -> Self {
        let mut transforms = Vec::new();
        if cfg.identity {
            transforms.push(TtaTransform::Identity);
        }
        transforms.extend(
            cfg.contrast_factors
                .iter()
                .map(|&factor| TtaTransform::Contrast { factor }),
        );
        for &px in &cfg.translations_px {
            for (axis, sign) in [
                (SpatialAxis::Lateral, 1),
                (SpatialAxis::Lateral, -1),
                (SpatialAxis::Depth, 1),
                (SpatialAxis::Depth, -1),
            ] {
                transforms.push(TtaTransform::Translate {
                    axis,
                    pixels: sign * px,
                });
            }
        }
        transforms.extend(
            cfg.rotations_deg
                .iter()
                .map(|&degrees| TtaTransform::Rotate { degrees }),
        );
        TtaSet { transforms }
    }

    pub fn from_transforms(transforms: Vec<TtaTransform>) -> Self {
        TtaSet { transforms }
    }

    pub fn transforms(&self) -> &[TtaTransform] {
        &self.transforms
    }

    pub fn len(&self) -> usize {
        self.transforms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.transforms.is_empty()
    }

    /// Runs `predict` (image `[T, H, W]` -> probabilities `[C, T, H, W]`) on every transformed
    /// image, maps each result back and returns the mean (method.md 7.2: divisor = number of passes).
    pub fn average<E>(
        &self,
        image: &Array3<f32>,
        mut predict: impl FnMut(&Array3<f32>) -> std::result::Result<Array4<f32>, E>,
    ) -> std::result::Result<Array4<f32>, E>
    where
        E: From<Error>,
    {
        let mut sum: Option<Array4<f32>> = None;
        for tr in &self.transforms {
            let probs = tr.invert_probs(&predict(&tr.apply_image(image))?);
            match sum.as_mut() {
                None => sum = Some(probs),
                Some(s) if s.dim() == probs.dim() => *s += &probs,
                Some(s) => {
                    return Err(E::from(Error::invalid(
                        format!("TTA pass {}", tr.name()),
                        format!(
                            "returned probabilities of shape {:?}, earlier passes {:?}",
                            probs.shape(),
                            s.shape()
                        ),
                    )));
                }
            }
        }
        let n = self.transforms.len() as f32;
        sum.map(|s| s / n).ok_or_else(|| {
            E::from(Error::invalid(
                "TTA set",
                "has no transforms; enable at least identity",
            ))
        })
    }
}

/// Checks a TTA config against a frame size: a translation as large as the frame would blank it.
pub fn check_tta_config(cfg: &TtaConfig, height: usize, width: usize) -> Result<()> {
    let limit = height.min(width) as i64;
    if let Some(px) = cfg.translations_px.iter().find(|&&px| px.abs() >= limit) {
        return Err(Error::invalid(
            "tta.translations_px",
            format!(
                "{px} px is not smaller than the {height}x{width} frame; use smaller translations"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_config_order() {
        let set = TtaSet::from_config(&TtaConfig {
            identity: false,
            contrast_factors: vec![0.9],
            translations_px: vec![3],
            rotations_deg: vec![-5.0],
        });
        let names: Vec<String> = set.transforms().iter().map(TtaTransform::name).collect();
        assert_eq!(
            names,
            vec![
                "contrast_0.9",
                "translate_lateral_3",
                "translate_lateral_-3",
                "translate_depth_3",
                "translate_depth_-3",
                "rotate_-5"
            ]
        );
    }

    #[test]
    fn transform_config_is_tagged_and_closed() {
        let t: TtaTransform =
            serde_json::from_str(r#"{"kind": "translate", "axis": "depth", "pixels": -4}"#)
                .expect("valid");
        assert_eq!(
            t,
            TtaTransform::Translate {
                axis: SpatialAxis::Depth,
                pixels: -4
            }
        );
        assert!(
            serde_json::from_str::<TtaTransform>(r#"{"kind": "rotate", "degrees": 5, "x": 1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<TtaConfig>(r#"{"rotation": [5]}"#).is_err());
    }

    #[test]
    fn probabilities_are_inverted_per_channel() {
        let probs =
            Array4::from_shape_fn((2, 1, 4, 5), |(c, _, r, w)| (c * 100 + r * 5 + w) as f32);
        let tr = TtaTransform::Translate {
            axis: SpatialAxis::Lateral,
            pixels: 1,
        };
        let back = tr.invert_probs(&probs);
        assert_eq!(back[[1, 0, 2, 0]], probs[[1, 0, 2, 1]]);
        assert_eq!(back[[0, 0, 2, 4]], 0.0);
    }
}
