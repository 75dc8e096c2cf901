//! Random fields of one case, built once and sampled by every frame. Each speckle field is a
//! complex Gaussian field (its modulus is Rayleigh distributed, `E|S|^2 = 1`) made in polar
//! beam coordinates, where the point-spread function is separable: axial along the beam,
//! lateral across it and widening with depth; it is then resampled onto a Cartesian grid in
//! material (end-diastolic) coordinates, so frames sample it where each pixel's tissue came
//! from and the speckle moves with the tissue. The texture grid holds two smooth unit fields
//! (myocardial heterogeneity, background variation). Both are sampled bilinearly.

use std::f64::consts::FRAC_PI_2;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Resolution floor of the PSF, as a fraction of the pixel spacing: a field finer than the
/// raster would alias into pixel noise (a modelling choice: the image is band-limited).
pub(crate) const PIXEL_PSF_FRACTION: f64 = 0.35;
/// Angular margin of the polar grid beyond the sector, radians (material points near the
/// edge may come from slightly outside the fan).
const ANGLE_MARGIN: f64 = 0.3;
/// Grid step of the smooth texture fields, mm.
const TEXTURE_STEP_MM: f64 = 6.0;

/// An `N`-channel field on a regular Cartesian grid in mm, bilinearly interpolated.
#[derive(Debug, Clone)]
pub(crate) struct Grid<const N: usize> {
    x0: f64,
    y0: f64,
    inv_step: f64,
    nx: usize,
    ny: usize,
    data: Vec<[f32; N]>,
}

/// The rectangle `[x0, x1] x [y0, y1]` (mm) a grid must cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extent {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl<const N: usize> Grid<N> {
    fn new(extent: Extent, step: f64) -> Self {
        let nx = (((extent.x1 - extent.x0) / step).ceil() as usize + 1).max(2);
        let ny = (((extent.y1 - extent.y0) / step).ceil() as usize + 1).max(2);
        Grid {
            x0: extent.x0,
            y0: extent.y0,
            inv_step: 1.0 / step,
            nx,
            ny,
            data: vec![[0.0; N]; nx * ny],
        }
    }

    fn position(&self, i: usize, j: usize) -> [f64; 2] {
        [
            self.x0 + j as f64 / self.inv_step,
            self.y0 + i as f64 / self.inv_step,
        ]
    }

    fn lerp(&self, i0: usize, i1: usize, j0: usize, j1: usize, fy: f32, fx: f32) -> [f32; N] {
        let (a, b) = (self.data[i0 * self.nx + j0], self.data[i0 * self.nx + j1]);
        let (c, d) = (self.data[i1 * self.nx + j0], self.data[i1 * self.nx + j1]);
        let mut out = [0.0; N];
        for ch in 0..N {
            let top = a[ch] + fx * (b[ch] - a[ch]);
            let bottom = c[ch] + fx * (d[ch] - c[ch]);
            out[ch] = top + fy * (bottom - top);
        }
        out
    }

    /// Value at `[x, y]` mm, clamped to the grid's edge.
    pub fn sample(&self, [x, y]: [f64; 2]) -> [f32; N] {
        let gx = ((x - self.x0) * self.inv_step).clamp(0.0, (self.nx - 1) as f64);
        let gy = ((y - self.y0) * self.inv_step).clamp(0.0, (self.ny - 1) as f64);
        let (j, i) = (
            (gx as usize).min(self.nx - 2),
            (gy as usize).min(self.ny - 2),
        );
        self.lerp(
            i,
            i + 1,
            j,
            j + 1,
            (gy - i as f64) as f32,
            (gx - j as f64) as f32,
        )
    }
}

/// Point-spread function of the beam, Gaussian standard deviations in mm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Psf {
    pub axial: f64,
    pub lateral: f64,
    /// Lateral growth, mm of standard deviation per mm of depth.
    pub growth: f64,
}

impl Psf {
    /// Effective axial standard deviation on a raster of spacing `pixel` mm.
    pub fn axial_on(&self, pixel: f64) -> f64 {
        self.axial.hypot(PIXEL_PSF_FRACTION * pixel)
    }

    /// Effective lateral standard deviation at `depth` mm on a raster of spacing `pixel` mm.
    pub fn lateral_on(&self, depth: f64, pixel: f64) -> f64 {
        (self.lateral + self.growth * depth.max(0.0)).hypot(PIXEL_PSF_FRACTION * pixel)
    }
}

/// Half-width `k` of the box (width `2k + 1`) whose threefold repetition has standard deviation `sigma`.
fn box_radius(sigma: f64) -> usize {
    (0.5 * ((4.0 * sigma * sigma + 1.0).sqrt() - 1.0))
        .round()
        .max(0.0) as usize
}

/// Sum of squared weights of the normalised threefold box of half-width `k`.
fn triple_box_energy(k: usize) -> f64 {
    let w = 2 * k + 1;
    let mut kernel = vec![1.0f64];
    for _ in 0..3 {
        let mut next = vec![0.0; kernel.len() + w - 1];
        let mut run = 0.0;
        for (n, slot) in next.iter_mut().enumerate() {
            run += kernel.get(n).copied().unwrap_or(0.0);
            if n >= w {
                run -= kernel.get(n - w).copied().unwrap_or(0.0);
            }
            *slot = run / w as f64;
        }
        kernel = next;
    }
    kernel.iter().map(|v| v * v).sum()
}

/// In-place box blur of half-width `k` with edge clamping; `scratch` must be as long as `line`.
fn box_blur(line: &mut [f32], k: usize, scratch: &mut [f64]) {
    let n = line.len();
    if k == 0 || n == 0 {
        return;
    }
    let at = |i: isize| line[i.clamp(0, n as isize - 1) as usize] as f64;
    let mut sum: f64 = (-(k as isize)..=k as isize).map(at).sum();
    let w = (2 * k + 1) as f64;
    for (i, s) in scratch.iter_mut().enumerate().take(n) {
        *s = sum / w;
        sum += at(i as isize + k as isize + 1) - at(i as isize - k as isize);
    }
    for (v, s) in line.iter_mut().zip(scratch.iter()) {
        *v = *s as f32;
    }
}

fn triple_blur(line: &mut [f32], k: usize, scratch: &mut [f64]) {
    for _ in 0..3 {
        box_blur(line, k, scratch);
    }
}

/// `N / 2` independent speckle fields of one case over `extent` (channels `2k, 2k + 1` are the
/// real and imaginary parts of field `k`), sampled every `step` mm, for a probe at the origin
/// with half sector angle `half_angle` and PSF `psf` on a raster of spacing `pixel`.
pub(crate) fn speckle_grid<const N: usize, R: Rng + ?Sized>(
    extent: Extent,
    step: f64,
    half_angle: f64,
    psf: Psf,
    pixel: f64,
    rng: &mut R,
) -> Grid<N> {
    let corners = [
        [extent.x0, extent.y0],
        [extent.x1, extent.y0],
        [extent.x0, extent.y1],
        [extent.x1, extent.y1],
    ];
    let r_max = corners.iter().map(|c| c[0].hypot(c[1])).fold(0.0, f64::max) + step;
    let theta_max = (half_angle + ANGLE_MARGIN).min(FRAC_PI_2 + ANGLE_MARGIN);
    let dr = step;
    let dtheta = step / r_max;
    let n_r = (r_max / dr).ceil() as usize + 1;
    let n_t = (2.0 * theta_max / dtheta).ceil() as usize + 1;
    // Complex white noise with E|z|^2 = 1, as two planes [r][theta].
    let std = std::f64::consts::FRAC_1_SQRT_2;
    let mut planes: Vec<Vec<f32>> = (0..N).map(|_| Vec::with_capacity(n_r * n_t)).collect();
    for _ in 0..n_r * n_t {
        for plane in planes.iter_mut() {
            let z: f64 = StandardNormal.sample(rng);
            plane.push((z * std) as f32);
        }
    }
    let k_axial = box_radius(psf.axial_on(pixel) / dr);
    let mut scratch = vec![0.0f64; n_r.max(n_t)];
    let mut column = vec![0.0f32; n_r];
    for plane in planes.iter_mut() {
        for t in 0..n_t {
            for (r, c) in column.iter_mut().enumerate() {
                *c = plane[r * n_t + t];
            }
            triple_blur(&mut column, k_axial, &mut scratch);
            for (r, c) in column.iter().enumerate() {
                plane[r * n_t + t] = *c;
            }
        }
    }
    let axial_energy = triple_box_energy(k_axial);
    for r in 0..n_r {
        let radius = r as f64 * dr;
        let sigma = psf.lateral_on(radius, pixel) / (radius * dtheta).max(1e-9);
        let k = box_radius(sigma.min(n_t as f64));
        let gain = (1.0 / (axial_energy * triple_box_energy(k))).sqrt() as f32;
        for plane in planes.iter_mut() {
            let row = &mut plane[r * n_t..(r + 1) * n_t];
            triple_blur(row, k, &mut scratch);
            row.iter_mut().for_each(|v| *v *= gain);
        }
    }
    let mut grid = Grid::new(extent, step);
    for i in 0..grid.ny {
        for j in 0..grid.nx {
            let [x, y] = grid.position(i, j);
            let gr = (x.hypot(y) / dr).min((n_r - 1) as f64);
            let gt = ((x.atan2(y) + theta_max) / dtheta).clamp(0.0, (n_t - 1) as f64);
            let (ri, ti) = ((gr as usize).min(n_r - 2), (gt as usize).min(n_t - 2));
            let (fr, ft) = ((gr - ri as f64) as f32, (gt - ti as f64) as f32);
            let mut v = [0.0f32; N];
            for (ch, plane) in planes.iter().enumerate() {
                let at = |r: usize, t: usize| plane[r * n_t + t];
                let near = at(ri, ti) + ft * (at(ri, ti + 1) - at(ri, ti));
                let far = at(ri + 1, ti) + ft * (at(ri + 1, ti + 1) - at(ri + 1, ti));
                v[ch] = near + fr * (far - near);
            }
            grid.data[i * grid.nx + j] = v;
        }
    }
    grid
}

/// Two smooth, roughly unit-variance random fields over `extent` (features of ~`TEXTURE_STEP_MM`).
pub(crate) fn texture_grid<R: Rng + ?Sized>(extent: Extent, rng: &mut R) -> Grid<2> {
    let mut grid = Grid::new(extent, TEXTURE_STEP_MM);
    for v in grid.data.iter_mut() {
        let a: f64 = StandardNormal.sample(rng);
        let b: f64 = StandardNormal.sample(rng);
        // Bilinear interpolation lowers the variance between nodes; 1.25 brings the average back near 1.
        *v = [(1.25 * a) as f32, (1.25 * b) as f32];
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn field(psf: Psf) -> Grid<2> {
        let extent = Extent {
            x0: -60.0,
            x1: 60.0,
            y0: -5.0,
            y1: 130.0,
        };
        speckle_grid(
            extent,
            0.5,
            0.6,
            psf,
            1.0,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(9),
        )
    }

    fn intensity_stats(g: &Grid<2>, pts: &[[f64; 2]]) -> (f64, f64) {
        let v: Vec<f64> = pts
            .iter()
            .map(|&p| g.sample(p))
            .map(|[a, b]| (a * a + b * b) as f64)
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
        (m, var.sqrt() / m)
    }

    #[test]
    fn box_energy_matches_a_gaussian_for_wide_kernels() {
        assert_eq!(triple_box_energy(0), 1.0);
        let k = 10;
        let sigma = (((2 * k + 1) as f64).powi(2) - 1.0).sqrt() / 2.0;
        let gauss = 1.0 / (2.0 * sigma * std::f64::consts::PI.sqrt());
        assert!((triple_box_energy(k) / gauss - 1.0).abs() < 0.03);
        assert_eq!(box_radius(0.2), 0);
        assert_eq!(box_radius(5.0), 5);
    }

    #[test]
    fn speckle_is_fully_developed_with_unit_mean_intensity() {
        let g = field(Psf {
            axial: 0.3,
            lateral: 1.0,
            growth: 0.01,
        });
        // Points on a coarse lattice inside the fan (approximately independent samples).
        let pts: Vec<[f64; 2]> = (0..40)
            .flat_map(|i| (0..30).map(move |j| [-30.0 + 2.0 * j as f64, 20.0 + 2.5 * i as f64]))
            .collect();
        let (mean, contrast) = intensity_stats(&g, &pts);
        assert!((mean - 1.0).abs() < 0.12, "mean intensity {mean}");
        // Exponential intensity (Rayleigh amplitude): std / mean = 1.
        assert!((contrast - 1.0).abs() < 0.15, "speckle contrast {contrast}");
    }

    #[test]
    fn grain_is_longer_laterally_and_grows_with_depth() {
        let g = field(Psf {
            axial: 0.3,
            lateral: 1.2,
            growth: 0.02,
        });
        let corr = |p0: [f64; 2], d: [f64; 2]| {
            let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
            for i in 0..400 {
                let p = [p0[0] + (i % 20) as f64 * 2.7, p0[1] + (i / 20) as f64 * 0.9];
                let a = g.sample(p)[0] as f64;
                let b = g.sample([p[0] + d[0], p[1] + d[1]])[0] as f64;
                sab += a * b;
                saa += a * a;
                sbb += b * b;
            }
            sab / (saa * sbb).sqrt()
        };
        let lateral = corr([-25.0, 30.0], [1.0, 0.0]);
        let axial = corr([-25.0, 30.0], [0.0, 1.0]);
        assert!(lateral > axial + 0.2, "lateral {lateral} vs axial {axial}");
        let deep = corr([-25.0, 100.0], [1.5, 0.0]);
        let shallow = corr([-25.0, 30.0], [1.5, 0.0]);
        assert!(deep > shallow, "deep {deep} vs shallow {shallow}");
    }

    #[test]
    fn sampling_is_continuous_and_clamped() {
        let g = texture_grid(
            Extent {
                x0: 0.0,
                x1: 30.0,
                y0: 0.0,
                y1: 30.0,
            },
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(1),
        );
        let a = g.sample([10.0, 10.0]);
        let b = g.sample([10.01, 10.0]);
        assert!((a[0] - b[0]).abs() < 0.05);
        assert_eq!(
            g.sample([-100.0, 5.0]),
            g.sample([0.0, 5.0]),
            "clamped to the edge"
        );
    }

    #[test]
    fn speckle_fields_are_independent() {
        let extent = Extent {
            x0: -40.0,
            x1: 40.0,
            y0: 0.0,
            y1: 80.0,
        };
        let g: Grid<4> = speckle_grid(
            extent,
            0.5,
            0.6,
            Psf {
                axial: 0.3,
                lateral: 1.0,
                growth: 0.0,
            },
            1.0,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(3),
        );
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for i in 0..40 {
            for j in 0..30 {
                let v = g.sample([-30.0 + 2.0 * j as f64, 20.0 + 1.5 * i as f64]);
                sab += (v[0] * v[2]) as f64;
                saa += (v[0] * v[0]) as f64;
                sbb += (v[2] * v[2]) as f64;
            }
        }
        assert!((sab / (saa * sbb).sqrt()).abs() < 0.1);
    }
}
