//! Bit-packed binary masks for the hot loops of the metrics: one bit per pixel, each row padded
//! to whole 64-bit words (padding bits are always 0). Erosions, dilations, boundaries and set
//! operations work a word (64 pixels) at a time; runs and pixels are read off with
//! `trailing_zeros`, so their cost follows the number of runs rather than the area.
//!
//! 3×3 neighbourhoods take the value of the pixels outside the mask's grid as a parameter, as
//! [`super::Border`] does for the `bool` versions in `binary`.

use ndarray::ArrayView2;

use super::Window;
use super::pack::pack_equal;

/// A row-major `h × w` binary mask, bit-packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BitMask {
    h: usize,
    w: usize,
    /// Words per row.
    words: usize,
    bits: Vec<u64>,
}

/// Low `n` bits set (`n ≤ 64`).
fn low_bits(n: usize) -> u64 {
    if n >= 64 { !0 } else { (1u64 << n) - 1 }
}

impl BitMask {
    /// All pixels off.
    pub fn new(h: usize, w: usize) -> Self {
        let words = w.div_ceil(64);
        BitMask {
            h,
            w,
            words,
            bits: vec![0; h * words],
        }
    }

    /// Masks of the pixels of `frame` equal to each of `labels`, from one pass over it.
    pub fn equal_to_each<const N: usize>(frame: &ArrayView2<u8>, labels: [u8; N]) -> [Self; N] {
        let (h, w) = frame.dim();
        let mut masks = std::array::from_fn(|_| BitMask::new(h, w));
        let words = w.div_ceil(64);
        for (r, row) in frame.rows().into_iter().enumerate() {
            let owned;
            let line = match row.as_slice() {
                Some(s) => s,
                None => {
                    owned = row.to_vec();
                    &owned
                }
            };
            for (j, chunk) in line.chunks(64).enumerate() {
                let packed = pack_equal(chunk, labels);
                for (m, x) in masks.iter_mut().zip(packed) {
                    m.bits[r * words + j] = x;
                }
            }
        }
        masks
    }

    /// Mask of the pixels of `frame` equal to `label`.
    pub fn equal_to(frame: &ArrayView2<u8>, label: u8) -> Self {
        let [m] = BitMask::equal_to_each(frame, [label]);
        m
    }

    /// Bit-packed copy of a `bool` mask.
    pub fn from_bools(mask: &ArrayView2<bool>) -> Self {
        let (h, w) = mask.dim();
        let mut m = BitMask::new(h, w);
        for ((r, c), &v) in mask.indexed_iter() {
            if v {
                m.bits[r * m.words + c / 64] |= 1 << (c % 64);
            }
        }
        m
    }

    pub fn dim(&self) -> (usize, usize) {
        (self.h, self.w)
    }

    pub fn row(&self, r: usize) -> &[u64] {
        &self.bits[r * self.words..(r + 1) * self.words]
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&x| x == 0)
    }

    /// Number of pixels on.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|x| x.count_ones() as usize).sum()
    }

    /// Number of pixels on in row `r`.
    pub fn count_row(&self, r: usize) -> usize {
        self.row(r).iter().map(|x| x.count_ones() as usize).sum()
    }

    /// Sum of the column indices of the pixels on in row `r` (bit `t` of a position weighs
    /// `2^t`: one popcount per bit of the position).
    pub fn column_sum_row(&self, r: usize) -> usize {
        const BIT: [u64; 6] = [
            0xAAAA_AAAA_AAAA_AAAA,
            0xCCCC_CCCC_CCCC_CCCC,
            0xF0F0_F0F0_F0F0_F0F0,
            0xFF00_FF00_FF00_FF00,
            0xFFFF_0000_FFFF_0000,
            0xFFFF_FFFF_0000_0000,
        ];
        let mut sum = 0usize;
        for (j, &x) in self.row(r).iter().enumerate() {
            sum += 64 * j * x.count_ones() as usize;
            for (t, m) in BIT.iter().enumerate() {
                sum += ((x & m).count_ones() as usize) << t;
            }
        }
        sum
    }

    /// The pixels of window `win` (which must lie inside the mask), as a mask of its own.
    pub fn crop(&self, win: &Window) -> BitMask {
        let (h, w) = (win.rows.len(), win.cols.len());
        let mut out = BitMask::new(h, w);
        let (shift, first) = (win.cols.start % 64, win.cols.start / 64);
        for r in 0..h {
            let src = self.row(win.rows.start + r);
            let dst = &mut out.bits[r * out.words..(r + 1) * out.words];
            for (j, d) in dst.iter_mut().enumerate() {
                let lo = src.get(first + j).copied().unwrap_or(0) >> shift;
                let hi = match shift {
                    0 => 0,
                    s => src.get(first + j + 1).copied().unwrap_or(0) << (64 - s),
                };
                *d = lo | hi;
            }
            if let Some(last) = dst.last_mut() {
                *last &= low_bits(w - 64 * (out.words - 1));
            }
        }
        out
    }

    /// Word `j` of a row with every pixel on.
    fn full_word(&self, j: usize) -> u64 {
        if j + 1 == self.words {
            low_bits(self.w - 64 * j)
        } else {
            !0
        }
    }

    fn zip_with(&self, other: &BitMask, f: impl Fn(u64, u64) -> u64) -> BitMask {
        let mut out = self.clone();
        for (a, &b) in out.bits.iter_mut().zip(&other.bits) {
            *a = f(*a, b);
        }
        out
    }

    pub fn or(&self, other: &BitMask) -> BitMask {
        self.zip_with(other, |a, b| a | b)
    }

    pub fn and(&self, other: &BitMask) -> BitMask {
        self.zip_with(other, |a, b| a & b)
    }

    /// The complement.
    pub fn not(&self) -> BitMask {
        let mut out = self.clone();
        for r in 0..self.h {
            for j in 0..self.words {
                let i = r * self.words + j;
                out.bits[i] = !out.bits[i] & self.full_word(j);
            }
        }
        out
    }

    /// Row `r` combined with its left and right neighbours by `op` (`outside` beyond the edges).
    fn horizontal_row(&self, r: usize, outside: bool, op: fn(u64, u64) -> u64, dst: &mut [u64]) {
        let src = self.row(r);
        let n = self.words;
        for j in 0..n {
            let x = src[j];
            let carry_left = if j > 0 {
                src[j - 1] >> 63
            } else {
                u64::from(outside)
            };
            let mut right = x >> 1;
            if j + 1 < n {
                right |= src[j + 1] << 63;
            } else if outside {
                right |= 1 << ((self.w - 1 - 64 * j) % 64);
            }
            dst[j] = op(op(x, (x << 1) | carry_left), right) & self.full_word(j);
        }
    }

    /// 3×3 square (`square`) or cross neighbourhood combined by `op`, pixels outside the grid
    /// worth `outside`.
    fn neighbourhood(&self, square: bool, outside: bool, op: fn(u64, u64) -> u64) -> BitMask {
        let n = self.words;
        let mut hz = BitMask::new(self.h, self.w);
        for r in 0..self.h {
            let (a, b) = (r * n, (r + 1) * n);
            self.horizontal_row(r, outside, op, &mut hz.bits[a..b]);
        }
        let vertical = if square { &hz } else { self };
        let mut out = hz.clone();
        for r in 0..self.h {
            for j in 0..n {
                let edge = if outside { self.full_word(j) } else { 0 };
                let up = if r > 0 {
                    vertical.bits[(r - 1) * n + j]
                } else {
                    edge
                };
                let down = match r + 1 < self.h {
                    true => vertical.bits[(r + 1) * n + j],
                    false => edge,
                };
                let i = r * n + j;
                out.bits[i] = op(op(hz.bits[i], up), down);
            }
        }
        out
    }

    /// 3×3 square erosion, pixels outside the grid worth `outside`.
    pub fn erode_square(&self, outside: bool) -> BitMask {
        self.neighbourhood(true, outside, |a, b| a & b)
    }

    /// 3×3 square dilation, outside the grid = off.
    pub fn dilate_square(&self) -> BitMask {
        self.neighbourhood(true, false, |a, b| a | b)
    }

    /// Pixels on with a 4-neighbour off or outside the grid (MedPy's surface).
    pub fn boundary(&self) -> BitMask {
        let inner = self.neighbourhood(false, false, |a, b| a & b);
        self.zip_with(&inner, |a, b| a & !b)
    }

    /// First pixel on in row `r` at column ≥ `from`.
    pub fn next_on(&self, r: usize, from: usize) -> Option<usize> {
        let row = self.row(r);
        let mut j = from / 64;
        let mut x = *row.get(j)? & (!0u64 << (from % 64));
        while x == 0 {
            j += 1;
            x = *row.get(j)?;
        }
        Some(64 * j + x.trailing_zeros() as usize)
    }

    /// First pixel off in row `r` at column ≥ `from`; `w` when there is none.
    pub fn next_off(&self, r: usize, from: usize) -> usize {
        let row = self.row(r);
        let mut j = from / 64;
        let Some(&first) = row.get(j) else {
            return self.w;
        };
        let mut x = !first & (!0u64 << (from % 64));
        while x == 0 {
            j += 1;
            match row.get(j) {
                Some(&v) => x = !v,
                None => return self.w,
            }
        }
        (64 * j + x.trailing_zeros() as usize).min(self.w)
    }

    /// Last pixel on in row `r`.
    pub fn last_on(&self, r: usize) -> Option<usize> {
        let row = self.row(r);
        let j = row.iter().rposition(|&x| x != 0)?;
        Some(64 * j + 63 - row[j].leading_zeros() as usize)
    }

    /// Calls `f(start, end)` for every run of pixels on in row `r` (end exclusive).
    pub fn for_runs_in_row(&self, r: usize, mut f: impl FnMut(usize, usize)) {
        let mut c = 0;
        while let Some(s) = self.next_on(r, c) {
            let e = self.next_off(r, s);
            f(s, e);
            c = e;
        }
    }

    /// Whether any pixel of row `r` in columns `start..end` is on.
    pub fn any_in(&self, r: usize, start: usize, end: usize) -> bool {
        self.next_on(r, start).is_some_and(|c| c < end)
    }

    /// Turns on columns `start..end` of row `r`.
    pub fn set_range(&mut self, r: usize, start: usize, end: usize) {
        for c in start..end {
            self.bits[r * self.words + c / 64] |= 1 << (c % 64);
        }
    }

    /// Pixels on, `(row, col)` in raster order.
    pub fn ones(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.h).flat_map(move |r| {
            self.row(r).iter().enumerate().flat_map(move |(j, &x)| {
                let mut x = x;
                std::iter::from_fn(move || {
                    (x != 0).then(|| {
                        let t = x.trailing_zeros() as usize;
                        x &= x - 1;
                        (r, 64 * j + t)
                    })
                })
            })
        })
    }

    /// Bounding window of the pixels on (margin 0); `None` when empty.
    pub fn bounding_box(&self) -> Option<Window> {
        let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
        for r in 0..self.h {
            if let Some(first) = self.next_on(r, 0) {
                r0 = r0.min(r);
                r1 = r;
                c0 = c0.min(first);
                c1 = c1.max(self.last_on(r).unwrap_or(first));
            }
        }
        (r0 != usize::MAX).then(|| Window {
            rows: r0..r1 + 1,
            cols: c0..c1 + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::morph::{Border, StructuringElement, binary};
    use ndarray::Array2;
    use proptest::prelude::*;

    fn unpack(m: &BitMask) -> Array2<bool> {
        let (h, w) = m.dim();
        Array2::from_shape_fn((h, w), |(r, c)| m.row(r)[c / 64] >> (c % 64) & 1 == 1)
    }

    proptest! {
        #[test]
        fn word_operations_match_the_bool_versions(
            h in 1usize..9, w in 1usize..150,
            bits in proptest::collection::vec(proptest::bool::weighted(0.7), 9 * 150),
            r0 in 0usize..4, c0 in 0usize..80, dr in 0usize..6, dc in 0usize..80,
        ) {
            let a = Array2::from_shape_fn((h, w), |(r, c)| bits[r * 150 + c]);
            let m = BitMask::from_bools(&a.view());
            prop_assert_eq!(unpack(&m), a.clone());
            let labels = a.mapv(|v| if v { 1 } else { (w % 3) as u8 * 2 });
            prop_assert_eq!(&BitMask::equal_to(&labels.view(), 1), &m);
            let [zero, one] = BitMask::equal_to_each(&labels.view(), [0, 1]);
            prop_assert_eq!(&one, &m);
            prop_assert_eq!(zero.count(), if w % 3 == 0 { h * w - m.count() } else { 0 });
            prop_assert_eq!(m.count(), a.iter().filter(|&&v| v).count());
            let sq = StructuringElement::Square;
            for (outside, border) in [(true, Border::Foreground), (false, Border::Background)] {
                let e = binary::erode(&a.view(), sq, 1, border);
                prop_assert_eq!(unpack(&m.erode_square(outside)), e);
            }
            let d = binary::dilate(&a.view(), sq, 1, Border::Background);
            prop_assert_eq!(unpack(&m.dilate_square()), d);
            let b = binary::boundary(&a.view(), StructuringElement::Cross);
            prop_assert_eq!(unpack(&m.boundary()), b);
            prop_assert_eq!(unpack(&m.not()), a.mapv(|v| !v));
            for r in 0..h {
                let row: Vec<bool> = (0..w).map(|c| a[[r, c]]).collect();
                let mut runs = Vec::new();
                m.for_runs_in_row(r, |s, e| runs.push((s, e)));
                let mut expected = Vec::new();
                let mut c = 0;
                while c < w {
                    if row[c] {
                        let s = c;
                        while c < w && row[c] { c += 1; }
                        expected.push((s, c));
                    } else {
                        c += 1;
                    }
                }
                prop_assert_eq!(runs, expected);
                let cols: usize = (0..w).filter(|&c| row[c]).sum();
                prop_assert_eq!(m.column_sum_row(r), cols);
            }
            let ones: Vec<(usize, usize)> = m.ones().collect();
            let expected: Vec<(usize, usize)> =
                a.indexed_iter().filter(|(_, v)| **v).map(|(p, _)| p).collect();
            prop_assert_eq!(ones, expected);
            let win = Window { rows: r0.min(h - 1)..(r0 + dr + 1).min(h), cols: c0.min(w - 1)..(c0 + dc + 1).min(w) };
            prop_assert_eq!(unpack(&m.crop(&win)), win.view(&a.view()).to_owned());
            let bbox = Window::around(h, w, 0, |r, c| a[[r, c]]);
            prop_assert_eq!(m.bounding_box(), bbox);
        }
    }
}
