//! Temperature scaling of a reward net (method.md 5, `on_train_end`): one scalar `T > 0`
//! fitted on validation logits and binary targets (1 = the label is right) by minimising a
//! cross-entropy. The original runs LBFGS (lr 0.01, max_iter 1e4) on `T`; for a 1-D problem we
//! use a golden-section search on `ln T` in [-3, 3] (T in [0.05, 20]), which reaches the same
//! minimum: the objective is convex in `1/T` and so unimodal in `ln T`. A minimum outside the
//! bracket returns the nearest bound.
//!
//! Which objective: the original's cross-entropy of the 2-class logits `[1 - l, l] / T`,
//! i.e. the binary cross-entropy of `sigmoid((2 l - 1) / T)`, is not the form in which the
//! temperature is applied (`sigmoid(l / T)`, method.md 2.4 step 1), so the fitted `T` would not
//! calibrate the reward. [`fit_temperature`] fits the applied form (the intent);
//! [`fit_temperature_two_class`] keeps the original's objective for comparisons.

/// Binary cross-entropy, in nats per voxel, of `sigmoid(scale l + offset)` against `y` (stable form
/// `max(z, 0) - y z + ln(1 + e^-|z|)`).
fn bce(logits: &[f32], targets: &[f32], scale: f64, offset: f64) -> f64 {
    let n = logits.len().min(targets.len());
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = logits
        .iter()
        .zip(targets)
        .map(|(&l, &y)| {
            let z = scale * f64::from(l) + offset;
            z.max(0.0) - f64::from(y) * z + (-z.abs()).exp().ln_1p()
        })
        .sum();
    sum / n as f64
}

/// Mean binary cross-entropy of `sigmoid(logit / t)` against the targets (the objective of
/// [`fit_temperature`]).
pub fn temperature_nll(logits: &[f32], targets: &[f32], t: f64) -> f64 {
    bce(logits, targets, 1.0 / t, 0.0)
}

/// Golden-section minimisation of a unimodal `f` on `[lo, hi]`.
fn golden_section(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - inv_phi * (hi - lo);
    let mut b = lo + inv_phi * (hi - lo);
    let (mut fa, mut fb) = (f(a), f(b));
    // 80 iterations shrink a 6-wide bracket below 1e-15.
    for _ in 0..80 {
        if fa <= fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - inv_phi * (hi - lo);
            fa = f(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + inv_phi * (hi - lo);
            fb = f(b);
        }
    }
    let mid = 0.5 * (lo + hi);
    // The bracket ends are candidates too (a minimum at a bound).
    let candidates = [lo, mid, hi];
    candidates
        .into_iter()
        .min_by(|x, y| f(*x).total_cmp(&f(*y)))
        .unwrap_or(mid)
}

/// The temperature `T` minimising the binary cross-entropy of `sigmoid(logit / T)` against
/// `targets` (soft targets in [0, 1] are allowed). 1.0 without data.
pub fn fit_temperature(logits: &[f32], targets: &[f32]) -> f64 {
    if logits.is_empty() || targets.is_empty() {
        return 1.0;
    }
    golden_section(|s| bce(logits, targets, (-s).exp(), 0.0), -3.0, 3.0).exp()
}

/// The original's objective (method.md 5): cross-entropy of the 2-class logits
/// `[1 - logit, logit] / T`, i.e. the binary cross-entropy of `sigmoid((2 logit - 1) / T)`.
/// 1.0 without data.
pub fn fit_temperature_two_class(logits: &[f32], targets: &[f32]) -> f64 {
    if logits.is_empty() || targets.is_empty() {
        return 1.0;
    }
    golden_section(
        |s| {
            let inv = (-s).exp();
            bce(logits, targets, 2.0 * inv, -inv)
        },
        -3.0,
        3.0,
    )
    .exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Logits `z * t0` where `y ~ Bernoulli(sigmoid(z))`: the calibrated temperature is `t0`.
    fn synthetic(t0: f32, n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut logits = Vec::with_capacity(n);
        let mut targets = Vec::with_capacity(n);
        for _ in 0..n {
            let z: f32 = rng.random_range(-4.0..4.0);
            let p = 1.0 / (1.0 + (-z).exp());
            targets.push(if rng.random::<f32>() < p { 1.0 } else { 0.0 });
            logits.push(z * t0);
        }
        (logits, targets)
    }

    #[test]
    fn recovers_a_known_temperature() {
        for t0 in [0.5f32, 2.5] {
            let (l, y) = synthetic(t0, 200_000, 7);
            let t = fit_temperature(&l, &y);
            assert!((t / f64::from(t0) - 1.0).abs() < 0.05, "{t} vs {t0}");
            // It is the minimum of the objective.
            let f = temperature_nll(&l, &y, t);
            assert!(f <= temperature_nll(&l, &y, t * 1.1));
            assert!(f <= temperature_nll(&l, &y, t / 1.1));
        }
    }

    #[test]
    fn bounds_and_empty_input() {
        assert_eq!(fit_temperature(&[], &[]), 1.0);
        // Perfectly separated data wants T -> 0: the lower bound e^-3.
        let t = fit_temperature(&[1.0, -1.0], &[1.0, 0.0]);
        assert!((t - (-3f64).exp()).abs() < 1e-6, "{t}");
        // The two-class form sees (2 l - 1): data made with it recovers its temperature.
        let (z, y) = synthetic(1.0, 100_000, 3);
        let l: Vec<f32> = z.iter().map(|v| (v * 1.5 + 1.0) / 2.0).collect();
        let t = fit_temperature_two_class(&l, &y);
        assert!((t / 1.5 - 1.0).abs() < 0.05, "{t}");
    }
}
