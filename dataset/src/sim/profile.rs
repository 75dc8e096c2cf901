//! Half-width profiles of the heart's chambers: a superellipse "bullet" `p(u)` on the long-axis
//! fraction `u` (0 at the apex, 1 at the base), tabulated once per case so that the per-pixel
//! shape tests and wall normals are table lookups.

const PROFILE_SAMPLES: usize = 512;

/// A half-width profile `p(u)` on `u` in [0, 1] (0 at the apex, 1 at the base), tabulated:
/// `p(u) = (1 - (1 - u)^q)^(1/q) * (1 + 4 k u (1 - u))`, a superellipse bullet widened by `k`
/// at mid-length, so that `p(1) = 1` is the (narrower) annulus.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    value: Vec<f64>,
    slope: Vec<f64>,
    mean: f64,
}

impl Profile {
    pub fn new(bluntness: f64, narrowing: f64) -> Self {
        let q = bluntness.max(1.0);
        let n = PROFILE_SAMPLES;
        let value: Vec<f64> = (0..=n)
            .map(|i| {
                let u = i as f64 / n as f64;
                (1.0 - (1.0 - u).powf(q)).max(0.0).powf(1.0 / q)
                    * (1.0 + 4.0 * narrowing * u * (1.0 - u))
            })
            .collect();
        let slope = (0..=n)
            .map(|i| {
                let (a, b) = (i.saturating_sub(1), (i + 1).min(n));
                (value[b] - value[a]) * n as f64 / (b - a) as f64
            })
            .collect();
        let mean = value.windows(2).map(|w| 0.5 * (w[0] + w[1])).sum::<f64>() / n as f64;
        Profile { value, slope, mean }
    }

    fn lookup(table: &[f64], u: f64) -> f64 {
        let n = (table.len() - 1) as f64;
        let x = (u.clamp(0.0, 1.0)) * n;
        let i = (x as usize).min(table.len() - 2);
        let f = x - i as f64;
        table[i] + f * (table[i + 1] - table[i])
    }

    /// Half-width fraction at `u`; 0 for `u <= 0` (beyond the apex), `p(1)` for `u >= 1`.
    pub fn at(&self, u: f64) -> f64 {
        if u <= 0.0 {
            0.0
        } else {
            Self::lookup(&self.value, u)
        }
    }

    /// `dp/du` at `u` (clamped to [0, 1]).
    pub fn slope(&self, u: f64) -> f64 {
        Self::lookup(&self.slope, u)
    }

    /// `integral of p(u) du` over [0, 1] (of the tabulated, piecewise-linear profile).
    pub fn mean(&self) -> f64 {
        self.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_is_a_bullet() {
        let p = Profile::new(2.0, 0.0);
        assert_eq!(p.at(0.0), 0.0);
        assert!((p.at(1.0) - 1.0).abs() < 1e-12);
        assert!(
            (p.at(0.5) - 0.75f64.sqrt()).abs() < 1e-4,
            "ellipse at u = 0.5"
        );
        // Quarter ellipse: mean = pi / 4.
        assert!(
            (p.mean() - std::f64::consts::FRAC_PI_4).abs() < 2e-3,
            "{}",
            p.mean()
        );
        assert!(p.slope(0.9) > 0.0 && p.slope(0.1) > p.slope(0.9));
        let wide = Profile::new(2.0, 0.1);
        assert!(wide.at(0.7) > 1.0, "mid-cavity wider than the annulus");
        assert!(
            Profile::new(3.0, 0.0).mean() > p.mean(),
            "blunter apex, more area"
        );
    }
}
