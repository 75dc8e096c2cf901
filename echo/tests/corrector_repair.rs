//! The weight-free corrector repairs glitched frames and leaves valid sequences alone.

use echo::corrector::{CorrectorConfig, correct_sequence};
use echo::distort::replace_frame;
use echo::{LV, MYO};
use ndarray::{Array3, Axis};

/// A smooth sequence: bullet-shaped LV in a 3-px myocardium open at the base, contracting.
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

/// Dice of one class over the whole volume (1 when both are empty).
fn dice(a: &Array3<u8>, b: &Array3<u8>, class: u8) -> f64 {
    let (mut inter, mut na, mut nb) = (0usize, 0usize, 0usize);
    for (x, y) in a.iter().zip(b.iter()) {
        inter += usize::from(*x == class && *y == class);
        na += usize::from(*x == class);
        nb += usize::from(*y == class);
    }
    if na + nb == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (na + nb) as f64
    }
}

fn frame_dice(a: &Array3<u8>, b: &Array3<u8>, t: usize, class: u8) -> f64 {
    let fa = a.index_axis(Axis(0), t).insert_axis(Axis(0)).to_owned();
    let fb = b.index_axis(Axis(0), t).insert_axis(Axis(0)).to_owned();
    dice(&fa, &fb, class)
}

#[test]
fn a_valid_smooth_sequence_is_nearly_unchanged() {
    let seq = heart(16, 64, 56);
    let out = correct_sequence(&seq, &CorrectorConfig::default()).expect("valid");
    for class in [LV, MYO] {
        let d = dice(&out, &seq, class);
        assert!(d > 0.97, "class {class}: Dice {d}");
    }
}

#[test]
fn a_glitched_frame_is_repaired() {
    let clean = heart(16, 64, 56);
    let glitched = replace_frame(&clean, 7, 7, 6, 5);
    let out = correct_sequence(&glitched, &CorrectorConfig::default()).expect("valid");
    for class in [LV, MYO] {
        let before = frame_dice(&glitched, &clean, 7, class);
        let after = frame_dice(&out, &clean, 7, class);
        assert!(
            after > before + 0.2,
            "class {class}: frame Dice {before} -> {after}"
        );
        assert!(dice(&out, &clean, class) > dice(&glitched, &clean, class));
    }
    // With smoothing off the corrector is only the morphological fix: no repair.
    let off = CorrectorConfig {
        median_window: 1,
        sigma_frames: 0.0,
        ..Default::default()
    };
    let out = correct_sequence(&glitched, &off).expect("valid");
    assert!(frame_dice(&out, &clean, 7, LV) < 0.8);
}

#[test]
fn empty_frames_do_not_crash_and_are_filled_from_their_neighbours() {
    let clean = heart(10, 48, 40);
    let mut holed = clean.clone();
    holed.index_axis_mut(Axis(0), 4).fill(0);
    let out = correct_sequence(&holed, &CorrectorConfig::default()).expect("valid");
    assert!(frame_dice(&out, &clean, 4, LV) > 0.9);

    let empty = Array3::<u8>::zeros((5, 24, 24));
    assert_eq!(
        correct_sequence(&empty, &CorrectorConfig::default()).expect("valid"),
        empty
    );
    let one = heart(1, 40, 40);
    let out = correct_sequence(&one, &CorrectorConfig::default()).expect("valid");
    assert!(dice(&out, &one, LV) > 0.97);
}

#[test]
fn morphological_repair_removes_islands_and_holes() {
    let mut seq = heart(6, 48, 40);
    seq[[2, 45, 2]] = LV; // island far from the heart
    seq[[3, 15, 20]] = 0; // hole inside the LV
    let out = correct_sequence(&seq, &CorrectorConfig::default()).expect("valid");
    assert_eq!(out[[2, 45, 2]], 0);
    assert_eq!(out[[3, 15, 20]], LV);
}

#[test]
fn bad_config_and_labels_are_errors() {
    let seq = heart(3, 24, 24);
    let even = CorrectorConfig {
        median_window: 2,
        ..Default::default()
    };
    assert!(
        correct_sequence(&seq, &even)
            .expect_err("even")
            .to_string()
            .contains("median_window")
    );
    let neg = CorrectorConfig {
        sigma_frames: -1.0,
        ..Default::default()
    };
    assert!(correct_sequence(&seq, &neg).is_err());
    let mut bad = seq.clone();
    bad[[0, 0, 0]] = 9;
    assert!(correct_sequence(&bad, &CorrectorConfig::default()).is_err());
}
