//! Horizontal runs of a bit-packed mask and their connected components by union-find over the
//! runs. Labelling costs work proportional to the number of runs (read off the mask's words),
//! which is small for anatomical shapes (a few per row); the anatomical criteria and the
//! largest-blob cleanup label many masks per frame.

use super::bits::BitMask;

/// The runs of pixels on of an `h × w` mask, in raster order.
pub(crate) struct Runs {
    pub row: Vec<usize>,
    pub start: Vec<usize>,
    /// Exclusive end column.
    pub end: Vec<usize>,
    /// Runs of row `r` are `row_start[r]..row_start[r + 1]`.
    pub row_start: Vec<usize>,
    pub h: usize,
    pub w: usize,
}

impl Runs {
    pub fn of(mask: &BitMask) -> Runs {
        let (h, w) = mask.dim();
        let mut runs = Runs {
            row: Vec::new(),
            start: Vec::new(),
            end: Vec::new(),
            row_start: Vec::with_capacity(h + 1),
            h,
            w,
        };
        for r in 0..h {
            runs.row_start.push(runs.start.len());
            mask.for_runs_in_row(r, |s, e| {
                runs.row.push(r);
                runs.start.push(s);
                runs.end.push(e);
            });
        }
        runs.row_start.push(runs.start.len());
        runs
    }

    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether run `i` touches the border of the grid.
    pub fn on_border(&self, i: usize) -> bool {
        self.row[i] == 0 || self.row[i] + 1 == self.h || self.start[i] == 0 || self.end[i] == self.w
    }

    /// Index of the run holding pixel `(r, c)`, if any.
    pub fn at(&self, r: usize, c: usize) -> Option<usize> {
        (self.row_start[r]..self.row_start[r + 1]).find(|&i| self.start[i] <= c && c < self.end[i])
    }

    /// Turns on the pixels of run `i` in a mask of the same size.
    pub fn paint(&self, i: usize, mask: &mut BitMask) {
        mask.set_range(self.row[i], self.start[i], self.end[i]);
    }
}

/// Connected components of the runs: `id[run]` in `0..sizes.len()` (numbered in raster order of
/// their first run) and the pixel count of each.
pub(crate) struct RunComponents {
    pub id: Vec<usize>,
    pub sizes: Vec<usize>,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Components with 4-connectivity (`eight = false`) or 8-connectivity.
pub(crate) fn components(runs: &Runs, eight: bool) -> RunComponents {
    let n = runs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    // Runs of consecutive rows touch when their column ranges overlap (8-connectivity also
    // accepts a diagonal contact at the ends).
    let slack = usize::from(eight);
    for r in 1..runs.h {
        let (mut i, i_end) = (runs.row_start[r - 1], runs.row_start[r]);
        let (mut j, j_end) = (runs.row_start[r], runs.row_start[r + 1]);
        while i < i_end && j < j_end {
            let (a_s, a_e, b_s, b_e) = (runs.start[i], runs.end[i], runs.start[j], runs.end[j]);
            if a_s < b_e + slack && b_s < a_e + slack {
                let (ra, rb) = (find(&mut parent, i), find(&mut parent, j));
                if ra != rb {
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
            if a_e <= b_e {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    let mut dense = vec![usize::MAX; n];
    let mut id = vec![0usize; n];
    let mut sizes = Vec::new();
    for k in 0..n {
        let root = find(&mut parent, k);
        if dense[root] == usize::MAX {
            dense[root] = sizes.len();
            sizes.push(0);
        }
        id[k] = dense[root];
        sizes[id[k]] += runs.end[k] - runs.start[k];
    }
    RunComponents { id, sizes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::morph::{Connectivity, label};
    use ndarray::Array2;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn components_match_flood_fill_labelling_in_order(
            h in 1usize..14, w in 1usize..14,
            bits in proptest::collection::vec(proptest::bool::weighted(0.5), 196),
        ) {
            // Same sizes in the same order: components are numbered by their first pixel in
            // raster order, as `label` numbers them (the cleanup's tie rule relies on it).
            let m = Array2::from_shape_fn((h, w), |(r, c)| bits[r * 14 + c]);
            let runs = Runs::of(&BitMask::from_bools(&m.view()));
            for (eight, conn) in [(false, Connectivity::Four), (true, Connectivity::Eight)] {
                prop_assert_eq!(components(&runs, eight).sizes, label(&m.view(), conn).sizes);
            }
        }
    }
}
