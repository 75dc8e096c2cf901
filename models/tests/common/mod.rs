//! Shared helpers of the models integration tests: tiny configs and a synthetic echo-like
//! sequence (an ellipse LV cavity inside a myocardium ring, on speckle-like noise).

#![allow(dead_code)]

use models::UNetConfig;
use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A 3-level U-Net small enough for debug-profile tests.
pub fn tiny_config(base: usize) -> UNetConfig {
    UNetConfig::from_toml_str(&format!(
        "channels = [{}, {}, {}]\nkernels = [[1,3,3],[3,3,3],[3,3,3]]\nstrides = [[1,1,1],[1,2,2],[2,2,2]]",
        base,
        2 * base,
        4 * base
    ))
    .expect("tiny config")
}

/// `[T, H, W]` image and labels: LV (1) an ellipse whose radii breathe over time, MYO (2) a
/// ring around it; the cavity is dark, the wall bright, background mid-grey, plus noise.
pub fn synthetic_sequence(t: usize, h: usize, w: usize, seed: u64) -> (Array3<f32>, Array3<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut image = Array3::<f32>::zeros((t, h, w));
    let mut labels = Array3::<u8>::zeros((t, h, w));
    let (cy, cx) = (h as f32 * 0.5, w as f32 * 0.5);
    for f in 0..t {
        let phase = (f as f32 / t.max(1) as f32 * std::f32::consts::TAU).sin();
        let (ry, rx) = (
            h as f32 * (0.28 + 0.03 * phase),
            w as f32 * (0.18 + 0.02 * phase),
        );
        let wall = 0.1 * h.min(w) as f32 + 1.0;
        for y in 0..h {
            for x in 0..w {
                let dy = (y as f32 - cy) / ry;
                let dx = (x as f32 - cx) / rx;
                let r = (dy * dy + dx * dx).sqrt();
                let outer = ((y as f32 - cy) / (ry + wall)).powi(2)
                    + ((x as f32 - cx) / (rx + wall)).powi(2);
                let (label, base) = if r <= 1.0 {
                    (1u8, 0.1)
                } else if outer <= 1.0 {
                    (2u8, 0.8)
                } else {
                    (0u8, 0.4)
                };
                labels[[f, y, x]] = label;
                image[[f, y, x]] = (base + 0.15 * (rng.random::<f32>() - 0.5)).clamp(0.0, 1.0);
            }
        }
    }
    (image, labels)
}
