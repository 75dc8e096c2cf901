//! Signed distance maps of masks and their robust temporal smoothing, the core of the
//! weight-free corrector.
//!
//! Sign convention: negative inside, positive outside, with the zero level half-way between
//! pixel centres (`−(d_in − ½)` inside, `d_out − ½` outside, `d` = Euclidean distance to the
//! nearest pixel of the other side), so `sdf < 0` gives back the mask exactly.

use ndarray::{Array2, Array3, ArrayView2, Axis};

use crate::morph::distance_to;

/// Signed distance map of `mask`, or `None` when the mask is empty (no zero level exists).
/// A full mask gets `−(H + W)` everywhere.
pub fn signed_distance(mask: ArrayView2<bool>) -> Option<Array2<f32>> {
    if !mask.iter().any(|&m| m) {
        return None;
    }
    let (h, w) = mask.dim();
    let far = (h + w) as f64;
    let to_inside = distance_to(&mask, [1.0, 1.0]);
    let outside = mask.mapv(|m| !m);
    let to_outside = distance_to(&outside.view(), [1.0, 1.0]);
    let mut sdf = Array2::<f32>::zeros((h, w));
    ndarray::Zip::from(&mut sdf)
        .and(&mask)
        .and(&to_inside)
        .and(&to_outside)
        .for_each(|s, &m, &di, &dout| {
            *s = if m {
                -(dout.min(far) - 0.5) as f32
            } else {
                (di - 0.5) as f32
            };
        });
    Some(sdf)
}

/// Per-pixel temporal median over `window` frames (odd; the window is shifted inwards at the
/// ends so it always spans `window` frames when the sequence is long enough), ignoring missing
/// frames. The median of an even count is the mean of the two middle values. A frame stays
/// missing only when every frame in its window is missing.
pub fn temporal_median(
    sdf: &Array3<f32>,
    present: &[bool],
    window: usize,
) -> (Array3<f32>, Vec<bool>) {
    let t = present.len();
    if window <= 1 || t == 0 {
        return (sdf.clone(), present.to_vec());
    }
    let half = window / 2;
    let mut out = sdf.clone();
    let mut out_present = vec![false; t];
    let mut vals = Vec::with_capacity(window);
    for (k, out_k_present) in out_present.iter_mut().enumerate() {
        let span = window.min(t);
        let start = k.saturating_sub(half).min(t - span);
        let frames: Vec<usize> = (start..start + span).filter(|&j| present[j]).collect();
        if frames.is_empty() {
            continue;
        }
        *out_k_present = true;
        let mut dst = out.index_axis_mut(Axis(0), k);
        for ((r, c), d) in dst.indexed_iter_mut() {
            vals.clear();
            vals.extend(frames.iter().map(|&j| sdf[[j, r, c]]));
            vals.sort_by(f32::total_cmp);
            let n = vals.len();
            *d = if n % 2 == 1 {
                vals[n / 2]
            } else {
                0.5 * (vals[n / 2 - 1] + vals[n / 2])
            };
        }
    }
    (out, out_present)
}

/// Gaussian smoothing along time (σ in frames, kernel truncated at 4σ like SciPy's
/// `gaussian_filter1d`), normalised over the frames that are present and inside the sequence
/// (so the ends and missing frames do not pull values towards zero).
pub fn temporal_gaussian(
    sdf: &Array3<f32>,
    present: &[bool],
    sigma: f32,
) -> (Array3<f32>, Vec<bool>) {
    let t = present.len();
    if sigma <= 0.0 || t == 0 {
        return (sdf.clone(), present.to_vec());
    }
    let radius = (4.0 * sigma + 0.5) as isize;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|d| (-(d * d) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let mut out = Array3::<f32>::zeros(sdf.raw_dim());
    let mut out_present = vec![false; t];
    for (k, out_k_present) in out_present.iter_mut().enumerate() {
        let mut taps: Vec<(usize, f32)> = Vec::new();
        for (i, d) in (-radius..=radius).enumerate() {
            let j = k as isize + d;
            if j >= 0 && (j as usize) < t && present[j as usize] {
                taps.push((j as usize, weights[i]));
            }
        }
        let total: f32 = taps.iter().map(|(_, w)| w).sum();
        if taps.is_empty() || total <= 0.0 {
            continue;
        }
        *out_k_present = true;
        let mut dst = out.index_axis_mut(Axis(0), k);
        for (j, wgt) in taps {
            dst.scaled_add(wgt / total, &sdf.index_axis(Axis(0), j));
        }
    }
    (out, out_present)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn zero_level_gives_back_the_mask() {
        let mask =
            Array2::from_shape_fn((9, 11), |(r, c)| (2..7).contains(&r) && (3..9).contains(&c));
        let sdf = signed_distance(mask.view()).expect("non-empty");
        assert_eq!(sdf.mapv(|v| v < 0.0), mask);
        assert_eq!(sdf[[4, 5]], -2.5, "3 px from the nearest outside pixel");
        assert_eq!(sdf[[0, 5]], 1.5);
        assert!(signed_distance(Array2::from_elem((3, 3), false).view()).is_none());
        let full = signed_distance(Array2::from_elem((3, 3), true).view()).expect("full");
        assert!(full.iter().all(|&v| v < 0.0));
    }

    #[test]
    fn median_removes_a_single_outlier_frame_and_fills_missing_frames() {
        let mut sdf = Array3::<f32>::zeros((5, 1, 1));
        for (k, v) in [1.0, 2.0, 30.0, 4.0, 5.0].into_iter().enumerate() {
            sdf[[k, 0, 0]] = v;
        }
        let (m, p) = temporal_median(&sdf, &[true; 5], 3);
        assert_eq!(
            m.iter().copied().collect::<Vec<_>>(),
            vec![2.0, 2.0, 4.0, 5.0, 5.0]
        );
        assert!(p.iter().all(|&x| x));
        let present = [true, true, false, true, true];
        let (m, p) = temporal_median(&sdf, &present, 3);
        assert!(p[2]);
        assert_eq!(m[[2, 0, 0]], 3.0, "mean of the two present neighbours");
    }

    #[test]
    fn gaussian_keeps_constants_and_linear_interior() {
        let sdf = Array3::from_shape_fn((7, 1, 2), |(k, _, c)| if c == 0 { 3.0 } else { k as f32 });
        let (g, _) = temporal_gaussian(&sdf, &[true; 7], 1.0);
        assert!(
            g.index_axis(Axis(2), 0)
                .iter()
                .all(|&v| (v - 3.0).abs() < 1e-5)
        );
        assert!(
            (g[[3, 0, 1]] - 3.0).abs() < 1e-5,
            "symmetric kernel keeps a ramp in the middle"
        );
    }
}
