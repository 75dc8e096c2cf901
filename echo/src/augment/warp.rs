//! Per-frame geometric warps of `[T, H, W]` arrays: integer shifts (zero-pad one side, crop the
//! other, method.md 7.2), torchvision-`rotate` rotations (about the geometric centre
//! `((H−1)/2, (W−1)/2)`, positive = counter-clockwise on screen, nearest with round-half-even,
//! fill 0), and general affine warps for training augmentation (bilinear or nearest).

use ndarray::Array3;

/// An affine map from output pixel coordinates to source pixel coordinates, both relative to
/// the frame centre, `x` along W (columns), `y` along H (rows, downwards):
/// `[xs, ys] = m · [x, y] + t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine2 {
    pub m: [[f64; 2]; 2],
    pub t: [f64; 2],
}

impl Affine2 {
    pub const IDENTITY: Affine2 = Affine2 {
        m: [[1.0, 0.0], [0.0, 1.0]],
        t: [0.0, 0.0],
    };

    /// torchvision `rotate(img, degrees)`: the content turns counter-clockwise on screen by
    /// `degrees`; each output pixel reads the source at `R(θ)·p` (torchvision's inverse matrix
    /// `[cos θ, −sin θ; sin θ, cos θ]` in y-down coordinates).
    pub fn rotation(degrees: f64) -> Self {
        let (s, c) = degrees.to_radians().sin_cos();
        Affine2 {
            m: [[c, -s], [s, c]],
            t: [0.0, 0.0],
        }
    }

    /// Content rotated by `degrees` (counter-clockwise), scaled by `scale` about the centre,
    /// then shifted by `(dy, dx)` pixels.
    pub fn similarity(degrees: f64, scale: f64, dy: f64, dx: f64) -> Self {
        let r = Affine2::rotation(degrees);
        let m = r.m.map(|row| row.map(|v| v / scale));
        let t = [
            -(m[0][0] * dx + m[0][1] * dy),
            -(m[1][0] * dx + m[1][1] * dy),
        ];
        Affine2 { m, t }
    }

    fn source(&self, row: usize, col: usize, centre: [f64; 2]) -> (f64, f64) {
        let x = col as f64 - centre[1];
        let y = row as f64 - centre[0];
        let xs = self.m[0][0] * x + self.m[0][1] * y + self.t[0];
        let ys = self.m[1][0] * x + self.m[1][1] * y + self.t[1];
        (ys + centre[0], xs + centre[1])
    }
}

fn centre(h: usize, w: usize) -> [f64; 2] {
    [(h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0]
}

/// Shifts every frame by `dy` rows and `dx` columns: `out[r, c] = in[r − dy, c − dx]`, 0 where
/// that falls outside (the original's pad-one-side, crop-the-other translation).
pub fn shift<T: Copy + Default>(a: &Array3<T>, dy: i64, dx: i64) -> Array3<T> {
    let (t, h, w) = a.dim();
    let src = a.as_standard_layout();
    let src = src.as_slice().unwrap_or(&[]);
    let mut out = vec![T::default(); t * h * w];
    // Columns that survive the horizontal shift.
    let c_lo = (dx.max(0) as usize).min(w);
    let c_hi = (w as i64 + dx.min(0)).max(0) as usize;
    if c_lo < c_hi && !src.is_empty() {
        for k in 0..t {
            for r in 0..h {
                let sr = r as i64 - dy;
                if sr < 0 || sr >= h as i64 {
                    continue;
                }
                let dst0 = (k * h + r) * w;
                let src0 = (k * h + sr as usize) * w;
                let sc_lo = (c_lo as i64 - dx) as usize;
                out[dst0 + c_lo..dst0 + c_hi]
                    .copy_from_slice(&src[src0 + sc_lo..src0 + sc_lo + (c_hi - c_lo)]);
            }
        }
    }
    Array3::from_shape_vec((t, h, w), out)
        .unwrap_or_else(|_| Array3::from_elem((t, h, w), T::default()))
}

/// Source pixel (flat index in the frame) of every output pixel, for nearest sampling.
fn nearest_sources(h: usize, w: usize, affine: &Affine2) -> Vec<Option<usize>> {
    let c = centre(h, w);
    let mut src = Vec::with_capacity(h * w);
    for r in 0..h {
        for col in 0..w {
            let (sr, sc) = affine.source(r, col, c);
            let (ir, ic) = (sr.round_ties_even(), sc.round_ties_even());
            let inside = ir >= 0.0 && ic >= 0.0 && ir < h as f64 && ic < w as f64;
            src.push(inside.then(|| ir as usize * w + ic as usize));
        }
    }
    src
}

/// Applies a per-pixel gather (the same for every frame) to all frames.
fn gather_frames<T: Copy + Default>(
    a: &Array3<T>,
    mut pixel: impl FnMut(&[T], usize) -> T,
) -> Array3<T> {
    let (t, h, w) = a.dim();
    let src = a.as_standard_layout();
    let src = src.as_slice().unwrap_or(&[]);
    let n = h * w;
    let mut out = vec![T::default(); t * n];
    if src.len() == t * n {
        for (dst, frame) in out
            .chunks_exact_mut(n.max(1))
            .zip(src.chunks_exact(n.max(1)))
        {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = pixel(frame, i);
            }
        }
    }
    Array3::from_shape_vec((t, h, w), out)
        .unwrap_or_else(|_| Array3::from_elem((t, h, w), T::default()))
}

/// Nearest-neighbour warp (round half to even, as `grid_sample(mode="nearest")`), fill 0.
pub fn warp_nearest<T: Copy + Default>(a: &Array3<T>, affine: &Affine2) -> Array3<T> {
    let (_, h, w) = a.dim();
    let sources = nearest_sources(h, w, affine);
    gather_frames(a, |frame, i| sources[i].map_or(T::default(), |s| frame[s]))
}

/// Bilinear warp with zero padding (neighbours outside the frame count as 0).
pub fn warp_linear(a: &Array3<f32>, affine: &Affine2) -> Array3<f32> {
    let (_, h, w) = a.dim();
    let c = centre(h, w);
    // Up to four (flat source index, weight) taps per output pixel.
    let mut taps: Vec<[(usize, f32); 4]> = Vec::with_capacity(h * w);
    for r in 0..h {
        for col in 0..w {
            let (sr, sc) = affine.source(r, col, c);
            let (r0, c0) = (sr.floor(), sc.floor());
            let (fr, fc) = ((sr - r0) as f32, (sc - c0) as f32);
            let tap = |rr: f64, cc: f64, wgt: f32| -> (usize, f32) {
                if rr >= 0.0 && cc >= 0.0 && rr < h as f64 && cc < w as f64 {
                    (rr as usize * w + cc as usize, wgt)
                } else {
                    (0, 0.0)
                }
            };
            taps.push([
                tap(r0, c0, (1.0 - fr) * (1.0 - fc)),
                tap(r0, c0 + 1.0, (1.0 - fr) * fc),
                tap(r0 + 1.0, c0, fr * (1.0 - fc)),
                tap(r0 + 1.0, c0 + 1.0, fr * fc),
            ]);
        }
    }
    gather_frames(a, |frame, i| {
        let [a0, a1, a2, a3] = taps[i];
        frame[a0.0] * a0.1 + frame[a1.0] * a1.1 + frame[a2.0] * a2.1 + frame[a3.0] * a3.1
    })
}

/// torchvision `rotate(frame, degrees, interpolation=NEAREST, fill=0)` on every frame.
pub fn rotate_nearest<T: Copy + Default>(a: &Array3<T>, degrees: f64) -> Array3<T> {
    warp_nearest(a, &Affine2::rotation(degrees))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_moves_content_and_zero_fills() {
        let a = Array3::from_shape_fn((1, 3, 4), |(_, r, c)| (r * 4 + c + 1) as u8);
        let s = shift(&a, 1, -2);
        assert_eq!(s[[0, 1, 0]], a[[0, 0, 2]]);
        assert_eq!(s[[0, 0, 0]], 0, "row 0 is uncovered");
        assert_eq!(s[[0, 2, 3]], 0, "the last two columns are uncovered");
    }

    #[test]
    fn rotation_by_90_is_counter_clockwise_about_the_centre() {
        // 3x3: the pixel below the centre goes to the right of it.
        let mut a = Array3::<u8>::zeros((1, 3, 3));
        a[[0, 2, 1]] = 7;
        let r = rotate_nearest(&a, 90.0);
        assert_eq!(r[[0, 1, 2]], 7);
        assert_eq!(r.iter().filter(|&&v| v != 0).count(), 1);
        // Even size: the centre is between pixels, a 4x4 block rotates onto itself.
        let b = Array3::from_shape_fn((1, 4, 4), |(_, r, c)| (r * 4 + c) as u8);
        let r4 = rotate_nearest(
            &rotate_nearest(&rotate_nearest(&rotate_nearest(&b, 90.0), 90.0), 90.0),
            90.0,
        );
        assert_eq!(r4, b);
        assert_eq!(rotate_nearest(&b, 90.0)[[0, 0, 0]], b[[0, 0, 3]]);
    }

    #[test]
    fn identity_warps_are_exact() {
        let a = Array3::from_shape_fn((2, 5, 6), |(t, r, c)| (t * 30 + r * 6 + c) as f32);
        assert_eq!(warp_linear(&a, &Affine2::IDENTITY), a);
        assert_eq!(warp_nearest(&a, &Affine2::IDENTITY), a);
        assert_eq!(rotate_nearest(&a, 0.0), a);
    }

    #[test]
    fn similarity_translation_matches_shift() {
        let a = Array3::from_shape_fn((1, 6, 7), |(_, r, c)| (r * 7 + c) as f32);
        let warped = warp_linear(&a, &Affine2::similarity(0.0, 1.0, 2.0, -1.0));
        assert_eq!(warped, shift(&a, 2, -1));
    }
}
