//! Segmentation distortions change the labels in the intended way.

use echo::distort::{
    BlobsConfig, BoundaryShiftConfig, Choice, DistortConfig, DistortionKind, ErodeDilateConfig,
    ErodeDilateMode, GlitchMode, HoleFill, HolesConfig, ShiftedBoundary, Structure,
    TemporalGlitchConfig, correctness_map, distort_all, distort_each, distort_some, replace_frame,
    swap_frames,
};
use echo::morph::{Connectivity, count_components, fill_holes, holes};
use echo::{LV, MYO};
use ndarray::{Array2, Array3, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A smooth sequence: bullet-shaped LV (ellipse cut at the base) in a 3-px myocardium open at
/// the base, contracting over the cycle.
fn heart(t: usize, h: usize, w: usize) -> Array3<u8> {
    Array3::from_shape_fn((t, h, w), |(k, r, c)| {
        let s = 1.0 - 0.2 * (std::f32::consts::PI * k as f32 / t as f32).sin().powi(2);
        let (cy, cx) = (0.42 * h as f32, 0.5 * w as f32);
        let (ay, ax) = (0.3 * h as f32 * s, 0.16 * w as f32 * s);
        let base = cy + 0.6 * ay;
        let (y, x) = (r as f32 - cy, c as f32 - cx);
        let inner = (y / ay).powi(2) + (x / ax).powi(2);
        let outer = (y / (ay + 3.0)).powi(2) + (x / (ax + 3.0)).powi(2);
        if r as f32 > base {
            0
        } else if inner <= 1.0 {
            LV
        } else if outer <= 1.0 {
            MYO
        } else {
            0
        }
    })
}

fn count(a: ArrayView2<u8>, label: u8) -> usize {
    a.iter().filter(|&&v| v == label).count()
}

fn changed_frames(a: &Array3<u8>, b: &Array3<u8>) -> Vec<usize> {
    (0..a.dim().0)
        .filter(|&t| a.index_axis(Axis(0), t) != b.index_axis(Axis(0), t))
        .collect()
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn only(kind: DistortionKind, base: DistortConfig) -> DistortConfig {
    let mut cfg = base;
    cfg.erode_dilate.enabled = kind == DistortionKind::ErodeDilate;
    cfg.holes.enabled = kind == DistortionKind::Holes;
    cfg.blobs.enabled = kind == DistortionKind::Blobs;
    cfg.boundary_shift.enabled = kind == DistortionKind::BoundaryShift;
    cfg.temporal_glitch.enabled = kind == DistortionKind::TemporalGlitch;
    cfg
}

#[test]
fn erosion_shrinks_and_dilation_grows_the_lv() {
    let seq = heart(6, 48, 40);
    for (mode, sign) in [
        (ErodeDilateMode::Erode, -1i64),
        (ErodeDilateMode::Dilate, 1),
    ] {
        let cfg = DistortConfig {
            erode_dilate: ErodeDilateConfig {
                structure: Choice::One(Structure::Lv),
                mode,
                pixels: [2, 2],
                frame_probability: 1.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let out = cfg
            .apply(DistortionKind::ErodeDilate, &seq, &mut rng(1))
            .expect("valid");
        for t in 0..6 {
            let (before, after) = (
                count(seq.index_axis(Axis(0), t), LV),
                count(out.index_axis(Axis(0), t), LV),
            );
            assert_eq!(
                (after as i64 - before as i64).signum(),
                sign,
                "{mode:?} frame {t}: {before} -> {after}"
            );
        }
        if mode == ErodeDilateMode::Erode {
            // Only LV pixels changed, and they became the neighbouring class (MYO at the wall,
            // background at the open base), never a hole.
            for (a, b) in seq.iter().zip(out.iter()) {
                assert!(a == b || (*a == LV && *b != LV));
            }
            let lv = out.index_axis(Axis(0), 0).mapv(|v| v == LV);
            assert!(!holes(&lv.view(), Connectivity::Four).iter().any(|&v| v));
        }
    }
}

#[test]
fn myocardium_erosion_gives_pixels_to_lv_and_background() {
    let seq = heart(2, 48, 40);
    let frame =
        echo::distort::erode_dilate_frame(seq.index_axis(Axis(0), 0), Structure::Myo, true, 1);
    let f0 = seq.index_axis(Axis(0), 0);
    assert!(count(frame.view(), MYO) < count(f0, MYO));
    assert!(
        count(frame.view(), LV) > count(f0, LV),
        "inner MYO layer became LV"
    );
    assert!(
        count(frame.view(), 0) > count(f0, 0),
        "outer MYO layer became background"
    );
}

#[test]
fn a_punched_hole_is_a_hole_that_morph_finds() {
    let seq = heart(5, 48, 40);
    let cfg = only(
        DistortionKind::Holes,
        DistortConfig {
            holes: HolesConfig {
                structure: Choice::One(Structure::Lv),
                fill: HoleFill::Background,
                count: [1, 1],
                radius_px: [2.0, 2.0],
                frame_probability: 0.0,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let out = distort_all(&seq, &cfg, &mut rng(3)).expect("valid");
    let changed = changed_frames(&seq, &out);
    assert_eq!(
        changed.len(),
        1,
        "probability 0 still distorts exactly one frame"
    );
    let t = changed[0];
    let lv = out.index_axis(Axis(0), t).mapv(|v| v == LV);
    let found = holes(&lv.view(), Connectivity::Four);
    assert!(
        found.iter().filter(|&&v| v).count() >= 9,
        "a radius-2 disc has 13 pixels"
    );
    let refilled = fill_holes(&lv.view());
    assert_eq!(refilled, seq.index_axis(Axis(0), t).mapv(|v| v == LV));
}

#[test]
fn a_detached_blob_is_a_new_component_away_from_the_heart() {
    let seq = heart(4, 64, 64);
    let cfg = DistortConfig {
        blobs: BlobsConfig {
            structure: Choice::One(Structure::Lv),
            count: [1, 1],
            radius_px: [2.0, 3.0],
            min_distance_px: 4.0,
            frame_probability: 1.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let out = cfg
        .apply(DistortionKind::Blobs, &seq, &mut rng(9))
        .expect("valid");
    for t in 0..4 {
        let lv_before = seq.index_axis(Axis(0), t).mapv(|v| v == LV);
        let lv_after = out.index_axis(Axis(0), t).mapv(|v| v == LV);
        assert_eq!(count_components(&lv_before.view(), Connectivity::Eight), 1);
        assert_eq!(
            count_components(&lv_after.view(), Connectivity::Eight),
            2,
            "frame {t}"
        );
        let heart = seq.index_axis(Axis(0), t).mapv(|v| v != 0);
        let gap = echo::morph::distance_to(&heart.view(), [1.0, 1.0]);
        for ((r, c), &new) in lv_after.indexed_iter() {
            if new && !lv_before[[r, c]] {
                assert!(
                    gap[[r, c]] > 4.0,
                    "blob pixel at {r},{c} is {} px from the heart",
                    gap[[r, c]]
                );
            }
        }
    }
}

#[test]
fn boundary_shifts_move_only_the_chosen_boundary() {
    let seq = heart(4, 48, 40);
    for boundary in [ShiftedBoundary::Endo, ShiftedBoundary::Epi] {
        let cfg = DistortConfig {
            boundary_shift: BoundaryShiftConfig {
                boundary: Choice::One(boundary),
                amplitude_px: [3.0, 4.0],
                ..Default::default()
            },
            ..Default::default()
        };
        let out = cfg
            .apply(DistortionKind::BoundaryShift, &seq, &mut rng(5))
            .expect("valid");
        assert!(
            !changed_frames(&seq, &out).is_empty(),
            "{boundary:?} changed nothing"
        );
        let kept = |a: &Array3<u8>| -> Array3<bool> {
            match boundary {
                ShiftedBoundary::Endo => a.mapv(|v| v != 0),
                ShiftedBoundary::Epi => a.mapv(|v| v == LV),
            }
        };
        assert_eq!(
            kept(&out),
            kept(&seq),
            "{boundary:?} moved the other boundary"
        );
    }
}

#[test]
fn glitches_change_only_the_chosen_frames() {
    let seq = heart(8, 40, 36);
    let replaced = replace_frame(&seq, 3, 2, 2, -1);
    assert_eq!(changed_frames(&seq, &replaced), vec![3]);
    let swapped = swap_frames(&seq, 1, 6);
    assert_eq!(changed_frames(&seq, &swapped), vec![1, 6]);
    assert_eq!(swapped.index_axis(Axis(0), 1), seq.index_axis(Axis(0), 6));

    for (mode, n) in [(GlitchMode::Replace, 1), (GlitchMode::Swap, 2)] {
        let cfg = DistortConfig {
            temporal_glitch: TemporalGlitchConfig {
                mode,
                count: [1, 1],
                ..Default::default()
            },
            ..Default::default()
        };
        for seed in 0..5 {
            let out = cfg
                .apply(DistortionKind::TemporalGlitch, &seq, &mut rng(seed))
                .expect("valid");
            assert_eq!(changed_frames(&seq, &out).len(), n, "{mode:?} seed {seed}");
        }
    }
    let single = heart(1, 20, 20);
    let cfg = TemporalGlitchConfig::default();
    let out = echo::distort::temporal_glitch(&single, &cfg, &mut rng(0)).expect("valid");
    assert_eq!(
        out, single,
        "a single frame has no neighbour to glitch with"
    );
}

#[test]
fn correctness_map_on_a_hand_made_case() {
    let gt = Array3::from_shape_vec((1, 2, 3), vec![0u8, 1, 2, 2, 1, 0]).expect("shape");
    let pred = Array3::from_shape_vec((1, 2, 3), vec![0u8, 2, 2, 1, 1, 0]).expect("shape");
    let map = correctness_map(&pred, &gt).expect("same shape");
    assert_eq!(
        map.iter().copied().collect::<Vec<_>>(),
        vec![1.0, 0.0, 1.0, 0.0, 1.0, 1.0]
    );
    assert!(correctness_map(&pred, &Array3::zeros((1, 2, 2))).is_err());
    // A distorted copy is wrong exactly where it differs.
    let seq = heart(3, 32, 32);
    let cfg = DistortConfig::default();
    let out = cfg
        .apply(DistortionKind::ErodeDilate, &seq, &mut rng(2))
        .expect("valid");
    let map = correctness_map(&out, &seq).expect("same shape");
    let wrong = out.iter().zip(seq.iter()).filter(|(a, b)| a != b).count();
    assert_eq!(map.iter().filter(|&&v| v == 0.0).count(), wrong);
    assert!(wrong > 0);
}

#[test]
fn configs_are_closed_validated_and_seeded() {
    let all =
        distort_each(&heart(4, 40, 40), &DistortConfig::default(), &mut rng(0)).expect("valid");
    let kinds: Vec<_> = all.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, DistortionKind::ALL.to_vec());
    let a = distort_all(&heart(4, 40, 40), &DistortConfig::default(), &mut rng(7)).expect("valid");
    let b = distort_all(&heart(4, 40, 40), &DistortConfig::default(), &mut rng(7)).expect("valid");
    assert_eq!(a, b);

    let err = serde_json::from_str::<DistortConfig>(r#"{"holes": {"radius": [1, 2]}}"#)
        .expect_err("unknown");
    assert!(err.to_string().contains("radius"), "{err}");
    let cfg: DistortConfig =
        serde_json::from_str(r#"{"blobs": {"enabled": false}, "holes": {"fill": "other_class"}}"#)
            .expect("valid");
    assert!(!cfg.blobs.enabled && cfg.holes.fill == HoleFill::OtherClass);
    let bad = DistortConfig {
        erode_dilate: ErodeDilateConfig {
            pixels: [3, 1],
            ..Default::default()
        },
        ..Default::default()
    };
    let err = bad.validate().expect_err("min > max");
    assert!(err.to_string().contains("erode_dilate.pixels"), "{err}");
    let mut bad_labels = heart(2, 16, 16);
    bad_labels[[0, 0, 0]] = 5;
    assert!(
        DistortConfig::default()
            .apply(DistortionKind::Holes, &bad_labels, &mut rng(0))
            .is_err()
    );
    let empty = Array2::<u8>::zeros((16, 16)).insert_axis(Axis(0));
    for kind in DistortionKind::ALL {
        DistortConfig::default()
            .apply(kind, &empty, &mut rng(0))
            .expect("empty frames do not crash");
    }
}

#[test]
fn a_setting_is_one_value_or_a_list_drawn_per_sequence() {
    let cfg: DistortConfig = serde_json::from_str(
        r#"{"erode_dilate": {"structure": "epi"}, "boundary_shift": {"boundary": ["endo", "epi"]}}"#,
    )
    .expect("valid");
    assert_eq!(cfg.erode_dilate.structure, Choice::One(Structure::Epi));
    assert_eq!(
        cfg.boundary_shift.boundary,
        Choice::AnyOf(vec![ShiftedBoundary::Endo, ShiftedBoundary::Epi])
    );
    // A bad value keeps the value type's own message; an empty list names the setting.
    let err = serde_json::from_str::<DistortConfig>(r#"{"holes": {"structure": ["lv", "rv"]}}"#)
        .expect_err("unknown structure");
    assert!(err.to_string().contains("unknown variant `rv`"), "{err}");
    assert!(err.to_string().contains("`epi`"), "{err}");
    let err = serde_json::from_str::<DistortConfig>(r#"{"blobs": {"structure": []}}"#)
        .expect_err("empty list");
    assert!(err.to_string().contains("at least one"), "{err}");
    let empty = DistortConfig {
        erode_dilate: ErodeDilateConfig {
            structure: Choice::AnyOf(vec![]),
            ..Default::default()
        },
        ..Default::default()
    };
    let err = empty.validate().expect_err("empty list");
    assert!(err.to_string().contains("erode_dilate.structure"), "{err}");
    // One value round-trips as the plain string older configs wrote (same cache keys).
    assert_eq!(
        serde_json::to_string(&Choice::One(Structure::Lv)).expect("serialise"),
        r#""lv""#
    );

    // With both in the list, over a few sequences the erosion/dilation moves the LV
    // (endocardium) and the background alone (epicardium), and so does the boundary shift.
    let both = DistortConfig {
        erode_dilate: ErodeDilateConfig {
            structure: Choice::AnyOf(vec![Structure::Lv, Structure::Epi]),
            ..Default::default()
        },
        boundary_shift: BoundaryShiftConfig {
            boundary: Choice::AnyOf(vec![ShiftedBoundary::Endo, ShiftedBoundary::Epi]),
            ..Default::default()
        },
        ..Default::default()
    };
    let seq = heart(3, 40, 40);
    for kind in [DistortionKind::ErodeDilate, DistortionKind::BoundaryShift] {
        let (mut endo, mut epi) = (false, false);
        for seed in 0..16 {
            let out = both.apply(kind, &seq, &mut rng(seed)).expect("valid");
            let lv_moved = seq.iter().zip(&out).any(|(a, b)| (*a == LV) != (*b == LV));
            let bg_moved = seq.iter().zip(&out).any(|(a, b)| (*a == 0) != (*b == 0));
            endo |= lv_moved;
            epi |= bg_moved && !lv_moved;
        }
        assert!(
            endo && epi,
            "{kind:?}: endocardial {endo}, epicardial {epi}"
        );
    }
}

#[test]
fn distort_some_applies_at_least_one_family_and_more_with_p() {
    let base = heart(8, 48, 48);
    let cfg = DistortConfig::default();
    // p = 0: exactly one family each time (a glitch of two alike frames may change nothing).
    let changed = (0..8)
        .filter(|&seed| distort_some(&base, &cfg, 0.0, &mut rng(seed)).expect("distort") != base)
        .count();
    assert!(
        changed >= 6,
        "only {changed}/8 corruptions changed the labels"
    );
    // p = 1: every family in turn, so more pixels change than with one family.
    let diff = |a: &Array3<u8>| a.iter().zip(&base).filter(|(x, y)| x != y).count();
    let (mut one, mut all) = (0, 0);
    for seed in 0..8 {
        one += diff(&distort_some(&base, &cfg, 0.0, &mut rng(seed)).expect("one"));
        all += diff(&distort_some(&base, &cfg, 1.0, &mut rng(seed)).expect("all"));
    }
    assert!(all > one, "all families {all} px vs one {one} px");
    // Nothing enabled: unchanged; a bad probability is an error naming it.
    let mut none = only(DistortionKind::Holes, DistortConfig::default());
    none.holes.enabled = false;
    assert!(none.enabled_kinds().is_empty());
    assert_eq!(
        distort_some(&base, &none, 0.5, &mut rng(1)).expect("none"),
        base
    );
    let err = distort_some(&base, &cfg, 1.5, &mut rng(1)).expect_err("p > 1");
    assert!(err.to_string().contains("1.5"), "{err}");
}
