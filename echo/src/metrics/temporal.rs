//! Temporal validity of a `[T, H, W]` label sequence (method.md 6.2; the original's
//! `check_temporal_validity`): eight attribute signals over time, each tested for frames that
//! break the smooth trend.
//!
//! For the six measured attributes the signal is normalised with bounds
//! `(0.99·min, 1.01·max)`, and the frame `t` (not the two end frames) is flagged when
//! `|a'_t − (a'_{t−1} + a'_{t+1}) / 2|` exceeds the threshold. The two frame-to-frame
//! Hausdorff attributes are not normalised: frame `t` is flagged when the mean of
//! `HD(t, t−1)` and `HD(t, t+1)` (mm; 0 at the ends) exceeds the threshold.
//!
//! When an attribute cannot be measured on some frame (no LV base points, no apex, an empty
//! structure for the Hausdorff distance) the original replaces the whole signal by the
//! alternating pattern `[1, 0, 1, …]`, which flags every interior frame after normalisation.
//! For the Hausdorff attributes the original compares that pattern with 7 mm and so never
//! flags it, contrary to its intent; we flag every interior frame there too. An all-zero
//! signal (e.g. no LV anywhere) normalises to NaN and flags nothing, as in the original.

use ndarray::ArrayView3;
use serde::{Deserialize, Serialize};

use super::frame::FrameMasks;
use super::landmarks::{apex_of, base_width, length};
use super::surface::Surface;
use super::{Structure, check_spacing};
use crate::Result;

/// The eight attribute signals of method.md 6.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    LvArea,
    MyoArea,
    /// Centre of mass of LV ∪ MYO along the rows (depth), the original's `epi_center_x`.
    EpiCenterX,
    /// Centre of mass along the columns, the original's `epi_center_y`.
    EpiCenterY,
    LvBaseWidth,
    LvLength,
    HdFramesMyo,
    HdFramesEpi,
}

impl Attribute {
    pub const ALL: [Attribute; 8] = [
        Attribute::LvArea,
        Attribute::MyoArea,
        Attribute::EpiCenterX,
        Attribute::EpiCenterY,
        Attribute::LvBaseWidth,
        Attribute::LvLength,
        Attribute::HdFramesMyo,
        Attribute::HdFramesEpi,
    ];

    /// Threshold of method.md 6.2 / 12.10 (normalised units, or mm for the Hausdorff ones).
    pub fn default_threshold(self) -> f64 {
        match self {
            Attribute::LvArea => 0.2,
            Attribute::MyoArea => 0.4,
            Attribute::EpiCenterX => 0.3,
            Attribute::EpiCenterY => 0.2,
            Attribute::LvBaseWidth => 0.45,
            Attribute::LvLength => 0.25,
            Attribute::HdFramesMyo => 7.0,
            Attribute::HdFramesEpi => 7.5,
        }
    }

    /// Hausdorff attributes are compared raw, the others after normalisation.
    pub fn is_raw(self) -> bool {
        matches!(self, Attribute::HdFramesMyo | Attribute::HdFramesEpi)
    }
}

/// The test of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeCheck {
    pub attribute: Attribute,
    /// The measured signal, one value per frame (mm², pixels or mm); the alternating pattern
    /// when the measure failed.
    pub signal: Vec<f64>,
    /// The tested value per frame: the normalised second difference, or the raw Hausdorff.
    pub score: Vec<f64>,
    pub threshold: f64,
    /// Indices of the flagged frames.
    pub flagged: Vec<usize>,
    /// The measure failed on some frame (every interior frame is then flagged).
    pub measure_failed: bool,
}

/// Result of [`check_temporal_validity`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemporalValidity {
    pub attributes: Vec<AttributeCheck>,
    /// No attribute flags any frame (the original's `temporal_valid`).
    pub valid: bool,
    /// Frames flagged by at least one attribute (the original's `temporal_errors`).
    pub frames_with_errors: usize,
}

impl TemporalValidity {
    pub fn check(&self, attribute: Attribute) -> Option<&AttributeCheck> {
        self.attributes.iter().find(|a| a.attribute == attribute)
    }
}

/// Default pixel spacing of the method's resampled grid, mm (method.md 1.3, 6.2).
pub const DEFAULT_SPACING: [f64; 2] = [0.37, 0.37];

/// The original's normalised second difference: `a' = (a − 0.99·min)/(1.01·max − 0.99·min)`,
/// `d_t = a'_t − (a'_{t−1} + a'_{t+1})/2`, 0 at both ends.
pub fn second_difference(signal: &[f64]) -> Vec<f64> {
    let n = signal.len();
    let mut d = vec![0.0; n];
    if n < 3 {
        return d;
    }
    let min = signal.iter().copied().fold(f64::INFINITY, f64::min);
    let max = signal.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = (0.99 * min, 1.01 * max);
    let norm: Vec<f64> = signal.iter().map(|v| (v - lo) / (hi - lo)).collect();
    for t in 1..n - 1 {
        d[t] = norm[t] - (norm[t - 1] + norm[t + 1]) / 2.0;
    }
    d
}

fn alternating(n: usize) -> Vec<f64> {
    (0..n).map(|i| if i % 2 == 0 { 1.0 } else { 0.0 }).collect()
}

/// Per-frame signal of a measured attribute; `None` when it fails on any frame.
fn measure(frames: &[FrameMasks], attribute: Attribute, spacing: [f64; 2]) -> Option<Vec<f64>> {
    let area = spacing[0] * spacing[1];
    let each = frames.iter();
    match attribute {
        Attribute::LvArea => Some(each.map(|f| f.lv.count() as f64 * area).collect()),
        Attribute::MyoArea => Some(each.map(|f| f.myo.count() as f64 * area).collect()),
        Attribute::EpiCenterX => Some(each.map(|f| centre_of_mass(f)[0]).collect()),
        Attribute::EpiCenterY => Some(each.map(|f| centre_of_mass(f)[1]).collect()),
        Attribute::LvBaseWidth => each
            .map(|f| f.base_points().map(|p| base_width(p, spacing)))
            .collect(),
        Attribute::LvLength => each
            .map(|f| Some(length(f.base_points()?, apex_of(f)?, spacing)))
            .collect(),
        Attribute::HdFramesMyo => temporal_hausdorff_of(frames, Structure::Myo, spacing),
        Attribute::HdFramesEpi => temporal_hausdorff_of(frames, Structure::Epi, spacing),
    }
}

/// Centre of mass `[row, col]` of LV ∪ MYO; the image centre `dim / 2` (integer division) when
/// the frame has no foreground, as vital does.
fn centre_of_mass(frame: &FrameMasks) -> [f64; 2] {
    let (sum_r, sum_c, n) = frame.epi_moments();
    let (h, w) = frame.frame_dim();
    if n == 0 {
        [(h / 2) as f64, (w / 2) as f64]
    } else {
        [sum_r as f64 / n as f64, sum_c as f64 / n as f64]
    }
}

/// Mean of `HD(t, t−1)` and `HD(t, t+1)` for interior frames, 0 at both ends; `None` if the
/// structure is empty in any frame (MedPy raises there).
pub fn temporal_hausdorff(
    seq: &ArrayView3<u8>,
    structure: Structure,
    spacing: [f64; 2],
) -> Option<Vec<f64>> {
    temporal_hausdorff_of(&FrameMasks::sequence(seq), structure, spacing)
}

fn temporal_hausdorff_of(
    frames: &[FrameMasks],
    structure: Structure,
    spacing: [f64; 2],
) -> Option<Vec<f64>> {
    let n = frames.len();
    let Some((h, w)) = frames.first().map(FrameMasks::frame_dim) else {
        return Some(Vec::new());
    };
    // One window around the structure in every frame keeps the distances exact (morph::window).
    let win = frames
        .iter()
        .filter_map(|f| f.bounding_box(structure).map(|b| b.widened(1, h, w)))
        .reduce(|a, b| a.union(&b))?;
    let surfaces: Option<Vec<Surface>> = frames
        .iter()
        .map(|f| Some(Surface::on_window(f.boundary(structure)?, &win, spacing)))
        .collect();
    let surfaces = surfaces?;
    let pair: Vec<f64> = surfaces.windows(2).map(|w| w[0].hausdorff(&w[1])).collect();
    let mut out = vec![0.0; n];
    for t in 1..n.saturating_sub(1) {
        out[t] = (pair[t - 1] + pair[t]) / 2.0;
    }
    Some(out)
}

/// Temporal validity with the default thresholds. `spacing` is `[dy, dx]` in mm
/// ([`DEFAULT_SPACING`] on the method's grid).
pub fn check_temporal_validity(
    seq: &ArrayView3<u8>,
    spacing: [f64; 2],
) -> Result<TemporalValidity> {
    check_temporal_validity_with(seq, spacing, &Attribute::default_threshold)
}

/// Temporal validity with a threshold per attribute.
pub fn check_temporal_validity_with(
    seq: &ArrayView3<u8>,
    spacing: [f64; 2],
    threshold: &dyn Fn(Attribute) -> f64,
) -> Result<TemporalValidity> {
    check_spacing("temporal validity", spacing)?;
    Ok(temporal_validity_of(
        &FrameMasks::sequence(seq),
        spacing,
        threshold,
    ))
}

/// [`check_temporal_validity_with`] on the frames' masks (valid spacing).
pub(crate) fn temporal_validity_of(
    frames: &[FrameMasks],
    spacing: [f64; 2],
    threshold: &dyn Fn(Attribute) -> f64,
) -> TemporalValidity {
    let n = frames.len();
    let mut any_flag = vec![false; n];
    let mut attributes = Vec::with_capacity(Attribute::ALL.len());
    for attribute in Attribute::ALL {
        let thr = threshold(attribute);
        let measured = measure(frames, attribute, spacing);
        let measure_failed = measured.is_none();
        let signal = measured.unwrap_or_else(|| alternating(n));
        let score = if attribute.is_raw() && !measure_failed {
            signal.clone()
        } else {
            second_difference(&signal)
        };
        let flagged: Vec<usize> = if attribute.is_raw() && measure_failed {
            (1..n.saturating_sub(1)).collect()
        } else {
            (0..n).filter(|&t| score[t].abs() > thr).collect()
        };
        for &t in &flagged {
            any_flag[t] = true;
        }
        attributes.push(AttributeCheck {
            attribute,
            signal,
            score,
            threshold: thr,
            flagged,
            measure_failed,
        });
    }
    let valid = attributes.iter().all(|a| a.flagged.is_empty());
    let frames_with_errors = any_flag.iter().filter(|&&f| f).count();
    TemporalValidity {
        attributes,
        valid,
        frames_with_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_difference_normalises_with_widened_bounds() {
        // a = [1, 2, 1]: lo = 0.99, hi = 2.02; a' = [0.00971, 0.98058, 0.00971]
        let d = second_difference(&[1.0, 2.0, 1.0]);
        let a = |v: f64| (v - 0.99) / (2.02 - 0.99);
        assert_eq!(d[0], 0.0);
        assert!((d[1] - (a(2.0) - a(1.0))).abs() < 1e-12);
        assert_eq!(second_difference(&[3.0, 3.0, 3.0])[1], 0.0);
        assert!(second_difference(&[0.0, 0.0, 0.0])[1].is_nan());
    }

    #[test]
    fn alternating_pattern_flags_every_interior_frame() {
        let d = second_difference(&alternating(6));
        let flagged: Vec<usize> = (0..6).filter(|&t| d[t].abs() > 0.45).collect();
        assert_eq!(flagged, vec![1, 2, 3, 4]);
    }
}
