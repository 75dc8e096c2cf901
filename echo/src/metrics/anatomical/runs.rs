//! Horizontal runs of a binary mask and their connected components by union-find over the runs.
//! Labelling costs one scan of the pixels plus work proportional to the number of runs, which
//! is small for anatomical shapes (a few per row); the anatomical criteria label many masks per
//! frame, so this is where their time goes.

/// The runs of `true` pixels of a row-major `h × w` mask, in raster order.
pub(super) struct Runs {
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
    pub fn of(mask: &[bool], h: usize, w: usize) -> Runs {
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
            let line = &mask[r * w..(r + 1) * w];
            let mut c = 0;
            while c < w {
                if !line[c] {
                    c += 1;
                    continue;
                }
                let s = c;
                while c < w && line[c] {
                    c += 1;
                }
                runs.row.push(r);
                runs.start.push(s);
                runs.end.push(c);
            }
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

    /// Sets the pixels of run `i` in a row-major mask of the same size.
    pub fn paint(&self, i: usize, mask: &mut [bool], value: bool) {
        let base = self.row[i] * self.w;
        mask[base + self.start[i]..base + self.end[i]].fill(value);
    }
}

/// Connected components of the runs: `id[run]` in `0..sizes.len()` (numbered in raster order of
/// their first run) and the pixel count of each.
pub(super) struct RunComponents {
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
pub(super) fn components(runs: &Runs, eight: bool) -> RunComponents {
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
        fn component_sizes_match_flood_fill_labelling(
            h in 1usize..14, w in 1usize..14,
            bits in proptest::collection::vec(proptest::bool::weighted(0.5), 196),
        ) {
            let m = Array2::from_shape_fn((h, w), |(r, c)| bits[r * 14 + c]);
            let flat: Vec<bool> = m.iter().copied().collect();
            let runs = Runs::of(&flat, h, w);
            for (eight, conn) in [(false, Connectivity::Four), (true, Connectivity::Eight)] {
                let mut got = components(&runs, eight).sizes;
                let mut expected = label(&m.view(), conn).sizes;
                got.sort_unstable();
                expected.sort_unstable();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
