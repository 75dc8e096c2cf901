//! One label frame as the metrics see it: bit masks of LV, MYO and LV ∪ MYO on the window
//! around them, and the quantities that several metrics need (surface pixels of each
//! structure, the LV base points), computed once on first use. `evaluate_case` builds these once
//! per frame of the prediction and of the ground truth and hands them to every metric.
//!
//! The window is the anatomical criteria's crop: LV ∪ MYO widened by one pixel when it stays
//! off the image border, the whole frame otherwise. Every other use only needs a window that
//! holds the structures and every in-image neighbour of their pixels, which this one does.

use std::cell::OnceCell;

use ndarray::{ArrayView2, ArrayView3, Axis};

use super::Structure;
use super::landmarks::base_points_of;
use super::surface::Boundary;
use crate::morph::Window;
use crate::morph::bits::BitMask;
use crate::types::{BG, LV, MYO};

/// Masks and shared measures of one `[H, W]` label frame.
pub(crate) struct FrameMasks<'a> {
    frame: ArrayView2<'a, u8>,
    /// Where the masks lie, in frame coordinates.
    pub window: Window,
    pub lv: BitMask,
    pub myo: BitMask,
    /// LV ∪ MYO.
    pub epi: BitMask,
    /// Bounding boxes (margin 0, frame coordinates) of LV, MYO and LV ∪ MYO.
    boxes: [Option<Window>; 3],
    boundaries: [OnceCell<Option<Boundary>>; 3],
    base_points: OnceCell<Option<[[usize; 2]; 2]>>,
}

fn index(s: Structure) -> usize {
    match s {
        Structure::Lv => 0,
        Structure::Myo => 1,
        Structure::Epi => 2,
    }
}

impl<'a> FrameMasks<'a> {
    pub fn of(frame: ArrayView2<'a, u8>) -> Self {
        let (h, w) = frame.dim();
        let [lv, myo] = BitMask::equal_to_each(&frame, [LV, MYO]);
        let (lv_box, myo_box) = (lv.bounding_box(), myo.bounding_box());
        let epi_box = match (&lv_box, &myo_box) {
            (Some(a), Some(b)) => Some(a.union(b)),
            (a, b) => a.clone().or_else(|| b.clone()),
        };
        let window = match &epi_box {
            Some(b) if b.is_interior(h, w) => b.widened(1, h, w),
            _ => Window::full(h, w),
        };
        let (lv, myo) = if window == Window::full(h, w) {
            (lv, myo)
        } else {
            (lv.crop(&window), myo.crop(&window))
        };
        FrameMasks {
            frame,
            window,
            epi: lv.or(&myo),
            lv,
            myo,
            boxes: [lv_box, myo_box, epi_box],
            boundaries: Default::default(),
            base_points: OnceCell::new(),
        }
    }

    /// [`FrameMasks::of`] every frame of a `[T, H, W]` sequence.
    pub fn sequence(seq: &'a ArrayView3<'_, u8>) -> Vec<Self> {
        seq.axis_iter(Axis(0)).map(FrameMasks::of).collect()
    }

    pub fn frame(&self) -> &ArrayView2<'a, u8> {
        &self.frame
    }

    /// `[H, W]` of the whole frame.
    pub fn frame_dim(&self) -> (usize, usize) {
        self.frame.dim()
    }

    /// Top-left corner of the window.
    pub fn origin(&self) -> [usize; 2] {
        [self.window.rows.start, self.window.cols.start]
    }

    pub fn mask(&self, s: Structure) -> &BitMask {
        match s {
            Structure::Lv => &self.lv,
            Structure::Myo => &self.myo,
            Structure::Epi => &self.epi,
        }
    }

    /// Background (label 0) on the window; labels other than 0, 1 and 2 are not background.
    pub fn background(&self) -> BitMask {
        BitMask::equal_to(&self.window.view(&self.frame), BG)
    }

    /// Bounding box of a structure (frame coordinates); `None` when it is empty.
    pub fn bounding_box(&self, s: Structure) -> Option<&Window> {
        self.boxes[index(s)].as_ref()
    }

    /// Surface pixels of a structure (MedPy's); `None` when it is empty.
    pub fn boundary(&self, s: Structure) -> Option<&Boundary> {
        self.boundaries[index(s)]
            .get_or_init(|| Boundary::of(self.mask(s), self.origin()))
            .as_ref()
    }

    /// The LV base points ([`super::lv_base_points`]).
    pub fn base_points(&self) -> Option<[[usize; 2]; 2]> {
        *self.base_points.get_or_init(|| base_points_of(self))
    }

    /// Sums of the rows and of the columns of the LV ∪ MYO pixels (frame coordinates), and
    /// their number.
    pub fn epi_moments(&self) -> (usize, usize, usize) {
        let [r0, c0] = self.origin();
        let (mut sum_r, mut sum_c, mut n) = (0, 0, 0);
        for r in 0..self.epi.dim().0 {
            let k = self.epi.count_row(r);
            sum_r += (r0 + r) * k;
            sum_c += self.epi.column_sum_row(r) + c0 * k;
            n += k;
        }
        (sum_r, sum_c, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::landmarks::base_point_candidates;
    use crate::morph::{Border, StructuringElement, boundary, dilate};
    use ndarray::Array2;
    use proptest::prelude::*;

    /// vital's base-point candidates with `bool` dilations on the whole frame.
    fn candidates(frame: &Array2<u8>) -> Vec<(usize, usize)> {
        let sq = StructuringElement::Square;
        let near = |m: Array2<bool>| dilate(&m.view(), sq, 1, Border::Background);
        let near_myo = near(frame.mapv(|v| v == MYO));
        let near_others = near(frame.mapv(|v| v != LV && v != MYO));
        frame
            .indexed_iter()
            .filter(|&(p, &v)| v == LV && near_myo[p] && near_others[p])
            .map(|(p, _)| p)
            .collect()
    }

    proptest! {
        #[test]
        fn shared_quantities_match_whole_frame_computations(
            h in 1usize..14, w in 1usize..14, r0 in 0usize..4, c0 in 0usize..4,
            labels in proptest::collection::vec(prop_oneof![Just(0u8), 0u8..4], 100),
        ) {
            // A random 10×10 patch in a larger frame, possibly cut by an edge.
            let frame = Array2::from_shape_fn((h + 3, w + 3), |(r, c)| {
                let (pr, pc) = (r.wrapping_sub(r0), c.wrapping_sub(c0));
                if pr < 10 && pc < 10 { labels[pr * 10 + pc] } else { 0 }
            });
            let masks = FrameMasks::of(frame.view());
            let [wr, wc] = masks.origin();
            for s in [Structure::Lv, Structure::Myo, Structure::Epi] {
                let mask = frame.mapv(|v| s.contains(v));
                let expected = Window::around(h + 3, w + 3, 0, |r, c| mask[[r, c]]);
                prop_assert_eq!(masks.bounding_box(s), expected.as_ref());
                let ones: Vec<(usize, usize)> = masks.mask(s).ones().map(|(r, c)| (r + wr, c + wc)).collect();
                let in_mask: Vec<(usize, usize)> = mask.indexed_iter().filter(|(_, v)| **v).map(|(p, _)| p).collect();
                prop_assert_eq!(ones, in_mask);
                let surface: Vec<(usize, usize)> = boundary(&mask.view(), StructuringElement::Cross)
                    .indexed_iter().filter(|(_, v)| **v).map(|(p, _)| p).collect();
                let got: Vec<(usize, usize)> = masks.boundary(s).map_or(Vec::new(), |b| {
                    b.points.iter().map(|p| (p[0] as usize, p[1] as usize)).collect()
                });
                prop_assert_eq!(got, surface);
            }
            let got: Vec<(usize, usize)> =
                base_point_candidates(&masks).iter().map(|p| (p[0], p[1])).collect();
            prop_assert_eq!(got, candidates(&frame));
            let (mut sr, mut sc, mut n) = (0, 0, 0);
            for ((r, c), &v) in frame.indexed_iter() {
                if v == LV || v == MYO {
                    (sr, sc, n) = (sr + r, sc + c, n + 1);
                }
            }
            prop_assert_eq!(masks.epi_moments(), (sr, sc, n));
        }
    }
}
