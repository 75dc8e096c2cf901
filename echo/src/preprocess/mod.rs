//! Preprocessing of a sequence before the networks see it, and its exact undo (method.md
//! 1.2–1.4, 7.1 step 7): intensity normalisation, per-frame CLAHE (skimage 0.18), resampling to a
//! common spacing on torchio's grid, centred crop/pad to the network's divisibility. The
//! [`PreprocessRecord`] says what was done, so that [`undo_labels`] / [`undo_float`] write results
//! back on the original voxels.
//!
//! Undo order: the original resamples the *padded* array back and then crops/pads it centred to
//! the original shape (7.1 step 7), which misplaces it by up to a voxel when the padding was
//! asymmetric. We undo the crop/pad first and then resample with the exact inverse grid (which is
//! what torchio's grid rule gives when applied to the unpadded array), so labels come back on the
//! very voxels they were predicted for.

pub mod clahe;
pub mod crop;
pub mod intensity;
pub mod resample;

use ndarray::{Array3, Array4, Axis};
use serde::{Deserialize, Serialize};

pub use clahe::{ClaheParams, clahe_sequence, equalize_adapthist};
pub use crop::{CropPad, TemporalCrop, target_shape};
pub use intensity::{IntensityNorm, check_finite, check_labels, normalise};
pub use resample::{AxisGrid, Interp, ResampleGrid, check_spacing, resample_f32, resample_labels};

use crate::{Case, Error, Result};

/// The preprocessing steps and their parameters (defaults = the original's inference path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PreprocessConfig {
    /// Intensity normalisation (method.md 1.4 step 1: divide by the sequence maximum).
    pub intensity: IntensityNorm,
    /// Per-frame CLAHE (`apply_eq_hist`, method.md 1.2).
    pub clahe: bool,
    /// CLAHE clip limit (method.md 1.2: 0.01).
    pub clahe_clip_limit: f64,
    /// Resample to `spacing` (method.md 1.3).
    pub resample: bool,
    /// Common spacing `[dt, dy, dx]` (method.md 1.3: frames 1, 0.37 mm, 0.37 mm).
    pub spacing: [f64; 3],
    /// Shape multiples `[T, H, W]` (method.md 1.3: `shape_divisible_by = [32, 32, 4]`, ours in T, H, W
    /// order; a smaller network may need only 16 spatially).
    pub divisibility: [usize; 3],
    /// Time-axis rule: `keep` for test/inference, `floor_to_multiple` for training data sets.
    pub temporal: TemporalCrop,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        PreprocessConfig {
            intensity: IntensityNorm::Max,
            clahe: true,
            clahe_clip_limit: 0.01,
            resample: true,
            spacing: [1.0, 0.37, 0.37],
            divisibility: [4, 32, 32],
            temporal: TemporalCrop::Keep,
        }
    }
}

/// Everything needed to map an array on the preprocessed grid back onto the original voxels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessRecord {
    /// Shape `[T, H, W]` and spacing `[dt, dy, dx]` of the input.
    pub original_shape: [usize; 3],
    pub original_spacing: [f64; 3],
    /// Resampling applied (identity grid when resampling was off).
    pub resample: ResampleGrid,
    /// Crop/pad applied after resampling.
    pub crop_pad: CropPad,
    /// Final shape and spacing.
    pub shape: [usize; 3],
    pub spacing: [f64; 3],
    pub intensity: IntensityNorm,
    pub clahe: bool,
}

/// A preprocessed sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    pub image: Array3<f32>,
    pub label: Option<Array3<u8>>,
    pub record: PreprocessRecord,
}

impl Preprocessed {
    /// A case holding the preprocessed arrays; the geometry keeps the original file's affine,
    /// shape and spacing (to write results back) and gets the new spacing.
    pub fn to_case(&self, like: &Case) -> Case {
        let mut geometry = like.geometry.clone();
        geometry.spacing = self.record.spacing;
        Case {
            id: like.id.clone(),
            image: self.image.clone(),
            label: self.label.clone(),
            geometry,
            domain: like.domain.clone(),
            view: like.view.clone(),
        }
    }
}

/// Preprocesses a case (its `geometry.spacing` is the current spacing).
pub fn preprocess(case: &Case, cfg: &PreprocessConfig) -> Result<Preprocessed> {
    preprocess_arrays(&case.image, case.label.as_ref(), case.geometry.spacing, cfg)
        .map_err(|e| prefix(e, &case.id))
}

/// Preprocesses an image `[T, H, W]` (and optional labels) at `spacing` `[dt, dy, dx]`.
pub fn preprocess_arrays(
    image: &Array3<f32>,
    label: Option<&Array3<u8>>,
    spacing: [f64; 3],
    cfg: &PreprocessConfig,
) -> Result<Preprocessed> {
    check_finite(image.view(), "image")?;
    check_spacing(spacing, "spacing")?;
    let shape = shape_of(image.dim());
    if let Some(l) = label {
        if l.dim() != image.dim() {
            return Err(Error::invalid(
                "label",
                format!(
                    "shape {:?} differs from the image shape {shape:?}",
                    shape_of(l.dim())
                ),
            ));
        }
        check_labels(l.view(), "label")?;
    }
    let mut img = normalise(image, cfg.intensity, "image")?;
    if cfg.clahe {
        let params = ClaheParams {
            clip_limit: cfg.clahe_clip_limit,
            ..ClaheParams::default()
        };
        img = clahe_sequence(&img, &params)?;
    }
    let target_spacing = if cfg.resample { cfg.spacing } else { spacing };
    let grid = ResampleGrid::torchio(shape, spacing, target_spacing)?;
    let img = resample_f32(img.view(), &grid, Interp::Linear)?;
    let lab = label
        .map(|l| resample_labels(l.view(), &grid))
        .transpose()?;
    let resampled_shape = grid.new_shape();
    let target = target_shape(resampled_shape, cfg.divisibility, cfg.temporal)?;
    let crop_pad = CropPad::centred(resampled_shape, target);
    let img = crop_pad.apply(img.view())?;
    let lab = lab.map(|l| crop_pad.apply(l.view())).transpose()?;
    let record = PreprocessRecord {
        original_shape: shape,
        original_spacing: spacing,
        resample: grid,
        crop_pad,
        shape: target,
        spacing: target_spacing,
        intensity: cfg.intensity,
        clahe: cfg.clahe,
    };
    Ok(Preprocessed {
        image: img,
        label: lab,
        record,
    })
}

/// Labels on the preprocessed grid back to the original shape and spacing (nearest neighbour).
pub fn undo_labels(labels: &Array3<u8>, record: &PreprocessRecord) -> Result<Array3<u8>> {
    check_record_shape(labels.dim(), record)?;
    let unpadded = record.crop_pad.inverse().apply(labels.view())?;
    resample_labels(unpadded.view(), &record.resample.inverse())
}

/// A float map (reward, probability of one class) back to the original grid (linear).
pub fn undo_float(map: &Array3<f32>, record: &PreprocessRecord) -> Result<Array3<f32>> {
    check_record_shape(map.dim(), record)?;
    let unpadded = record.crop_pad.inverse().apply(map.view())?;
    resample_f32(unpadded.view(), &record.resample.inverse(), Interp::Linear)
}

/// Per-class maps `[C, T, H, W]` back to the original grid, one channel at a time.
pub fn undo_float_channels(maps: &Array4<f32>, record: &PreprocessRecord) -> Result<Array4<f32>> {
    let [t, h, w] = record.original_shape;
    let mut out = Array4::<f32>::zeros((maps.shape()[0], t, h, w));
    for (src, mut dst) in maps.axis_iter(Axis(0)).zip(out.axis_iter_mut(Axis(0))) {
        dst.assign(&undo_float(&src.to_owned(), record)?);
    }
    Ok(out)
}

fn check_record_shape(dim: (usize, usize, usize), record: &PreprocessRecord) -> Result<()> {
    if shape_of(dim) != record.shape {
        return Err(Error::invalid(
            "undo preprocessing",
            format!(
                "array of shape {:?} is not on the preprocessed grid {:?}; pass the record made for this case",
                shape_of(dim),
                record.shape
            ),
        ));
    }
    Ok(())
}

/// Converts a dynamic-dimension array into a sequence, naming the wrong dimensionality.
pub fn as_sequence<T>(a: ndarray::ArrayD<T>, what: &str) -> Result<Array3<T>> {
    let shape = a.shape().to_vec();
    a.into_dimensionality::<ndarray::Ix3>().map_err(|_| {
        Error::invalid(
            what,
            format!(
                "has {} dimensions {shape:?}; a sequence must be 3-D [T, H, W] (2D+time); a single 2-D frame is not accepted",
                shape.len()
            ),
        )
    })
}

fn shape_of((t, h, w): (usize, usize, usize)) -> [usize; 3] {
    [t, h, w]
}

fn prefix(e: Error, id: &str) -> Error {
    match e {
        Error::Invalid { what, message } => Error::Invalid {
            what: format!("case {id}: {what}"),
            message,
        },
        other => other,
    }
}
