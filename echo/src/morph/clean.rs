//! Label-map clean-ups used by the method.
//!
//! * [`clean_frame`] / [`clean_sequence`]: the morphological fix of method.md 4.2.1 (the
//!   pseudo-ground truth of "good" cases): `Post2DBigBlob([2, 1])`,
//!   `Post2DFillIntraHoles([2, 1])`, `Post2DFillInterHoles(1, 2, fill=2)`.
//! * [`keep_largest_foreground`] / [`keep_largest_foreground_sequence`]: the "largest blob"
//!   cleanup applied to every prediction (method.md 7.1 step 5 and 9): keep the largest
//!   4-connected component of the foreground (LV ∪ MYO) and zero the rest. The original
//!   crashes on an empty frame (method.md 12.14); here an empty frame stays empty.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, Axis};

use super::bits::BitMask;
use super::label::{Connectivity, fill_holes, largest_component};
use super::runs::{Runs, components};
use crate::types::{LV, MYO};

/// Per-class pass of vital's `PostProcessor2DStructure`: classes are processed in the order
/// given (MYO then LV) and drawn onto an empty map, so later classes win overlaps.
fn per_class(
    frame: &ArrayView2<u8>,
    order: [u8; 2],
    f: impl Fn(&ArrayView2<bool>) -> Array2<bool>,
) -> Array2<u8> {
    let mut out = Array2::<u8>::zeros(frame.dim());
    for class in order {
        let mask = frame.mapv(|v| v == class);
        let processed = f(&mask.view());
        out.zip_mut_with(&processed, |o, &p| {
            if p {
                *o = class;
            }
        });
    }
    out
}

/// The morphological fix of method.md 4.2.1 on one `[H, W]` label frame:
/// 1. per class (MYO, then LV, so LV wins), keep the largest 4-connected component;
/// 2. per class (MYO, then LV), fill its holes (SciPy `binary_fill_holes`);
/// 3. holes of LV ∪ MYO that belong to neither become MYO.
///
/// Labels other than LV and MYO are dropped by steps 1-2, as in the original.
pub fn clean_frame(frame: &ArrayView2<u8>) -> Array2<u8> {
    let big_blob = per_class(frame, [MYO, LV], |m| {
        largest_component(m, Connectivity::Four)
    });
    let mut filled = per_class(&big_blob.view(), [MYO, LV], fill_holes);
    let union = filled.mapv(|v| v == LV || v == MYO);
    let union_filled = fill_holes(&union.view());
    ndarray::Zip::from(&mut filled)
        .and(&union)
        .and(&union_filled)
        .for_each(|o, &u, &f| {
            if f && !u {
                *o = MYO;
            }
        });
    filled
}

/// [`clean_frame`] on every frame of a `[T, H, W]` sequence.
pub fn clean_sequence(seq: &ArrayView3<u8>) -> Array3<u8> {
    let mut out = seq.to_owned();
    for (mut dst, src) in out.axis_iter_mut(Axis(0)).zip(seq.axis_iter(Axis(0))) {
        dst.assign(&clean_frame(&src));
    }
    out
}

/// Keeps the largest 4-connected component of the foreground (labels ≠ 0), zeroing every other
/// pixel (SciPy `label` default structure, as the original's `clean_blobs`; ties go to the
/// component whose first pixel comes first in raster order, like `np.argmax`). An empty frame is
/// returned unchanged instead of crashing (method.md 12.14).
pub fn keep_largest_foreground(frame: &ArrayView2<u8>) -> Array2<u8> {
    let mut out = Array2::zeros(frame.dim());
    copy_largest_foreground(frame, out.view_mut());
    out
}

/// Copies the largest foreground component of `src` into `dst` (same shape, all zero).
fn copy_largest_foreground(src: &ArrayView2<u8>, mut dst: ArrayViewMut2<u8>) {
    let runs = Runs::of(&BitMask::equal_to(src, 0).not());
    let comps = components(&runs, false);
    let largest = (0..comps.sizes.len()).reduce(|best, k| {
        if comps.sizes[k] > comps.sizes[best] {
            k
        } else {
            best
        }
    });
    let Some(largest) = largest else { return };
    for i in (0..runs.len()).filter(|&i| comps.id[i] == largest) {
        let r = runs.row[i];
        for c in runs.start[i]..runs.end[i] {
            dst[[r, c]] = src[[r, c]];
        }
    }
}

/// [`keep_largest_foreground`] on every frame of a `[T, H, W]` sequence.
pub fn keep_largest_foreground_sequence(seq: &ArrayView3<u8>) -> Array3<u8> {
    let mut out = Array3::zeros(seq.dim());
    for (dst, src) in out.axis_iter_mut(Axis(0)).zip(seq.axis_iter(Axis(0))) {
        copy_largest_foreground(&src, dst);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, array};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn largest_foreground_matches_flood_fill_labelling(
            h in 1usize..12, w in 1usize..12,
            labels in proptest::collection::vec(prop_oneof![Just(0u8), Just(0), 1u8..4], 144),
        ) {
            let frame = Array2::from_shape_fn((h, w), |(r, c)| labels[r * 12 + c]);
            // The straightforward version: flood-fill labels, largest (first on ties), mask.
            let keep = largest_component(&frame.mapv(|v| v != 0).view(), Connectivity::Four);
            let mut expected = frame.clone();
            expected.zip_mut_with(&keep, |o, &k| if !k { *o = 0 });
            prop_assert_eq!(keep_largest_foreground(&frame.view()), expected);
        }
    }

    #[test]
    fn clean_frame_keeps_biggest_blob_per_class_and_fills_holes() {
        let frame = array![
            [0, 0, 0, 0, 0, 0, 0, 1],
            [0, 2, 2, 2, 2, 2, 0, 0],
            [0, 2, 1, 1, 1, 2, 0, 0],
            [0, 2, 1, 0, 1, 2, 0, 2],
            [0, 2, 1, 1, 1, 2, 0, 0],
            [0, 2, 2, 0, 2, 2, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0u8]
        ];
        let cleaned = clean_frame(&frame.view());
        // Detached LV pixel and MYO pixel removed; LV hole filled with LV.
        assert_eq!(cleaned[[0, 7]], 0);
        assert_eq!(cleaned[[3, 7]], 0);
        assert_eq!(cleaned[[3, 3]], LV);
        // The gap in the MYO ring at (5, 3) is not a hole of anything: stays background.
        assert_eq!(cleaned[[5, 3]], 0);
    }

    #[test]
    fn inter_holes_between_lv_and_myo_become_myo() {
        // (2, 2) is enclosed by LV ∪ MYO but by neither alone.
        let frame = array![
            [0, 0, 0, 0, 0, 0],
            [0, 2, 2, 2, 2, 0],
            [0, 2, 0, 1, 1, 0],
            [0, 2, 1, 1, 1, 0],
            [0, 0, 0, 0, 0, 0u8]
        ];
        let cleaned = clean_frame(&frame.view());
        assert_eq!(cleaned[[2, 2]], MYO);
        let mut expected = frame.clone();
        expected[[2, 2]] = MYO;
        assert_eq!(cleaned, expected);
    }

    #[test]
    fn largest_foreground_keeps_one_blob_and_guards_empty_frames() {
        let frame = array![[1, 1, 0, 2], [2, 1, 0, 0], [0, 0, 0, 1u8]];
        let kept = keep_largest_foreground(&frame.view());
        assert_eq!(kept, array![[1, 1, 0, 0], [2, 1, 0, 0], [0, 0, 0, 0u8]]);
        let empty = Array3::<u8>::zeros((2, 3, 3));
        assert_eq!(keep_largest_foreground_sequence(&empty.view()), empty);
    }
}
