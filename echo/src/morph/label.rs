//! Connected-component labelling of 2-D binary masks and the operations built on it: the
//! largest component, removal of small objects, hole filling.
//!
//! Conventions follow SciPy / scikit-image so that results match the original code:
//! labels are numbered 1.. in raster order of each component's first pixel (row-major), like
//! `scipy.ndimage.label` and `skimage.measure.label`; ties for "largest" go to the lowest label,
//! like `np.argmax` over the component sizes.

use ndarray::{Array2, ArrayView2};

/// Pixel adjacency used to grow components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// Edge neighbours only (SciPy's default `generate_binary_structure(2, 1)`, skimage `connectivity=1`).
    Four,
    /// Edge and corner neighbours (skimage's 2-D default, `connectivity=2`).
    Eight,
}

impl Connectivity {
    const FOUR: [(isize, isize); 4] = [(-1, 0), (0, -1), (0, 1), (1, 0)];
    const EIGHT: [(isize, isize); 8] = [
        (-1, -1),
        (-1, 0),
        (-1, 1),
        (0, -1),
        (0, 1),
        (1, -1),
        (1, 0),
        (1, 1),
    ];

    /// Row/column offsets of the neighbours.
    pub fn offsets(self) -> &'static [(isize, isize)] {
        match self {
            Connectivity::Four => &Self::FOUR,
            Connectivity::Eight => &Self::EIGHT,
        }
    }
}

/// Result of labelling: a label image (0 = not in the mask) and the size of each component.
#[derive(Debug, Clone, PartialEq)]
pub struct Components {
    /// Label of each pixel: 0 outside the mask, `1..=count` inside.
    pub labels: Array2<u32>,
    /// `sizes[k - 1]` is the pixel count of component `k`.
    pub sizes: Vec<usize>,
}

impl Components {
    /// Number of components.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    /// Label of the largest component (lowest label on ties), `None` when there is none.
    pub fn largest(&self) -> Option<u32> {
        let mut best: Option<(u32, usize)> = None;
        for (i, &size) in self.sizes.iter().enumerate() {
            if best.is_none_or(|(_, s)| size > s) {
                best = Some((i as u32 + 1, size));
            }
        }
        best.map(|(label, _)| label)
    }

    /// Mask of one component.
    pub fn mask_of(&self, label: u32) -> Array2<bool> {
        self.labels.mapv(|l| l == label && label != 0)
    }
}

/// Labels the connected components of `mask` (pixels that are `true`).
pub fn label(mask: &ArrayView2<bool>, connectivity: Connectivity) -> Components {
    let (h, w) = mask.dim();
    let mut labels = Array2::<u32>::zeros((h, w));
    let mut sizes = Vec::new();
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let offsets = connectivity.offsets();
    for r in 0..h {
        for c in 0..w {
            if !mask[[r, c]] || labels[[r, c]] != 0 {
                continue;
            }
            let id = sizes.len() as u32 + 1;
            labels[[r, c]] = id;
            stack.push((r, c));
            let mut size = 0usize;
            while let Some((pr, pc)) = stack.pop() {
                size += 1;
                for &(dr, dc) in offsets {
                    let (nr, nc) = (pr as isize + dr, pc as isize + dc);
                    if nr < 0 || nc < 0 || nr >= h as isize || nc >= w as isize {
                        continue;
                    }
                    let (nr, nc) = (nr as usize, nc as usize);
                    if mask[[nr, nc]] && labels[[nr, nc]] == 0 {
                        labels[[nr, nc]] = id;
                        stack.push((nr, nc));
                    }
                }
            }
            sizes.push(size);
        }
    }
    Components { labels, sizes }
}

/// Number of connected components of `mask`.
pub fn count_components(mask: &ArrayView2<bool>, connectivity: Connectivity) -> usize {
    label(mask, connectivity).count()
}

/// Keeps only the largest connected component (ties: the first in raster order).
/// An empty mask is returned unchanged (empty).
pub fn largest_component(mask: &ArrayView2<bool>, connectivity: Connectivity) -> Array2<bool> {
    let components = label(mask, connectivity);
    match components.largest() {
        Some(best) => components.mask_of(best),
        None => mask.to_owned(),
    }
}

/// Removes the components with fewer than `min_size` pixels (skimage `remove_small_objects`,
/// whose default connectivity is [`Connectivity::Four`]). `min_size` may be fractional, as in
/// the anatomical metrics where it is `rows·cols / 2^14`.
pub fn remove_small_objects(
    mask: &ArrayView2<bool>,
    min_size: f64,
    connectivity: Connectivity,
) -> Array2<bool> {
    let components = label(mask, connectivity);
    let keep: Vec<bool> = components
        .sizes
        .iter()
        .map(|&s| (s as f64) >= min_size)
        .collect();
    components.labels.mapv(|l| l != 0 && keep[l as usize - 1])
}

/// Background pixels that cannot reach the image border through background pixels connected
/// with `background_connectivity`: the holes of the mask.
pub fn holes(mask: &ArrayView2<bool>, background_connectivity: Connectivity) -> Array2<bool> {
    let (h, w) = mask.dim();
    // `outside[p]` = background pixel connected to the border.
    let mut outside = Array2::<bool>::from_elem((h, w), false);
    if h == 0 || w == 0 {
        return outside;
    }
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let seed = |r: usize, c: usize, outside: &mut Array2<bool>, stack: &mut Vec<_>| {
        if !mask[[r, c]] && !outside[[r, c]] {
            outside[[r, c]] = true;
            stack.push((r, c));
        }
    };
    for c in 0..w {
        seed(0, c, &mut outside, &mut stack);
        seed(h - 1, c, &mut outside, &mut stack);
    }
    for r in 0..h {
        seed(r, 0, &mut outside, &mut stack);
        seed(r, w - 1, &mut outside, &mut stack);
    }
    let offsets = background_connectivity.offsets();
    while let Some((r, c)) = stack.pop() {
        for &(dr, dc) in offsets {
            let (nr, nc) = (r as isize + dr, c as isize + dc);
            if nr < 0 || nc < 0 || nr >= h as isize || nc >= w as isize {
                continue;
            }
            let (nr, nc) = (nr as usize, nc as usize);
            if !mask[[nr, nc]] && !outside[[nr, nc]] {
                outside[[nr, nc]] = true;
                stack.push((nr, nc));
            }
        }
    }
    let mut out = outside;
    out.zip_mut_with(mask, |o, &m| *o = !*o && !m);
    out
}

/// Fills the holes of a mask (SciPy `binary_fill_holes` with its default 4-connected
/// background: a hole is background not 4-connected to the image border).
pub fn fill_holes(mask: &ArrayView2<bool>) -> Array2<bool> {
    let mut out = holes(mask, Connectivity::Four);
    out.zip_mut_with(mask, |o, &m| *o = *o || m);
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
    fn diagonal_pixels_are_two_components_in_4_and_one_in_8() {
        let m = b(array![[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
        assert_eq!(count_components(&m.view(), Connectivity::Four), 3);
        assert_eq!(count_components(&m.view(), Connectivity::Eight), 1);
    }

    #[test]
    fn labels_follow_raster_order_and_sizes_are_counted() {
        let m = b(array![[0, 1, 0, 1], [0, 1, 0, 1], [1, 0, 0, 1]]);
        let c = label(&m.view(), Connectivity::Four);
        assert_eq!(c.labels, array![[0, 1, 0, 2], [0, 1, 0, 2], [3, 0, 0, 2]]);
        assert_eq!(c.sizes, vec![2, 3, 1]);
        assert_eq!(c.largest(), Some(2));
    }

    #[test]
    fn largest_component_tie_goes_to_first_in_raster_order() {
        let m = b(array![[1, 0, 1], [1, 0, 1]]);
        let l = largest_component(&m.view(), Connectivity::Four);
        assert_eq!(l, b(array![[1, 0, 0], [1, 0, 0]]));
        let empty = Array2::<bool>::from_elem((2, 2), false);
        assert_eq!(largest_component(&empty.view(), Connectivity::Four), empty);
    }

    #[test]
    fn fill_holes_fills_enclosed_background_only() {
        let m = b(array![
            [0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0],
            [0, 1, 0, 1, 0],
            [0, 1, 1, 1, 0],
            [0, 0, 0, 1, 0]
        ]);
        let f = fill_holes(&m.view());
        assert!(f[[2, 2]]);
        assert!(!f[[4, 0]]);
        assert_eq!(f.iter().filter(|&&v| v).count(), 10);
    }

    #[test]
    fn a_hole_open_by_a_corner_is_a_hole_for_4_but_not_8_connected_background() {
        let m = b(array![
            [0, 0, 0, 0],
            [0, 1, 1, 0],
            [0, 1, 0, 1],
            [0, 0, 1, 0]
        ]);
        assert!(holes(&m.view(), Connectivity::Four)[[2, 2]]);
        assert!(!holes(&m.view(), Connectivity::Eight)[[2, 2]]);
    }

    #[test]
    fn remove_small_objects_uses_strict_lower_bound() {
        let m = b(array![[1, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 0]]);
        let r = remove_small_objects(&m.view(), 2.0, Connectivity::Four);
        assert_eq!(r, b(array![[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0]]));
        let r = remove_small_objects(&m.view(), 2.5, Connectivity::Four);
        assert_eq!(r, b(array![[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0]]));
    }
}
