//! B-mode image formation for one case. `CaseRenderer::new` precomputes everything that does
//! not change between frames (fan pixels, random fields, depth/edge gain, near-field haze with
//! its static clutter speckle, the noise table, blur kernels, drop-out patches); `frame` then
//! maps each fan pixel to its material point, names the tissue (label), forms the echo
//! amplitude (echogenicity, texture, angle-dependent drop-out, valve leaflets), blurs it by the
//! PSF, multiplies by tissue-attached speckle, adds decorrelating blood speckle and the static
//! near-field clutter, integrates the intensity over the pixel, adds noise and log-compresses
//! to the dynamic range. Persistence and smoothing act across the clip.
//!
//! Three independent speckle fields are used: `S` (tissue, sampled at the material point),
//! `B` (mixed with `S` by a per-frame phase, so blood speckle decorrelates between frames) and
//! `C` (clutter, sampled at the image point, so it stays fixed to the probe).

use ndarray::{Array3, ArrayViewMut2, Axis};
use rand::Rng;

use super::anatomy::{Heart, Tissue};
use super::domain::DomainDraw;
use super::filters::{blur_columns, blur_rows, gaussian_kernel};
use super::geometry::{Fan, Raster};
use super::motion::{Timeline, shape_at, to_material};
use super::speckle::{Extent, Grid, Psf, speckle_grid, texture_grid};
use super::valves::{leaflets, segment_distance, tricuspid};

/// Margin of the random fields around the image, mm.
const FIELD_MARGIN_MM: f64 = 12.0;
/// Drop-out patches along each wall: samples of the patch profile over the long axis.
const PATCH_SAMPLES: usize = 64;
/// Sharpness of the angle dependence of drop-out: `sin(beam, wall normal)^4`.
const DROPOUT_POWER: i32 = 2;
const LN10_OVER_20: f64 = std::f64::consts::LN_10 / 20.0;
/// Integration of the intensity over a pixel: Gaussian standard deviation in pixels.
const PIXEL_INTEGRATION_PX: f64 = 0.5;
/// Channels of the speckle grid: tissue `S`, blood partner `B`, clutter `C` (re, im each).
const SPECKLE_CHANNELS: usize = 6;

fn db_to_intensity(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// A smooth random profile in [0, 1] over the long axis (where a wall drops out most).
fn patch_profile<R: Rng + ?Sized>(rng: &mut R) -> Vec<f32> {
    let waves: Vec<(f64, f64, f64)> = (0..3)
        .map(|k| {
            (
                rng.random::<f64>() + 0.3,
                (k as f64 + 1.0) * std::f64::consts::PI,
                rng.random::<f64>() * 6.3,
            )
        })
        .collect();
    let total: f64 = waves.iter().map(|w| w.0).sum();
    (0..PATCH_SAMPLES)
        .map(|i| {
            let u = i as f64 / (PATCH_SAMPLES - 1) as f64;
            let v: f64 = waves
                .iter()
                .map(|(a, f, p)| a * (f * u + p).cos())
                .sum::<f64>()
                / total;
            (0.5 + 0.5 * v) as f32
        })
        .collect()
}

/// Everything about one case that stays fixed over its frames.
pub(crate) struct CaseRenderer<'a> {
    raster: &'a Raster,
    heart: &'a Heart,
    draw: &'a DomainDraw,
    timeline: &'a Timeline,
    fan: Fan,
    speckle: Grid<SPECKLE_CHANNELS>,
    texture: Grid<2>,
    /// Per fan pixel: depth falloff and edge darkening (intensity factor).
    static_gain: Vec<f32>,
    /// Per fan pixel: near-field clutter intensity (fixed to the probe, not the tissue).
    haze: Vec<f32>,
    noise: Vec<f32>,
    patches: [Vec<f32>; 2],
    lateral_kernels: Vec<Vec<f32>>,
    axial_kernel: Vec<f32>,
    smoothing_rows: Vec<Vec<f32>>,
    smoothing_kernel: Vec<f32>,
    integration_rows: Vec<Vec<f32>>,
    integration_kernel: Vec<f32>,
    /// Per frame: mixing phase of the blood speckle (`cos S + sin B`) and offset into the noise table.
    blood_phase: Vec<f64>,
    noise_offsets: Vec<usize>,
}

impl<'a> CaseRenderer<'a> {
    pub fn new<R: Rng + ?Sized>(
        raster: &'a Raster,
        heart: &'a Heart,
        draw: &'a DomainDraw,
        timeline: &'a Timeline,
        rng: &mut R,
    ) -> Self {
        let fan = Fan::new(raster);
        let hw = raster.half_width_mm();
        let extent = Extent {
            x0: -hw - FIELD_MARGIN_MM,
            x1: hw + FIELD_MARGIN_MM,
            y0: -FIELD_MARGIN_MM,
            y1: raster.depth + FIELD_MARGIN_MM,
        };
        let pixel = raster.dx.min(raster.dy);
        let p = &draw.probe;
        let psf = Psf {
            axial: p.axial_psf_mm,
            lateral: p.lateral_psf_mm,
            growth: p.lateral_psf_growth_mm_per_cm / 10.0,
        };
        let speckle: Grid<SPECKLE_CHANNELS> =
            speckle_grid(extent, 0.5 * pixel, raster.half_angle, psf, pixel, rng);
        let texture = texture_grid(extent, rng);
        let (a, d) = (&draw.artefacts, &draw.display);
        let mut static_gain = Vec::with_capacity(fan.len());
        let mut haze = Vec::with_capacity(fan.len());
        for k in 0..fan.len() {
            let loss_db = a.depth_falloff_db_per_cm * fan.radius[k] / 10.0
                + a.edge_falloff_db * fan.angle_frac[k].powi(4);
            static_gain.push(db_to_intensity(-loss_db) as f32);
            let [.., cx, cy]: [f32; SPECKLE_CHANNELS] = speckle.sample(fan.pos[k]);
            let level = db_to_intensity(a.haze_db) * (-fan.radius[k] / a.haze_depth_mm).exp();
            haze.push((level * (cx * cx + cy * cy) as f64) as f32);
        }
        let frames = timeline.phase.len();
        let noise_len = fan.len() * 2 + 1;
        let noise = (0..noise_len)
            .map(|_| -(1.0 - rng.random::<f64>()).max(1e-12).ln() as f32)
            .collect();
        let noise_offsets = (0..frames)
            .map(|_| rng.random_range(0..=noise_len - fan.len()))
            .collect();
        // A random walk of the mixing phase with steps of about `decorrelation * pi / 2`
        // (random size and sign, so the pattern never repeats periodically).
        let step =
            draw.echogenicity.blood_decorrelation.clamp(0.0, 1.0) * std::f64::consts::FRAC_PI_2;
        let mut phase = rng.random::<f64>() * std::f64::consts::TAU;
        let blood_phase = (0..frames)
            .map(|_| {
                let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                phase += sign * step * (0.5 + rng.random::<f64>());
                phase
            })
            .collect();
        let patches = [patch_profile(rng), patch_profile(rng)];
        let lateral_kernels = (0..raster.height)
            .map(|i| {
                gaussian_kernel(psf.lateral_on((i as f64 + 0.5) * raster.dy, pixel) / raster.dx)
            })
            .collect();
        let axial_kernel = gaussian_kernel(psf.axial_on(pixel) / raster.dy);
        let smoothing_kernel = gaussian_kernel(d.smoothing_px);
        let smoothing_rows = vec![smoothing_kernel.clone(); raster.height];
        let integration_kernel = gaussian_kernel(PIXEL_INTEGRATION_PX);
        let integration_rows = vec![integration_kernel.clone(); raster.height];
        CaseRenderer {
            raster,
            heart,
            draw,
            timeline,
            fan,
            speckle,
            texture,
            static_gain,
            haze,
            noise,
            patches,
            lateral_kernels,
            axial_kernel,
            smoothing_rows,
            smoothing_kernel,
            integration_rows,
            integration_kernel,
            blood_phase,
            noise_offsets,
        }
    }

    fn patch(&self, side: usize, s0: f64) -> f64 {
        let span = self.heart.ed.len + 40.0;
        let u = ((s0 + 20.0) / span).clamp(0.0, 1.0);
        self.patches[side][(u * (PATCH_SAMPLES - 1) as f64).round() as usize] as f64
    }

    /// Renders every frame into `image` and `label` (`[T, H, W]`, zeroed by the caller).
    pub fn render(&self, image: &mut Array3<f32>, label: &mut Array3<u8>) {
        let (h, w) = (self.raster.height, self.raster.width);
        let mut amp = vec![0.0f32; h * w];
        let mut blood = vec![0.0f32; h * w];
        let mut spk = vec![0.0f32; h * w];
        let mut tmp = vec![0.0f32; h * w];
        let mut out = vec![0.0f32; h * w];
        let mut shown = vec![0.0f32; h * w];
        let mut inside = vec![false; h * w];
        self.fan.index.iter().for_each(|&i| inside[i] = true);
        let persistence = self.draw.display.persistence.clamp(0.0, 0.95) as f32;
        for t in 0..self.timeline.phase.len() {
            let mut label_t = label.index_axis_mut(Axis(0), t);
            self.tissue_maps(t, &mut amp, &mut blood, &mut spk, &mut label_t);
            blur_rows(&amp, &mut tmp, w, &self.lateral_kernels);
            blur_columns(&tmp, &mut amp, h, w, &self.axial_kernel);
            self.intensity(&amp, &blood, &spk, &mut out);
            blur_rows(&out, &mut tmp, w, &self.integration_rows);
            blur_columns(&tmp, &mut out, h, w, &self.integration_kernel);
            self.compress(t, &mut out);
            if self.smoothing_kernel.len() > 1 {
                blur_rows(&out, &mut tmp, w, &self.smoothing_rows);
                blur_columns(&tmp, &mut out, h, w, &self.smoothing_kernel);
                out.iter_mut()
                    .zip(&inside)
                    .for_each(|(v, &inn)| *v = if inn { v.clamp(0.0, 1.0) } else { 0.0 });
            }
            // Persistence: first-order recursive temporal filter on the displayed frames.
            let alpha = if t == 0 { 0.0 } else { persistence };
            shown
                .iter_mut()
                .zip(&out)
                .for_each(|(p, &v)| *p = (1.0 - alpha) * v + alpha * *p);
            image
                .index_axis_mut(Axis(0), t)
                .iter_mut()
                .zip(&shown)
                .for_each(|(dst, &v)| *dst = v);
        }
    }

    /// Labels of frame `t` and, per pixel, tissue amplitude (before the PSF blur), blood
    /// intensity and tissue speckle intensity.
    fn tissue_maps(
        &self,
        t: usize,
        amp: &mut [f32],
        blood: &mut [f32],
        spk: &mut [f32],
        label: &mut ArrayViewMut2<u8>,
    ) {
        let heart = self.heart;
        let (e, a) = (&self.draw.echogenicity, &self.draw.artefacts);
        let cur = shape_at(&heart.ed, &self.draw.motion, self.timeline.contraction[t]);
        let shift = self.timeline.shift[t];
        let valves = leaflets(
            &cur,
            self.timeline.opening[t],
            self.draw.anatomy.leaflet_ratio,
        );
        let valve_half =
            (0.5 * self.draw.anatomy.leaflet_mm).max(0.5 * self.raster.dx.min(self.raster.dy));
        let valve_reach =
            self.draw.anatomy.leaflet_ratio * 1.2 * cur.half[0].max(cur.half[1]) + valve_half;
        let tricuspid = tricuspid(
            heart,
            self.timeline.opening[t],
            self.draw.anatomy.leaflet_ratio,
        );
        let tricuspid_reach = heart
            .rv
            .map_or(0.0, |rv| 0.7 * self.draw.anatomy.leaflet_ratio * rv.width)
            + valve_half;
        let blood_level = db_to_intensity(e.blood_db) as f32;
        let (mix_s, mix_b) = (
            self.blood_phase[t].cos() as f32,
            self.blood_phase[t].sin() as f32,
        );
        let w = self.raster.width;
        amp.iter_mut().for_each(|v| *v = 0.0);
        blood.iter_mut().for_each(|v| *v = 0.0);
        let p = &heart.lv_profile;
        for k in 0..self.fan.len() {
            let idx = self.fan.index[k];
            let (s, r) = heart.local(self.fan.pos[k], shift);
            let side = usize::from(r >= 0.0);
            let (s0, ar0) = to_material(heart, &cur, s, r.abs(), side);
            let r0 = if r >= 0.0 { ar0 } else { -ar0 };
            let tissue = heart.classify(s0, r0);
            label[[idx / w, idx % w]] = tissue.label();
            let x = heart.world(s0, r0);
            let [sr, si, br, bi, ..] = self.speckle.sample(x);
            spk[idx] = sr * sr + si * si;
            let on_valve = (s - cur.len).abs() < valve_reach
                && r.abs() < cur.half[side] + valve_half
                && valves
                    .iter()
                    .any(|&seg| segment_distance([s, r], seg) <= valve_half)
                || tricuspid.is_some_and(|tv| {
                    r0 < 0.0
                        && (s0 - heart.ed.len).abs() < tricuspid_reach
                        && tv
                            .iter()
                            .any(|&seg| segment_distance([s0, r0], seg) <= valve_half)
                });
            if tissue.is_blood() && !on_valve {
                let (re, im) = (mix_s * sr + mix_b * br, mix_s * si + mix_b * bi);
                blood[idx] = blood_level * (re * re + im * im);
                continue;
            }
            let [tex_myo, tex_bg] = self.texture.sample(x);
            let mut db = match tissue {
                _ if on_valve => e.valve_db,
                Tissue::Myocardium => e.myocardium_variation_db * tex_myo as f64,
                Tissue::RvWall => e.rv_wall_db + e.myocardium_variation_db * tex_myo as f64,
                Tissue::Pericardium => e.pericardium_db,
                Tissue::AtrialWall => e.atrial_wall_db,
                Tissue::Annulus => e.annulus_db,
                Tissue::Background | Tissue::LvBlood | Tissue::RvBlood | Tissue::AtrialBlood => {
                    e.background_db + e.background_variation_db * tex_bg as f64
                }
            };
            if matches!(
                tissue,
                Tissue::Myocardium | Tissue::Pericardium | Tissue::RvWall
            ) && !on_valve
            {
                // Specular walls parallel to the beam return little echo (method: echo-facts, artefacts).
                let sign = if r >= 0.0 { 1.0 } else { -1.0 };
                let u = (s + cur.apex_wall) / (cur.len + cur.apex_wall);
                let slope = sign * (cur.half[side] + cur.wall[side]) * p.slope(u)
                    / (cur.len + cur.apex_wall);
                let norm = (1.0 + slope * slope).sqrt();
                let (ns, nr) = (-slope / norm, 1.0 / norm);
                let n = [
                    ns * heart.axis[0] + nr * heart.normal[0],
                    ns * heart.axis[1] + nr * heart.normal[1],
                ];
                let b = self.fan.beam[k];
                let cos = n[0] * b[0] + n[1] * b[1];
                let sin2 = (1.0 - cos * cos).max(0.0);
                db -= a.dropout_db * self.patch(side, s0) * sin2.powi(DROPOUT_POWER);
            }
            amp[idx] = (db * LN10_OVER_20).exp() as f32;
        }
    }

    /// Echo intensity of the fan pixels before pixel integration and noise: tissue amplitude
    /// (PSF-blurred) times its speckle, plus blood, with depth/edge gain; plus static clutter.
    fn intensity(&self, amp: &[f32], blood: &[f32], spk: &[f32], out: &mut [f32]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..self.fan.len() {
            let idx = self.fan.index[k];
            out[idx] =
                self.static_gain[k] * (amp[idx] * amp[idx] * spk[idx] + blood[idx]) + self.haze[k];
        }
    }

    /// Adds noise to the integrated intensity and log-compresses it to display values in [0, 1]
    /// (0 outside the fan).
    fn compress(&self, t: usize, io: &mut [f32]) {
        let d = &self.draw.display;
        let noise_level = db_to_intensity(self.draw.artefacts.noise_db) as f32;
        let floor = (d.white_db - d.dynamic_range_db - d.gain_db) as f32;
        let scale = 1.0 / d.dynamic_range_db as f32;
        let noff = self.noise_offsets[t];
        for k in 0..self.fan.len() {
            let idx = self.fan.index[k];
            let intensity = io[idx] + noise_level * self.noise[noff + k];
            let db = 10.0 * intensity.max(1e-30).log10();
            io[idx] = ((db - floor) * scale).clamp(0.0, 1.0);
        }
        let mut inside = 0;
        for (i, v) in io.iter_mut().enumerate() {
            if inside < self.fan.len() && self.fan.index[inside] == i {
                inside += 1;
            } else {
                *v = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_profiles_lie_in_the_unit_interval() {
        use rand::SeedableRng;
        let p = patch_profile(&mut rand_chacha::ChaCha8Rng::seed_from_u64(4));
        assert_eq!(p.len(), PATCH_SAMPLES);
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            p.iter().cloned().fold(0.0, f32::max) - p.iter().cloned().fold(1.0, f32::min) > 0.1
        );
    }
}
