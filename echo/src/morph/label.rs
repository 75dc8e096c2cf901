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
    let (flat, sizes) = label_flat(mask, connectivity);
    let labels = Array2::from_shape_vec((h, w), flat).unwrap_or_else(|_| Array2::zeros((h, w)));
    Components { labels, sizes }
}

/// Flat (row-major) labels and component sizes. The mask is copied into a grid with a one-pixel
/// `false` border so that neighbours never fall outside it.
pub(crate) fn label_flat(
    mask: &ArrayView2<bool>,
    connectivity: Connectivity,
) -> (Vec<u32>, Vec<usize>) {
    let (h, w) = mask.dim();
    let pw = w + 2;
    let mut grid = vec![false; (h + 2) * pw];
    for (r, row) in mask.rows().into_iter().enumerate() {
        let base = (r + 1) * pw + 1;
        for (c, &v) in row.iter().enumerate() {
            grid[base + c] = v;
        }
    }
    let offsets: Vec<isize> = connectivity
        .offsets()
        .iter()
        .map(|&(dr, dc)| dr * pw as isize + dc)
        .collect();
    let mut padded_labels = vec![0u32; grid.len()];
    let mut sizes = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for r in 0..h {
        for c in 0..w {
            let start = (r + 1) * pw + c + 1;
            if !grid[start] || padded_labels[start] != 0 {
                continue;
            }
            let id = sizes.len() as u32 + 1;
            padded_labels[start] = id;
            stack.push(start);
            let mut size = 0usize;
            while let Some(p) = stack.pop() {
                size += 1;
                for &o in &offsets {
                    let q = (p as isize + o) as usize;
                    if grid[q] && padded_labels[q] == 0 {
                        padded_labels[q] = id;
                        stack.push(q);
                    }
                }
            }
            sizes.push(size);
        }
    }
    let mut flat = Vec::with_capacity(h * w);
    for r in 0..h {
        let base = (r + 1) * pw + 1;
        flat.extend_from_slice(&padded_labels[base..base + w]);
    }
    (flat, sizes)
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
    // Padded grid with a background ring: flooding the background from the ring's corner
    // reaches exactly the background connected to the image border.
    let pw = w + 2;
    let mut blocked = vec![false; (h + 2) * pw];
    for (r, row) in mask.rows().into_iter().enumerate() {
        let base = (r + 1) * pw + 1;
        for (c, &v) in row.iter().enumerate() {
            blocked[base + c] = v;
        }
    }
    let offsets: Vec<isize> = background_connectivity
        .offsets()
        .iter()
        .map(|&(dr, dc)| dr * pw as isize + dc)
        .collect();
    let n = blocked.len() as isize;
    blocked[0] = true;
    let mut stack = vec![0usize];
    while let Some(p) = stack.pop() {
        for &o in &offsets {
            let q = p as isize + o;
            // The ring keeps the walk inside the grid except across its own left/right edges,
            // which only ever lead to other ring cells (also background): harmless.
            if q < 0 || q >= n {
                continue;
            }
            let q = q as usize;
            if !blocked[q] {
                blocked[q] = true;
                stack.push(q);
            }
        }
    }
    let mut out = Array2::<bool>::from_elem((h, w), false);
    for ((r, c), o) in out.indexed_iter_mut() {
        *o = !blocked[(r + 1) * pw + c + 1];
    }
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
