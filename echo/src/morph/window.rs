//! Bounding windows: the rectangle around the pixels of interest, widened by a margin and
//! clamped to the image, so that the metrics work on a small crop instead of the whole frame.
//! With a one-pixel margin around the structures, distance transforms to pixels inside the
//! window, boundaries and contours on the crop are those of the whole frame (every outside
//! pixel is farther from any inside pixel than the margin pixel between them). Region sizes of
//! the background are only preserved when the structures do not touch the image border (a
//! complete margin ring, [`Window::is_interior`]): then everything outside the window is one
//! region connected to the ring.

use std::ops::Range;

use ndarray::{ArrayView2, Axis, Slice};

/// A rectangle of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub rows: Range<usize>,
    pub cols: Range<usize>,
}

impl Window {
    /// The whole `h × w` frame.
    pub fn full(h: usize, w: usize) -> Self {
        Window {
            rows: 0..h,
            cols: 0..w,
        }
    }

    /// Smallest window holding every pixel where `inside(row, col)` is true, widened by `margin`
    /// and clamped to `h × w`; `None` when there is no such pixel.
    pub fn around(
        h: usize,
        w: usize,
        margin: usize,
        mut inside: impl FnMut(usize, usize) -> bool,
    ) -> Option<Self> {
        let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
        for r in 0..h {
            for c in 0..w {
                if inside(r, c) {
                    r0 = r0.min(r);
                    r1 = r1.max(r);
                    c0 = c0.min(c);
                    c1 = c1.max(c);
                }
            }
        }
        (r0 != usize::MAX).then(|| Window {
            rows: r0.saturating_sub(margin)..(r1 + 1 + margin).min(h),
            cols: c0.saturating_sub(margin)..(c1 + 1 + margin).min(w),
        })
    }

    /// Window around the pixels of `frame` whose label satisfies `keep`.
    pub fn around_labels<T>(
        frame: &ArrayView2<T>,
        margin: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Option<Self> {
        let (h, w) = frame.dim();
        let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
        for (r, row) in frame.rows().into_iter().enumerate() {
            let first = match row.as_slice() {
                Some(s) => s.iter().position(&keep),
                None => row.iter().position(&keep),
            };
            let Some(first) = first else { continue };
            let last = match row.as_slice() {
                Some(s) => s.iter().rposition(&keep),
                None => row.iter().rposition(&keep),
            }
            .unwrap_or(first);
            r0 = r0.min(r);
            r1 = r;
            c0 = c0.min(first);
            c1 = c1.max(last);
        }
        (r0 != usize::MAX).then(|| {
            Window {
                rows: r0..r1 + 1,
                cols: c0..c1 + 1,
            }
            .widened(margin, h, w)
        })
    }

    /// Whether the window stays off the border of an `h × w` image, i.e. widening it by one
    /// pixel gives a complete ring around it.
    pub fn is_interior(&self, h: usize, w: usize) -> bool {
        self.rows.start > 0 && self.rows.end < h && self.cols.start > 0 && self.cols.end < w
    }

    /// The window widened by `margin` on every side, clamped to `h × w`.
    pub fn widened(&self, margin: usize, h: usize, w: usize) -> Window {
        Window {
            rows: self.rows.start.saturating_sub(margin)..(self.rows.end + margin).min(h),
            cols: self.cols.start.saturating_sub(margin)..(self.cols.end + margin).min(w),
        }
    }

    /// Smallest window holding both.
    pub fn union(&self, other: &Window) -> Window {
        Window {
            rows: self.rows.start.min(other.rows.start)..self.rows.end.max(other.rows.end),
            cols: self.cols.start.min(other.cols.start)..self.cols.end.max(other.cols.end),
        }
    }

    /// The window's view of `a`.
    pub fn view<'a, T>(&self, a: &ArrayView2<'a, T>) -> ArrayView2<'a, T> {
        a.clone()
            .slice_axis_move(Axis(0), Slice::from(self.rows.clone()))
            .slice_axis_move(Axis(1), Slice::from(self.cols.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn window_is_widened_and_clamped() {
        let f = array![[0u8, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 2]];
        let w = Window::around_labels(&f.view(), 1, |&v| v == 1).expect("has label 1");
        assert_eq!(
            w,
            Window {
                rows: 0..3,
                cols: 0..3
            }
        );
        let both = Window::around_labels(&f.view(), 0, |&v| v != 0).expect("has labels");
        assert_eq!(
            both,
            Window {
                rows: 1..3,
                cols: 1..4
            }
        );
        assert_eq!(both.view(&f.view()), array![[1u8, 0, 0], [0, 0, 2]]);
        assert!(Window::around_labels(&f.view(), 1, |&v| v == 7).is_none());
        let one = Window::around_labels(&f.view(), 0, |&v| v == 1).expect("has label 1");
        assert!(one.is_interior(3, 4) && !both.is_interior(3, 4));
        assert_eq!(one.widened(1, 3, 4), w);
        let u = w.union(&Window::full(2, 4));
        assert_eq!(
            u,
            Window {
                rows: 0..3,
                cols: 0..4
            }
        );
    }
}
