//! A synthetic apical-view label sequence for tests, benchmarks and examples: a bullet-shaped
//! LV cavity (apex at the top, flat base at the mitral annulus) inside a myocardial wall that
//! is open at the base, beating once over the sequence (the LV narrows and shortens, the wall
//! thickens, the whole shape sways a little sideways). Every frame passes the anatomical
//! criteria and the sequence passes the temporal ones at sensible sizes (≥ 48×40).
//!
//! The same shapes are drawn by `echo/tests/fixtures/metrics/generate.py`.

use ndarray::Array3;

use crate::types::{LV, MYO};

/// Optional disturbance of one frame, to test the temporal checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glitch {
    /// Frame index.
    pub frame: usize,
    /// Factor on the LV half-width (e.g. 0.6).
    pub width_factor: f64,
    /// Upward shift of the base, as a fraction of the height (e.g. 0.12).
    pub base_shift: f64,
}

fn bullet(r: f64, c: f64, apex: f64, base: f64, half_width: f64, cx: f64) -> bool {
    let u = (base - r) / (base - apex);
    r <= base && u <= 1.0 && (c - cx).abs() <= half_width * (1.0 - u * u).max(0.0).sqrt()
}

/// A `[t, h, w]` beating-LV label sequence (0 background, 1 LV, 2 MYO).
pub fn beating_lv(t: usize, h: usize, w: usize, glitch: Option<Glitch>) -> Array3<u8> {
    let (hf, wf) = (h as f64, w as f64);
    let mut seq = Array3::<u8>::zeros((t, h, w));
    for k in 0..t {
        let angle = 2.0 * std::f64::consts::PI * k as f64 / t as f64;
        let phase = 0.5 * (1.0 - angle.cos());
        let apex = 0.15 * hf + 0.03 * hf * phase;
        let mut base = 0.80 * hf - 0.06 * hf * phase;
        let mut hw = 0.20 * wf * (1.0 - 0.2 * phase);
        let thick = 0.07 * wf * (1.0 + 0.3 * phase);
        let cx = wf / 2.0 + 0.5 * angle.sin();
        if let Some(g) = glitch.filter(|g| g.frame == k) {
            hw *= g.width_factor;
            base -= g.base_shift * hf;
        }
        for r in 0..h {
            for c in 0..w {
                let (rf, cf) = (r as f64, c as f64);
                let v = if bullet(rf, cf, apex, base, hw, cx) {
                    LV
                } else if bullet(rf, cf, apex - thick, base, hw + thick, cx) {
                    MYO
                } else {
                    0
                };
                seq[[k, r, c]] = v;
            }
        }
    }
    seq
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{check_sequence, check_temporal_validity};

    #[test]
    fn phantom_is_anatomically_and_temporally_valid() {
        let seq = beating_lv(12, 64, 56, None);
        let anat = check_sequence(&seq.view());
        assert!(
            anat.all_valid,
            "{:?}",
            anat.frames.iter().map(|f| &f.failed).collect::<Vec<_>>()
        );
        let temp = check_temporal_validity(&seq.view(), [0.37, 0.37]).expect("valid spacing");
        assert!(
            temp.valid,
            "{:?}",
            temp.attributes
                .iter()
                .map(|a| &a.flagged)
                .collect::<Vec<_>>()
        );
    }
}
