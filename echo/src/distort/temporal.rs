//! Temporal glitches: a frame replaced by a neighbouring frame's labels, shifted and smoothly
//! deformed, or two frames swapped. The original has a `predict_do_temporal_glitches` flag but
//! never generates such samples (method.md 4.6); these make them.

use ndarray::{Array3, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::common::{
    check_range, displacement_field, frame_count, uniform_f32, uniform_usize, warp_mask,
};
use crate::augment::warp::shift;
use crate::{BG, LV, MYO, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GlitchMode {
    /// A frame gets a neighbouring frame's labels, shifted and deformed.
    Replace,
    /// A frame and a neighbouring frame trade places.
    Swap,
    /// Replace or swap, drawn per glitch.
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TemporalGlitchConfig {
    pub enabled: bool,
    pub mode: GlitchMode,
    /// Glitches per sequence, `[min, max]`.
    pub count: [usize; 2],
    /// Distance in frames to the frame whose labels are used, `[min, max]` (at least 1).
    pub frame_offset: [usize; 2],
    /// Shift of the replacing labels in pixels (random direction), `[min, max]`.
    pub shift_px: [f32; 2],
    /// Largest smooth deformation of the replacing labels in pixels, `[min, max]`.
    pub deform_px: [f32; 2],
}

impl Default for TemporalGlitchConfig {
    fn default() -> Self {
        TemporalGlitchConfig {
            enabled: true,
            mode: GlitchMode::Random,
            count: [1, 1],
            frame_offset: [1, 3],
            shift_px: [2.0, 6.0],
            deform_px: [0.0, 3.0],
        }
    }
}

impl TemporalGlitchConfig {
    pub fn validate(&self) -> Result<()> {
        check_range(self.count, "temporal_glitch.count")?;
        check_range(self.frame_offset, "temporal_glitch.frame_offset")?;
        check_range(self.shift_px, "temporal_glitch.shift_px")?;
        check_range(self.deform_px, "temporal_glitch.deform_px")
    }
}

/// Frame `target` gets frame `source`'s labels shifted by `(dy, dx)` pixels (0 where uncovered).
pub fn replace_frame(
    labels: &Array3<u8>,
    target: usize,
    source: usize,
    dy: i64,
    dx: i64,
) -> Array3<u8> {
    let mut out = labels.clone();
    let t = frame_count(labels);
    if target >= t || source >= t {
        return out;
    }
    let src = labels
        .index_axis(Axis(0), source)
        .to_owned()
        .insert_axis(Axis(0));
    let moved = shift(&src, dy, dx);
    out.index_axis_mut(Axis(0), target)
        .assign(&moved.index_axis(Axis(0), 0));
    out
}

/// Frames `a` and `b` trade places.
pub fn swap_frames(labels: &Array3<u8>, a: usize, b: usize) -> Array3<u8> {
    let mut out = labels.clone();
    let t = frame_count(labels);
    if a < t && b < t && a != b {
        out.index_axis_mut(Axis(0), a)
            .assign(&labels.index_axis(Axis(0), b));
        out.index_axis_mut(Axis(0), b)
            .assign(&labels.index_axis(Axis(0), a));
    }
    out
}

/// Applies `count` random glitches. A single-frame sequence has no neighbour and is returned as is.
pub fn temporal_glitch<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &TemporalGlitchConfig,
    rng: &mut R,
) -> Result<Array3<u8>> {
    cfg.validate()?;
    let (t, h, w) = labels.dim();
    let mut out = labels.clone();
    if t < 2 {
        return Ok(out);
    }
    for _ in 0..uniform_usize(rng, cfg.count) {
        let target = rng.random_range(0..t);
        let offset = uniform_usize(rng, cfg.frame_offset).clamp(1, t - 1);
        let forward = (target + offset < t).then_some(target + offset);
        let backward = target.checked_sub(offset);
        let source = match (forward, backward) {
            (Some(f), Some(b)) => {
                if rng.random::<bool>() {
                    f
                } else {
                    b
                }
            }
            (Some(s), None) | (None, Some(s)) => s,
            // The offset does not fit either way: use the adjacent frame.
            (None, None) => {
                if target + 1 < t {
                    target + 1
                } else {
                    target - 1
                }
            }
        };
        let swap = match cfg.mode {
            GlitchMode::Replace => false,
            GlitchMode::Swap => true,
            GlitchMode::Random => rng.random::<bool>(),
        };
        if swap {
            out = swap_frames(&out, target, source);
            continue;
        }
        let magnitude = uniform_f32(rng, cfg.shift_px);
        let angle = rng.random::<f32>() * std::f32::consts::TAU;
        let (dy, dx) = (
            (magnitude * angle.sin()).round() as i64,
            (magnitude * angle.cos()).round() as i64,
        );
        out = replace_frame(&out, target, source, dy, dx);
        let deform = uniform_f32(rng, cfg.deform_px);
        if deform > 0.0 {
            let (fy, fx) = displacement_field(h, w, 4, deform, rng);
            let frame = out.index_axis(Axis(0), target).to_owned();
            let lv = warp_mask(&frame.mapv(|v| v == LV), &fy, &fx);
            let myo = warp_mask(&frame.mapv(|v| v == MYO), &fy, &fx);
            let warped = ndarray::Zip::from(&lv).and(&myo).map_collect(|&l, &m| {
                if l {
                    LV
                } else if m {
                    MYO
                } else {
                    BG
                }
            });
            out.index_axis_mut(Axis(0), target).assign(&warped);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_and_swap_ignore_out_of_range_frames() {
        let seq = Array3::from_shape_fn((3, 2, 2), |(t, _, _)| t as u8);
        assert_eq!(replace_frame(&seq, 5, 0, 0, 0), seq);
        assert_eq!(swap_frames(&seq, 1, 1), seq);
        let r = replace_frame(&seq, 0, 2, 0, 1);
        assert_eq!(
            r.index_axis(Axis(0), 0).iter().copied().collect::<Vec<_>>(),
            vec![0, 2, 0, 2],
            "shifted right by one, 0 fills"
        );
    }

    #[test]
    fn the_source_frame_is_always_a_valid_other_frame() {
        use rand::SeedableRng;
        let seq = Array3::from_shape_fn((3, 4, 4), |(t, r, _)| if r == t { 1 } else { 0 });
        let cfg = TemporalGlitchConfig {
            mode: GlitchMode::Swap,
            frame_offset: [2, 5],
            ..Default::default()
        };
        for seed in 0..30 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let out = temporal_glitch(&seq, &cfg, &mut rng).expect("valid");
            assert_ne!(
                out, seq,
                "seed {seed}: a swap of two different frames always changes something"
            );
        }
    }
}
