//! Segmentation scores between a prediction and a ground truth (method.md 9):
//! Dice over the whole `[T, H, W]` volume (MedPy `dc`) and Hausdorff / HD95 per frame,
//! averaged over frames (MedPy `hd` / `hd95`), for LV, MYO and the epicardium (LV ∪ MYO).
//!
//! Empty masks, as MedPy would see them:
//! * Dice with both masks empty: MedPy 0.5 computes `0/0` in NumPy and returns **NaN** (its
//!   `ZeroDivisionError` fallback to 0 is never reached). We follow MedPy: NaN.
//! * Hausdorff with an empty predicted mask: the original sets the centre pixel
//!   (`[H/2, W/2]`) of the prediction first (method.md 9); we do the same.
//! * Hausdorff with an empty ground-truth mask: MedPy raises and the original crashes. We skip
//!   that frame for that structure and count it in `skipped`; the average is over the frames
//!   that were not skipped, and NaN when every frame was skipped.

use std::borrow::Cow;

use ndarray::{ArrayView3, Dimension, Zip};
use serde::{Deserialize, Serialize};

use super::frame::FrameMasks;
use super::surface::{Boundary, Surface};
use super::{Structure, check_same_shape, check_spacing};
use crate::Result;
use crate::morph::Window;
use crate::types::{LV, MYO};

/// MedPy `dc`: `2|A∩B| / (|A| + |B|)` over all voxels of `structure`; NaN when both are empty.
pub fn dice<D: Dimension>(
    pred: &ndarray::ArrayView<u8, D>,
    gt: &ndarray::ArrayView<u8, D>,
    structure: Structure,
) -> Result<f64> {
    check_same_shape("dice", pred.shape(), gt.shape())?;
    Ok(dice_from(&confusion(pred, gt), structure))
}

/// Joint counts of (prediction, ground truth) classes: 0 = neither LV nor MYO, 1 = LV, 2 = MYO.
fn confusion<D: Dimension>(
    pred: &ndarray::ArrayView<u8, D>,
    gt: &ndarray::ArrayView<u8, D>,
) -> [[usize; 3]; 3] {
    if let (Some(p), Some(g)) = (pred.as_slice(), gt.as_slice()) {
        return confusion_of_slices(p, g);
    }
    let class = |v: u8| if v == LV || v == MYO { v as usize } else { 0 };
    let mut counts = [[0usize; 3]; 3];
    Zip::from(pred)
        .and(gt)
        .for_each(|&a, &b| counts[class(a)][class(b)] += 1);
    counts
}

/// [`confusion`] of two slices: the LV/MYO counts of each side and of the four foreground
/// pairs are summed in byte lanes over blocks of 255 pixels (which the compiler vectorises);
/// the pairs with class 0 follow from them.
fn confusion_of_slices(p: &[u8], g: &[u8]) -> [[usize; 3]; 3] {
    // p1, p2, g1, g2, (1,1), (1,2), (2,1), (2,2).
    let mut sums = [0usize; 8];
    for (pb, gb) in p.chunks(255).zip(g.chunks(255)) {
        let mut acc = [0u8; 8];
        for (&a, &b) in pb.iter().zip(gb) {
            let (a1, a2) = (u8::from(a == LV), u8::from(a == MYO));
            let (b1, b2) = (u8::from(b == LV), u8::from(b == MYO));
            acc[0] += a1;
            acc[1] += a2;
            acc[2] += b1;
            acc[3] += b2;
            acc[4] += a1 & b1;
            acc[5] += a1 & b2;
            acc[6] += a2 & b1;
            acc[7] += a2 & b2;
        }
        for (s, a) in sums.iter_mut().zip(acc) {
            *s += usize::from(a);
        }
    }
    let [p1, p2, g1, g2, c11, c12, c21, c22] = sums;
    let (c10, c20) = (p1 - c11 - c12, p2 - c21 - c22);
    let (c01, c02) = (g1 - c11 - c21, g2 - c12 - c22);
    let c00 = p.len().min(g.len()) - (p1 + p2 + c01 + c02);
    [[c00, c01, c02], [c10, c11, c12], [c20, c21, c22]]
}

fn dice_from(counts: &[[usize; 3]; 3], structure: Structure) -> f64 {
    let classes: &[usize] = match structure {
        Structure::Lv => &[1],
        Structure::Myo => &[2],
        Structure::Epi => &[1, 2],
    };
    let (mut inter, mut total) = (0usize, 0usize);
    for p in 0..3 {
        for g in 0..3 {
            let (in_p, in_g) = (classes.contains(&p), classes.contains(&g));
            inter += counts[p][g] * usize::from(in_p && in_g);
            total += counts[p][g] * (usize::from(in_p) + usize::from(in_g));
        }
    }
    2.0 * inter as f64 / total as f64
}

/// Dice of every structure (keys of the original: `dice/LV`, `dice/MYO`, `Dice`, `dice/epi`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiceScores {
    pub lv: f64,
    pub myo: f64,
    /// Mean of LV and MYO (background excluded), the original's `Dice`.
    pub mean: f64,
    /// Foreground (LV ∪ MYO) as one binary structure.
    pub epi: f64,
}

/// [`dice`] for LV, MYO and epicardium over the whole sequence.
pub fn dice_scores(pred: &ArrayView3<u8>, gt: &ArrayView3<u8>) -> Result<DiceScores> {
    check_same_shape("dice", pred.shape(), gt.shape())?;
    let counts = confusion(pred, gt);
    let lv = dice_from(&counts, Structure::Lv);
    let myo = dice_from(&counts, Structure::Myo);
    let epi = dice_from(&counts, Structure::Epi);
    Ok(DiceScores {
        lv,
        myo,
        mean: (lv + myo) / 2.0,
        epi,
    })
}

/// Frame-averaged Hausdorff (`hd`) and HD95 (`hd95`) of one structure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HausdorffScore {
    /// Mean over scored frames of the Hausdorff distance, mm (NaN if none scored).
    pub hd: f64,
    /// Mean over scored frames of the 95th-percentile surface distance, mm.
    pub hd95: f64,
    /// Frames skipped because the ground-truth structure is empty there.
    pub skipped: usize,
    /// Frames whose predicted structure was empty and got its centre pixel set.
    pub empty_predictions: usize,
}

/// Hausdorff scores of every structure (keys of the original: `hd/LV`, `hd/MYO`, `Hausdorff`,
/// `hd/epi`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HausdorffScores {
    pub lv: HausdorffScore,
    pub myo: HausdorffScore,
    /// Mean of the LV and MYO frame averages (the original's `Hausdorff` when no frame is
    /// skipped: mean over classes, then over frames).
    pub mean_hd: f64,
    pub mean_hd95: f64,
    pub epi: HausdorffScore,
}

/// Hausdorff and HD95 of one structure, per frame, averaged (see the module notes for empty
/// masks). `spacing` is `[dy, dx]` in mm.
pub fn hausdorff_structure(
    pred: &ArrayView3<u8>,
    gt: &ArrayView3<u8>,
    structure: Structure,
    spacing: [f64; 2],
) -> Result<HausdorffScore> {
    check_same_shape("hausdorff", pred.shape(), gt.shape())?;
    check_spacing("hausdorff", spacing)?;
    let (p, g) = (FrameMasks::sequence(pred), FrameMasks::sequence(gt));
    Ok(hausdorff_of(&p, &g, structure, spacing))
}

/// [`hausdorff_structure`] on the frames' masks (same number of frames, same frame shape).
fn hausdorff_of(
    pred: &[FrameMasks],
    gt: &[FrameMasks],
    structure: Structure,
    spacing: [f64; 2],
) -> HausdorffScore {
    let (mut sum_hd, mut sum_hd95, mut n) = (0.0, 0.0, 0usize);
    let (mut skipped, mut empty_predictions) = (0usize, 0usize);
    for (p, g) in pred.iter().zip(gt) {
        let (h, w) = g.frame_dim();
        let (Some(g_box), Some(g_boundary)) = (g.bounding_box(structure), g.boundary(structure))
        else {
            skipped += 1;
            continue;
        };
        let centre = Window {
            rows: h / 2..h / 2 + 1,
            cols: w / 2..w / 2 + 1,
        };
        // Exact on the window around both masks (morph::window), distances measured from its
        // corner.
        let win = g_box
            .union(p.bounding_box(structure).unwrap_or(&centre))
            .widened(1, h, w);
        let p_boundary = match p.boundary(structure) {
            Some(b) => Cow::Borrowed(b),
            None => {
                empty_predictions += 1;
                Cow::Owned(Boundary::single([h / 2, w / 2]))
            }
        };
        let p_surface = Surface::on_window(&p_boundary, &win, spacing);
        let g_surface = Surface::on_window(g_boundary, &win, spacing);
        let (hd, hd95) = p_surface.hausdorff_and_95(&g_surface);
        sum_hd += hd;
        sum_hd95 += hd95;
        n += 1;
    }
    let mean = |s: f64| if n == 0 { f64::NAN } else { s / n as f64 };
    HausdorffScore {
        hd: mean(sum_hd),
        hd95: mean(sum_hd95),
        skipped,
        empty_predictions,
    }
}

/// [`hausdorff_structure`] for LV, MYO and the epicardium.
pub fn hausdorff_scores(
    pred: &ArrayView3<u8>,
    gt: &ArrayView3<u8>,
    spacing: [f64; 2],
) -> Result<HausdorffScores> {
    check_same_shape("hausdorff", pred.shape(), gt.shape())?;
    check_spacing("hausdorff", spacing)?;
    let (p, g) = (FrameMasks::sequence(pred), FrameMasks::sequence(gt));
    Ok(hausdorff_scores_of(&p, &g, spacing))
}

/// [`hausdorff_scores`] on the frames' masks (same number of frames, same frame shape).
pub(crate) fn hausdorff_scores_of(
    pred: &[FrameMasks],
    gt: &[FrameMasks],
    spacing: [f64; 2],
) -> HausdorffScores {
    let lv = hausdorff_of(pred, gt, Structure::Lv, spacing);
    let myo = hausdorff_of(pred, gt, Structure::Myo, spacing);
    let epi = hausdorff_of(pred, gt, Structure::Epi, spacing);
    HausdorffScores {
        lv,
        myo,
        mean_hd: (lv.hd + myo.hd) / 2.0,
        mean_hd95: (lv.hd95 + myo.hd95) / 2.0,
        epi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, Axis, array};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lane_counts_match_the_plain_confusion_matrix(
            n in 0usize..700,
            p in proptest::collection::vec(0u8..4, 700),
            g in proptest::collection::vec(0u8..4, 700),
        ) {
            let class = |v: u8| if v == LV || v == MYO { v as usize } else { 0 };
            let mut expected = [[0usize; 3]; 3];
            for (&a, &b) in p[..n].iter().zip(&g[..n]) {
                expected[class(a)][class(b)] += 1;
            }
            prop_assert_eq!(confusion_of_slices(&p[..n], &g[..n]), expected);
        }
    }

    #[test]
    fn hand_computed_dice() {
        let gt = array![[[1, 1, 2, 0], [1, 1, 2, 0]]];
        let pred = array![[[1, 0, 2, 2], [1, 1, 2, 0]]];
        let d = dice_scores(&pred.view(), &gt.view()).expect("same shapes");
        assert!((d.lv - 2.0 * 3.0 / 7.0).abs() < 1e-12);
        assert!((d.myo - 2.0 * 2.0 / 5.0).abs() < 1e-12);
        assert!((d.epi - 2.0 * 5.0 / 12.0).abs() < 1e-12);
        assert!((d.mean - (d.lv + d.myo) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn dice_of_two_empty_structures_is_nan_like_medpy() {
        let z = Array3::<u8>::zeros((2, 3, 3));
        assert!(
            dice(&z.view(), &z.view(), Structure::Lv)
                .expect("same shapes")
                .is_nan()
        );
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let a = Array3::<u8>::zeros((2, 3, 3));
        let b = Array3::<u8>::zeros((2, 3, 4));
        let err = dice(&a.view(), &b.view(), Structure::Lv).expect_err("mismatch");
        assert!(err.to_string().contains("[2, 3, 4]"), "{err}");
        assert!(hausdorff_scores(&a.view(), &b.view(), [1.0, 1.0]).is_err());
        assert!(hausdorff_scores(&a.view(), &a.view(), [0.0, 1.0]).is_err());
    }

    #[test]
    fn hausdorff_skips_empty_gt_frames_and_fills_empty_predictions() {
        let mut gt = Array3::<u8>::zeros((3, 9, 9));
        let mut pred = Array3::<u8>::zeros((3, 9, 9));
        // Frame 0: identical LV squares. Frame 1: GT has no LV. Frame 2: prediction empty,
        // GT LV is the single pixel (0, 0); the filled centre is (4, 4).
        crate::morph::fill_rect(gt.index_axis_mut(Axis(0), 0), 2..5, 2..5, 1);
        crate::morph::fill_rect(pred.index_axis_mut(Axis(0), 0), 2..5, 2..5, 1);
        pred[[1, 1, 1]] = 1;
        gt[[2, 0, 0]] = 1;
        let s = hausdorff_structure(&pred.view(), &gt.view(), Structure::Lv, [1.0, 1.0])
            .expect("valid input");
        assert_eq!(s.skipped, 1);
        assert_eq!(s.empty_predictions, 1);
        assert!((s.hd - 32f64.sqrt() / 2.0).abs() < 1e-12);
        let all_skipped = hausdorff_structure(
            &pred.view(),
            &Array3::zeros((3, 9, 9)).view(),
            Structure::Myo,
            [1.0, 1.0],
        )
        .expect("valid input");
        assert!(all_skipped.hd.is_nan() && all_skipped.skipped == 3);
    }
}
