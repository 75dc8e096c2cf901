//! Synthetic echocardiography: apical 2- and 4-chamber B-mode sequences (`[T, H, W]`, probe and
//! apex at the top) with exact labels (0 background, 1 LV cavity, 2 myocardium), drawn from a
//! configurable domain so that several domains differ the way scanners and image quality do.
//!
//! A case is built in millimetres and rasterised at the end: the sector (`geometry`), the
//! end-diastolic heart (`anatomy`, with chamber `profile`s), its motion over one or more cycles
//! and the map from each frame back to end-diastolic material points (`motion`), the valve
//! leaflets (`valves`), the per-case random fields (`speckle`) and the B-mode image formation
//! (`image`, with separable `filters`). Every case is a pure function of
//! `(config, seed, index)`, so cases can be made in parallel and one case can be remade alone.
//!
//! ```no_run
//! use dataset::sim::{SimConfig, simulate};
//! let cfg = SimConfig { cases: 4, ..SimConfig::default() };
//! cfg.validate().expect("a valid config");
//! let cases = simulate(&cfg, 42);
//! assert_eq!(cases[0].id, "source_0000");
//! ```

mod anatomy;
mod config;
mod domain;
mod filters;
mod geometry;
mod image;
mod motion;
mod profile;
mod speckle;
mod valves;

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use config::{Interval, PixelAspect, SimConfig, View};
pub use domain::{
    Anatomy, AnatomyDraw, Artefacts, ArtefactsDraw, Display, DisplayDraw, DomainDraw, Echogenicity,
    EchogenicityDraw, Motion, MotionDraw, Probe, ProbeDraw, SimDomain,
};

/// Errors of the simulator's configuration.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// One or more configuration values are unusable; every problem names its key and the fix.
    #[error("invalid simulator config:\n  - {}", problems.join("\n  - "))]
    Invalid { problems: Vec<String> },
}

/// What the simulator knows about a case beyond its image and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseTruth {
    /// The case's view.
    pub view: View,
    /// Every parameter drawn for the case (ejection fraction, sizes, image formation, ...).
    pub params: DomainDraw,
    /// Pixel spacing `[dy, dx]`, mm.
    pub spacing_mm: [f64; 2],
    /// Cardiac phase of each frame (0 = end-diastole).
    pub phase: Vec<f64>,
    /// Contraction of each frame: 0 at end-diastole, 1 at end-systole.
    pub contraction: Vec<f64>,
    /// LV long axis (endocardial apex to mitral annulus) of each frame, mm.
    pub lv_length_mm: Vec<f64>,
    /// Analytic LV cavity area of each frame, mm^2 (before rasterisation and clipping to the fan).
    pub lv_area_mm2: Vec<f64>,
    /// Frame with the largest cavity (closest to end-diastole).
    pub ed_frame: usize,
    /// Frame with the smallest cavity (closest to end-systole).
    pub es_frame: usize,
    /// Frames per cardiac cycle.
    pub frames_per_cycle: f64,
}

/// The random stream of case `index` under `seed`: one ChaCha stream per case, so cases are
/// independent of each other and of the order in which they are made.
fn case_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}

/// Case `index` of the data set `cfg` under `seed`, with its ground truth. Deterministic in
/// `(cfg, seed, index)`. Call `cfg.validate()` first: an invalid config never panics here but
/// may give meaningless images.
pub fn simulate_case_with_truth(
    cfg: &SimConfig,
    seed: u64,
    index: usize,
) -> (echo::Case, CaseTruth) {
    let mut rng = case_rng(seed, index);
    let view = cfg.view_of(index);
    let [f_lo, f_hi] = cfg.frames;
    let (f_lo, f_hi) = (f_lo.min(f_hi).max(1), f_lo.max(f_hi).max(1));
    let frames = rng.random_range(f_lo..=f_hi);
    let params = cfg.domain.draw(&mut rng);
    let mut motion_rng = ChaCha8Rng::seed_from_u64(rng.random());
    let mut field_rng = ChaCha8Rng::seed_from_u64(rng.random());

    let raster = geometry::Raster::new(
        cfg.height,
        cfg.width,
        params.probe.depth_mm,
        params.probe.sector_deg,
        cfg.pixel_aspect,
    );
    let mut heart = anatomy::Heart::new(view, &params.anatomy);
    heart.frame_in_sector(
        raster.half_angle,
        params.probe.depth_mm,
        params.motion.translation_mm + 0.5 * params.motion.drift_mm,
    );
    let timeline = motion::Timeline::new(frames, &params.motion, &mut motion_rng);
    let renderer = image::CaseRenderer::new(&raster, &heart, &params, &timeline, &mut field_rng);
    let shape = [frames, cfg.height, cfg.width];
    let mut img = Array3::<f32>::zeros(shape);
    let mut label = Array3::<u8>::zeros(shape);
    renderer.render(&mut img, &mut label);

    let shapes: Vec<anatomy::Shape> = timeline
        .contraction
        .iter()
        .map(|&c| motion::shape_at(&heart.ed, &params.motion, c))
        .collect();
    let lv_area_mm2: Vec<f64> = shapes
        .iter()
        .map(|s| s.cavity_area(&heart.lv_profile))
        .collect();
    let arg = |better: fn(f64, f64) -> bool| {
        (0..frames).fold(0, |best, k| {
            if better(lv_area_mm2[k], lv_area_mm2[best]) {
                k
            } else {
                best
            }
        })
    };
    let truth = CaseTruth {
        view,
        spacing_mm: [raster.dy, raster.dx],
        phase: timeline.phase.clone(),
        contraction: timeline.contraction.clone(),
        lv_length_mm: shapes.iter().map(|s| s.len).collect(),
        ed_frame: arg(|a, b| a > b),
        es_frame: arg(|a, b| a < b),
        lv_area_mm2,
        frames_per_cycle: timeline.frames_per_cycle,
        params,
    };
    let case = echo::Case {
        id: format!("{}_{index:04}", cfg.name),
        image: img,
        label: Some(label),
        geometry: echo::Geometry::identity(shape, [1.0, raster.dy, raster.dx]),
        domain: cfg.name.clone(),
        view: view.as_str().to_string(),
    };
    (case, truth)
}

/// Case `index` of the data set `cfg` under `seed` (see `simulate_case_with_truth`).
pub fn simulate_case(cfg: &SimConfig, seed: u64, index: usize) -> echo::Case {
    simulate_case_with_truth(cfg, seed, index).0
}

/// All `cfg.cases` cases, made in parallel on rayon's pool; the result does not depend on the
/// number of threads.
pub fn simulate(cfg: &SimConfig, seed: u64) -> Vec<echo::Case> {
    (0..cfg.cases)
        .into_par_iter()
        .map(|i| simulate_case(cfg, seed, i))
        .collect()
}

/// `cfg.validate()` then `simulate`.
pub fn try_simulate(cfg: &SimConfig, seed: u64) -> Result<Vec<echo::Case>, SimError> {
    cfg.validate()?;
    Ok(simulate(cfg, seed))
}
