//! 1-D signal helpers with SciPy/NumPy semantics, used by the temporal metrics and the
//! landmark metrics: Gaussian smoothing (`scipy.ndimage.gaussian_filter1d`, mode `reflect`),
//! reflect padding (`np.pad(mode="reflect")`) and peak finding (`scipy.signal.find_peaks`
//! with `height`, `distance` and `prominence`).

/// Index into `[0, n)` for `i` outside it, SciPy `mode="reflect"` (half-sample symmetric:
/// `d c b a | a b c d | d c b a`), repeated as often as needed.
fn reflect_half_sample(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m >= n { period - 1 - m } else { m }) as usize
}

/// Index into `[0, n)` for `i` outside it, NumPy `np.pad(mode="reflect")` (whole-sample
/// symmetric, the edge is not repeated: `d c b | a b c d | c b a`).
fn reflect_whole_sample(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let n = n as isize;
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    (if m >= n { period - m } else { m }) as usize
}

/// `scipy.ndimage.gaussian_filter1d(x, sigma)` with the defaults `mode="reflect"`,
/// `truncate=4.0`. A `sigma` that is not positive (or NaN) returns the input.
pub fn gaussian_filter1d(x: &[f64], sigma: f64) -> Vec<f64> {
    if x.is_empty() || sigma.is_nan() || sigma <= 0.0 {
        return x.to_vec();
    }
    let radius = (4.0 * sigma + 0.5) as isize;
    let mut weights: Vec<f64> = (-radius..=radius)
        .map(|k| (-0.5 * (k * k) as f64 / (sigma * sigma)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= total);
    // Extend the signal by `radius` on each side once, then convolve without index checks.
    let n = x.len();
    let r = radius as usize;
    let extended: Vec<f64> = (-radius..n as isize + radius)
        .map(|i| x[reflect_half_sample(i, n)])
        .collect();
    (0..n)
        .map(|i| {
            extended[i..i + 2 * r + 1]
                .iter()
                .zip(&weights)
                .map(|(v, w)| v * w)
                .sum()
        })
        .collect()
}

/// `np.pad(x, pad, mode="reflect")`.
pub fn reflect_pad(x: &[f64], pad: usize) -> Vec<f64> {
    if x.is_empty() {
        return Vec::new();
    }
    let n = x.len();
    (-(pad as isize)..(n + pad) as isize)
        .map(|i| x[reflect_whole_sample(i, n)])
        .collect()
}

/// Conditions of [`find_peaks`]; `None` disables one.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeakConditions {
    /// Minimal peak value.
    pub height: Option<f64>,
    /// Minimal distance (samples) between peaks; smaller peaks around higher ones are removed.
    pub distance: Option<f64>,
    /// Minimal prominence.
    pub prominence: Option<f64>,
}

/// Local maxima of `x`, SciPy `_local_maxima_1d`: the middle (rounded down) of every flat or
/// sharp peak; end samples are never peaks.
fn local_maxima(x: &[f64]) -> Vec<usize> {
    let n = x.len();
    let mut peaks = Vec::new();
    if n < 3 {
        return peaks;
    }
    let i_max = n - 1;
    let mut i = 1;
    while i < i_max {
        if x[i - 1] < x[i] {
            let mut ahead = i + 1;
            while ahead < i_max && x[ahead] == x[i] {
                ahead += 1;
            }
            if x[ahead] < x[i] {
                peaks.push((i + ahead - 1) / 2);
                i = ahead;
            }
        }
        i += 1;
    }
    peaks
}

/// SciPy `peak_prominences` without a window: height above the higher of the two lowest points
/// reached on each side before a higher sample.
pub fn peak_prominence(x: &[f64], peak: usize) -> f64 {
    let top = x[peak];
    let mut left_min = top;
    let mut i = peak as isize;
    while i >= 0 && x[i as usize] <= top {
        left_min = left_min.min(x[i as usize]);
        i -= 1;
    }
    let mut right_min = top;
    let mut i = peak;
    while i < x.len() && x[i] <= top {
        right_min = right_min.min(x[i]);
        i += 1;
    }
    top - left_min.max(right_min)
}

/// `scipy.signal.find_peaks(x, height=, distance=, prominence=)`: indices of the peaks, in
/// increasing order. Conditions are applied in SciPy's order (height, distance, prominence).
/// For the distance rule, equal heights are ranked by position (later first); SciPy's unstable
/// sort leaves that order unspecified.
pub fn find_peaks(x: &[f64], cond: &PeakConditions) -> Vec<usize> {
    let mut peaks = local_maxima(x);
    if let Some(h) = cond.height {
        peaks.retain(|&p| x[p] >= h);
    }
    if let Some(d) = cond.distance {
        let d = d.ceil() as usize;
        let mut order: Vec<usize> = (0..peaks.len()).collect();
        order.sort_by(|&a, &b| x[peaks[a]].total_cmp(&x[peaks[b]]));
        let mut keep = vec![true; peaks.len()];
        for &j in order.iter().rev() {
            if !keep[j] {
                continue;
            }
            let mut k = j;
            while k > 0 && peaks[j] - peaks[k - 1] < d {
                keep[k - 1] = false;
                k -= 1;
            }
            let mut k = j + 1;
            while k < peaks.len() && peaks[k] - peaks[j] < d {
                keep[k] = false;
                k += 1;
            }
        }
        peaks = peaks
            .into_iter()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
    }
    if let Some(p) = cond.prominence {
        peaks.retain(|&pk| peak_prominence(x, pk) >= p);
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_modes_match_numpy_and_scipy() {
        let x = [1.0, 2.0, 3.0];
        assert_eq!(reflect_pad(&x, 2), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]);
        // np.pad([1, 2, 3], 5, mode="reflect")
        assert_eq!(
            reflect_pad(&x, 5),
            vec![
                2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0
            ]
        );
        let idx: Vec<usize> = (-4..7).map(|i| reflect_half_sample(i, 3)).collect();
        assert_eq!(idx, vec![2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0]);
    }

    #[test]
    fn gaussian_filter1d_matches_scipy() {
        // scipy.ndimage.gaussian_filter1d([0, 0, 1, 0, 0, 3], 1.0)
        let y = gaussian_filter1d(&[0.0, 0.0, 1.0, 0.0, 0.0, 3.0], 1.0);
        let expected = [
            0.05842299, 0.24250677, 0.41264055, 0.41724041, 0.94187885, 1.92731044,
        ];
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-7, "{y:?}");
        }
    }

    #[test]
    fn find_peaks_handles_plateaus_height_distance_and_prominence() {
        let x = [0.0, 2.0, 2.0, 2.0, 0.0, 1.0, 0.0, 5.0, 4.0, 4.5, 0.0];
        assert_eq!(find_peaks(&x, &PeakConditions::default()), vec![2, 5, 7, 9]);
        let c = PeakConditions {
            height: Some(1.5),
            ..Default::default()
        };
        assert_eq!(find_peaks(&x, &c), vec![2, 7, 9]);
        let c = PeakConditions {
            distance: Some(3.0),
            ..Default::default()
        };
        assert_eq!(find_peaks(&x, &c), vec![2, 7]);
        let c = PeakConditions {
            prominence: Some(1.0),
            ..Default::default()
        };
        assert_eq!(find_peaks(&x, &c), vec![2, 5, 7]);
        assert!((peak_prominence(&x, 9) - 0.5).abs() < 1e-12);
    }
}
