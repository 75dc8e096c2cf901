//! Cardiac motion. `Cycle` turns a phase (0 = end-diastole) into the contraction `c` in [0, 1]
//! along an asymmetric volume curve (fast ejection, isovolumic plateau, fast early filling,
//! diastasis, atrial kick) and into the mitral valve opening. `Shape` at contraction `c`
//! shortens the long axis with the apex fixed, narrows the cavity so that the area-length volume
//! `V ~ L W^2` falls by the drawn ejection fraction, and thickens the wall. `to_material` maps
//! every point of a frame back to its end-diastolic position (exactly for the LV and wall,
//! smoothly decaying outside), so texture and labels move with the tissue.

use std::f64::consts::PI;

use rand::Rng;

use super::anatomy::{Heart, Shape};
use super::domain::MotionDraw;

/// Length over which wall displacement decays into the surrounding tissue, mm.
const LATERAL_DECAY_MM: f64 = 15.0;
/// Minimum length over which the annulus displacement decays into the atria, mm.
const LONG_DECAY_MM: f64 = 30.0;
/// Share of the remaining filling (after the E wave) that arrives slowly during diastasis.
const DIASTASIS_SHARE: f64 = 0.2;

/// The phases of one cardiac cycle as fractions of its length, in order from end-diastole.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cycle {
    end_systole: f64,
    end_relaxation: f64,
    end_early: f64,
    start_kick: f64,
    early_share: f64,
}

impl Cycle {
    pub fn new(m: &MotionDraw) -> Self {
        let durations = [
            m.systole_fraction,
            m.relaxation_fraction,
            m.early_filling_fraction,
            m.atrial_kick_fraction,
        ];
        // `validate` keeps the sum below 0.95; scale down if a hand-built config does not.
        let total: f64 = durations.iter().sum();
        let k = if total > 0.95 { 0.95 / total } else { 1.0 };
        let [sys, rel, early, kick] = durations.map(|d| d.max(1e-3) * k);
        Cycle {
            end_systole: sys,
            end_relaxation: sys + rel,
            end_early: sys + rel + early,
            start_kick: 1.0 - kick,
            early_share: m.early_filling_share.clamp(0.0, 1.0),
        }
    }

    /// Contraction at `phase` (wrapped to [0, 1)): 0 at end-diastole, 1 at end-systole.
    pub fn contraction(&self, phase: f64) -> f64 {
        let ph = phase.rem_euclid(1.0);
        let rest = 1.0 - self.early_share;
        if ph < self.end_systole {
            // Fast ejection: the warp front-loads the volume change.
            let x = (ph / self.end_systole).powf(0.75);
            0.5 * (1.0 - (PI * x).cos())
        } else if ph < self.end_relaxation {
            1.0
        } else if ph < self.end_early {
            let x = ((ph - self.end_relaxation) / (self.end_early - self.end_relaxation)).powf(0.8);
            1.0 - self.early_share * 0.5 * (1.0 - (PI * x).cos())
        } else if ph < self.start_kick {
            let x = (ph - self.end_early) / (self.start_kick - self.end_early);
            rest * (1.0 - DIASTASIS_SHARE * x)
        } else {
            let x = (ph - self.start_kick) / (1.0 - self.start_kick);
            rest * (1.0 - DIASTASIS_SHARE) * 0.5 * (1.0 + (PI * x).cos())
        }
    }

    /// Mitral opening at `phase`: closed (0) from end-diastole through relaxation, wide open in
    /// early filling, half closed in diastasis, open again with the atrial kick, closed at end-diastole.
    pub fn mitral_opening(&self, phase: f64) -> f64 {
        let ph = phase.rem_euclid(1.0);
        if ph < self.end_relaxation {
            0.0
        } else if ph < self.end_early {
            (4.0 * (ph - self.end_relaxation) / (self.end_early - self.end_relaxation)).min(1.0)
        } else if ph < self.start_kick {
            1.0 - 0.5 * (ph - self.end_early) / (self.start_kick - self.end_early)
        } else {
            let x = (ph - self.start_kick) / (1.0 - self.start_kick);
            if x < 0.5 { 0.5 + x } else { 2.0 * (1.0 - x) }
        }
    }
}

/// Fractional shortening of the cavity width that, with the long-axis shortening, gives the
/// drawn ejection fraction under the area-length model `V = 8 A^2 / (3 pi L)`, `A ~ L W`.
pub(crate) fn radial_shortening(m: &MotionDraw) -> f64 {
    let long = (1.0 - m.long_axis_shortening).max(1e-3);
    1.0 - ((1.0 - m.ejection_fraction).max(0.0) / long).sqrt()
}

/// The LV shape at contraction `c`.
pub(crate) fn shape_at(ed: &Shape, m: &MotionDraw, c: f64) -> Shape {
    let radial = 1.0 - radial_shortening(m) * c;
    let thick = 1.0 + m.wall_thickening * c;
    Shape {
        len: ed.len * (1.0 - m.long_axis_shortening * c),
        half: ed.half.map(|h| h * radial),
        wall: ed.wall.map(|w| w * thick),
        apex_wall: ed.apex_wall * thick,
    }
}

/// Per-frame motion of one case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timeline {
    pub phase: Vec<f64>,
    pub contraction: Vec<f64>,
    pub opening: Vec<f64>,
    /// Rigid translation of the heart, `[x, y]` mm.
    pub shift: Vec<[f64; 2]>,
    pub frames_per_cycle: f64,
}

impl Timeline {
    pub fn new<R: Rng + ?Sized>(frames: usize, m: &MotionDraw, rng: &mut R) -> Self {
        let cycle = Cycle::new(m);
        let frames_per_cycle = frames as f64 / m.cycles.max(1e-3);
        let beat_dir = rng.random::<f64>() * 2.0 * PI;
        let beat_lag = rng.random::<f64>() * 2.0 * PI;
        let drift_dir = rng.random::<f64>() * 2.0 * PI;
        let mut t = Timeline {
            phase: vec![],
            contraction: vec![],
            opening: vec![],
            shift: vec![],
            frames_per_cycle,
        };
        for k in 0..frames {
            let phase = (m.start_phase + k as f64 / frames_per_cycle).rem_euclid(1.0);
            let beat = m.translation_mm * (2.0 * PI * phase + beat_lag).cos();
            let drift = m.drift_mm * (k as f64 / (frames.max(2) - 1) as f64 - 0.5);
            t.phase.push(phase);
            t.contraction.push(cycle.contraction(phase));
            t.opening.push(cycle.mitral_opening(phase));
            t.shift.push([
                beat * beat_dir.cos() + drift * drift_dir.cos(),
                beat * beat_dir.sin() + drift * drift_dir.sin(),
            ]);
        }
        t
    }
}

fn radial(ar: f64, in_t: f64, out_t: f64, in0: f64, out0: f64) -> f64 {
    if ar <= in_t {
        if in_t > 0.0 { ar * in0 / in_t } else { 0.0 }
    } else if ar <= out_t {
        in0 + (ar - in_t) / (out_t - in_t) * (out0 - in0)
    } else {
        let d = ar - out_t;
        if d > 8.0 * LATERAL_DECAY_MM {
            ar
        } else {
            ar + (out0 - out_t) * (-d / LATERAL_DECAY_MM).exp()
        }
    }
}

/// End-diastolic (material) point `(s0, |r0|)` of the current-frame local point `(s, ar = |r|)`
/// on `side`, when the LV has the shape `cur`. The cavity and wall map exactly onto the
/// end-diastolic cavity and wall; outside, the displacement decays with distance.
pub(crate) fn to_material(h: &Heart, cur: &Shape, s: f64, ar: f64, side: usize) -> (f64, f64) {
    let ed = &h.ed;
    let p = &h.lv_profile;
    if s > cur.len {
        let dl = ed.len - cur.len;
        let w = (-(s - cur.len) / LONG_DECAY_MM.max(2.0 * dl.abs())).exp();
        let at_base = radial(
            ar,
            cur.half[side],
            cur.half[side] + cur.wall[side],
            ed.half[side],
            ed.half[side] + ed.wall[side],
        );
        return (s + dl * w, ar + (at_base - ar) * w);
    }
    if s < -cur.apex_wall {
        let tip = (s + cur.apex_wall) / LATERAL_DECAY_MM;
        return (s - (ed.apex_wall - cur.apex_wall) * tip.exp(), ar);
    }
    let s0 = if s >= 0.0 {
        s * ed.len / cur.len
    } else {
        s * ed.apex_wall / cur.apex_wall
    };
    let r0 = radial(
        ar,
        cur.inner(p, side, s),
        cur.outer(p, side, s),
        ed.inner(p, side, s0),
        ed.outer(p, side, s0),
    );
    (s0, r0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::anatomy::{LEFT, RIGHT, Tissue};
    use crate::sim::config::View;
    use crate::sim::domain::{Anatomy, Motion};
    use rand::SeedableRng;

    fn draws() -> (Heart, MotionDraw) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let a = Anatomy::default().draw(&mut rng);
        (Heart::new(View::A4c, &a), Motion::default().draw(&mut rng))
    }

    #[test]
    fn contraction_curve_is_asymmetric_and_continuous() {
        let (_, m) = draws();
        let c = Cycle::new(&m);
        assert_eq!(c.contraction(0.0), 0.0);
        assert_eq!(
            c.contraction(m.systole_fraction + 0.5 * m.relaxation_fraction),
            1.0
        );
        assert!(c.contraction(0.999) < 0.01);
        let mut prev = c.contraction(0.0);
        for i in 1..=2000 {
            let v = c.contraction(i as f64 / 2000.0);
            assert!(
                (v - prev).abs() < 0.02,
                "jump at phase {}",
                i as f64 / 2000.0
            );
            assert!((0.0..=1.0).contains(&v));
            prev = v;
        }
        // Fast ejection: half the stroke happens within the first 40 % of systole.
        assert!(c.contraction(0.4 * m.systole_fraction) > 0.5);
        // Diastasis plateau: contraction changes little between early filling and the kick.
        let mid_diastasis = 0.5 * (c.end_early + c.start_kick);
        assert!((c.contraction(mid_diastasis) - (1.0 - m.early_filling_share)).abs() < 0.15);
    }

    #[test]
    fn mitral_valve_is_closed_in_systole_and_open_in_filling() {
        let (_, m) = draws();
        let c = Cycle::new(&m);
        assert_eq!(c.mitral_opening(0.5 * m.systole_fraction), 0.0);
        assert_eq!(
            c.mitral_opening(c.end_relaxation + 0.5 * (c.end_early - c.end_relaxation)),
            1.0
        );
        assert!(c.mitral_opening(0.9999) < 0.01);
    }

    #[test]
    fn shape_follows_the_ejection_fraction() {
        let (h, m) = draws();
        let es = shape_at(&h.ed, &m, 1.0);
        // Area-length volume V = 8 A^2 / (3 pi L).
        let vol = |s: &Shape| s.cavity_area(&h.lv_profile).powi(2) / s.len;
        let ef = 1.0 - vol(&es) / vol(&h.ed);
        assert!(
            (ef - m.ejection_fraction).abs() < 1e-9,
            "{ef} vs {}",
            m.ejection_fraction
        );
        assert!(es.wall[RIGHT] > h.ed.wall[RIGHT] * 1.29);
        assert_eq!(shape_at(&h.ed, &m, 0.0), h.ed);
    }

    #[test]
    fn material_map_keeps_labels_exact_and_is_identity_at_ed() {
        let (h, m) = draws();
        for (s, ar) in [
            (10.0, 3.0),
            (40.0, 25.0),
            (-2.0, 1.0),
            (-30.0, 4.0),
            (h.ed.len + 9.0, 12.0),
            (50.0, 60.0),
        ] {
            let (s0, r0) = to_material(&h, &h.ed, s, ar, RIGHT);
            assert!(
                (s0 - s).abs() < 1e-9 && (r0 - ar).abs() < 1e-9,
                "({s}, {ar}) -> ({s0}, {r0})"
            );
        }
        let es = shape_at(&h.ed, &m, 1.0);
        let p = &h.lv_profile;
        for side in [LEFT, RIGHT] {
            for k in 1..40 {
                let s = es.len * k as f64 / 40.0;
                let (inner, outer) = (es.inner(p, side, s), es.outer(p, side, s));
                let sign = if side == LEFT { -1.0 } else { 1.0 };
                let cls = |ar: f64| {
                    let (s0, r0) = to_material(&h, &es, s, ar, side);
                    h.classify(s0, sign * r0)
                };
                assert_eq!(cls(inner * 0.98), Tissue::LvBlood);
                assert_eq!(cls(inner * 1.02 + 0.01), Tissue::Myocardium);
                assert_eq!(cls(outer - 0.01), Tissue::Myocardium);
                assert_ne!(cls(outer + 0.01), Tissue::Myocardium);
            }
        }
    }

    #[test]
    fn material_map_is_continuous() {
        let (h, m) = draws();
        let cur = shape_at(&h.ed, &m, 0.8);
        for &ar in &[0.0, 5.0, 20.0, 30.0, 45.0] {
            let mut prev = to_material(&h, &cur, -40.0, ar, RIGHT);
            for k in 1..=4000 {
                let s = -40.0 + 160.0 * k as f64 / 4000.0;
                let q = to_material(&h, &cur, s, ar, RIGHT);
                assert!(
                    (q.0 - prev.0).abs() < 0.5 && (q.1 - prev.1).abs() < 1.0,
                    "jump at s={s}, |r|={ar}: {prev:?} -> {q:?}"
                );
                prev = q;
            }
        }
    }

    #[test]
    fn timeline_covers_the_cycles() {
        let (_, m) = draws();
        let t = Timeline::new(40, &m, &mut rand_chacha::ChaCha8Rng::seed_from_u64(2));
        assert_eq!(t.contraction.len(), 40);
        assert!((t.frames_per_cycle - 40.0 / m.cycles).abs() < 1e-9);
        let (lo, hi) = t
            .contraction
            .iter()
            .fold((1.0f64, 0.0f64), |(a, b), &c| (a.min(c), b.max(c)));
        assert!(lo < 0.1 && hi > 0.9, "at least one cycle: {lo} .. {hi}");
        let max_shift = t.shift.iter().map(|s| s[0].hypot(s[1])).fold(0.0, f64::max);
        assert!(max_shift <= m.translation_mm + 0.5 * m.drift_mm + 1e-9);
    }
}
