//! Reward-map helpers of the two reward variants that go beyond one anatomical reward net
//! (method.md 2.5, 2.6), pure functions on `ndarray` arrays: the per-frame temporal penalty
//! that widens the low-reward regions of temporally inconsistent frames (`temporal_penalty`),
//! and the training target of the landmark reward net, an error map around misplaced LV base
//! points (`landmark_target`). A Gaussian filter with SciPy's semantics for both is in
//! [`gaussian_filter2d`].

mod landmark_target;
mod temporal_penalty;

use ndarray::{Array2, ArrayView2, Axis};

use crate::metrics::signal::gaussian_filter1d;

pub use landmark_target::{LandmarkTargetConfig, anti_aliased_line, landmark_target};
pub use temporal_penalty::{TemporalPenaltyConfig, apply_temporal_penalty, temporal_penalty};

/// `scipy.ndimage.gaussian_filter(x, sigma)` on a 2-D array (separable, `mode="reflect"`,
/// `truncate=4.0`); a `sigma` that is not positive returns the input.
pub fn gaussian_filter2d(x: &ArrayView2<f64>, sigma: f64) -> Array2<f64> {
    let mut out = x.to_owned();
    if !(sigma > 0.0) {
        return out;
    }
    for axis in [Axis(0), Axis(1)] {
        for mut lane in out.lanes_mut(axis) {
            let values: Vec<f64> = lane.iter().copied().collect();
            for (v, s) in lane.iter_mut().zip(gaussian_filter1d(&values, sigma)) {
                *v = s;
            }
        }
    }
    out
}

/// Min-max normalisation to [0, 1] in place; a constant array becomes all 0 (the original
/// divides by zero there).
pub(crate) fn min_max_in_place(x: &mut Array2<f64>) {
    let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let range = hi - lo;
    x.mapv_inplace(|v| if range > 0.0 { (v - lo) / range } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gaussian_filter2d_matches_scipy() {
        // scipy.ndimage.gaussian_filter(np.array([[0,0,0],[0,1,0],[0,0,0.]]), 1.0)
        let x = array![[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]];
        let y = gaussian_filter2d(&x.view(), 1.0);
        let expect = [
            [0.0876730803, 0.1207502431, 0.0876730803],
            [0.1207502431, 0.1663067063, 0.1207502431],
            [0.0876730803, 0.1207502431, 0.0876730803],
        ];
        for r in 0..3 {
            for c in 0..3 {
                assert!(
                    (y[[r, c]] - expect[r][c]).abs() < 1e-9,
                    "{r},{c}: {}",
                    y[[r, c]]
                );
            }
        }
        assert_eq!(gaussian_filter2d(&x.view(), 0.0), x);
    }

    #[test]
    fn min_max_maps_to_the_unit_range_and_constants_to_zero() {
        let mut x = array![[1.0, 3.0], [2.0, 5.0]];
        min_max_in_place(&mut x);
        assert_eq!(x, array![[0.0, 0.5], [0.25, 1.0]]);
        let mut c = Array2::from_elem((2, 2), 4.0);
        min_max_in_place(&mut c);
        assert!(c.iter().all(|&v| v == 0.0));
    }
}
