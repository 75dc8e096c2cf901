//! Binary erosion and dilation with 3×3 structuring elements, and boundary extraction.
//!
//! The value assumed outside the image matters and differs between libraries: SciPy's
//! `binary_erosion` treats the outside as background (`border_value=0`, so border pixels
//! erode), scikit-image's `binary_erosion` as foreground (border pixels survive). Both are
//! available through [`Border`].

use ndarray::{Array2, ArrayView2};

/// 3×3 structuring element centred on the pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructuringElement {
    /// All 9 pixels (`np.ones((3, 3))`, `generate_binary_structure(2, 2)`).
    Square,
    /// The centre and its 4 edge neighbours (`generate_binary_structure(2, 1)`).
    Cross,
}

impl StructuringElement {
    fn offsets(self) -> &'static [(isize, isize)] {
        const SQUARE: [(isize, isize); 9] = [
            (-1, -1),
            (-1, 0),
            (-1, 1),
            (0, -1),
            (0, 0),
            (0, 1),
            (1, -1),
            (1, 0),
            (1, 1),
        ];
        const CROSS: [(isize, isize); 5] = [(-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)];
        match self {
            StructuringElement::Square => &SQUARE,
            StructuringElement::Cross => &CROSS,
        }
    }
}

/// Value of the pixels outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Outside is `false` (SciPy's default for both erosion and dilation).
    Background,
    /// Outside is `true` (scikit-image's `binary_erosion`).
    Foreground,
}

/// One erosion (`erode = true`) or dilation step into `out`.
fn step(
    src: &ArrayView2<bool>,
    out: &mut Array2<bool>,
    se: StructuringElement,
    border: Border,
    erode: bool,
) {
    let (h, w) = src.dim();
    let outside = border == Border::Foreground;
    let offsets = se.offsets();
    for r in 0..h {
        for c in 0..w {
            // Erosion: all neighbours set; dilation: any neighbour set.
            let mut acc = erode;
            for &(dr, dc) in offsets {
                let (nr, nc) = (r as isize + dr, c as isize + dc);
                let v = if nr < 0 || nc < 0 || nr >= h as isize || nc >= w as isize {
                    outside
                } else {
                    src[[nr as usize, nc as usize]]
                };
                if erode && !v {
                    acc = false;
                    break;
                }
                if !erode && v {
                    acc = true;
                    break;
                }
            }
            out[[r, c]] = acc;
        }
    }
}

fn repeat(
    mask: &ArrayView2<bool>,
    se: StructuringElement,
    iterations: usize,
    border: Border,
    erode: bool,
) -> Array2<bool> {
    let mut current = mask.to_owned();
    let mut next = Array2::from_elem(mask.dim(), false);
    for _ in 0..iterations {
        step(&current.view(), &mut next, se, border, erode);
        std::mem::swap(&mut current, &mut next);
    }
    current
}

/// Binary erosion repeated `iterations` times (0 returns a copy).
pub fn erode(
    mask: &ArrayView2<bool>,
    se: StructuringElement,
    iterations: usize,
    border: Border,
) -> Array2<bool> {
    repeat(mask, se, iterations, border, true)
}

/// Binary dilation repeated `iterations` times (0 returns a copy).
pub fn dilate(
    mask: &ArrayView2<bool>,
    se: StructuringElement,
    iterations: usize,
    border: Border,
) -> Array2<bool> {
    repeat(mask, se, iterations, border, false)
}

/// Inner boundary: mask pixels removed by one erosion with `se` (outside = background), i.e.
/// pixels with at least one neighbour outside the mask or the image. With
/// [`StructuringElement::Cross`] this is MedPy's surface used by `hd` / `hd95`.
pub fn boundary(mask: &ArrayView2<bool>, se: StructuringElement) -> Array2<bool> {
    let eroded = erode(mask, se, 1, Border::Background);
    let mut out = mask.to_owned();
    out.zip_mut_with(&eroded, |o, &e| *o = *o && !e);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn b(a: Array2<u8>) -> Array2<bool> {
        a.mapv(|v| v != 0)
    }

    #[test]
    fn erosion_border_value_decides_whether_edge_pixels_survive() {
        let full = Array2::from_elem((3, 4), true);
        let scipy = erode(
            &full.view(),
            StructuringElement::Square,
            1,
            Border::Background,
        );
        assert_eq!(scipy, b(array![[0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]));
        let skimage = erode(
            &full.view(),
            StructuringElement::Square,
            1,
            Border::Foreground,
        );
        assert_eq!(skimage, full);
    }

    #[test]
    fn square_and_cross_dilations_differ_at_corners() {
        let dot = b(array![[0, 0, 0], [0, 1, 0], [0, 0, 0]]);
        let sq = dilate(
            &dot.view(),
            StructuringElement::Square,
            1,
            Border::Background,
        );
        assert_eq!(sq, Array2::from_elem((3, 3), true));
        let cr = dilate(
            &dot.view(),
            StructuringElement::Cross,
            1,
            Border::Background,
        );
        assert_eq!(cr, b(array![[0, 1, 0], [1, 1, 1], [0, 1, 0]]));
    }

    #[test]
    fn iterations_compose() {
        let mut m = Array2::from_elem((9, 9), false);
        m[[4, 4]] = true;
        let twice = dilate(&m.view(), StructuringElement::Square, 2, Border::Background);
        assert_eq!(twice.iter().filter(|&&v| v).count(), 25);
        let back = erode(
            &twice.view(),
            StructuringElement::Square,
            2,
            Border::Background,
        );
        assert_eq!(back, m);
    }

    #[test]
    fn boundary_of_a_block_is_its_ring() {
        let mut m = Array2::from_elem((5, 5), false);
        crate::morph::fill_rect(m.view_mut(), 1..4, 1..4, true);
        let ring = boundary(&m.view(), StructuringElement::Cross);
        assert_eq!(ring.iter().filter(|&&v| v).count(), 8);
        assert!(!ring[[2, 2]]);
    }
}
