//! `SimDomain`: every anatomy, motion and image-formation parameter of a simulated domain, in
//! six groups (probe, anatomy, motion, echogenicity, artefacts, display). Each parameter is an
//! `Interval` drawn per case; its default is the `source` preset and it carries hard limits
//! outside which the simulator would draw nonsense. One macro generates, per group, the config
//! struct, its `Default`, the struct of drawn values and the draw/check functions, so a new
//! parameter is added in exactly one place. Defaults come from `shared/reference/echo-facts.md`.

use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::config::Interval;

/// Defines a parameter group: `Config => Drawn { /// doc  field: [lo, hi] within [min, max], ... }`.
macro_rules! param_group {
    (
        $(#[$smeta:meta])*
        $name:ident => $drawn:ident, $key:literal {
            $(
                $(#[$fmeta:meta])*
                $field:ident : [$lo:expr, $hi:expr] within [$min:expr, $max:expr],
            )+
        }
    ) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Interval, )+
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: Interval::from_const($lo, $hi), )+ }
            }
        }

        #[doc = concat!("Values of `", stringify!($name), "` drawn for one case.")]
        #[derive(Debug, Clone, PartialEq)]
        pub struct $drawn {
            $( $(#[$fmeta])* pub $field: f64, )+
        }

        impl $name {
            /// One draw of every parameter, in declaration order.
            pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> $drawn {
                $drawn { $( $field: self.$field.draw(rng), )+ }
            }

            fn check(&self, problems: &mut Vec<String>) {
                $( self.$field.check_within(concat!("domain.", $key, ".", stringify!($field)), $min, $max, problems); )+
            }
        }
    };
}

param_group! {
    /// Transducer, sector and beam (the scanner and its preset).
    Probe => ProbeDraw, "probe" {
        /// Imaging depth (fan radius), mm; adult apical views use 140-180 mm.
        depth_mm: [150.0, 170.0] within [60.0, 300.0],
        /// Sector opening angle, degrees; phased arrays use 60-90.
        sector_deg: [72.0, 80.0] within [20.0, 120.0],
        /// Axial point-spread function, Gaussian standard deviation in mm (axial resolution 0.5-1 mm FWHM).
        axial_psf_mm: [0.25, 0.35] within [0.05, 5.0],
        /// Lateral point-spread function at the probe, Gaussian standard deviation in mm (lateral resolution 2-4 mm FWHM).
        lateral_psf_mm: [0.9, 1.2] within [0.1, 10.0],
        /// Growth of the lateral PSF standard deviation with depth, mm per cm (the beam widens beyond the focus).
        lateral_psf_growth_mm_per_cm: [0.08, 0.12] within [0.0, 2.0],
    }
}

param_group! {
    /// Heart geometry at end-diastole (adult, apical views).
    Anatomy => AnatomyDraw, "anatomy" {
        /// Depth of the LV endocardial apex below the probe, mm (1-3 cm).
        apex_depth_mm: [15.0, 28.0] within [5.0, 80.0],
        /// Lateral offset of the apex from the fan's centre line, mm (positive: image right).
        apex_offset_mm: [-4.0, 4.0] within [-40.0, 40.0],
        /// Tilt of the LV long axis from vertical in the 2-chamber view, degrees (positive: base towards the image right).
        a2c_tilt_deg: [-6.0, 6.0] within [-40.0, 40.0],
        /// Tilt of the LV long axis from vertical in the 4-chamber view, degrees (the LV sits right of the septum).
        a4c_tilt_deg: [6.0, 14.0] within [-40.0, 40.0],
        /// LV long axis, endocardial apex to mitral annulus, mm (70-95).
        lv_length_mm: [75.0, 90.0] within [30.0, 150.0],
        /// LV cavity diameter at the mitral annulus, mm (38-58).
        lv_diameter_mm: [40.0, 52.0] within [15.0, 90.0],
        /// Fraction by which the right half of the cavity is wider than the left half (0: symmetric).
        lv_asymmetry: [-0.08, 0.08] within [-0.4, 0.4],
        /// Exponent of the superellipse cavity profile: 2 is an ellipse, larger is a blunter bullet.
        apex_bluntness: [2.0, 2.8] within [1.2, 6.0],
        /// How much wider the mid-cavity is than the annulus (fraction); the annulus is the narrowest basal point.
        base_narrowing: [0.05, 0.15] within [0.0, 0.5],
        /// Myocardial wall thickness at end-diastole, mm (6-11).
        wall_mm: [7.0, 10.0] within [2.0, 25.0],
        /// Apical wall thickness as a fraction of the side walls.
        apex_wall_ratio: [0.7, 0.9] within [0.3, 1.5],
        /// Thickness of the bright pericardium rim, mm.
        pericardium_mm: [2.0, 3.5] within [0.5, 8.0],
        /// RV cavity width at the base as a fraction of the LV basal diameter (4-chamber view).
        rv_width_ratio: [0.45, 0.65] within [0.2, 1.5],
        /// RV length (tricuspid level to RV apex) as a fraction of the LV length.
        rv_length_ratio: [0.7, 0.85] within [0.3, 1.0],
        /// RV free wall thickness, mm.
        rv_wall_mm: [3.0, 5.0] within [1.0, 10.0],
        /// LA length below the mitral annulus, mm (35-55).
        la_length_mm: [35.0, 45.0] within [15.0, 90.0],
        /// LA diameter at the annulus, mm.
        la_diameter_mm: [36.0, 46.0] within [15.0, 80.0],
        /// RA size relative to the LA (4-chamber view).
        ra_ratio: [0.85, 1.0] within [0.5, 1.5],
        /// Atrial wall thickness, mm.
        atrial_wall_mm: [2.0, 3.0] within [0.5, 8.0],
        /// Mitral leaflet length as a fraction of the annulus radius (about 1: closed leaflets meet in the middle).
        leaflet_ratio: [0.85, 1.0] within [0.0, 1.5],
        /// Mitral leaflet thickness, mm.
        leaflet_mm: [1.2, 1.8] within [0.3, 5.0],
    }
}

param_group! {
    /// Cardiac motion: the ejection curve, wall motion and probe/heart translation.
    Motion => MotionDraw, "motion" {
        /// Ejection fraction (volume, area-length model); normal 0.52-0.72, reduced <= 0.40.
        ejection_fraction: [0.45, 0.70] within [0.05, 0.85],
        /// Fractional shortening of the long axis from end-diastole to end-systole (the apex stays put; 10-20 %).
        long_axis_shortening: [0.10, 0.18] within [0.0, 0.4],
        /// Fractional wall thickening from end-diastole to end-systole (30-50 %).
        wall_thickening: [0.30, 0.50] within [0.0, 1.5],
        /// Cardiac cycles covered by the clip (frames per cycle = frames / cycles).
        cycles: [1.0, 1.4] within [0.1, 10.0],
        /// Cardiac phase of the first frame (0 = end-diastole, 1 = the next end-diastole).
        start_phase: [0.0, 1.0] within [0.0, 1.0],
        /// Share of the cycle spent in ejection (end-diastole to end-systole).
        systole_fraction: [0.33, 0.40] within [0.15, 0.6],
        /// Share of the cycle in isovolumic relaxation (volume plateau after end-systole).
        relaxation_fraction: [0.04, 0.08] within [0.0, 0.2],
        /// Share of the cycle in fast early filling (E wave).
        early_filling_fraction: [0.16, 0.22] within [0.05, 0.4],
        /// Share of the filling volume delivered by early filling; the rest comes slowly in diastasis and with the atrial kick.
        early_filling_share: [0.65, 0.80] within [0.0, 1.0],
        /// Share of the cycle in the atrial kick (A wave) that ends at end-diastole.
        atrial_kick_fraction: [0.12, 0.16] within [0.02, 0.3],
        /// Amplitude of the cardiac-synchronous translation of the heart, mm.
        translation_mm: [0.5, 2.0] within [0.0, 15.0],
        /// Slow (respiratory) drift of the heart over the clip, mm.
        drift_mm: [0.0, 1.5] within [0.0, 15.0],
    }
}

param_group! {
    /// Backscatter of each tissue, in dB relative to the myocardium (0 dB).
    Echogenicity => EchogenicityDraw, "echogenicity" {
        /// Blood pool (close to the noise floor).
        blood_db: [-36.0, -30.0] within [-80.0, 10.0],
        /// Standard deviation of the smooth myocardial texture, dB.
        myocardium_variation_db: [1.5, 3.0] within [0.0, 20.0],
        /// Pericardium (bright rim).
        pericardium_db: [10.0, 14.0] within [-20.0, 40.0],
        /// Tissue around the heart.
        background_db: [-14.0, -9.0] within [-60.0, 30.0],
        /// Standard deviation of the smooth background variation, dB.
        background_variation_db: [3.0, 5.0] within [0.0, 20.0],
        /// Valve leaflets.
        valve_db: [-2.0, 2.0] within [-30.0, 30.0],
        /// Fibrous mitral annulus.
        annulus_db: [6.0, 10.0] within [-30.0, 30.0],
        /// Atrial walls.
        atrial_wall_db: [-2.0, 2.0] within [-30.0, 30.0],
        /// RV free wall.
        rv_wall_db: [-3.0, 0.0] within [-30.0, 30.0],
        /// Decorrelation of the blood speckle between consecutive frames (0: frozen to the blood, 1: about a new pattern every frame).
        blood_decorrelation: [0.7, 1.0] within [0.0, 1.0],
    }
}

param_group! {
    /// Artefacts of the acquisition.
    Artefacts => ArtefactsDraw, "artefacts" {
        /// Residual depth falloff after time-gain compensation, dB per cm.
        depth_falloff_db_per_cm: [0.3, 0.7] within [-3.0, 5.0],
        /// Darkening at the lateral edges of the sector, dB.
        edge_falloff_db: [3.0, 6.0] within [0.0, 40.0],
        /// Maximum drop-out of walls running parallel to the beam, dB.
        dropout_db: [4.0, 8.0] within [0.0, 60.0],
        /// How patchy the drop-out is along the wall (0: uniform, 1: some segments keep full brightness).
        dropout_patchiness: [0.3, 0.6] within [0.0, 1.0],
        /// Near-field clutter (reverberation haze) at the probe, dB relative to the myocardium.
        haze_db: [-18.0, -12.0] within [-80.0, 30.0],
        /// Depth over which the haze falls by a factor e, mm.
        haze_depth_mm: [12.0, 20.0] within [1.0, 300.0],
        /// Additive electronic noise, dB relative to the myocardium.
        noise_db: [-42.0, -36.0] within [-100.0, 30.0],
    }
}

param_group! {
    /// Display processing: gain, log compression and post-processing.
    Display => DisplayDraw, "display" {
        /// Overall gain, dB.
        gain_db: [-1.5, 1.5] within [-40.0, 40.0],
        /// Dynamic range of the log compression, dB (40-60).
        dynamic_range_db: [50.0, 58.0] within [10.0, 120.0],
        /// Backscatter level (dB relative to the myocardium, before gain) displayed as white.
        white_db: [18.0, 18.0] within [-40.0, 60.0],
        /// Persistence: weight of the previous displayed frame in temporal smoothing (0: none).
        persistence: [0.0, 0.15] within [0.0, 0.95],
        /// Speckle-reduction filter: Gaussian smoothing of the displayed image, standard deviation in pixels (0: off).
        smoothing_px: [0.0, 0.0] within [0.0, 5.0],
    }
}

/// Every parameter of a simulated domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimDomain {
    /// Transducer, sector and beam.
    pub probe: Probe,
    /// Heart geometry at end-diastole.
    pub anatomy: Anatomy,
    /// Cardiac motion.
    pub motion: Motion,
    /// Backscatter of each tissue.
    pub echogenicity: Echogenicity,
    /// Acquisition artefacts.
    pub artefacts: Artefacts,
    /// Display processing.
    pub display: Display,
}

/// Everything drawn for one case.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainDraw {
    pub probe: ProbeDraw,
    pub anatomy: AnatomyDraw,
    pub motion: MotionDraw,
    pub echogenicity: EchogenicityDraw,
    pub artefacts: ArtefactsDraw,
    pub display: DisplayDraw,
}

impl SimDomain {
    /// One draw of every parameter (group by group, in declaration order).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> DomainDraw {
        DomainDraw {
            probe: self.probe.draw(rng),
            anatomy: self.anatomy.draw(rng),
            motion: self.motion.draw(rng),
            echogenicity: self.echogenicity.draw(rng),
            artefacts: self.artefacts.draw(rng),
            display: self.display.draw(rng),
        }
    }

    /// Appends every hard-limit violation and cross-parameter inconsistency to `problems`.
    pub(crate) fn check(&self, problems: &mut Vec<String>) {
        self.probe.check(problems);
        self.anatomy.check(problems);
        self.motion.check(problems);
        self.echogenicity.check(problems);
        self.artefacts.check(problems);
        self.display.check(problems);
        let m = &self.motion;
        let phases = m.systole_fraction.hi()
            + m.relaxation_fraction.hi()
            + m.early_filling_fraction.hi()
            + m.atrial_kick_fraction.hi();
        if phases > 0.95 {
            problems.push(format!(
                "`domain.motion`: systole + relaxation + early filling + atrial kick fractions reach {phases:.2} of the cycle; \
                 lower their upper bounds so they sum to at most 0.95 (diastasis needs the rest)"
            ));
        }
        let a = &self.anatomy;
        let deepest = a.apex_depth_mm.hi() + a.lv_length_mm.hi();
        if deepest > self.probe.depth_mm.lo() - 5.0 {
            problems.push(format!(
                "`domain.anatomy`: apex_depth_mm + lv_length_mm reach {deepest} mm, below the shallowest fan depth \
                 `domain.probe.depth_mm` = {} mm; lower them or increase the depth so the mitral annulus stays in the fan",
                self.probe.depth_mm.lo()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn defaults_are_within_their_limits_and_consistent() {
        let mut problems = Vec::new();
        SimDomain::default().check(&mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn defaults_round_trip_through_serde() {
        // Deserialising runs `Interval::try_from`, which rejects reversed built-in defaults.
        let d = SimDomain::default();
        let back: SimDomain =
            serde_json::from_value(serde_json::to_value(&d).expect("serialises")).expect("parses");
        assert_eq!(back, d);
    }

    #[test]
    fn out_of_limit_and_inconsistent_values_are_named() {
        let mut d = SimDomain::default();
        d.motion.ejection_fraction = Interval::new(0.5, 0.99).expect("valid interval");
        d.motion.systole_fraction = Interval::new(0.5, 0.6).expect("valid interval");
        d.probe.depth_mm = Interval::new(90.0, 100.0).expect("valid interval");
        let mut problems = Vec::new();
        d.check(&mut problems);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("domain.motion.ejection_fraction")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("sum to at most 0.95")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("mitral annulus stays in the fan")),
            "{problems:?}"
        );
    }

    #[test]
    fn draws_are_deterministic_and_inside_the_intervals() {
        let d = SimDomain::default();
        let a = d.draw(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        let b = d.draw(&mut rand_chacha::ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
        assert!((0.45..=0.70).contains(&a.motion.ejection_fraction));
        assert!((150.0..=170.0).contains(&a.probe.depth_mm));
        assert_eq!(a.display.white_db, 18.0);
    }
}
