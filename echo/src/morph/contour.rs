//! Iso-contours of a binary mask by marching squares, reproducing scikit-image's
//! `find_contours(mask, level)` with its defaults (`fully_connected="low"`): the same segment
//! table and orientation, the same assembly into contours, the same order of contours
//! (by creation, i.e. roughly top-left to bottom-right). Closed contours repeat their first
//! point at the end. Points are `[row, col]` in pixel units, interpolated on the pixel grid.
//! The method uses it at level 0.9 to find the LV apex (method.md 6.2, `lv_length`).

use std::collections::VecDeque;

use ndarray::ArrayView2;

/// Sentinel of the dense edge maps.
const NONE: usize = usize::MAX;

/// Contours of `mask` at `level` (0 < level < 1 for a binary mask: the crossing lies `level`
/// of the way from the outside pixel to the inside pixel).
pub fn find_contours(mask: &ArrayView2<bool>, level: f64) -> Vec<Vec<[f64; 2]>> {
    let (h, w) = mask.dim();
    if h < 2 || w < 2 {
        return Vec::new();
    }
    let value = |r: usize, c: usize| if mask[[r, c]] { 1.0 } else { 0.0 };
    let fraction = |from: f64, to: f64| {
        if to == from {
            0.0
        } else {
            (level - from) / (to - from)
        }
    };
    // A crossing point is identified by its grid edge, so that two squares sharing an edge give
    // the same key: horizontal edge (r, c)-(r, c+1) → r·w + c, vertical (r, c)-(r+1, c) →
    // h·w + r·w + c.
    let mut points = vec![[f64::NAN; 2]; 2 * h * w];
    let mut segments: Vec<(usize, usize)> = Vec::new();
    for r0 in 0..h - 1 {
        for c0 in 0..w - 1 {
            let (r1, c1) = (r0 + 1, c0 + 1);
            let (ul, ur, ll, lr) = (value(r0, c0), value(r0, c1), value(r1, c0), value(r1, c1));
            let case = (ul > level) as u8
                | ((ur > level) as u8) << 1
                | ((ll > level) as u8) << 2
                | ((lr > level) as u8) << 3;
            if case == 0 || case == 15 {
                continue;
            }
            let top = r0 * w + c0;
            let bottom = r1 * w + c0;
            let left = h * w + r0 * w + c0;
            let right = h * w + r0 * w + c1;
            points[top] = [r0 as f64, c0 as f64 + fraction(ul, ur)];
            points[bottom] = [r1 as f64, c0 as f64 + fraction(ll, lr)];
            points[left] = [r0 as f64 + fraction(ul, ll), c0 as f64];
            points[right] = [r0 as f64 + fraction(ur, lr), c1 as f64];
            // Segments run with the low values on their left; saddles (6, 9) connect the low
            // values ("fully_connected='low'").
            match case {
                1 => segments.push((top, left)),
                2 => segments.push((right, top)),
                3 => segments.push((right, left)),
                4 => segments.push((left, bottom)),
                5 => segments.push((top, bottom)),
                6 => {
                    segments.push((right, top));
                    segments.push((left, bottom));
                }
                7 => segments.push((right, bottom)),
                8 => segments.push((bottom, right)),
                9 => {
                    segments.push((top, left));
                    segments.push((bottom, right));
                }
                10 => segments.push((bottom, top)),
                11 => segments.push((bottom, left)),
                12 => segments.push((left, right)),
                13 => segments.push((top, right)),
                _ => segments.push((left, top)), // 14
            }
        }
    }
    assemble(&segments, points.len())
        .into_iter()
        .map(|c| c.into_iter().map(|k| points[k]).collect())
        .collect()
}

/// Joins oriented segments into contours, as scikit-image's `_assemble_contours`; `n_keys`
/// bounds the point keys.
fn assemble(segments: &[(usize, usize)], n_keys: usize) -> Vec<VecDeque<usize>> {
    let mut contours: Vec<Option<VecDeque<usize>>> = Vec::new();
    // Contour starting / ending at each key.
    let mut starts = vec![NONE; n_keys];
    let mut ends = vec![NONE; n_keys];
    let take = |map: &mut Vec<usize>, k: usize| std::mem::replace(&mut map[k], NONE);
    for &(from, to) in segments {
        let tail = take(&mut starts, to);
        let head = take(&mut ends, from);
        match (tail != NONE, head != NONE) {
            (true, true) if tail == head => {
                if let Some(c) = contours[head].as_mut() {
                    c.push_back(to);
                }
            }
            (true, true) => {
                // Keep the contour created first; append/prepend the other to it.
                let (keep, other) = if tail > head {
                    (head, tail)
                } else {
                    (tail, head)
                };
                let Some(other_c) = contours[other].take() else {
                    continue;
                };
                let Some(keep_c) = contours[keep].as_mut() else {
                    continue;
                };
                if tail > head {
                    keep_c.extend(other_c);
                } else {
                    if let Some(&front) = other_c.front() {
                        starts[front] = NONE;
                    }
                    for k in other_c.into_iter().rev() {
                        keep_c.push_front(k);
                    }
                }
                if let (Some(&f), Some(&b)) = (keep_c.front(), keep_c.back()) {
                    starts[f] = keep;
                    ends[b] = keep;
                }
            }
            (false, false) => {
                let id = contours.len();
                contours.push(Some(VecDeque::from([from, to])));
                starts[from] = id;
                ends[to] = id;
            }
            (true, false) => {
                if let Some(c) = contours[tail].as_mut() {
                    c.push_front(from);
                }
                starts[from] = tail;
            }
            (false, true) => {
                if let Some(c) = contours[head].as_mut() {
                    c.push_back(to);
                }
                ends[to] = head;
            }
        }
    }
    contours.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn square_block_matches_skimage() {
        // skimage.measure.find_contours(m, 0.9) for a 3x3 block at rows/cols 1..4 of a 5x5 image.
        let mut m = Array2::from_elem((5, 5), false);
        crate::morph::fill_rect(m.view_mut(), 1..4, 1..4, true);
        let contours = find_contours(&m.view(), 0.9);
        assert_eq!(contours.len(), 1);
        let expected = [
            [3.1, 3.0],
            [3.1, 2.0],
            [3.1, 1.0],
            [3.0, 0.9],
            [2.0, 0.9],
            [1.0, 0.9],
            [0.9, 1.0],
            [0.9, 2.0],
            [0.9, 3.0],
            [1.0, 3.1],
            [2.0, 3.1],
            [3.0, 3.1],
            [3.1, 3.0],
        ];
        assert_eq!(contours[0].len(), expected.len());
        for (p, e) in contours[0].iter().zip(expected.iter()) {
            assert!(
                (p[0] - e[0]).abs() < 1e-12 && (p[1] - e[1]).abs() < 1e-12,
                "{p:?} vs {e:?}"
            );
        }
    }

    #[test]
    fn diagonal_blocks_are_separate_contours_in_creation_order() {
        let mut m = Array2::from_elem((6, 6), false);
        crate::morph::fill_rect(m.view_mut(), 1..3, 1..3, true);
        crate::morph::fill_rect(m.view_mut(), 3..5, 3..5, true);
        let contours = find_contours(&m.view(), 0.9);
        assert_eq!(contours.len(), 2);
        assert_eq!(contours[0].len(), 9);
        assert_eq!(contours[0][0], [2.1, 2.0]);
        assert!((contours[1][0][0] - 4.1).abs() < 1e-12 && contours[1][0][1] == 4.0);
    }

    #[test]
    fn tiny_or_empty_masks_have_no_contour() {
        let m = Array2::from_elem((1, 5), true);
        assert!(find_contours(&m.view(), 0.9).is_empty());
        let m = Array2::from_elem((4, 4), false);
        assert!(find_contours(&m.view(), 0.9).is_empty());
    }
}
