//! The "temporal" reward variant of method.md 2.5: frames of a predicted window whose cheap
//! temporal attributes (LV and MYO area, centre of the epicardium along rows and columns,
//! method.md 6.2) jump get a penalty `1 + s_t`, and their error map `1 - r` is blurred with a
//! Gaussian of σ = `sigma_px`·penalty and min-max normalised, so the low-reward region spreads
//! over the inconsistent frame; the reward is `min(r, 1 - e)`.
//!
//! The original indexes the penalty by the batch index instead of the frame index (with one
//! window per batch every frame gets frame 0's penalty; method.md 2.5, 12). Here it is per
//! frame, as intended.

use ndarray::{Array3, ArrayView3, Axis};
use serde::{Deserialize, Serialize};

use super::{gaussian_filter2d, min_max_in_place};
use crate::metrics::signal::gaussian_filter1d;
use crate::metrics::temporal::{Attribute, second_difference};
use crate::{Error, LV, MYO, Result};

/// Settings of the temporal penalty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TemporalPenaltyConfig {
    /// σ of the Gaussian smoothing of the flag series along time, in frames (method.md 2.5:
    /// 1.1).
    pub flag_sigma_frames: f64,
    /// Base σ of the spatial blur of a penalised frame's error map, in pixels of the network
    /// grid (method.md 2.5: 10, on the original's 0.37 mm grid, i.e. 3.7 mm).
    pub sigma_px: f64,
}

impl Default for TemporalPenaltyConfig {
    fn default() -> Self {
        TemporalPenaltyConfig {
            flag_sigma_frames: 1.1,
            sigma_px: 10.0,
        }
    }
}

impl TemporalPenaltyConfig {
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("temporal_penalty.flag_sigma_frames", self.flag_sigma_frames),
            ("temporal_penalty.sigma_px", self.sigma_px),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(name, format!("{v} must be finite and >= 0")));
            }
        }
        Ok(())
    }
}

/// The four cheap attribute signals of a label window `[T, H, W]`: LV area, MYO area (pixels;
/// the normalised second difference does not depend on the unit) and the centre of mass of
/// LV ∪ MYO along rows and columns (the image centre for an empty frame, as vital).
fn cheap_signals(labels: &ArrayView3<u8>) -> [(Attribute, Vec<f64>); 4] {
    let (mut lv, mut myo, mut rows, mut cols) = (vec![], vec![], vec![], vec![]);
    for frame in labels.axis_iter(Axis(0)) {
        let (h, w) = frame.dim();
        let (mut n_lv, mut n_myo, mut sr, mut sc) = (0usize, 0usize, 0usize, 0usize);
        for ((r, c), &v) in frame.indexed_iter() {
            match v {
                LV => n_lv += 1,
                MYO => n_myo += 1,
                _ => continue,
            }
            sr += r;
            sc += c;
        }
        let n = n_lv + n_myo;
        lv.push(n_lv as f64);
        myo.push(n_myo as f64);
        if n == 0 {
            rows.push((h / 2) as f64);
            cols.push((w / 2) as f64);
        } else {
            rows.push(sr as f64 / n as f64);
            cols.push(sc as f64 / n as f64);
        }
    }
    [
        (Attribute::LvArea, lv),
        (Attribute::MyoArea, myo),
        (Attribute::EpiCenterX, rows),
        (Attribute::EpiCenterY, cols),
    ]
}

/// The per-frame penalty `1 + s_t` of a label window (method.md 2.5 step 2): each cheap
/// attribute's flags (|normalised second difference| above its method.md 6.2 threshold) as
/// 0/1, smoothed along time, summed over the attributes. A NaN second difference (a constant
/// zero signal, e.g. no MYO at all) is not flagged, as in [`crate::metrics::temporal`] and
/// the original's `abs(d) > thr`.
pub fn temporal_penalty(labels: &ArrayView3<u8>, cfg: &TemporalPenaltyConfig) -> Vec<f64> {
    let n = labels.len_of(Axis(0));
    let mut penalty = vec![1.0; n];
    for (attribute, signal) in cheap_signals(labels) {
        let thr = attribute.default_threshold();
        let d = second_difference(&signal);
        let flags: Vec<f64> = (0..n)
            .map(|t| {
                let interior = t > 0 && t + 1 < n;
                f64::from(u8::from(interior && d[t].abs() > thr))
            })
            .collect();
        for (p, s) in penalty
            .iter_mut()
            .zip(gaussian_filter1d(&flags, cfg.flag_sigma_frames))
        {
            *p += s;
        }
    }
    penalty
}

/// Applies the penalty to a reward window `[T, H, W]` (method.md 2.5 steps 3-4): for every frame
/// whose penalty is not 1, `e = minmax(gaussian(1 - r, sigma_px · penalty))`; the reward is
/// `min(r, 1 - e)` (frames without penalty are unchanged).
pub fn apply_temporal_penalty(
    reward: &ArrayView3<f32>,
    penalty: &[f64],
    cfg: &TemporalPenaltyConfig,
) -> Result<Array3<f32>> {
    let t = reward.len_of(Axis(0));
    if penalty.len() != t {
        return Err(Error::invalid(
            "temporal penalty",
            format!("{} penalties for a window of {t} frames", penalty.len()),
        ));
    }
    let mut out = reward.to_owned();
    for (k, &p) in penalty.iter().enumerate() {
        if p == 1.0 {
            continue;
        }
        let r = reward.index_axis(Axis(0), k);
        let error = r.mapv(|v| 1.0 - f64::from(v));
        let mut e = gaussian_filter2d(&error.view(), cfg.sigma_px * p);
        min_max_in_place(&mut e);
        for (o, (&rv, ev)) in out
            .index_axis_mut(Axis(0), k)
            .iter_mut()
            .zip(r.iter().zip(e.iter()))
        {
            *o = rv.min((1.0 - ev) as f32);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    /// A window of `t` frames with a square LV of half-size `sizes[k]` in frame k, inside a
    /// one-pixel MYO ring.
    fn window(sizes: &[usize]) -> Array3<u8> {
        let mut a = Array3::<u8>::zeros((sizes.len(), 24, 24));
        for (k, &s) in sizes.iter().enumerate() {
            for r in 12 - s - 1..=12 + s + 1 {
                for c in 12 - s - 1..=12 + s + 1 {
                    let ring =
                        r == 12 - s - 1 || r == 12 + s + 1 || c == 12 - s - 1 || c == 12 + s + 1;
                    a[[k, r, c]] = if ring { MYO } else { LV };
                }
            }
        }
        a
    }

    #[test]
    fn a_smooth_window_has_no_penalty_and_keeps_its_reward() {
        let labels = window(&[5, 5, 5, 5]);
        let cfg = TemporalPenaltyConfig::default();
        let p = temporal_penalty(&labels.view(), &cfg);
        assert_eq!(p, vec![1.0; 4]);
        let r = Array3::from_shape_fn((4, 24, 24), |(t, y, x)| ((t + y + x) % 7) as f32 / 7.0);
        assert_eq!(apply_temporal_penalty(&r.view(), &p, &cfg).expect("ok"), r);
    }

    #[test]
    fn a_jumping_frame_is_penalised_per_frame_and_its_errors_spread() {
        // Frame 1's LV is much larger than its neighbours': LV area, MYO area jump there.
        let labels = window(&[3, 8, 3, 3]);
        let cfg = TemporalPenaltyConfig {
            sigma_px: 2.0,
            ..TemporalPenaltyConfig::default()
        };
        let p = temporal_penalty(&labels.view(), &cfg);
        assert!(p[1] > p[0] && p[1] > p[3], "{p:?}");
        // Per frame: frame 2 (neighbour of the flagged frame) differs from frame 0 (the
        // original would give every frame the batch's first penalty).
        assert!(p.iter().all(|&v| v >= 1.0));
        assert_ne!(p[0], p[1]);
        // A reward map that is perfect except one wrong pixel: the penalised frame's error
        // spreads around it, the reward never rises, and unpenalised frames are unchanged.
        let mut r = Array3::<f32>::ones((4, 24, 24));
        r[[1, 12, 12]] = 0.0;
        let out = apply_temporal_penalty(&r.view(), &p, &cfg).expect("ok");
        assert!(out.iter().zip(r.iter()).all(|(o, v)| o <= v));
        assert!(out[[1, 12, 14]] < 0.9, "{}", out[[1, 12, 14]]);
        assert_eq!(out[[1, 12, 12]], 0.0);
        let bad = apply_temporal_penalty(&r.view(), &p[..3], &cfg);
        assert!(bad.is_err());
    }
}
