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

/// Value of the pixels outside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Outside is `false` (SciPy's default for both erosion and dilation).
    Background,
    /// Outside is `true` (scikit-image's `binary_erosion`).
    Foreground,
}

/// Erosion (`erode = true`) or dilation repeated `iterations` times, on a grid padded with a
/// one-pixel border holding the outside value (no bounds checks in the loops; the 3×3 square is
/// applied separably, rows then columns).
fn repeat(
    mask: &ArrayView2<bool>,
    se: StructuringElement,
    iterations: usize,
    border: Border,
    erode: bool,
) -> Array2<bool> {
    let (h, w) = mask.dim();
    if iterations == 0 || h == 0 || w == 0 {
        return mask.to_owned();
    }
    let outside = border == Border::Foreground;
    let pw = w + 2;
    let mut grid = vec![outside; (h + 2) * pw];
    for (r, row) in mask.rows().into_iter().enumerate() {
        let base = (r + 1) * pw + 1;
        for (c, &v) in row.iter().enumerate() {
            grid[base + c] = v;
        }
    }
    let mut next = grid.clone();
    let mut tmp = grid.clone();
    let op3 = |a: bool, b: bool, c: bool| if erode { a && b && c } else { a || b || c };
    for _ in 0..iterations {
        match se {
            StructuringElement::Square => {
                for r in 0..h + 2 {
                    for i in r * pw + 1..r * pw + 1 + w {
                        tmp[i] = op3(grid[i - 1], grid[i], grid[i + 1]);
                    }
                }
                for r in 1..=h {
                    for i in r * pw + 1..r * pw + 1 + w {
                        next[i] = op3(tmp[i - pw], tmp[i], tmp[i + pw]);
                    }
                }
            }
            StructuringElement::Cross => {
                for r in 1..=h {
                    for i in r * pw + 1..r * pw + 1 + w {
                        let v = op3(grid[i - 1], grid[i], grid[i + 1]);
                        next[i] = op3(v, grid[i - pw], grid[i + pw]);
                    }
                }
            }
        }
        std::mem::swap(&mut grid, &mut next);
    }
    let mut out = Vec::with_capacity(h * w);
    for r in 1..=h {
        out.extend_from_slice(&grid[r * pw + 1..r * pw + 1 + w]);
    }
    Array2::from_shape_vec((h, w), out).unwrap_or_else(|_| mask.to_owned())
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
