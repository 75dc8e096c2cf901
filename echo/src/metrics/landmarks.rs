//! LV landmarks and the measures built on them (method.md 6.2, 6.3 and 9):
//! the two LV base points (mitral annulus, vital `EchoMeasure._endo_base`), the apex from the
//! polar projection of the LV contour, the LV base width and length, the number of cardiac
//! cycles from the LV-area curve, and the mitral-valve distance metrics.
//!
//! Points are `[row, col]` in pixels of the `[H, W]` frame (rows = depth, apex at the top).

use ndarray::{ArrayView2, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use super::Structure;
use super::frame::FrameMasks;
use super::signal::{PeakConditions, find_peaks, gaussian_filter1d, reflect_pad};
use super::{check_same_shape, check_spacing};
use crate::morph::find_contours;
use crate::types::LV;
use crate::{Error, Result};

/// The two LV base points `[left, right]`, each `[row, col]` (method.md 6.3): LV pixels that
/// are 8-adjacent both to MYO and to a pixel that is neither LV nor MYO; split by column about
/// their mean column and, on each side, the lowest one (largest row; first in raster order on
/// ties). If they all share one column they are split by row instead, as in vital (left = the
/// highest of the lower half, right = the lowest of the upper half). `None` with fewer than two
/// such pixels.
pub fn lv_base_points(frame: &ArrayView2<u8>) -> Option<[[usize; 2]; 2]> {
    FrameMasks::of(*frame).base_points()
}

/// LV pixels 8-adjacent both to MYO and to "others" (neither LV nor MYO), in raster order:
/// 3×3 dilations on the masks' window, which holds every in-image neighbour of an LV pixel;
/// outside the image counts as neither, as SciPy's dilation.
pub(crate) fn base_point_candidates(masks: &FrameMasks) -> Vec<[usize; 2]> {
    let near_myo = masks.myo.dilate_square();
    let near_others = masks.epi.not().dilate_square();
    let [r0, c0] = masks.origin();
    masks
        .lv
        .and(&near_myo)
        .and(&near_others)
        .ones()
        .map(|(r, c)| [r0 + r, c0 + c])
        .collect()
}

/// [`lv_base_points`] from the frame's masks.
pub(crate) fn base_points_of(masks: &FrameMasks) -> Option<[[usize; 2]; 2]> {
    let pts = base_point_candidates(masks);
    if pts.len() < 2 {
        return None;
    }
    let mean = |k: usize| pts.iter().map(|p| p[k] as f64).sum::<f64>() / pts.len() as f64;
    // First index of the extreme row among points matching `side`.
    let pick = |side: &dyn Fn(&[usize; 2]) -> bool, lowest: bool| -> Option<[usize; 2]> {
        let mut best: Option<[usize; 2]> = None;
        for p in pts.iter().filter(|p| side(p)) {
            let better = match best {
                None => true,
                Some(b) => {
                    if lowest {
                        p[0] > b[0]
                    } else {
                        p[0] < b[0]
                    }
                }
            };
            if better {
                best = Some(*p);
            }
        }
        best
    };
    let mean_col = mean(1);
    if pts.iter().all(|p| p[1] as f64 == mean_col) {
        let mean_row = mean(0);
        let left = pick(&|p| p[0] as f64 > mean_row, false)?;
        let right = pick(&|p| p[0] as f64 <= mean_row, true)?;
        Some([left, right])
    } else {
        let left = pick(&|p| (p[1] as f64) < mean_col, true)?;
        let right = pick(&|p| p[1] as f64 >= mean_col, true)?;
        Some([left, right])
    }
}

/// The LV apex `[row, col]` (sub-pixel) from the polar projection of the LV contour
/// (method.md 6.2 `lv_length`; vital `_extract_landmarks_from_polar_contour` with smoothing
/// 0.05): first marching-squares contour at level 0.9, centred on the LV centre of mass,
/// radius sorted by angle and smoothed (σ = 0.05 · contour length), and the highest radius
/// peak among those above the centre (angle < 0). `None` without LV or without such a peak.
pub fn lv_apex(frame: &ArrayView2<u8>) -> Option<[f64; 2]> {
    apex_of(&FrameMasks::of(*frame))
}

/// [`lv_apex`] from the frame's masks.
pub(crate) fn apex_of(masks: &FrameMasks) -> Option<[f64; 2]> {
    // The window around the LV with a one-pixel margin has the same contours (shifted).
    let (h, w) = masks.frame_dim();
    let win = masks.bounding_box(Structure::Lv)?.widened(1, h, w);
    let lv = win.view(masks.frame()).mapv(|v| v == LV);
    let (r0, c0) = (win.rows.start as f64, win.cols.start as f64);
    let contour: Vec<[f64; 2]> = find_contours(&lv.view(), 0.9)
        .into_iter()
        .next()?
        .into_iter()
        .map(|p| [p[0] + r0, p[1] + c0])
        .collect();
    let (mut sr, mut sc, mut n) = (0.0, 0.0, 0usize);
    for ((r, c), &v) in lv.indexed_iter() {
        if v {
            sr += r as f64;
            sc += c as f64;
            n += 1;
        }
    }
    let (cr, cc) = (sr / n as f64 + r0, sc / n as f64 + c0);
    let mut polar: Vec<(f64, f64, usize)> = contour
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (y, x) = (p[0] - cr, p[1] - cc);
            (y.atan2(x), y.hypot(x), i)
        })
        .collect();
    polar.sort_by(|a, b| a.0.total_cmp(&b.0));
    let rho: Vec<f64> = polar.iter().map(|p| p.1).collect();
    let rho = gaussian_filter1d(&rho, contour.len() as f64 * 0.05);
    let peaks = find_peaks(
        &rho,
        &PeakConditions {
            height: Some(0.0),
            ..Default::default()
        },
    );
    let mut best: Option<usize> = None;
    for p in peaks.into_iter().filter(|&p| polar[p].0 < 0.0) {
        if best.is_none_or(|b| rho[p] > rho[b]) {
            best = Some(p);
        }
    }
    best.map(|p| contour[polar[p].2])
}

/// Distance (mm) between the two LV base points.
pub fn lv_base_width(frame: &ArrayView2<u8>, spacing: [f64; 2]) -> Option<f64> {
    lv_base_points(frame).map(|p| base_width(p, spacing))
}

/// Distance (mm) from the midpoint of the LV base points to the apex ([`lv_apex`]).
pub fn lv_length(frame: &ArrayView2<u8>, spacing: [f64; 2]) -> Option<f64> {
    let points = lv_base_points(frame)?;
    Some(length(points, lv_apex(frame)?, spacing))
}

/// Distance (mm) between two base points.
pub(crate) fn base_width([a, b]: [[usize; 2]; 2], spacing: [f64; 2]) -> f64 {
    let dy = (a[0] as f64 - b[0] as f64) * spacing[0];
    let dx = (a[1] as f64 - b[1] as f64) * spacing[1];
    dy.hypot(dx)
}

/// Distance (mm) from the midpoint of two base points to the apex.
pub(crate) fn length([a, b]: [[usize; 2]; 2], apex: [f64; 2], spacing: [f64; 2]) -> f64 {
    let mid = [(a[0] + b[0]) as f64 / 2.0, (a[1] + b[1]) as f64 / 2.0];
    ((apex[0] - mid[0]) * spacing[0]).hypot((apex[1] - mid[1]) * spacing[1])
}

/// Number of cardiac cycles in an LV-area curve (method.md 9): reflect-pad by 10 (padding
/// lowered by 1), valleys with `find_peaks(-area, distance=10, height=-(min + 50 % range),
/// prominence=15 % range)`, at least 1.
///
/// The original passes `prominence=-15 % range` for the valleys, which disables the condition
/// (every prominence is ≥ 0); we apply the 15 % prominence it meant, as it does for the peaks.
pub fn estimate_num_cycles(lv_area: &[f64]) -> usize {
    if lv_area.is_empty() {
        return 1;
    }
    const PAD: usize = 10;
    let mut padded = reflect_pad(lv_area, PAD);
    let n = padded.len();
    for (i, v) in padded.iter_mut().enumerate() {
        if i < PAD || i >= n - PAD {
            *v -= 1.0;
        }
    }
    let min = lv_area.iter().copied().fold(f64::INFINITY, f64::min);
    let max = lv_area.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = max - min;
    let height = min + 0.5 * range;
    let negated: Vec<f64> = padded.iter().map(|v| -v).collect();
    let cond = PeakConditions {
        height: Some(-height),
        distance: Some(10.0),
        prominence: Some(0.15 * range),
    };
    let valleys = find_peaks(&negated, &cond)
        .into_iter()
        .filter(|&v| v >= PAD && v - PAD < lv_area.len())
        .count();
    valleys.max(1)
}

/// Mitral-valve (LV base point) distances between a prediction and the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LandmarkScores {
    /// Mean over frames of the left / right base-point distance, pixels.
    pub mae_l: f64,
    pub mae_r: f64,
    /// Mean of both sides.
    pub mae: f64,
    /// Mean over frames of the mean squared coordinate difference (pixels²).
    pub mse: f64,
    /// Per distance threshold (mm): frames where either side / the left / the right point is
    /// further than the threshold, divided by the number of cardiac cycles.
    pub mistakes_per_cycle: Vec<MistakeRate>,
    /// Cardiac cycles found in the ground-truth LV-area curve.
    pub cycles: usize,
    /// Frames where a base point could not be found (penalised as in the original).
    pub failed_frames: usize,
}

/// Mistakes per cycle at one distance threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MistakeRate {
    pub threshold_mm: f64,
    pub either: f64,
    pub left: f64,
    pub right: f64,
}

/// The original's `mitral_valve_distance` with thresholds 5 and 7.5 mm (method.md 9). A frame
/// where either base point cannot be found scores a penalty distance of `H` pixels (the depth
/// size; the original uses the last axis of its `(T, X, Y)` array, also the depth) on both
/// sides and `H²` for `mse`, and counts as a mistake for every threshold. The spacing must be
/// isotropic (|dy − dx| ≤ 0.001 mm) because distances are compared in pixels.
pub fn mitral_valve_distance(
    pred: &ArrayView3<u8>,
    gt: &ArrayView3<u8>,
    spacing: [f64; 2],
) -> Result<LandmarkScores> {
    check_same_shape("mitral_valve_distance", pred.shape(), gt.shape())?;
    check_spacing("mitral_valve_distance", spacing)?;
    if (spacing[0] - spacing[1]).abs() > 0.001 {
        return Err(Error::invalid(
            "mitral_valve_distance",
            format!("spacing {spacing:?} is not isotropic; resample to square pixels first"),
        ));
    }
    if gt.len_of(Axis(0)) == 0 {
        return Err(Error::invalid(
            "mitral_valve_distance",
            "the sequence has no frame",
        ));
    }
    let (p, g) = (FrameMasks::sequence(pred), FrameMasks::sequence(gt));
    Ok(mitral_valve_distance_of(&p, &g, spacing))
}

/// [`mitral_valve_distance`] on the frames' masks (same shapes, at least one frame, valid
/// isotropic spacing).
pub(crate) fn mitral_valve_distance_of(
    pred: &[FrameMasks],
    gt: &[FrameMasks],
    spacing: [f64; 2],
) -> LandmarkScores {
    let t = gt.len();
    let thresholds = [5.0, 7.5];
    let area: Vec<f64> = gt.iter().map(|f| f.lv.count() as f64).collect();
    let cycles = estimate_num_cycles(&area);
    let penalty = gt.first().map_or(0, |f| f.frame_dim().0) as f64;
    let (mut sum_l, mut sum_r, mut sum_mse, mut failed) = (0.0, 0.0, 0.0, 0usize);
    let mut counts = vec![[0usize; 3]; thresholds.len()];
    for (p, g) in pred.iter().zip(gt) {
        let points = g.base_points().zip(p.base_points());
        let Some((gp, pp)) = points else {
            failed += 1;
            sum_l += penalty;
            sum_r += penalty;
            sum_mse += penalty * penalty;
            counts
                .iter_mut()
                .for_each(|c| c.iter_mut().for_each(|k| *k += 1));
            continue;
        };
        let diff =
            |a: [usize; 2], b: [usize; 2]| [a[0] as f64 - b[0] as f64, a[1] as f64 - b[1] as f64];
        let (dl, dr) = (diff(gp[0], pp[0]), diff(gp[1], pp[1]));
        let (l, r) = (dl[0].hypot(dl[1]), dr[0].hypot(dr[1]));
        sum_l += l;
        sum_r += r;
        sum_mse += (dl[0] * dl[0] + dl[1] * dl[1] + dr[0] * dr[0] + dr[1] * dr[1]) / 4.0;
        for (c, &mm) in counts.iter_mut().zip(&thresholds) {
            let px = mm / spacing[1];
            c[0] += usize::from(l > px || r > px);
            c[1] += usize::from(l > px);
            c[2] += usize::from(r > px);
        }
    }
    let tf = t as f64;
    let per_cycle = |k: usize| k as f64 / cycles as f64;
    LandmarkScores {
        mae_l: sum_l / tf,
        mae_r: sum_r / tf,
        mae: (sum_l + sum_r) / (2.0 * tf),
        mse: sum_mse / tf,
        mistakes_per_cycle: thresholds
            .iter()
            .zip(&counts)
            .map(|(&threshold_mm, c)| MistakeRate {
                threshold_mm,
                either: per_cycle(c[0]),
                left: per_cycle(c[1]),
                right: per_cycle(c[2]),
            })
            .collect(),
        cycles,
        failed_frames: failed,
    }
}
