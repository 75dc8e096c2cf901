//! Training augmentation for supervised training and PPO, deterministic from the caller's RNG:
//! small rotations, scaling and translations (one transform for the whole sequence, bilinear on
//! the image, nearest on the labels), then brightness, gamma, contrast and noise on the image.
//!
//! Flips are deliberately not offered: in apical views the left/right position of the septum and
//! lateral wall (and the right ventricle in 4-chamber views) is anatomy, and a flipped heart is not
//! a heart the network will ever see; up/down flips would put the apex at the bottom.

use ndarray::Array3;
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use super::intensity::{adjust_contrast, gamma, scale_intensity};
use super::warp::{Affine2, warp_linear, warp_nearest};
use crate::{Error, Result};

/// One random transform: applied with probability `p`, magnitude uniform in `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RandomRange {
    pub p: f64,
    pub min: f32,
    pub max: f32,
}

impl RandomRange {
    pub const fn new(p: f64, min: f32, max: f32) -> Self {
        RandomRange { p, min, max }
    }

    /// Draws "is it applied" and the magnitude (always both, so the stream does not depend on p).
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<f32> {
        let on = rng.random::<f64>() < self.p;
        let u = rng.random::<f32>();
        on.then_some(self.min + (self.max - self.min) * u)
    }

    fn check(&self, name: &str) -> Result<()> {
        if !(0.0..=1.0).contains(&self.p)
            || !self.min.is_finite()
            || !self.max.is_finite()
            || self.min > self.max
        {
            return Err(Error::invalid(
                format!("augment.{name}"),
                format!(
                    "p = {}, min = {}, max = {}: need 0 <= p <= 1 and finite min <= max",
                    self.p, self.min, self.max
                ),
            ));
        }
        Ok(())
    }
}

/// Training augmentation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrainAugmentConfig {
    pub enabled: bool,
    /// Rotation in degrees (counter-clockwise positive).
    pub rotation_deg: RandomRange,
    /// Isotropic scale factor.
    pub scale: RandomRange,
    /// Translation as a fraction of the frame size, drawn independently for H and W.
    pub translation_frac: RandomRange,
    /// Intensity multiplier (clipped to [0, 1]).
    pub brightness: RandomRange,
    /// Gamma exponent.
    pub gamma: RandomRange,
    /// Per-frame contrast factor (torchvision `adjust_contrast`).
    pub contrast: RandomRange,
    /// Additive Gaussian noise σ (clipped to [0, 1]).
    pub noise_sigma: RandomRange,
}

impl Default for TrainAugmentConfig {
    fn default() -> Self {
        TrainAugmentConfig {
            enabled: true,
            rotation_deg: RandomRange::new(0.3, -10.0, 10.0),
            scale: RandomRange::new(0.3, 0.9, 1.1),
            translation_frac: RandomRange::new(0.3, -0.05, 0.05),
            brightness: RandomRange::new(0.3, 0.8, 1.2),
            gamma: RandomRange::new(0.3, 0.7, 1.5),
            contrast: RandomRange::new(0.3, 0.75, 1.25),
            noise_sigma: RandomRange::new(0.15, 0.0, 0.05),
        }
    }
}

impl TrainAugmentConfig {
    pub fn validate(&self) -> Result<()> {
        for (name, r) in [
            ("rotation_deg", &self.rotation_deg),
            ("scale", &self.scale),
            ("translation_frac", &self.translation_frac),
            ("brightness", &self.brightness),
            ("gamma", &self.gamma),
            ("contrast", &self.contrast),
            ("noise_sigma", &self.noise_sigma),
        ] {
            r.check(name)?;
        }
        for (name, r, ok) in [
            ("scale", &self.scale, self.scale.min > 0.0),
            ("gamma", &self.gamma, self.gamma.min > 0.0),
            (
                "noise_sigma",
                &self.noise_sigma,
                self.noise_sigma.min >= 0.0,
            ),
        ] {
            if r.p > 0.0 && !ok {
                return Err(Error::invalid(
                    format!("augment.{name}"),
                    format!(
                        "min = {} is out of range (scale and gamma must be > 0, noise_sigma >= 0)",
                        r.min
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The drawn parameters of one augmentation (None = not applied).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrainAugParams {
    pub rotation_deg: Option<f32>,
    pub scale: Option<f32>,
    pub translation_px: Option<(f32, f32)>,
    pub brightness: Option<f32>,
    pub gamma: Option<f32>,
    pub contrast: Option<f32>,
    pub noise_sigma: Option<f32>,
    /// Seed of the noise field, drawn from the same stream.
    pub noise_seed: u64,
}

impl TrainAugParams {
    /// Draws every parameter, in a fixed order, for frames of `height` x `width`.
    pub fn sample<R: Rng + ?Sized>(
        cfg: &TrainAugmentConfig,
        height: usize,
        width: usize,
        rng: &mut R,
    ) -> Self {
        if !cfg.enabled {
            return TrainAugParams::default();
        }
        let rotation_deg = cfg.rotation_deg.draw(rng);
        let scale = cfg.scale.draw(rng);
        let t = cfg.translation_frac;
        let fy = t.draw(rng);
        let fx = t.min + (t.max - t.min) * rng.random::<f32>();
        let translation_px = fy.map(|fy| (fy * height as f32, fx * width as f32));
        TrainAugParams {
            rotation_deg,
            scale,
            translation_px,
            brightness: cfg.brightness.draw(rng),
            gamma: cfg.gamma.draw(rng),
            contrast: cfg.contrast.draw(rng),
            noise_sigma: cfg.noise_sigma.draw(rng),
            noise_seed: rng.random(),
        }
    }

    /// The geometric part, or None when no geometric transform was drawn.
    pub fn affine(&self) -> Option<Affine2> {
        if self.rotation_deg.is_none() && self.scale.is_none() && self.translation_px.is_none() {
            return None;
        }
        let (dy, dx) = self.translation_px.unwrap_or((0.0, 0.0));
        Some(Affine2::similarity(
            f64::from(self.rotation_deg.unwrap_or(0.0)),
            f64::from(self.scale.unwrap_or(1.0)),
            f64::from(dy),
            f64::from(dx),
        ))
    }

    /// Applies the parameters: the same geometric transform to the image (bilinear) and labels
    /// (nearest), then the intensity transforms to the image.
    pub fn apply(
        &self,
        image: &Array3<f32>,
        label: Option<&Array3<u8>>,
    ) -> (Array3<f32>, Option<Array3<u8>>) {
        let (mut img, lab) = match self.affine() {
            Some(a) => (warp_linear(image, &a), label.map(|l| warp_nearest(l, &a))),
            None => (image.clone(), label.cloned()),
        };
        if let Some(f) = self.brightness {
            img = scale_intensity(&img, f);
        }
        if let Some(g) = self.gamma {
            img = gamma(&img, g);
        }
        if let Some(f) = self.contrast {
            img = adjust_contrast(&img, f);
        }
        if let Some(s) = self.noise_sigma {
            use rand::SeedableRng;
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.noise_seed);
            img.mapv_inplace(|v| (v + s * rng.sample::<f32, _>(StandardNormal)).clamp(0.0, 1.0));
        }
        (img, lab)
    }
}

/// Draws and applies one augmentation to a sequence (and its labels, if any).
pub fn augment_training<R: Rng + ?Sized>(
    image: &Array3<f32>,
    label: Option<&Array3<u8>>,
    cfg: &TrainAugmentConfig,
    rng: &mut R,
) -> Result<(Array3<f32>, Option<Array3<u8>>)> {
    cfg.validate()?;
    if let Some(l) = label
        && l.dim() != image.dim()
    {
        return Err(Error::invalid(
            "augment",
            format!(
                "label shape {:?} differs from image shape {:?}",
                l.shape(),
                image.shape()
            ),
        ));
    }
    let (_, h, w) = image.dim();
    let params = TrainAugParams::sample(cfg, h, w, rng);
    Ok(params.apply(image, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn the_random_stream_does_not_depend_on_probabilities() {
        // Turning one transform off must not change what the others draw.
        let on = TrainAugmentConfig {
            rotation_deg: RandomRange::new(1.0, -10.0, 10.0),
            ..Default::default()
        };
        let off = TrainAugmentConfig {
            rotation_deg: RandomRange::new(0.0, -10.0, 10.0),
            ..Default::default()
        };
        let a = TrainAugParams::sample(&on, 32, 32, &mut ChaCha8Rng::seed_from_u64(4));
        let b = TrainAugParams::sample(&off, 32, 32, &mut ChaCha8Rng::seed_from_u64(4));
        assert!(a.rotation_deg.is_some() && b.rotation_deg.is_none());
        assert_eq!(
            (a.scale, a.gamma, a.noise_seed),
            (b.scale, b.gamma, b.noise_seed)
        );
    }

    #[test]
    fn magnitudes_stay_in_their_ranges() {
        let cfg = TrainAugmentConfig {
            scale: RandomRange::new(1.0, 0.9, 1.1),
            translation_frac: RandomRange::new(1.0, -0.1, 0.1),
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for _ in 0..50 {
            let p = TrainAugParams::sample(&cfg, 40, 20, &mut rng);
            let s = p.scale.expect("p = 1");
            assert!((0.9..=1.1).contains(&s));
            let (dy, dx) = p.translation_px.expect("p = 1");
            assert!(dy.abs() <= 4.0 && dx.abs() <= 2.0);
        }
    }
}
