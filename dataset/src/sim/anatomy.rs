//! The heart at end-diastole, in the LV's own frame: `s` runs along the long axis from the
//! endocardial apex (s = 0) to the mitral annulus (s = len), `r` across it (negative: image left,
//! the septal side in the 4-chamber view). Shapes are superellipse "bullet" profiles scaled per
//! structure: LV cavity (label 1), myocardium as the offset wall open at the base (label 2), the
//! bright pericardium outside it, the RV beside the septum (4-chamber), LA (and RA) below the
//! annulus. `Heart::classify` names the tissue at a material point; the motion module maps each
//! pixel of a frame back to such a point, so labels and texture stay attached to the anatomy.

use super::config::View;
use super::domain::AnatomyDraw;
use super::profile::Profile;

/// Side index of negative `r` (image left; the septum in the 4-chamber view).
pub(crate) const LEFT: usize = 0;
/// Side index of positive `r` (image right).
pub(crate) const RIGHT: usize = 1;

/// RV and atria are drawn with fixed profile exponents: a pointed RV apex, rounded atria.
const RV_BLUNTNESS: f64 = 1.6;
const ATRIUM_BLUNTNESS: f64 = 2.2;
/// Radius of the fibrous annulus blobs at the base corners, as a fraction of the wall thickness.
const ANNULUS_RADIUS_RATIO: f64 = 0.55;

/// LV dimensions at one instant (end-diastole for `Heart::ed`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    /// Long axis, apex to annulus, mm.
    pub len: f64,
    /// Cavity half-width at the annulus per side, mm.
    pub half: [f64; 2],
    /// Wall thickness per side, mm.
    pub wall: [f64; 2],
    /// Apical wall thickness, mm.
    pub apex_wall: f64,
}

impl Shape {
    /// Cavity half-width at distance `s` from the apex on `side`.
    pub fn inner(&self, p: &Profile, side: usize, s: f64) -> f64 {
        self.half[side] * p.at(s / self.len)
    }

    /// Epicardial half-width at `s` on `side` (0 beyond the apical wall).
    pub fn outer(&self, p: &Profile, side: usize, s: f64) -> f64 {
        (self.half[side] + self.wall[side])
            * p.at((s + self.apex_wall) / (self.len + self.apex_wall))
    }

    /// Cavity area, mm^2.
    pub fn cavity_area(&self, p: &Profile) -> f64 {
        self.len * (self.half[LEFT] + self.half[RIGHT]) * p.mean()
    }
}

/// The right ventricle beside the septum (4-chamber view, side `LEFT`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rv {
    /// `s` of the RV apex.
    pub apex_s: f64,
    /// Cavity width at the base, mm.
    pub width: f64,
    /// Free wall thickness, mm.
    pub wall: f64,
}

/// An atrium below the annulus: a bullet pointing away from the LV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Atrium {
    /// `r` of its centre line.
    pub centre: f64,
    /// Length below the annulus, mm.
    pub len: f64,
    /// Half-width at the annulus, mm.
    pub half: f64,
}

/// Whether a point at distance `d` from a centre line lies inside a half-width `w` (empty when `w` is 0).
fn within(d: f64, w: f64) -> bool {
    w > 0.0 && d <= w
}

/// What a material point is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tissue {
    LvBlood,
    Myocardium,
    Pericardium,
    RvBlood,
    RvWall,
    AtrialBlood,
    AtrialWall,
    Annulus,
    Background,
}

impl Tissue {
    /// Segmentation label: 1 LV cavity, 2 myocardium, 0 everything else.
    pub fn label(self) -> u8 {
        match self {
            Tissue::LvBlood => echo::LV,
            Tissue::Myocardium => echo::MYO,
            _ => echo::BG,
        }
    }

    pub fn is_blood(self) -> bool {
        matches!(
            self,
            Tissue::LvBlood | Tissue::RvBlood | Tissue::AtrialBlood
        )
    }
}

/// The end-diastolic heart of one case, placed in the image.
#[derive(Debug, Clone)]
pub(crate) struct Heart {
    /// Endocardial apex position `[x, y]`, mm.
    pub apex: [f64; 2],
    /// Unit vector from apex to base.
    pub axis: [f64; 2],
    /// Unit vector across the axis, towards the image right.
    pub normal: [f64; 2],
    pub ed: Shape,
    pub pericardium: f64,
    pub rv: Option<Rv>,
    pub la: Atrium,
    pub ra: Option<Atrium>,
    pub atrial_wall: f64,
    pub annulus_radius: f64,
    pub lv_profile: Profile,
    pub rv_profile: Profile,
    pub atrium_profile: Profile,
}

impl Heart {
    pub fn new(view: View, a: &AnatomyDraw) -> Self {
        let tilt = match view {
            View::A2c => a.a2c_tilt_deg,
            View::A4c => a.a4c_tilt_deg,
        }
        .to_radians();
        let axis = [tilt.sin(), tilt.cos()];
        let normal = [tilt.cos(), -tilt.sin()];
        let h = 0.5 * a.lv_diameter_mm;
        let half = [
            h * (1.0 - 0.5 * a.lv_asymmetry),
            h * (1.0 + 0.5 * a.lv_asymmetry),
        ];
        let ed = Shape {
            len: a.lv_length_mm,
            half,
            wall: [a.wall_mm; 2],
            apex_wall: a.wall_mm * a.apex_wall_ratio,
        };
        let rv = (view == View::A4c).then(|| Rv {
            apex_s: a.lv_length_mm * (1.0 - a.rv_length_ratio),
            width: a.rv_width_ratio * a.lv_diameter_mm,
            wall: a.rv_wall_mm,
        });
        let la = Atrium {
            centre: 0.5 * (half[RIGHT] - half[LEFT]),
            len: a.la_length_mm,
            half: 0.5 * a.la_diameter_mm,
        };
        let ra = rv.map(|rv| {
            let half = la.half * a.ra_ratio;
            let under_rv = -(ed.half[LEFT] + ed.wall[LEFT] + 0.5 * rv.width);
            // Keep an interatrial septum of two walls between RA and LA.
            let rightmost = la.centre - la.half - 2.0 * a.atrial_wall_mm - half;
            Atrium {
                centre: under_rv.min(rightmost),
                len: la.len * a.ra_ratio,
                half,
            }
        });
        Heart {
            apex: [a.apex_offset_mm, a.apex_depth_mm],
            axis,
            normal,
            ed,
            pericardium: a.pericardium_mm,
            rv,
            la,
            ra,
            atrial_wall: a.atrial_wall_mm,
            annulus_radius: ANNULUS_RADIUS_RATIO * a.wall_mm,
            lv_profile: Profile::new(a.apex_bluntness, a.base_narrowing),
            rv_profile: Profile::new(RV_BLUNTNESS, 0.0),
            atrium_profile: Profile::new(ATRIUM_BLUNTNESS, 0.0),
        }
    }

    /// Angular extent `(lo, hi)` of the end-diastolic epicardium seen from the probe (radians
    /// from the beam axis, each point widened by `pad_mm`), and its deepest point (mm).
    fn sector_extent(&self, pad_mm: f64) -> (f64, f64, f64) {
        const STEPS: usize = 64;
        let (mut lo, mut hi, mut deepest) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for (side, sign) in [(LEFT, -1.0), (RIGHT, 1.0)] {
            for k in 0..=STEPS {
                let s = -self.ed.apex_wall
                    + (self.ed.len + self.ed.apex_wall) * k as f64 / STEPS as f64;
                let [x, y] = self.world(s, sign * self.ed.outer(&self.lv_profile, side, s));
                let pad = (pad_mm / x.hypot(y).max(1e-6)).min(1.0).asin();
                let theta = x.atan2(y);
                lo = lo.min(theta - pad);
                hi = hi.max(theta + pad);
                deepest = deepest.max(y);
            }
        }
        (lo, hi, deepest)
    }

    /// Frames the LV and myocardium in the sector as a sonographer does: when the end-diastolic
    /// epicardium (widened by `margin_mm`, the most the heart translates, plus 1 mm) reaches
    /// beyond `half_angle - 1.5°` of the beam axis, the heart is first moved down the beam while
    /// it is wider than the usable sector and its base stays 8 mm above the fan's `depth`
    /// (the apical cap, close to the probe, spans the widest angle), then rotated about the
    /// probe just enough to bring it inside (centred if it still does not fit). Rotation keeps
    /// the shape and the heart's tilt relative to the beams it crosses. Without this, a narrow
    /// sector cuts the wall and the ground truth shows a split myocardium (method.md 6.1).
    /// Returns the rotation applied (radians) and the depth added (mm).
    pub fn frame_in_sector(&mut self, half_angle: f64, depth: f64, margin_mm: f64) -> (f64, f64) {
        let limit = half_angle - 1.5f64.to_radians();
        let pad = margin_mm + 1.0;
        let mut lowered = 0.0;
        loop {
            let (lo, hi, deepest) = self.sector_extent(pad);
            if hi - lo <= 2.0 * limit || deepest + pad + 1.0 > depth - 8.0 {
                break;
            }
            self.apex[1] += 1.0;
            lowered += 1.0;
        }
        let (lo, hi, _) = self.sector_extent(pad);
        let delta = if hi - lo > 2.0 * limit {
            -0.5 * (hi + lo)
        } else if hi > limit {
            limit - hi
        } else if lo < -limit {
            -limit - lo
        } else {
            0.0
        };
        if delta != 0.0 {
            // Rotating by +delta about the probe increases every point's angle atan2(x, y).
            let (sin, cos) = delta.sin_cos();
            let rot = |[x, y]: [f64; 2]| [x * cos + y * sin, -x * sin + y * cos];
            self.apex = rot(self.apex);
            self.axis = rot(self.axis);
            self.normal = rot(self.normal);
        }
        (delta, lowered)
    }

    /// Local coordinates `(s, r)` of the image point `[x, y]` (mm) for the heart translated by `shift`.
    pub fn local(&self, [x, y]: [f64; 2], shift: [f64; 2]) -> (f64, f64) {
        let (dx, dy) = (x - shift[0] - self.apex[0], y - shift[1] - self.apex[1]);
        (
            dx * self.axis[0] + dy * self.axis[1],
            dx * self.normal[0] + dy * self.normal[1],
        )
    }

    /// Image position (mm) of the local point `(s, r)` of the untranslated heart.
    pub fn world(&self, s: f64, r: f64) -> [f64; 2] {
        [
            self.apex[0] + s * self.axis[0] + r * self.normal[0],
            self.apex[1] + s * self.axis[1] + r * self.normal[1],
        ]
    }

    /// Tissue at the material (end-diastolic) point `(s0, r0)`.
    pub fn classify(&self, s0: f64, r0: f64) -> Tissue {
        let side = usize::from(r0 >= 0.0);
        let ar = r0.abs();
        let ed = &self.ed;
        let lv = &self.lv_profile;
        if s0 > ed.len {
            return self.below_annulus(s0 - ed.len, r0);
        }
        if within(ar, ed.inner(lv, side, s0)) {
            return Tissue::LvBlood;
        }
        let out = ed.outer(lv, side, s0);
        if within(ar, out) {
            return Tissue::Myocardium;
        }
        if side == LEFT
            && let Some(rv) = &self.rv
        {
            let d = ar - out;
            let base = ed.len - rv.apex_s;
            let band = |extra: f64, width: f64| {
                width
                    * self
                        .rv_profile
                        .at((s0 - rv.apex_s + extra) / (base + extra))
            };
            if within(d, band(0.0, rv.width)) {
                return Tissue::RvBlood;
            }
            if within(d, band(rv.wall, rv.width + rv.wall)) {
                return Tissue::RvWall;
            }
            if within(
                d,
                band(
                    rv.wall + self.pericardium,
                    rv.width + rv.wall + self.pericardium,
                ),
            ) {
                return Tissue::Pericardium;
            }
            if s0 >= rv.apex_s {
                return Tissue::Background;
            }
        }
        let tp = ed.apex_wall + self.pericardium;
        if within(
            ar,
            (ed.half[side] + ed.wall[side] + self.pericardium) * lv.at((s0 + tp) / (ed.len + tp)),
        ) {
            return Tissue::Pericardium;
        }
        Tissue::Background
    }

    /// Tissue `ds` mm below the annulus plane at lateral position `r0`.
    fn below_annulus(&self, ds: f64, r0: f64) -> Tissue {
        let ed = &self.ed;
        for side in [LEFT, RIGHT] {
            let sign = if side == LEFT { -1.0 } else { 1.0 };
            let c = sign * (ed.half[side] + 0.5 * ed.wall[side]);
            if ds * ds + (r0 - c) * (r0 - c) <= self.annulus_radius * self.annulus_radius {
                return Tissue::Annulus;
            }
        }
        for atrium in std::iter::once(&self.la).chain(self.ra.as_ref()) {
            let d = (r0 - atrium.centre).abs();
            let w = self.atrial_wall;
            if within(
                d,
                atrium.half * self.atrium_profile.at((atrium.len - ds) / atrium.len),
            ) {
                return Tissue::AtrialBlood;
            }
            if within(
                d,
                (atrium.half + w)
                    * self
                        .atrium_profile
                        .at((atrium.len + w - ds) / (atrium.len + w)),
            ) {
                return Tissue::AtrialWall;
            }
        }
        Tissue::Background
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::domain::Anatomy;
    use rand::SeedableRng;

    fn heart(view: View) -> Heart {
        let a = Anatomy::default().draw(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
        Heart::new(view, &a)
    }

    #[test]
    fn lv_is_surrounded_by_myocardium_open_at_the_base() {
        let h = heart(View::A2c);
        let (len, half) = (h.ed.len, h.ed.half[RIGHT]);
        assert_eq!(h.classify(0.5 * len, 0.0), Tissue::LvBlood);
        let mid_wall = 0.5
            * (h.ed.inner(&h.lv_profile, RIGHT, 0.5 * len)
                + h.ed.outer(&h.lv_profile, RIGHT, 0.5 * len));
        assert_eq!(h.classify(0.5 * len, mid_wall), Tissue::Myocardium);
        assert_eq!(h.classify(0.5 * len, -mid_wall), Tissue::Myocardium);
        assert_eq!(
            h.classify(-0.5 * h.ed.apex_wall, 0.0),
            Tissue::Myocardium,
            "apical cap"
        );
        assert_eq!(
            h.classify(-h.ed.apex_wall - 0.5 * h.pericardium, 0.0),
            Tissue::Pericardium
        );
        assert_eq!(
            h.classify(-h.ed.apex_wall - h.pericardium - 3.0, 0.0),
            Tissue::Background
        );
        // Just below the annulus in the middle: blood of the LA, not myocardium.
        assert_eq!(h.classify(len + 1.0, h.la.centre), Tissue::AtrialBlood);
        assert_eq!(
            h.classify(len + h.la.len + 0.5 * h.atrial_wall, h.la.centre),
            Tissue::AtrialWall
        );
        assert_eq!(
            h.classify(len, half + 0.5 * h.ed.wall[RIGHT]),
            Tissue::Myocardium
        );
        assert_eq!(
            h.classify(len + 0.1, half + 0.5 * h.ed.wall[RIGHT]),
            Tissue::Annulus
        );
    }

    #[test]
    fn rv_only_in_four_chamber_and_on_the_septal_side() {
        let a4 = heart(View::A4c);
        let a2 = heart(View::A2c);
        let rv = a4.rv.expect("A4C has an RV");
        let s = 0.8 * a4.ed.len;
        let sept = a4.ed.outer(&a4.lv_profile, LEFT, s);
        let probe =
            -(sept + 0.5 * rv.width * a4.rv_profile.at((s - rv.apex_s) / (a4.ed.len - rv.apex_s)));
        assert_eq!(a4.classify(s, probe), Tissue::RvBlood);
        assert_ne!(a4.classify(s, -probe), Tissue::RvBlood);
        assert!(a2.rv.is_none() && a2.ra.is_none());
        assert_ne!(a2.classify(s, probe), Tissue::RvBlood);
        let ra = a4.ra.expect("A4C has an RA");
        assert!(
            ra.centre + ra.half < a4.la.centre - a4.la.half,
            "atria do not overlap"
        );
        assert_eq!(
            a4.classify(a4.ed.len + 0.5 * ra.len, ra.centre),
            Tissue::AtrialBlood
        );
    }

    #[test]
    fn local_and_world_are_inverse() {
        let h = heart(View::A4c);
        let p = h.world(31.0, -7.5);
        let (s, r) = h.local(p, [0.0, 0.0]);
        assert!((s - 31.0).abs() < 1e-9 && (r + 7.5).abs() < 1e-9);
        let (s2, _) = h.local([p[0] + 1.0, p[1] + 2.0], [1.0, 2.0]);
        assert!((s2 - 31.0).abs() < 1e-9, "translation is removed");
        assert!(h.normal[0] > 0.9, "normal points to the image right");
        assert!(h.axis[0] > 0.0, "A4C base lies right of the apex");
    }

    #[test]
    fn framing_keeps_the_epicardium_inside_a_narrow_sector_by_lowering_and_rotating() {
        let half_angle = 30f64.to_radians();
        let h = heart(View::A4c);
        let (lo, hi, _) = h.sector_extent(0.0);
        assert!(
            hi > half_angle || lo < -half_angle,
            "the test needs a heart that pokes out"
        );
        let mut framed = h.clone();
        let (_, lowered) = framed.frame_in_sector(half_angle, 170.0, 2.0);
        let (lo, hi, deepest) = framed.sector_extent(0.0);
        assert!(lo > -half_angle && hi < half_angle, "{lo} {hi}");
        assert!(
            lowered > 0.0 && deepest < 170.0 - 8.0,
            "{lowered} {deepest}"
        );
        // Rigid: the shape is kept.
        let (a, b) = (framed.world(30.0, 5.0), framed.world(60.0, -5.0));
        let (c, d) = (h.world(30.0, 5.0), h.world(60.0, -5.0));
        assert!(((a[0] - b[0]).hypot(a[1] - b[1]) - (c[0] - d[0]).hypot(c[1] - d[1])).abs() < 1e-9);
        // A heart already inside a wide sector is left alone.
        let mut wide = framed.clone();
        assert_eq!(
            wide.frame_in_sector(45f64.to_radians(), 170.0, 2.0),
            (0.0, 0.0)
        );
        // A fan too shallow to lower the heart: rotated (centred) at best, never below the fan.
        let mut shallow = h.clone();
        let (_, lowered) = shallow.frame_in_sector(half_angle, 0.0, 2.0);
        assert_eq!(lowered, 0.0);
    }
}
