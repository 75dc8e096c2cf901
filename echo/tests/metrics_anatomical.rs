//! Anatomical validity (method.md 6.1) on hand-drawn frames, one per failure mode: each test
//! asserts exactly which criteria fail.

use echo::metrics::anatomical::{Criterion, check_frame, check_sequence};
use ndarray::{Array2, Array3, Axis};

const BG: u8 = 0;
const LV: u8 = 1;
const MYO: u8 = 2;

fn fill_rect(
    f: &mut Array2<u8>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    v: u8,
) {
    for r in rows {
        for c in cols.clone() {
            f[[r, c]] = v;
        }
    }
}

/// 40×40: LV rows 10..30 × cols 14..26, a 4-pixel MYO wall on the sides and the top, open at
/// the base (row 30 and below are background).
fn valid_frame() -> Array2<u8> {
    let mut f = Array2::<u8>::zeros((40, 40));
    fill_rect(&mut f, 6..30, 10..30, MYO);
    fill_rect(&mut f, 10..30, 14..26, LV);
    f
}

fn failed(frame: &Array2<u8>) -> Vec<Criterion> {
    let mut v = check_frame(&frame.view()).failed;
    v.sort_by_key(|c| *c as u8);
    v
}

#[test]
fn the_reference_frame_is_valid_with_the_expected_values() {
    let v = check_frame(&valid_frame().view());
    assert!(v.is_valid(), "{:?}", v.failed);
    let m = v.metrics;
    assert_eq!(m.lv_pixels, 0);
    // LV 12 px / MYO 8 px at the centre-of-mass row; 12 base pixels touch background over a
    // 12-column LV; two erosions empty the 4-pixel wall whose maximal EDT (in the top corners)
    // is 2√2. Values cross-checked with generate.py's port of vital.
    assert_eq!(m.width_ratio_between_lv_and_myo, 1.5);
    assert_eq!(m.frontier_ratio_between_lv_and_bg, 1.0);
    assert!((m.erosion_ratio_before_myo_split - 2.0 / 8f64.sqrt()).abs() < 1e-12);
}

#[test]
fn hole_in_lv() {
    let mut f = valid_frame();
    f[[20, 20]] = BG;
    // The hole's 8 LV neighbours also touch background: frontier ratio 20/12 > 1.5 (vital).
    assert_eq!(
        failed(&f),
        vec![
            Criterion::HolesInLv,
            Criterion::HolesInEpi,
            Criterion::FrontierRatioBetweenLvAndBg
        ]
    );
    assert_eq!(check_frame(&f.view()).metrics.holes_in_lv, 1);
}

#[test]
fn split_myocardium() {
    let mut f = valid_frame();
    fill_rect(&mut f, 6..10, 20..21, BG);
    assert_eq!(
        failed(&f),
        vec![
            Criterion::DisconnectivityInMyo,
            Criterion::ErosionRatioBeforeMyoSplit
        ]
    );
    // The smaller (right) half is counted as disconnected: 4×9 + 20×4 pixels.
    assert_eq!(check_frame(&f.view()).metrics.disconnectivity_in_myo, 116);
}

#[test]
fn detached_lv_blob() {
    let mut f = valid_frame();
    fill_rect(&mut f, 34..36, 2..4, LV);
    assert_eq!(failed(&f), vec![Criterion::DisconnectivityInLv]);
    assert_eq!(check_frame(&f.view()).metrics.disconnectivity_in_lv, 4);
}

#[test]
fn gap_between_lv_and_myo() {
    let mut f = valid_frame();
    fill_rect(&mut f, 12..21, 14..15, BG);
    // The gap also puts LV pixels next to background (frontier 25/12), as in vital.
    assert_eq!(
        failed(&f),
        vec![
            Criterion::HolesInEpi,
            Criterion::HolesBetweenLvAndMyo,
            Criterion::FrontierRatioBetweenLvAndBg
        ]
    );
    assert_eq!(check_frame(&f.view()).metrics.holes_between_lv_and_myo, 9);
}

#[test]
fn lv_touching_background_too_much() {
    // No lateral wall on the right: the LV's right side touches background.
    let mut f = valid_frame();
    fill_rect(&mut f, 6..30, 26..30, BG);
    assert_eq!(failed(&f), vec![Criterion::FrontierRatioBetweenLvAndBg]);
    assert!(
        check_frame(&f.view())
            .metrics
            .frontier_ratio_between_lv_and_bg
            > 1.5
    );
}

#[test]
fn lv_not_touching_background() {
    // Closed base: the LV is surrounded by MYO.
    let mut f = valid_frame();
    fill_rect(&mut f, 30..34, 10..30, MYO);
    assert_eq!(failed(&f), vec![Criterion::FrontierRatioBetweenLvAndBg]);
    assert_eq!(
        check_frame(&f.view())
            .metrics
            .frontier_ratio_between_lv_and_bg,
        0.0
    );
}

#[test]
fn too_thin_myocardium_at_the_centre_of_mass_row() {
    // 16-pixel LV between 1-pixel lateral walls: width ratio 8 > 4.15.
    let mut f = Array2::<u8>::zeros((40, 40));
    fill_rect(&mut f, 8..30, 11..29, MYO);
    fill_rect(&mut f, 10..30, 12..28, LV);
    assert_eq!(failed(&f), vec![Criterion::WidthRatioBetweenLvAndMyo]);
    assert_eq!(
        check_frame(&f.view())
            .metrics
            .width_ratio_between_lv_and_myo,
        8.0
    );
}

#[test]
fn myocardium_about_to_split() {
    // 20-pixel walls (maximal EDT 12, in the top corners) whose top is cut down to a 1-pixel
    // bridge: one erosion splits it, ratio 1/12 < 0.12.
    let mut f = Array2::<u8>::zeros((80, 80));
    fill_rect(&mut f, 10..60, 10..70, MYO);
    fill_rect(&mut f, 30..60, 30..50, LV);
    fill_rect(&mut f, 10..29, 39..42, BG);
    assert_eq!(failed(&f), vec![Criterion::ErosionRatioBeforeMyoSplit]);
    let ratio = check_frame(&f.view())
        .metrics
        .erosion_ratio_before_myo_split;
    assert!((ratio - 1.0 / 12.0).abs() < 1e-12, "{ratio}");
}

#[test]
fn empty_lv() {
    let mut f = valid_frame();
    f.mapv_inplace(|v| if v == LV { BG } else { v });
    assert_eq!(
        failed(&f),
        vec![
            Criterion::LvPixels,
            Criterion::WidthRatioBetweenLvAndMyo,
            Criterion::FrontierRatioBetweenLvAndBg
        ]
    );
    assert!(
        check_frame(&f.view())
            .metrics
            .width_ratio_between_lv_and_myo
            .is_nan()
    );
}

#[test]
fn empty_frame_is_invalid_without_panicking() {
    let f = Array2::<u8>::zeros((16, 16));
    let v = check_frame(&f.view());
    assert!(v.failed(Criterion::LvPixels));
    assert!(v.failed(Criterion::ErosionRatioBeforeMyoSplit));
}

#[test]
fn sequence_summary_counts_valid_frames() {
    let mut seq = Array3::<u8>::zeros((4, 40, 40));
    for t in 0..3 {
        seq.index_axis_mut(Axis(0), t).assign(&valid_frame());
    }
    let v = check_sequence(&seq.view());
    assert_eq!(v.valid_fraction, 0.75);
    assert!(!v.all_valid);
    assert!(v.frames[3].failed(Criterion::LvPixels));
}
