//! Valve leaflets: thin bright segments hinged at an annulus, closed across the orifice in
//! systole and open towards the apex in diastole. The mitral leaflets live in the current frame's
//! local coordinates (they hinge on the moving annulus), the tricuspid leaflets in material
//! coordinates (they ride the RV base through the material map).

use super::anatomy::{Heart, LEFT, Shape};

/// Two valve leaflets as segments `(hinge, tip)` in local `(s, r)` coordinates: each hinges at
/// `hinges[i]`, points across the orifice (towards `inward[i]` = +1 or -1 in `r`, bowing slightly
/// into the atrium) when closed and towards the apex when open.
fn valve(
    hinges: [[f64; 2]; 2],
    inward: [f64; 2],
    lengths: [f64; 2],
    opening: f64,
) -> [([f64; 2], [f64; 2]); 2] {
    [0, 1].map(|i| {
        let closed = [0.35, inward[i]];
        let open = [-1.0, 0.25 * inward[i]];
        let d = [
            closed[0] + opening * (open[0] - closed[0]),
            closed[1] + opening * (open[1] - closed[1]),
        ];
        let n = d[0].hypot(d[1]).max(1e-9);
        let hinge = hinges[i];
        (
            hinge,
            [
                hinge[0] + lengths[i] * d[0] / n,
                hinge[1] + lengths[i] * d[1] / n,
            ],
        )
    })
}

/// The mitral leaflets of a frame in current local coordinates, hinged at the annulus of the
/// LV shape `cur`; the anterior (septal-side) leaflet is the longer one.
pub(crate) fn leaflets(cur: &Shape, opening: f64, length_ratio: f64) -> [([f64; 2], [f64; 2]); 2] {
    let hinges = [[cur.len, -cur.half[LEFT]], [cur.len, cur.half[1 - LEFT]]];
    let lengths = [
        1.15 * length_ratio * cur.half[LEFT],
        0.85 * length_ratio * cur.half[1 - LEFT],
    ];
    valve(hinges, [1.0, -1.0], lengths, opening)
}

/// The tricuspid leaflets (4-chamber view) in material coordinates, hinged at the RV base
/// between the septum and the free wall; `None` without a right ventricle.
pub(crate) fn tricuspid(
    h: &Heart,
    opening: f64,
    length_ratio: f64,
) -> Option<[([f64; 2], [f64; 2]); 2]> {
    let rv = h.rv.as_ref()?;
    let septum = -(h.ed.half[LEFT] + h.ed.wall[LEFT]);
    let hinges = [[h.ed.len, septum], [h.ed.len, septum - rv.width]];
    let half = 0.5 * rv.width * length_ratio;
    Some(valve(
        hinges,
        [-1.0, 1.0],
        [0.9 * half, 1.1 * half],
        opening,
    ))
}

/// Distance from `q` to the segment `(a, b)`.
pub(crate) fn segment_distance(q: [f64; 2], (a, b): ([f64; 2], [f64; 2])) -> f64 {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let aq = [q[0] - a[0], q[1] - a[1]];
    let t = ((aq[0] * ab[0] + aq[1] * ab[1]) / (ab[0] * ab[0] + ab[1] * ab[1]).max(1e-12))
        .clamp(0.0, 1.0);
    (aq[0] - t * ab[0]).hypot(aq[1] - t * ab[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::config::View;
    use crate::sim::domain::Anatomy;
    use rand::SeedableRng;

    fn draws() -> Heart {
        let a = Anatomy::default().draw(&mut rand_chacha::ChaCha8Rng::seed_from_u64(11));
        Heart::new(View::A4c, &a)
    }

    #[test]
    fn leaflets_close_across_the_orifice_and_open_towards_the_apex() {
        let h = draws();
        let [a, b] = leaflets(&h.ed, 0.0, 1.0);
        let gap = (a.1[1] - b.1[1]).abs();
        assert!(
            gap < 0.3 * (h.ed.half[0] + h.ed.half[1]),
            "closed tips meet near the middle: gap {gap}"
        );
        let [a, _] = leaflets(&h.ed, 1.0, 1.0);
        assert!(
            a.1[0] < h.ed.len - 0.8 * h.ed.half[LEFT],
            "open tip points to the apex"
        );
        let [sept, free] = tricuspid(&h, 0.0, 1.0).expect("A4C has a tricuspid valve");
        assert!(
            sept.1[1] < sept.0[1] && free.1[1] > free.0[1],
            "closed tricuspid leaflets point towards each other"
        );
        assert!((sept.1[1] - free.1[1]).abs() < 0.3 * h.rv.map_or(0.0, |rv| rv.width));
        assert!((segment_distance([0.0, 1.0], ([0.0, 0.0], [2.0, 0.0])) - 1.0).abs() < 1e-12);
        assert!((segment_distance([3.0, 0.0], ([0.0, 0.0], [2.0, 0.0])) - 1.0).abs() < 1e-12);
    }
}
