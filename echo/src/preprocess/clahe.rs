//! Per-frame CLAHE equal to scikit-image 0.18's `equalize_adapthist` (method.md 1.2), the
//! version the original pins: float -> uint16 (`rint(x·65535)`), rescale to 14 bits with the
//! frame's own min/max (round half to even), reflect-pad to whole tiles, 256-bin tile
//! histograms clipped and redistributed exactly as skimage's `clip_histogram` (quirks included),
//! cumulative mappings, bilinear interpolation of the four neighbouring tile mappings accumulated
//! in f32, truncation to uint16, and a final min-max rescale to [0, 1].

use ndarray::{Array2, Array3, ArrayView2, Axis};

use crate::{Error, Result};

/// Number of grey levels CLAHE works with (skimage's `NR_OF_GRAY = 2**14`).
const NR_OF_GRAY: usize = 1 << 14;

/// CLAHE parameters; the defaults are the original's call `equalize_adapthist(frame, clip_limit=0.01)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaheParams {
    /// Normalised clip limit (method.md 1.2: 0.01). 0 disables clipping (plain AHE).
    pub clip_limit: f64,
    /// Number of histogram bins (skimage default 256).
    pub nbins: usize,
    /// Tile size `[rows, cols]`; `None` = skimage's default `(rows // 8, cols // 8)`.
    pub kernel_size: Option<[usize; 2]>,
}

impl Default for ClaheParams {
    fn default() -> Self {
        ClaheParams {
            clip_limit: 0.01,
            nbins: 256,
            kernel_size: None,
        }
    }
}

/// CLAHE of every frame of a `[T, H, W]` sequence with intensities in [0, 1].
pub fn clahe_sequence(image: &Array3<f32>, params: &ClaheParams) -> Result<Array3<f32>> {
    let mut out = Array3::<f32>::zeros(image.raw_dim());
    for (t, (src, mut dst)) in image
        .axis_iter(Axis(0))
        .zip(out.axis_iter_mut(Axis(0)))
        .enumerate()
    {
        let eq = equalize_adapthist(src, params)
            .map_err(|e| Error::invalid(format!("CLAHE of frame {t}"), e))?;
        dst.assign(&eq);
    }
    Ok(out)
}

/// CLAHE of one `(rows, cols)` frame; intensities must lie in [-1, 1] as skimage requires
/// (negative values become 0 when converted to uint16, as in skimage).
pub fn equalize_adapthist(frame: ArrayView2<f32>, params: &ClaheParams) -> Result<Array2<f32>> {
    let (rows, cols) = frame.dim();
    if let Some(v) = frame.iter().find(|v| !(-1.0..=1.0).contains(*v)) {
        return Err(Error::invalid(
            "CLAHE input",
            format!(
                "intensity {v} is outside [-1, 1]; normalise the image (e.g. divide by its maximum) first"
            ),
        ));
    }
    let kernel = params.kernel_size.unwrap_or([rows / 8, cols / 8]);
    if kernel[0] == 0 || kernel[1] == 0 {
        return Err(Error::invalid(
            "CLAHE input",
            format!(
                "frame of {rows}x{cols} pixels gives a tile size of {}x{}; CLAHE needs frames of at least 8x8 pixels",
                kernel[0], kernel[1]
            ),
        ));
    }
    if params.nbins == 0 {
        return Err(Error::invalid("CLAHE nbins", "must be at least 1"));
    }
    let grey = to_14_bit(frame);
    let mapped = clahe_u14(&grey, kernel, params.clip_limit, params.nbins);
    Ok(rescale_to_unit(&mapped))
}

/// skimage `img_as_uint` followed by `np.round(rescale_intensity(x, out_range=(0, 2**14 - 1)))`.
fn to_14_bit(frame: ArrayView2<f32>) -> Array2<u16> {
    let as_u16 = frame.mapv(|v| {
        (f64::from(v) * 65535.0)
            .round_ties_even()
            .clamp(0.0, 65535.0) as u16
    });
    let imin = f64::from(as_u16.iter().copied().min().unwrap_or(0));
    let imax = f64::from(as_u16.iter().copied().max().unwrap_or(0));
    let top = (NR_OF_GRAY - 1) as f64;
    as_u16.mapv(|v| {
        let v = f64::from(v);
        let scaled = if imin != imax {
            (v - imin) / (imax - imin) * top
        } else {
            v.clamp(0.0, top)
        };
        scaled.round_ties_even() as u16
    })
}

/// skimage `img_as_float` of the uint16 result followed by `rescale_intensity` (min-max to [0, 1]).
fn rescale_to_unit(mapped: &Array2<u16>) -> Array2<f32> {
    let as_float = mapped.mapv(|v| f64::from(v) * (1.0 / 65535.0));
    let imin = as_float.iter().copied().fold(f64::INFINITY, f64::min);
    let imax = as_float.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    as_float.mapv(|v| {
        let out = if imin != imax {
            (v - imin) / (imax - imin)
        } else {
            v.clamp(0.0, 1.0)
        };
        out as f32
    })
}

/// numpy `np.pad(mode='reflect')` index: mirror about the edge samples, without repeating them.
fn reflect_index(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

/// skimage 0.18 `_clahe` on a 14-bit image; returns the uint16 result before `img_as_float`.
fn clahe_u14(
    image: &Array2<u16>,
    kernel: [usize; 2],
    clip_limit: f64,
    nbins: usize,
) -> Array2<u16> {
    let (rows, cols) = image.dim();
    let shape = [rows, cols];
    let pad_start = [kernel[0] / 2, kernel[1] / 2];
    let mut padded_shape = [0usize; 2];
    for d in 0..2 {
        let (k, s) = (kernel[d], shape[d]);
        let pad_end = (k - s % k) % k + k.div_ceil(2);
        padded_shape[d] = pad_start[d] + s + pad_end;
    }
    let bin_size = 1 + NR_OF_GRAY / nbins;
    // The reflect-padded image as bin indices (skimage pads, then applies its `lut`).
    let (ph, pw) = (padded_shape[0], padded_shape[1]);
    let src_cols: Vec<usize> = (0..pw)
        .map(|c| reflect_index(c as isize - pad_start[1] as isize, cols))
        .collect();
    let mut bins = vec![0u16; ph * pw];
    for (r, row) in bins.chunks_exact_mut(pw).enumerate() {
        let sr = reflect_index(r as isize - pad_start[0] as isize, rows);
        for (b, &sc) in row.iter_mut().zip(&src_cols) {
            *b = (usize::from(image[[sr, sc]]) / bin_size) as u16;
        }
    }

    let ns_hist = [ph / kernel[0] - 1, pw / kernel[1] - 1];
    let n_pixels = kernel[0] * kernel[1];
    let clim: i64 = if clip_limit > 0.0 {
        (clip_limit * n_pixels as f64).max(1.0) as i64
    } else {
        n_pixels as i64
    };
    let scale = (NR_OF_GRAY - 1) as f64 / n_pixels as f64;
    // maps[(tile_row * ns_hist[1] + tile_col) * nbins + bin] -> grey level
    let mut maps = vec![0i64; ns_hist[0] * ns_hist[1] * nbins];
    let mut hist = vec![0i64; nbins];
    for a in 0..ns_hist[0] {
        for b in 0..ns_hist[1] {
            hist.fill(0);
            let r0 = kernel[0] / 2 + a * kernel[0];
            let c0 = kernel[1] / 2 + b * kernel[1];
            for r in r0..r0 + kernel[0] {
                for &bin in &bins[r * pw + c0..r * pw + c0 + kernel[1]] {
                    hist[usize::from(bin)] += 1;
                }
            }
            clip_histogram(&mut hist, clim);
            let tile = a * ns_hist[1] + b;
            let mut cum = 0i64;
            for (m, h) in maps[tile * nbins..(tile + 1) * nbins].iter_mut().zip(&hist) {
                cum += h;
                *m = ((cum as f64) * scale).min((NR_OF_GRAY - 1) as f64) as i64;
            }
        }
    }
    // `map_array` is the tile maps edge-padded by one on each side: map row `m` is tile
    // `clamp(m - 1)`. Per padded row/column: the two neighbouring tiles and the coefficient.
    let neighbours = |p: usize, k: usize, n: usize| -> (usize, usize, f64) {
        let (block, offset) = (p / k, p % k);
        let tile = |m: usize| m.saturating_sub(1).min(n - 1);
        (tile(block), tile(block + 1), offset as f64 / k as f64)
    };
    let col_info: Vec<(usize, usize, f64)> = (0..cols)
        .map(|c| neighbours(c + pad_start[1], kernel[1], ns_hist[1]))
        .collect();

    let mut out = Array2::<u16>::zeros((rows, cols));
    for r in 0..rows {
        let pr = r + pad_start[0];
        let (a0, a1, cy) = neighbours(pr, kernel[0], ns_hist[0]);
        for (c, &(b0, b1, cx)) in col_info.iter().enumerate() {
            let bin = usize::from(bins[pr * pw + c + pad_start[1]]);
            let map = |a: usize, b: usize| maps[(a * ns_hist[1] + b) * nbins + bin] as f64;
            // skimage sums the four edges in `np.ndindex(2, 2)` order in float32.
            let mut acc = 0f32;
            acc += (map(a0, b0) * ((1.0 - cx) * (1.0 - cy))) as f32;
            acc += (map(a0, b1) * (cx * (1.0 - cy))) as f32;
            acc += (map(a1, b0) * ((1.0 - cx) * cy)) as f32;
            acc += (map(a1, b1) * (cx * cy)) as f32;
            out[[r, c]] = acc as u16;
        }
    }
    out
}

/// skimage 0.18 `clip_histogram`, reproduced step by step (its partial-redistribution quirks
/// included: bins raised by the uniform increment can be re-counted by the "mid" pass).
fn clip_histogram(hist: &mut [i64], clip: i64) {
    let size = hist.len() as i64;
    let mut n_excess: i64 = 0;
    for h in hist.iter_mut() {
        if *h > clip {
            n_excess += *h - clip;
            *h = clip;
        }
    }
    let bin_incr = n_excess.div_euclid(size);
    let upper = clip - bin_incr;
    for h in hist.iter_mut() {
        if *h < upper {
            n_excess -= bin_incr;
            *h += bin_incr;
        }
    }
    for h in hist.iter_mut() {
        if *h >= upper && *h < clip {
            n_excess += *h - clip;
            *h = clip;
        }
    }
    while n_excess > 0 {
        let prev = n_excess;
        // Bins below the clip limit, kept up to date instead of recounted each iteration.
        let mut under = hist.iter().filter(|&&h| h < clip).count() as i64;
        for index in 0..hist.len() {
            let step = (under / n_excess).max(1) as usize;
            let mut added = 0;
            for h in hist.iter_mut().skip(index).step_by(step) {
                if *h < clip {
                    *h += 1;
                    added += 1;
                    if *h == clip {
                        under -= 1;
                    }
                }
            }
            n_excess -= added;
            if n_excess <= 0 {
                break;
            }
        }
        if prev == n_excess {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn reflect_index_matches_numpy_reflect() {
        // np.pad([0,1,2,3], 5, mode='reflect') -> [1,2,3,2,1, 0,1,2,3, 2,1,0,1,2]
        let got: Vec<usize> = (-5..9).map(|i| reflect_index(i, 4)).collect();
        assert_eq!(got, vec![1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
    }

    #[test]
    fn clip_histogram_matches_skimage_including_its_quirks() {
        // Expected values from skimage 0.18.3 `clip_histogram` (the first case gains mass: the
        // uniformly raised bins are re-counted by the "mid" pass).
        let cases: [(&[i64], i64, &[i64]); 3] = [
            (&[0, 0, 30, 0, 0, 2, 0, 0], 6, &[6, 6, 6, 6, 6, 6, 6, 6]),
            (
                &[10, 0, 1, 0, 0, 0, 0, 20, 3, 0, 0, 0],
                4,
                &[4, 3, 3, 2, 3, 2, 2, 4, 4, 2, 3, 2],
            ),
            (
                &[9, 0, 0, 0, 1, 0, 0, 0, 0, 0],
                5,
                &[5, 0, 1, 0, 2, 0, 1, 0, 1, 0],
            ),
        ];
        for (input, clip, want) in cases {
            let mut hist = input.to_vec();
            clip_histogram(&mut hist, clip);
            assert_eq!(hist, want, "input {input:?}, clip {clip}");
        }
    }

    #[test]
    fn output_spans_unit_range_and_is_monotone_on_a_ramp() {
        let frame = Array2::from_shape_fn((16, 16), |(r, c)| ((r * 16 + c) as f32) / 255.0);
        let out = equalize_adapthist(frame.view(), &ClaheParams::default()).expect("valid frame");
        let min = out.iter().copied().fold(f32::INFINITY, f32::min);
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!((min, max), (0.0, 1.0));
        assert!(out[[15, 15]] > out[[0, 0]]);
    }

    #[test]
    fn tiny_frames_and_out_of_range_values_are_errors() {
        let small = Array2::<f32>::zeros((7, 20));
        let err = equalize_adapthist(small.view(), &ClaheParams::default()).expect_err("7 rows");
        assert!(err.to_string().contains("at least 8x8"), "{err}");
        let bright = Array2::<f32>::from_elem((8, 8), 2.0);
        let err = equalize_adapthist(bright.view(), &ClaheParams::default()).expect_err(">1");
        assert!(err.to_string().contains("outside [-1, 1]"), "{err}");
    }

    #[test]
    fn constant_frame_stays_finite() {
        let flat = Array2::<f32>::from_elem((16, 16), 0.5);
        let out = equalize_adapthist(flat.view(), &ClaheParams::default()).expect("valid");
        assert!(out.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
    }
}
