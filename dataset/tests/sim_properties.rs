//! Properties of simulated cases: determinism, shapes, label set, fan, intensity range, the LV
//! area following the drawn ejection fraction, the myocardium surrounding the cavity except at
//! the base, and speckle that moves with the tissue while blood speckle decorrelates.
//! Small rasters keep the suite fast.

use dataset::sim::{
    Interval, PixelAspect, SimConfig, View, simulate, simulate_case, simulate_case_with_truth,
    try_simulate,
};
use ndarray::{Array2, ArrayView2, Axis};

fn small(height: usize, width: usize, frames: [usize; 2]) -> SimConfig {
    SimConfig {
        cases: 4,
        frames,
        height,
        width,
        ..SimConfig::default()
    }
}

#[test]
fn same_seed_same_case_other_index_or_seed_differs() {
    let cfg = small(48, 48, [6, 8]);
    let a = simulate_case(&cfg, 5, 1);
    assert_eq!(a, simulate_case(&cfg, 5, 1));
    assert_ne!(a.image, simulate_case(&cfg, 5, 2).image);
    assert_ne!(a.image, simulate_case(&cfg, 6, 1).image);
    let all = simulate(&cfg, 5);
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[1], a,
        "parallel generation gives the same case as a lone call"
    );
    assert_eq!(a.id, "source_0001");
    assert_eq!(a.domain, "source");
    assert_eq!((all[0].view.as_str(), all[1].view.as_str()), ("a2c", "a4c"));
}

#[test]
fn shapes_labels_range_and_geometry() {
    let cfg = small(40, 56, [5, 9]);
    for index in 0..4 {
        let (case, truth) = simulate_case_with_truth(&cfg, 3, index);
        let (t, h, w) = case.image.dim();
        assert!((5..=9).contains(&t) && (h, w) == (40, 56));
        let label = case.label.as_ref().expect("simulated cases are labelled");
        assert_eq!(label.dim(), (t, h, w));
        assert!(label.iter().all(|&v| v <= 2), "labels in {{0, 1, 2}}");
        for k in 0..t {
            let frame = label.index_axis(Axis(0), k);
            assert!(
                frame.iter().any(|&v| v == 1) && frame.iter().any(|&v| v == 2),
                "LV and MYO in every frame"
            );
        }
        assert!(
            case.image
                .iter()
                .all(|v| v.is_finite() && (0.0..=1.0).contains(v))
        );
        let g = &case.geometry;
        assert_eq!(g.original_shape, [t, h, w]);
        assert_eq!(g.spacing, [1.0, truth.spacing_mm[0], truth.spacing_mm[1]]);
        assert!(
            (g.spacing[1] * h as f64 - truth.params.probe.depth_mm).abs() < 1e-9,
            "dy = depth / height"
        );
        assert_eq!(g.spacing[1], g.spacing[2], "square pixels");
    }
}

/// Whether pixel (i, j) of a raster with spacing (dy, dx) lies in the fan.
fn in_fan(i: usize, j: usize, w: usize, [dy, dx]: [f64; 2], depth: f64, sector_deg: f64) -> bool {
    let (x, y) = (
        (j as f64 + 0.5 - 0.5 * w as f64) * dx,
        (i as f64 + 0.5) * dy,
    );
    x.hypot(y) <= depth && x.atan2(y).abs() <= 0.5 * sector_deg.to_radians()
}

#[test]
fn black_and_unlabelled_outside_the_fan() {
    for aspect in [PixelAspect::Square, PixelAspect::FitSector] {
        let cfg = SimConfig {
            pixel_aspect: aspect,
            ..small(48, 48, [3, 3])
        };
        let (case, truth) = simulate_case_with_truth(&cfg, 1, 0);
        let label = case.label.as_ref().expect("labelled");
        let (depth, sector) = (truth.params.probe.depth_mm, truth.params.probe.sector_deg);
        let (mut outside, mut bright_inside) = (0, 0);
        for ((k, i, j), v) in case.image.indexed_iter() {
            if in_fan(i, j, 48, truth.spacing_mm, depth, sector) {
                bright_inside += usize::from(*v > 0.05);
            } else {
                outside += 1;
                assert_eq!(*v, 0.0, "pixel ({k}, {i}, {j}) outside the fan is black");
                assert_eq!(label[[k, i, j]], 0);
            }
        }
        assert!(
            outside > 0 && bright_inside > 1000,
            "{aspect:?}: {outside} outside, {bright_inside} bright inside"
        );
        if aspect == PixelAspect::FitSector {
            // The fan's bottom corners reach the image's side edges.
            let row =
                (depth * (0.5 * sector.to_radians()).cos() / truth.spacing_mm[0]) as usize - 1;
            assert!(
                in_fan(row, 0, 48, truth.spacing_mm, depth, sector)
                    || in_fan(row, 1, 48, truth.spacing_mm, depth, sector)
            );
        }
    }
}

fn lv_area_mm2(label: ArrayView2<u8>, [dy, dx]: [f64; 2]) -> f64 {
    label.iter().filter(|&&v| v == 1).count() as f64 * dy * dx
}

#[test]
fn lv_area_follows_the_drawn_ejection_fraction() {
    let cfg = small(96, 96, [30, 40]);
    for index in 0..4 {
        let (case, truth) = simulate_case_with_truth(&cfg, 21, index);
        let label = case.label.as_ref().expect("labelled");
        let areas: Vec<f64> = (0..case.image.dim().0)
            .map(|k| lv_area_mm2(label.index_axis(Axis(0), k), truth.spacing_mm))
            .collect();
        for (k, (&measured, &analytic)) in areas.iter().zip(&truth.lv_area_mm2).enumerate() {
            assert!(
                (measured / analytic - 1.0).abs() < 0.06,
                "case {index} frame {k}: {measured:.0} vs {analytic:.0} mm2"
            );
        }
        let (ed, es) = (truth.ed_frame, truth.es_frame);
        assert!(areas[ed] > areas[es] * 1.3, "ED area clearly above ES area");
        // Area-length volumes V = 8 A^2 / (3 pi L) from the rasterised areas.
        let vol = |k: usize| areas[k] * areas[k] / truth.lv_length_mm[k];
        let ef = 1.0 - vol(es) / vol(ed);
        let drawn = truth.params.motion.ejection_fraction;
        assert!(
            truth.contraction[es] > 0.95 && truth.contraction[ed] < 0.05,
            "the clip covers ED and ES"
        );
        assert!(
            (ef - drawn).abs() < 0.07,
            "case {index}: measured EF {ef:.3}, drawn {drawn:.3}"
        );
    }
}

#[test]
fn myocardium_surrounds_the_cavity_except_at_the_base() {
    let cfg = small(96, 96, [6, 6]);
    for index in 0..4 {
        let case = simulate_case(&cfg, 8, index);
        let label = case.label.as_ref().expect("labelled");
        for k in 0..6 {
            let l: Array2<u8> = label.index_axis(Axis(0), k).to_owned();
            let lv_rows: Vec<usize> = l
                .indexed_iter()
                .filter(|(_, v)| **v == 1)
                .map(|((i, _), _)| i)
                .collect();
            let (top, bottom) = (
                lv_rows.iter().min().copied().unwrap_or(0),
                lv_rows.iter().max().copied().unwrap_or(0),
            );
            let mut open = 0;
            for ((i, j), &v) in l.indexed_iter() {
                if v != 1 {
                    continue;
                }
                let touches_bg = [
                    (i.wrapping_sub(1), j),
                    (i + 1, j),
                    (i, j.wrapping_sub(1)),
                    (i, j + 1),
                ]
                .iter()
                .any(|&(a, b)| l.get((a, b)).is_some_and(|&n| n == 0));
                if touches_bg {
                    open += 1;
                    assert!(
                        i as f64 >= top as f64 + 0.75 * (bottom - top) as f64,
                        "case {index} frame {k}: LV meets background at row {i} (LV rows {top}..{bottom})"
                    );
                }
            }
            assert!(open > 0, "the cavity is open at the base");
            // The apex is capped by myocardium.
            let apex_col = l.row(top).iter().position(|&v| v == 1).expect("top LV row");
            assert_eq!(
                l[[top - 1, apex_col]],
                2,
                "case {index} frame {k}: myocardium above the apex"
            );
        }
    }
}

/// Pearson correlation of the image between frames `a` and `b` over pixels with label `class` in both.
fn frame_correlation(case: &echo::Case, a: usize, b: usize, class: u8) -> f64 {
    let label = case.label.as_ref().expect("labelled");
    let pairs: Vec<(f64, f64)> = label
        .index_axis(Axis(0), a)
        .indexed_iter()
        .filter(|&((i, j), &v)| v == class && label[[b, i, j]] == class)
        .map(|((i, j), _)| (case.image[[a, i, j]] as f64, case.image[[b, i, j]] as f64))
        .collect();
    let n = pairs.len() as f64;
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|p| (p.0 - ma) * (p.1 - mb)).sum();
    let va: f64 = pairs.iter().map(|p| (p.0 - ma).powi(2)).sum();
    let vb: f64 = pairs.iter().map(|p| (p.1 - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn tissue_speckle_moves_with_the_tissue_and_blood_speckle_decorrelates() {
    let mut cfg = small(96, 96, [40, 40]);
    cfg.domain.display.persistence = Interval::fixed(0.0).expect("valid");
    cfg.domain.motion.translation_mm = Interval::fixed(0.3).expect("valid");
    cfg.domain.motion.drift_mm = Interval::fixed(0.0).expect("valid");
    // Lift the blood above the static near-field clutter and the noise so its own speckle shows.
    cfg.domain.echogenicity.blood_db = Interval::fixed(-15.0).expect("valid");
    cfg.domain.artefacts.haze_db = Interval::fixed(-80.0).expect("valid");
    cfg.domain.artefacts.noise_db = Interval::fixed(-80.0).expect("valid");
    let case = simulate_case(&cfg, 2, 0);
    let (mut myo, mut blood) = (0.0, 0.0);
    for k in 0..39 {
        myo += frame_correlation(&case, k, k + 1, 2) / 39.0;
        blood += frame_correlation(&case, k, k + 1, 1) / 39.0;
    }
    assert!(
        myo > 0.6,
        "myocardial speckle is temporally coherent: {myo:.2}"
    );
    assert!(
        blood < myo - 0.25,
        "blood speckle decorrelates: {blood:.2} vs myocardium {myo:.2}"
    );
}

#[test]
fn invalid_configs_are_reported_not_panicked_on() {
    let mut cfg = small(48, 48, [4, 4]);
    cfg.views = vec![];
    cfg.domain.probe.depth_mm = Interval::new(80.0, 90.0).expect("valid interval");
    let err = try_simulate(&cfg, 0).expect_err("invalid").to_string();
    assert!(err.contains("`views`") && err.contains("depth_mm"), "{err}");
    // simulate_case itself never panics, even on a config validate() rejects.
    let case = simulate_case(&cfg, 0, 0);
    assert_eq!(case.view, View::A4c.as_str());
    assert!(case.image.iter().all(|v| v.is_finite()));
}
