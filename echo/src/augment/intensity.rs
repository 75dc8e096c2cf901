//! Intensity transforms of `[T, H, W]` sequences in [0, 1]: torchvision's `adjust_contrast`
//! applied per frame (TTA, method.md 7.2; reward-set distortions, 4.4), additive Gaussian noise
//! with the `/max` renormalisation (4.4), the training-time brightness, gamma and noise, and
//! two echo artefacts beyond the original (`echo-facts.md`): near-field haze (clutter that fades
//! with depth from the probe at the top row) and drop-out of one side wall.
//! Every random function takes its RNG explicitly.

use ndarray::{Array3, ArrayViewMut2, Axis};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

/// torchvision `adjust_contrast` on each frame: `clamp(f·x + (1 − f)·mean(frame), 0, 1)`
/// (the mean of the grey-level frame, computed per frame as method.md 4.4 describes).
pub fn adjust_contrast(image: &Array3<f32>, factor: f32) -> Array3<f32> {
    let mut out = image.clone();
    for frame in out.axis_iter_mut(Axis(0)) {
        contrast_frame(frame, factor);
    }
    out
}

fn contrast_frame(mut frame: ArrayViewMut2<f32>, factor: f32) {
    let n = frame.len().max(1) as f64;
    let mean = (frame.iter().map(|&v| f64::from(v)).sum::<f64>() / n) as f32;
    frame.mapv_inplace(|v| (factor * v + (1.0 - factor) * mean).clamp(0.0, 1.0));
}

/// Reward-set noise (method.md 4.4): `x' = x + σ·N(0, 1)`, then `x' / max(x')` over the sequence.
/// Values are not clipped below 0, as in the original. A sequence whose noisy maximum is not
/// positive (only possible for an all-zero input) is returned un-normalised.
pub fn additive_noise_renorm<R: Rng + ?Sized>(
    image: &Array3<f32>,
    sigma: f32,
    rng: &mut R,
) -> Array3<f32> {
    let mut out = image.mapv(|v| v + sigma * rng.sample::<f32, _>(StandardNormal));
    let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max > 0.0 && max.is_finite() {
        out.mapv_inplace(|v| v / max);
    }
    out
}

/// Multiplies intensities by `factor` and clips to [0, 1].
pub fn scale_intensity(image: &Array3<f32>, factor: f32) -> Array3<f32> {
    image.mapv(|v| (v * factor).clamp(0.0, 1.0))
}

/// Gamma correction `x^γ` of intensities clipped to [0, 1].
pub fn gamma(image: &Array3<f32>, gamma: f32) -> Array3<f32> {
    image.mapv(|v| v.clamp(0.0, 1.0).powf(gamma))
}

/// Adds `σ·N(0, 1)` and clips to [0, 1] (training augmentation).
pub fn gaussian_noise_clipped<R: Rng + ?Sized>(
    image: &Array3<f32>,
    sigma: f32,
    rng: &mut R,
) -> Array3<f32> {
    image.mapv(|v| (v + sigma * rng.sample::<f32, _>(StandardNormal)).clamp(0.0, 1.0))
}

/// The image distortions of the reward data set (method.md 4.4 / 12.11: contrast factors
/// [0.4, 0.05] and noise σ [0.3, 0.6] in 3-D; the 2-D original used [0.7, 0.8] and [0.05, 0.1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RewardIntensityConfig {
    /// Make the contrast-distorted samples.
    pub contrast: bool,
    pub contrast_factors: Vec<f32>,
    /// Make the noise-distorted samples (the original names them `*_blur`).
    pub noise: bool,
    pub noise_sigmas: Vec<f32>,
    /// Near-field haze (beyond the original; off by default): `x + a·exp(-row / (0.25·H))`,
    /// clamped to 1, for each level `a`.
    #[serde(skip_serializing_if = "is_false")]
    pub haze: bool,
    #[serde(skip_serializing_if = "is_default_haze")]
    pub haze_levels: Vec<f32>,
    /// Drop-out of one side wall (beyond the original; off by default): a soft band darkened by
    /// up to the factor `1 - a` at mid-depth, 28-42 % of the width from a side drawn per sample,
    /// for each level `a` (see [`wall_dropout`]).
    #[serde(skip_serializing_if = "is_false")]
    pub dropout: bool,
    #[serde(skip_serializing_if = "is_default_dropout")]
    pub dropout_levels: Vec<f32>,
}

impl RewardIntensityConfig {
    /// Haze and drop-out levels must lie in [0, 1] (a level of 1 blanks the drop-out edge).
    pub fn validate(&self) -> crate::Result<()> {
        for (name, levels) in [
            ("intensity.haze_levels", &self.haze_levels),
            ("intensity.dropout_levels", &self.dropout_levels),
        ] {
            if let Some(bad) = levels.iter().find(|a| !(0.0..=1.0).contains(*a)) {
                return Err(crate::Error::invalid(
                    name,
                    format!("{bad} is not in [0, 1]"),
                ));
            }
        }
        Ok(())
    }
}

// The artefact families serialise only when changed, so existing cache keys stay valid.
fn is_false(b: &bool) -> bool {
    !*b
}
fn default_haze() -> Vec<f32> {
    vec![0.3]
}
fn is_default_haze(v: &Vec<f32>) -> bool {
    *v == default_haze()
}
fn default_dropout() -> Vec<f32> {
    vec![0.7]
}
fn is_default_dropout(v: &Vec<f32>) -> bool {
    *v == default_dropout()
}

/// Near-field haze: `clamp(x + level·exp(-row / (0.25·H)), 0, 1)` (the probe at row 0), inside
/// the imaged sector only (pixels above 0; the black outside of the fan stays black).
pub fn near_field_haze(image: &Array3<f32>, level: f32) -> Array3<f32> {
    let h = image.dim().1.max(1) as f32;
    let mut out = image.clone();
    for ((_, r, _), v) in out.indexed_iter_mut() {
        if *v > 0.0 {
            *v = (*v + level * (-(r as f32) / (0.25 * h)).exp()).clamp(0.0, 1.0);
        }
    }
    out
}

/// Wall drop-out: a soft dark band over one wall, every frame alike: the gain is
/// `1 - level·g(col)·g(row)` with Gaussians centred at column `centre` (a fraction of the width)
/// and mid-depth (0.55 H), of widths 0.08 W and 0.2 H, where the side walls of an apical view
/// run parallel to the beam.
pub fn wall_dropout(image: &Array3<f32>, level: f32, centre: f32) -> Array3<f32> {
    let (_, h, w) = image.dim();
    let (h, w) = (h.max(1) as f32, w.max(1) as f32);
    let bump = |x: f32, c: f32, s: f32| (-((x - c) / s).powi(2)).exp();
    let mut out = image.clone();
    for ((_, r, c), v) in out.indexed_iter_mut() {
        let g = bump(c as f32, centre * w, 0.08 * w) * bump(r as f32, 0.55 * h, 0.2 * h);
        *v *= 1.0 - level * g;
    }
    out
}

impl Default for RewardIntensityConfig {
    fn default() -> Self {
        RewardIntensityConfig {
            contrast: true,
            contrast_factors: vec![0.4, 0.05],
            noise: true,
            noise_sigmas: vec![0.3, 0.6],
            haze: false,
            haze_levels: default_haze(),
            dropout: false,
            dropout_levels: default_dropout(),
        }
    }
}

/// One distorted image of the reward data set and what made it.
#[derive(Debug, Clone, PartialEq)]
pub struct IntensityDistortion {
    /// `contrast` or `noise` (the original's `*_contrast` / `*_blur` file suffixes), `haze` or
    /// `dropout`.
    pub kind: &'static str,
    pub magnitude: f32,
    pub image: Array3<f32>,
}

/// Every enabled reward-set image distortion of `image`, in config order (contrasts, noises,
/// hazes, drop-outs; each drop-out's side is drawn from `rng`).
pub fn reward_intensity_distortions<R: Rng + ?Sized>(
    image: &Array3<f32>,
    cfg: &RewardIntensityConfig,
    rng: &mut R,
) -> Vec<IntensityDistortion> {
    let mut out = Vec::new();
    if cfg.contrast {
        for &f in &cfg.contrast_factors {
            out.push(IntensityDistortion {
                kind: "contrast",
                magnitude: f,
                image: adjust_contrast(image, f),
            });
        }
    }
    if cfg.noise {
        for &s in &cfg.noise_sigmas {
            out.push(IntensityDistortion {
                kind: "noise",
                magnitude: s,
                image: additive_noise_renorm(image, s, rng),
            });
        }
    }
    if cfg.haze {
        for &a in &cfg.haze_levels {
            out.push(IntensityDistortion {
                kind: "haze",
                magnitude: a,
                image: near_field_haze(image, a),
            });
        }
    }
    if cfg.dropout {
        for &a in &cfg.dropout_levels {
            // One side wall: 28-42 % of the width from the left or the right edge.
            let from_edge = rng.random_range(0.28f32..0.42);
            let centre = if rng.random_bool(0.5) {
                from_edge
            } else {
                1.0 - from_edge
            };
            out.push(IntensityDistortion {
                kind: "dropout",
                magnitude: a,
                image: wall_dropout(image, a, centre),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ramp() -> Array3<f32> {
        Array3::from_shape_fn((2, 4, 5), |(t, h, w)| ((t + h * 5 + w) as f32) / 25.0)
    }

    #[test]
    fn haze_fades_with_depth_and_dropout_darkens_one_side() {
        let img = Array3::from_elem((2, 20, 20), 0.5f32);
        let hazy = near_field_haze(&img, 0.3);
        assert!(
            (hazy[[0, 0, 7]] - 0.8).abs() < 1e-6,
            "full level at the probe"
        );
        assert!(hazy[[0, 5, 7]] < hazy[[0, 1, 7]] && hazy[[0, 19, 7]] - 0.5 < 0.01);
        assert_eq!(hazy.index_axis(Axis(0), 0), hazy.index_axis(Axis(0), 1));
        let mut fan = img.clone();
        fan[[0, 0, 0]] = 0.0;
        assert_eq!(
            near_field_haze(&fan, 0.3)[[0, 0, 0]],
            0.0,
            "outside the fan stays black"
        );
        let dark = wall_dropout(&img, 0.7, 0.3);
        assert!(
            (dark[[1, 11, 6]] - 0.15).abs() < 0.02,
            "{}",
            dark[[1, 11, 6]]
        );
        assert!(
            (dark[[1, 11, 19]] - 0.5).abs() < 1e-3,
            "the other wall untouched"
        );
        assert!(dark[[1, 2, 6]] > 0.4, "the near field is not dropped");
        assert_eq!(dark.index_axis(Axis(0), 0), dark.index_axis(Axis(0), 1));
        // Off by default and left out of the serialised config (cache keys unchanged).
        let cfg = RewardIntensityConfig::default();
        let text = serde_json::to_string(&cfg).expect("json");
        assert!(
            !text.contains("haze") && !text.contains("dropout"),
            "{text}"
        );
        let on = RewardIntensityConfig {
            haze: true,
            dropout: true,
            ..cfg
        };
        let kinds: Vec<_> =
            reward_intensity_distortions(&img, &on, &mut ChaCha8Rng::seed_from_u64(1))
                .iter()
                .map(|d| d.kind)
                .collect();
        assert_eq!(
            kinds,
            ["contrast", "contrast", "noise", "noise", "haze", "dropout"]
        );
        let bad = RewardIntensityConfig {
            dropout_levels: vec![1.5],
            ..on
        };
        assert!(
            bad.validate()
                .expect_err("1.5")
                .to_string()
                .contains("dropout_levels")
        );
    }

    #[test]
    fn contrast_identity_at_one_and_mean_at_zero() {
        let img = ramp();
        assert_eq!(adjust_contrast(&img, 1.0), img);
        let flat = adjust_contrast(&img, 0.0);
        for (t, frame) in flat.axis_iter(Axis(0)).enumerate() {
            let mean = img.index_axis(Axis(0), t).mean().expect("non-empty");
            assert!(
                frame.iter().all(|v| (v - mean).abs() < 1e-6),
                "frame {t} is its own mean"
            );
        }
    }

    #[test]
    fn contrast_is_per_frame_and_clamped() {
        let mut img = Array3::<f32>::zeros((2, 2, 2));
        img[[0, 0, 0]] = 1.0; // frame 0 mean 0.25; frame 1 all zero
        let out = adjust_contrast(&img, 3.0);
        assert_eq!(out[[0, 0, 0]], 1.0, "3·1 − 2·0.25 = 2.5 clamped");
        assert_eq!(out[[0, 1, 1]], 0.0, "−0.5 clamped");
        assert!(out.index_axis(Axis(0), 1).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn noise_renorm_has_max_one_and_is_seeded() {
        let img = ramp();
        let a = additive_noise_renorm(&img, 0.3, &mut ChaCha8Rng::seed_from_u64(3));
        let b = additive_noise_renorm(&img, 0.3, &mut ChaCha8Rng::seed_from_u64(3));
        let c = additive_noise_renorm(&img, 0.3, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let max = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert!((max - 1.0).abs() < 1e-6);
    }

    #[test]
    fn reward_distortions_follow_the_config() {
        let img = ramp();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let all = reward_intensity_distortions(&img, &RewardIntensityConfig::default(), &mut rng);
        let kinds: Vec<_> = all.iter().map(|d| (d.kind, d.magnitude)).collect();
        assert_eq!(
            kinds,
            vec![
                ("contrast", 0.4),
                ("contrast", 0.05),
                ("noise", 0.3),
                ("noise", 0.6)
            ]
        );
        let cfg = RewardIntensityConfig {
            noise: false,
            ..Default::default()
        };
        assert_eq!(reward_intensity_distortions(&img, &cfg, &mut rng).len(), 2);
    }

    #[test]
    fn gamma_and_scale_stay_in_range() {
        let img = ramp();
        assert!(gamma(&img, 0.5).iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            scale_intensity(&img, 3.0)
                .iter()
                .all(|v| (0.0..=1.0).contains(v))
        );
        assert_eq!(gamma(&img, 1.0), img);
    }
}
