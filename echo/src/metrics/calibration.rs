//! Uncertainty calibration (method.md 9, the original's `uncertainty_reward_3d.py`):
//! ECE / MCE over equal-width bins with the reliability-diagram data, ACE over equal-mass bins,
//! normalised mutual information between two maps, Pearson correlation, and the selection of
//! the voxels that are scored (foreground of prediction or ground truth).
//!
//! Confidence is the reward map (1 − uncertainty), correctness is `pred == gt`.

use ndarray::{ArrayView3, Zip};
use serde::{Deserialize, Serialize};

use super::check_same_shape;
use crate::{Error, Result};

/// Number of bins of the original for ECE, MCE and ACE.
pub const DEFAULT_BINS: usize = 20;

/// Which confidences fall in an equal-width bin `(lower, upper)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinEdges {
    /// The original: `lower < c < upper`, so a confidence exactly on an edge (0, 0.05, …, 1)
    /// is in no bin (it still counts in the total that weights the bins).
    #[default]
    Strict,
    /// Every confidence in exactly one bin: `lower < c ≤ upper`, and 0 in the first bin.
    Inclusive,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    /// Mean confidence of the bin (NaN when empty).
    pub confidence: f64,
    /// Fraction of correct samples in the bin (NaN when empty).
    pub accuracy: f64,
    pub count: usize,
}

/// ECE, MCE and the reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `Σ_b (n_b / N) |acc_b − conf_b|`, N = all samples.
    pub ece: f64,
    /// `max_b |acc_b − conf_b|` over non-empty bins (0 when all are empty).
    pub mce: f64,
    pub bins: Vec<ReliabilityBin>,
}

fn check_samples(what: &str, confidence: &[f64], n_correct: usize) -> Result<()> {
    if confidence.len() != n_correct {
        return Err(Error::invalid(
            what,
            format!(
                "{} confidences but {} correctness values",
                confidence.len(),
                n_correct
            ),
        ));
    }
    if let Some((i, c)) = confidence
        .iter()
        .enumerate()
        .find(|(_, c)| !(0.0..=1.0).contains(*c))
    {
        return Err(Error::invalid(
            what,
            format!("confidence {c} at sample {i} is outside [0, 1] (or NaN); pass probabilities"),
        ));
    }
    Ok(())
}

/// Edge `b` of `n_bins` equal-width bins on [0, 1], as `np.linspace(0, 1, n_bins + 1)[b]`.
fn edge(b: usize, n_bins: usize) -> f64 {
    if b >= n_bins {
        1.0
    } else {
        b as f64 * (1.0 / n_bins as f64)
    }
}

/// Bin of confidence `c` under `edges`, or `None` when the rule puts it in no bin.
fn bin_of(c: f64, n_bins: usize, edges: BinEdges) -> Option<usize> {
    let mut b = ((c * n_bins as f64).floor().max(0.0) as usize).min(n_bins - 1);
    // Correct the guess where floating point disagrees with the edges.
    while b > 0 && c < edge(b, n_bins) {
        b -= 1;
    }
    while b + 1 < n_bins && c >= edge(b + 1, n_bins) {
        b += 1;
    }
    let (lower, upper) = (edge(b, n_bins), edge(b + 1, n_bins));
    match edges {
        BinEdges::Strict => (c > lower && c < upper).then_some(b),
        BinEdges::Inclusive if c == lower && b > 0 => Some(b - 1),
        BinEdges::Inclusive => Some(b),
    }
}

/// ECE / MCE with `n_bins` equal-width bins on [0, 1].
pub fn calibration(
    confidence: &[f64],
    correct: &[bool],
    n_bins: usize,
    edges: BinEdges,
) -> Result<Calibration> {
    check_samples("calibration", confidence, correct.len())?;
    if n_bins == 0 {
        return Err(Error::invalid(
            "calibration",
            "the number of bins must be at least 1",
        ));
    }
    let mut sum_conf = vec![0.0; n_bins];
    let mut sum_acc = vec![0usize; n_bins];
    let mut count = vec![0usize; n_bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let bin = bin_of(c, n_bins, edges);
        if let Some(b) = bin {
            sum_conf[b] += c;
            sum_acc[b] += usize::from(ok);
            count[b] += 1;
        }
    }
    let n = confidence.len() as f64;
    let (mut ece, mut mce) = (0.0, 0.0f64);
    let mut bins = Vec::with_capacity(n_bins);
    for b in 0..n_bins {
        let k = count[b];
        let (conf, acc) = if k == 0 {
            (f64::NAN, f64::NAN)
        } else {
            (sum_conf[b] / k as f64, sum_acc[b] as f64 / k as f64)
        };
        if k > 0 {
            let gap = (acc - conf).abs();
            ece += k as f64 / n * gap;
            mce = mce.max(gap);
        }
        bins.push(ReliabilityBin {
            lower: edge(b, n_bins),
            upper: edge(b + 1, n_bins),
            confidence: conf,
            accuracy: acc,
            count: k,
        });
    }
    Ok(Calibration { ece, mce, bins })
}

/// How ACE weights its bins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AceWeighting {
    /// `n_b / N`: the weighted mean of the per-bin gaps (default).
    #[default]
    PerSample,
    /// The original's `n_b / n_bins` (method.md 9, quirk): scales ACE by `N / n_bins²`.
    OriginalQuirk,
}

/// Adaptive calibration error: samples sorted by confidence, split into `n_bins` bins of
/// (nearly) equal size (`np.array_split`), `Σ_b w_b |acc_b − conf_b|`. NaN without samples.
pub fn ace(
    confidence: &[f64],
    correct: &[bool],
    n_bins: usize,
    weighting: AceWeighting,
) -> Result<f64> {
    check_samples("ace", confidence, correct.len())?;
    if n_bins == 0 {
        return Err(Error::invalid(
            "ace",
            "the number of bins must be at least 1",
        ));
    }
    let n = confidence.len();
    if n == 0 {
        return Ok(f64::NAN);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| confidence[a].total_cmp(&confidence[b]));
    let (base, extra) = (n / n_bins, n % n_bins);
    let mut start = 0;
    let mut total = 0.0;
    for b in 0..n_bins {
        let len = base + usize::from(b < extra);
        if len == 0 {
            continue;
        }
        let chunk = &order[start..start + len];
        start += len;
        let conf = chunk.iter().map(|&i| confidence[i]).sum::<f64>() / len as f64;
        let acc = chunk.iter().filter(|&&i| correct[i]).count() as f64 / len as f64;
        let weight = match weighting {
            AceWeighting::PerSample => len as f64 / n as f64,
            AceWeighting::OriginalQuirk => len as f64 / n_bins as f64,
        };
        total += weight * (acc - conf).abs();
    }
    Ok(total)
}

/// Bin index of `v` in `bins` equal-width bins on `[lo, hi]` (NumPy `histogram`: the last bin
/// is closed; a constant sample uses `[lo − 0.5, hi + 0.5]`).
fn histogram_bin(v: f64, lo: f64, hi: f64, bins: usize) -> usize {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    };
    (((v - lo) / (hi - lo) * bins as f64).floor().max(0.0) as usize).min(bins - 1)
}

/// Normalised mutual information `2·MI / (H_x + H_y)` from a `bins × bins` joint histogram
/// (NumPy `histogram2d` default 10 bins over each variable's range). NaN when both
/// variables are constant.
pub fn normalized_mutual_information(x: &[f64], y: &[f64], bins: usize) -> Result<f64> {
    if x.len() != y.len() || x.is_empty() || bins == 0 {
        return Err(Error::invalid(
            "normalized_mutual_information",
            format!(
                "needs two equally long non-empty samples and bins ≥ 1 (got {}, {}, {bins})",
                x.len(),
                y.len()
            ),
        ));
    }
    if let Some(v) = x.iter().chain(y).find(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "normalized_mutual_information",
            format!("value {v} is not finite"),
        ));
    }
    let range = |s: &[f64]| {
        s.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            })
    };
    let ((xl, xh), (yl, yh)) = (range(x), range(y));
    let mut joint = vec![0usize; bins * bins];
    for (&a, &b) in x.iter().zip(y) {
        joint[histogram_bin(a, xl, xh, bins) * bins + histogram_bin(b, yl, yh, bins)] += 1;
    }
    let n = x.len() as f64;
    let mut px = vec![0.0; bins];
    let mut py = vec![0.0; bins];
    for i in 0..bins {
        for j in 0..bins {
            let p = joint[i * bins + j] as f64 / n;
            px[i] += p;
            py[j] += p;
        }
    }
    let entropy = |p: &[f64]| {
        -p.iter()
            .filter(|&&v| v > 0.0)
            .map(|v| v * v.ln())
            .sum::<f64>()
    };
    let mut mi = 0.0;
    for i in 0..bins {
        for j in 0..bins {
            let p = joint[i * bins + j] as f64 / n;
            if p > 0.0 {
                mi += p * (p / (px[i] * py[j])).ln();
            }
        }
    }
    let denom = entropy(&px) + entropy(&py);
    Ok(if denom > 0.0 {
        2.0 * mi / denom
    } else {
        f64::NAN
    })
}

/// Pearson correlation coefficient; NaN when a sample has zero variance or fewer than 2 values.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    if x.len() != y.len() {
        return Err(Error::invalid(
            "pearson",
            format!("{} values against {}", x.len(), y.len()),
        ));
    }
    let n = x.len() as f64;
    if x.len() < 2 {
        return Ok(f64::NAN);
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    Ok(if sxx > 0.0 && syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        f64::NAN
    })
}

/// Confidence and correctness of the voxels the original scores: those where the prediction or
/// the ground truth is foreground (`pred + gt ≠ 0`).
pub fn foreground_samples(
    pred: &ArrayView3<u8>,
    gt: &ArrayView3<u8>,
    confidence: &ArrayView3<f32>,
) -> Result<(Vec<f64>, Vec<bool>)> {
    check_same_shape("calibration samples", pred.shape(), gt.shape())?;
    check_same_shape(
        "calibration samples (confidence map)",
        confidence.shape(),
        gt.shape(),
    )?;
    let (mut conf, mut ok) = (Vec::new(), Vec::new());
    Zip::from(pred)
        .and(gt)
        .and(confidence)
        .for_each(|&p, &g, &c| {
            if p != 0 || g != 0 {
                conf.push(f64::from(c));
                ok.push(p == g);
            }
        });
    Ok((conf, ok))
}

/// Foreground-weighted mean uncertainty `Σ unc / Σ (pred ≠ 0)` (method.md 9); NaN for an empty
/// prediction.
pub fn foreground_mean_uncertainty(
    pred: &ArrayView3<u8>,
    uncertainty: &ArrayView3<f32>,
) -> Result<f64> {
    check_same_shape(
        "foreground mean uncertainty",
        uncertainty.shape(),
        pred.shape(),
    )?;
    let total: f64 = uncertainty.iter().map(|&u| f64::from(u)).sum();
    let fg = pred.iter().filter(|&&p| p != 0).count();
    Ok(if fg == 0 { f64::NAN } else { total / fg as f64 })
}
