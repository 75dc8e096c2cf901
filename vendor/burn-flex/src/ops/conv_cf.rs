//! rl4seg: conv3d forward and backward passes on channels-first (NCDHW) data.
//!
//! The release's conv3d copies its input to channels-last, builds position-major im2col rows
//! (`[tile, c_in * k]`, one short copy per kernel position) and writes a `[tile, c_out]` GEMM
//! result back to NCDHW, so the `gemm` crate transposes the problem and runs with `c_out`
//! (16-64) as its M dimension: its narrowest microkernels, at about half their peak.
//!
//! Here the im2col buffer is *kernel-major*: row `k = (ci, kd, kh, kw)` (the weight's own
//! order) holds that kernel tap for every position of the tile, so each row is filled by a
//! few long copies of input rows straight from NCDHW data (no channels-last copy), and the GEMM
//! writes `[tile, c_out]` column-major, i.e. directly into the NCDHW output, with the positions
//! as M (the widest microkernel; the im2col buffer is column-major and needs no packing).
//! The weight gradient contracts the same buffer with the output gradient into a
//! `[c_out, c_in * k]` accumulator (the weight's layout), and the strided input gradient is a
//! GEMM into a kernel-major buffer scattered back to NCDHW, in parallel over input channels.
//!
//! Determinism: every output value is one GEMM dot product over the full reduction, the
//! weight-gradient reduction runs over chunks fixed by the shape and merged in order, and the
//! scatter adds in tile order; no result depends on rayon's scheduling or the thread count.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::ConvOptions;
use burn_backend::ops::conv::calculate_conv_output_size;
use burn_std::{Bytes, Shape};

use crate::{FlexTensor, Layout};

/// Element types the channels-first path runs on (those the `gemm` crate supports).
pub(crate) trait CfElement:
    bytemuck::Pod + Copy + Send + Sync + core::ops::Add<Output = Self> + burn_backend::Element + 'static
{
}
impl<T> CfElement for T where
    T: bytemuck::Pod
        + Copy
        + Send
        + Sync
        + core::ops::Add<Output = T>
        + burn_backend::Element
        + 'static
{
}

/// Target size of one im2col buffer: a tile of positions times the reduction length stays
/// within the L2 cache of one core.
const COL_BYTES: usize = 1 << 20;
/// Most positions per tile (longer tiles only add memory traffic).
const MAX_TILE: usize = 1024;
/// Fewest positions per tile (the widest microkernel covers 64 rows at f32).
const MIN_TILE: usize = 64;
/// Fixed number of partial accumulators of the weight gradient (see `fold_fixed`).
const FOLD_CHUNKS: usize = 32;

/// One output row's share of a tile: positions `dst..dst + len` of the tile are output
/// `(od, oh, ow0..ow0 + len)`.
#[derive(Clone, Copy, Debug)]
struct Segment {
    dst: usize,
    od: usize,
    oh: usize,
    ow0: usize,
    len: usize,
}

/// Conv geometry with symmetric padding on an unpadded input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CfGeometry {
    pub batch: usize,
    pub channels_in: usize,
    pub channels_out: usize,
    pub groups: usize,
    pub input: [usize; 3],
    pub output: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub dilation: [usize; 3],
    pub padding: [usize; 3],
}

impl CfGeometry {
    pub(crate) fn new(x_shape: &[usize], w_shape: &[usize], options: &ConvOptions<3>) -> Self {
        let input = [x_shape[2], x_shape[3], x_shape[4]];
        let kernel = [w_shape[2], w_shape[3], w_shape[4]];
        let padding = options.padding_begin();
        let output = [0, 1, 2].map(|i| {
            calculate_conv_output_size(
                kernel[i],
                options.stride[i],
                padding[i],
                options.dilation[i],
                input[i],
            )
        });
        Self {
            batch: x_shape[0],
            channels_in: x_shape[1],
            channels_out: w_shape[0],
            groups: options.groups,
            input,
            output,
            kernel,
            stride: options.stride,
            dilation: options.dilation,
            padding,
        }
    }

    fn cin_g(&self) -> usize {
        self.channels_in / self.groups
    }
    fn cout_g(&self) -> usize {
        self.channels_out / self.groups
    }
    fn k_spatial(&self) -> usize {
        self.kernel.iter().product()
    }
    fn col_len(&self) -> usize {
        self.cin_g() * self.k_spatial()
    }
    fn s_in(&self) -> usize {
        self.input.iter().product()
    }
    fn s_out(&self) -> usize {
        self.output.iter().product()
    }

    /// Positions per tile: a function of the shape alone (never of the thread count), so that
    /// reductions over tiles group their terms the same way on every machine.
    fn tile_len(&self, elem: usize) -> usize {
        let by_cache = COL_BYTES / (self.col_len() * elem).max(1);
        let tile = (by_cache / MIN_TILE * MIN_TILE).clamp(MIN_TILE, MAX_TILE);
        tile.min(self.s_out()).max(1)
    }

    /// The output rows that positions `t0..t1` cover, cut at row ends (computed once per tile so
    /// that the per-tap loops need no divisions).
    fn segments(&self, t0: usize, t1: usize) -> Vec<Segment> {
        let [_, out_h, out_w] = self.output;
        let mut segs = Vec::with_capacity((t1 - t0) / out_w.max(1) + 2);
        let mut p = t0;
        while p < t1 {
            let ow0 = p % out_w;
            let len = (out_w - ow0).min(t1 - p);
            segs.push(Segment {
                dst: p - t0,
                od: p / (out_h * out_w),
                oh: (p / out_w) % out_h,
                ow0,
                len,
            });
            p += len;
        }
        segs
    }

    /// Visit the runs of one kernel tap `(kd, kh, kw)` over the segments of a tile:
    /// `run(dst, len, None)` for positions `dst..dst + len` (relative to the tile start) whose
    /// input lies in the padding, `run(dst, len, Some(src))` for positions that read the input
    /// plane of one channel at `src, src + stride[2], ...`.
    #[inline]
    fn runs(
        &self,
        tap: [usize; 3],
        segs: &[Segment],
        mut run: impl FnMut(usize, usize, Option<usize>),
    ) {
        let [in_d, in_h, in_w] = self.input;
        let [sd, sh, sw] = self.stride;
        let [dd, dh, dw] = self.dilation;
        let [pd, ph, pw] = self.padding;
        let [kd, kh, kw] = tap;
        // Output columns whose input column `ow * sw + off` lies inside `0..in_w`.
        let off = (kw * dw) as isize - pw as isize;
        let lo = if off >= 0 {
            0
        } else {
            ((-off) as usize).div_ceil(sw)
        };
        let hi = if in_w as isize - off <= 0 {
            0
        } else {
            ((in_w as isize - 1 - off) as usize) / sw + 1
        };
        for s in segs {
            let (dst, ow0, seg) = (s.dst, s.ow0, s.len);
            let id = (s.od * sd + kd * dd) as isize - pd as isize;
            let ih = (s.oh * sh + kh * dh) as isize - ph as isize;
            if id < 0 || id >= in_d as isize || ih < 0 || ih >= in_h as isize {
                run(dst, seg, None);
                continue;
            }
            let a = lo.clamp(ow0, ow0 + seg);
            let e = hi.clamp(a, ow0 + seg);
            if a > ow0 {
                run(dst, a - ow0, None);
            }
            if e > a {
                let row = (id as usize * in_h + ih as usize) * in_w;
                let src = (row as isize + (a * sw) as isize + off) as usize;
                run(dst + a - ow0, e - a, Some(src));
            }
            if ow0 + seg > e {
                run(dst + e - ow0, ow0 + seg - e, None);
            }
        }
    }

    /// Kernel-major im2col of positions `t0..t1` of batch `b`, group `g`: `col[k * len + p]`
    /// with `k = (ci, kd, kh, kw)` in the weight's order.
    fn im2col<T: CfElement>(
        &self,
        col: &mut [T],
        x: &[T],
        b: usize,
        g: usize,
        t0: usize,
        t1: usize,
        zero: T,
    ) {
        let len = t1 - t0;
        let s_in = self.s_in();
        let sw = self.stride[2];
        let [kd_n, kh_n, kw_n] = self.kernel;
        let segs = self.segments(t0, t1);
        let mut k = 0;
        for ci in 0..self.cin_g() {
            let plane = &x[(b * self.channels_in + g * self.cin_g() + ci) * s_in..][..s_in];
            for kd in 0..kd_n {
                for kh in 0..kh_n {
                    for kw in 0..kw_n {
                        let row = &mut col[k * len..(k + 1) * len];
                        self.runs([kd, kh, kw], &segs, |dst, n, src| {
                            let out = &mut row[dst..dst + n];
                            match src {
                                None => out.fill(zero),
                                Some(src) if sw == 1 => out.copy_from_slice(&plane[src..src + n]),
                                Some(src) => {
                                    for (j, o) in out.iter_mut().enumerate() {
                                        *o = plane[src + j * sw];
                                    }
                                }
                            }
                        });
                        k += 1;
                    }
                }
            }
        }
    }

    /// The adjoint of [`Self::im2col`] for one input channel: add the `k_spatial` rows of
    /// `col` that belong to channel `ci` (of the group) into `plane`, that channel's input
    /// gradient.
    fn col2im_channel<T: CfElement>(
        &self,
        col: &[T],
        plane: &mut [T],
        ci: usize,
        segs: &[Segment],
        len: usize,
    ) {
        let sw = self.stride[2];
        let [kd_n, kh_n, kw_n] = self.kernel;
        let mut k = ci * self.k_spatial();
        for kd in 0..kd_n {
            for kh in 0..kh_n {
                for kw in 0..kw_n {
                    let row = &col[k * len..(k + 1) * len];
                    self.runs([kd, kh, kw], segs, |dst, n, src| {
                        let Some(src) = src else { return };
                        if sw == 1 {
                            for (p, &v) in plane[src..src + n].iter_mut().zip(&row[dst..dst + n]) {
                                *p = *p + v;
                            }
                        } else {
                            for (j, &v) in row[dst..dst + n].iter().enumerate() {
                                let p = &mut plane[src + j * sw];
                                *p = *p + v;
                            }
                        }
                    });
                    k += 1;
                }
            }
        }
    }
}

fn threads() -> usize {
    #[cfg(feature = "rayon")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "rayon"))]
    {
        1
    }
}

fn gemm_parallelism(parallel: bool) -> gemm::Parallelism {
    #[cfg(feature = "rayon")]
    if parallel {
        return gemm::Parallelism::Rayon(0);
    }
    let _ = parallel;
    gemm::Parallelism::None
}

/// The multiplicative unit of `T`.
fn unit<T: CfElement>(zero: T) -> T {
    super::conv::unit(zero)
}

/// conv3d forward on channels-first data (see the module doc). `x` must be unpadded with
/// symmetric `options` padding.
pub(crate) fn conv3d_cf<T: CfElement>(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<3>,
    dtype: DType,
    zero: T,
) -> FlexTensor {
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let geo = CfGeometry::new(x.layout().shape(), weight.layout().shape(), options);
    let (cout, cout_g, col_len, s_out) =
        (geo.channels_out, geo.cout_g(), geo.col_len(), geo.s_out());
    let one = unit(zero);
    // The output starts as the bias (or zeros), and every GEMM adds its product to it.
    let mut out = vec![zero; geo.batch * cout * s_out];
    let has_bias = bias.is_some();
    if let Some(bias) = bias {
        let bias = bias.to_contiguous();
        let bias: &[T] = bias.storage();
        for (i, chunk) in out.chunks_mut(s_out).enumerate() {
            chunk.fill(bias[i % cout]);
        }
    }
    if s_out == 0 || col_len == 0 {
        return finish(
            out,
            [geo.batch, cout, geo.output[0], geo.output[1], geo.output[2]],
            dtype,
        );
    }
    let x_data: &[T] = x.storage();
    let w_data: &[T] = weight.storage();
    let tile = geo.tile_len(core::mem::size_of::<T>());
    let tiles = s_out.div_ceil(tile);
    let items = geo.batch * geo.groups * tiles;
    // Few items: run them in turn with the GEMM itself parallel.
    let parallel_items = items >= 2 * threads();
    let par = gemm_parallelism(!parallel_items);
    let out_ptr = OutPtr(out.as_mut_ptr());
    let run = |col: &mut Vec<T>, item: usize| {
        let b = item / (geo.groups * tiles);
        let g = (item / tiles) % geo.groups;
        let t = item % tiles;
        let (t0, t1) = (t * tile, ((t + 1) * tile).min(s_out));
        let len = t1 - t0;
        geo.im2col(&mut col[..col_len * len], x_data, b, g, t0, t1, zero);
        // out[b, g*cout_g + co, t0 + p] (+)= sum_k col[k * len + p] * w[(g*cout_g + co) * col_len + k]
        // SAFETY: items write disjoint (batch, group, tile) blocks of `out`, which outlives
        // the loop; the operands are in bounds by construction.
        unsafe {
            gemm::gemm(
                len,
                cout_g,
                col_len,
                out_ptr.at((b * cout + g * cout_g) * s_out + t0),
                s_out as isize,
                1,
                has_bias,
                col.as_ptr(),
                len as isize,
                1,
                w_data.as_ptr().add(g * cout_g * col_len),
                col_len as isize,
                1,
                one,
                one,
                false,
                false,
                false,
                par,
            );
        }
    };
    let new_col = || vec![zero; col_len * tile];
    if parallel_items {
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            (0..items).into_par_iter().for_each_init(new_col, run);
        }
        #[cfg(not(feature = "rayon"))]
        {
            let mut col = new_col();
            (0..items).for_each(|item| run(&mut col, item));
        }
    } else {
        let mut col = new_col();
        (0..items).for_each(|item| run(&mut col, item));
    }
    finish(
        out,
        [geo.batch, cout, geo.output[0], geo.output[1], geo.output[2]],
        dtype,
    )
}

/// Gradient of conv3d with respect to its weight: per (batch, tile), the output gradient
/// `[c_out, tile]` times the kernel-major im2col `[tile, col_len]`, summed into a `[col_len,
/// c_out]` accumulator. The items are cut into chunks fixed by the
/// shape, each summed in order into its own accumulator, and the chunks are merged left to
/// right.
pub(crate) fn conv3d_cf_weight_backward<T: CfElement>(
    x: FlexTensor,
    w_shape: &[usize],
    output_grad: FlexTensor,
    options: &ConvOptions<3>,
    dtype: DType,
    zero: T,
) -> FlexTensor {
    let x = x.to_contiguous();
    let grad = output_grad.to_contiguous();
    let geo = CfGeometry::new(x.layout().shape(), w_shape, options);
    debug_assert_eq!(&grad.layout().shape()[2..], &geo.output[..]);
    let (cout, cout_g, col_len, s_out) =
        (geo.channels_out, geo.cout_g(), geo.col_len(), geo.s_out());
    let one = unit(zero);
    let x_data: &[T] = x.storage();
    let g_data: &[T] = grad.storage();
    let tile = geo.tile_len(core::mem::size_of::<T>()).max(1);
    let tiles = s_out.div_ceil(tile);
    let mut weight_grad = vec![zero; cout * col_len];
    if s_out == 0 || col_len == 0 {
        return finish(
            weight_grad,
            [w_shape[0], w_shape[1], w_shape[2], w_shape[3], w_shape[4]],
            dtype,
        );
    }
    let items = geo.batch * tiles;
    let chunks = items.clamp(1, FOLD_CHUNKS);
    let par = gemm_parallelism(chunks < 2 * threads());
    for g in 0..geo.groups {
        let fold_chunk = |col: &mut Vec<T>, chunk: usize| {
            let mut acc = vec![zero; cout_g * col_len];
            for item in chunk * items / chunks..(chunk + 1) * items / chunks {
                let (b, t) = (item / tiles, item % tiles);
                let (t0, t1) = (t * tile, ((t + 1) * tile).min(s_out));
                let len = t1 - t0;
                geo.im2col(&mut col[..col_len * len], x_data, b, g, t0, t1, zero);
                // acc[k * cout_g + co] += sum_p grad[b, g*cout_g + co, t0 + p] * col[k * len + p]
                // with `c_out` as the GEMM's M: the other orientation (M = col_len) packs the
                // whole column buffer and reads the gradient across channel planes, 3-4x slower.
                // SAFETY: all operands are in bounds by construction; `acc` is this chunk's own.
                unsafe {
                    gemm::gemm(
                        cout_g,
                        col_len,
                        len,
                        acc.as_mut_ptr(),
                        cout_g as isize,
                        1,
                        true,
                        g_data.as_ptr().add((b * cout + g * cout_g) * s_out + t0),
                        1,
                        s_out as isize,
                        col.as_ptr(),
                        len as isize,
                        1,
                        one,
                        one,
                        false,
                        false,
                        false,
                        par,
                    );
                }
            }
            acc
        };
        let new_col = || vec![zero; col_len * tile];
        // An indexed `map` + `collect` keeps every chunk at its index however it was scheduled.
        #[cfg(feature = "rayon")]
        let partials: Vec<Vec<T>> = {
            use rayon::prelude::*;
            (0..chunks)
                .into_par_iter()
                .map_init(new_col, fold_chunk)
                .collect()
        };
        #[cfg(not(feature = "rayon"))]
        let partials: Vec<Vec<T>> = {
            let mut col = new_col();
            (0..chunks).map(|c| fold_chunk(&mut col, c)).collect()
        };
        let mut partials = partials.into_iter();
        let mut total = partials
            .next()
            .unwrap_or_else(|| vec![zero; cout_g * col_len]);
        for partial in partials {
            for (d, v) in total.iter_mut().zip(partial) {
                *d = *d + v;
            }
        }
        // [col_len, cout_g] -> the weight's [cout_g, col_len].
        let dst = &mut weight_grad[g * cout_g * col_len..(g + 1) * cout_g * col_len];
        for (k, row) in total.chunks(cout_g).enumerate() {
            for (co, &v) in row.iter().enumerate() {
                dst[co * col_len + k] = v;
            }
        }
    }
    finish(
        weight_grad,
        [w_shape[0], w_shape[1], w_shape[2], w_shape[3], w_shape[4]],
        dtype,
    )
}

/// Gradient of conv3d with respect to its input, for any stride: per (batch, tile), the
/// kernel-major column gradient `col[k, p] = sum_co w[co, k] * grad[co, p]` (one GEMM), then
/// scattered back into the NCDHW input gradient in parallel over input channels (each channel
/// plane receives its terms in tile order).
pub(crate) fn conv3d_cf_x_backward<T: CfElement>(
    x_shape: &[usize],
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<3>,
    dtype: DType,
    zero: T,
) -> FlexTensor {
    let weight = weight.to_contiguous();
    let grad = output_grad.to_contiguous();
    let geo = CfGeometry::new(x_shape, weight.layout().shape(), options);
    let (cout, cout_g, cin_g, col_len, s_out, s_in) = (
        geo.channels_out,
        geo.cout_g(),
        geo.cin_g(),
        geo.col_len(),
        geo.s_out(),
        geo.s_in(),
    );
    let one = unit(zero);
    let w_data: &[T] = weight.storage();
    let g_data: &[T] = grad.storage();
    let mut dx = vec![zero; geo.batch * geo.channels_in * s_in];
    let shape = [x_shape[0], x_shape[1], x_shape[2], x_shape[3], x_shape[4]];
    if s_out == 0 || col_len == 0 || s_in == 0 {
        return finish(dx, shape, dtype);
    }
    let tile = geo.tile_len(core::mem::size_of::<T>());
    let tiles = s_out.div_ceil(tile);
    let mut col = vec![zero; col_len * tile];
    let par = gemm_parallelism(true);
    for b in 0..geo.batch {
        for g in 0..geo.groups {
            let planes = &mut dx[(b * geo.channels_in + g * cin_g) * s_in..][..cin_g * s_in];
            for t in 0..tiles {
                let (t0, t1) = (t * tile, ((t + 1) * tile).min(s_out));
                let len = t1 - t0;
                // col[k * len + p] = sum_co grad[b, g*cout_g + co, t0 + p] * w[(g*cout_g + co) * col_len + k]
                // SAFETY: all operands are in bounds by construction.
                unsafe {
                    gemm::gemm(
                        len,
                        col_len,
                        cout_g,
                        col.as_mut_ptr(),
                        len as isize,
                        1,
                        false,
                        g_data.as_ptr().add((b * cout + g * cout_g) * s_out + t0),
                        s_out as isize,
                        1,
                        w_data.as_ptr().add(g * cout_g * col_len),
                        1,
                        col_len as isize,
                        zero,
                        one,
                        false,
                        false,
                        false,
                        par,
                    );
                }
                let col = &col[..col_len * len];
                let segs = geo.segments(t0, t1);
                let scatter =
                    |(ci, plane): (usize, &mut [T])| geo.col2im_channel(col, plane, ci, &segs, len);
                #[cfg(feature = "rayon")]
                {
                    use rayon::prelude::*;
                    planes.par_chunks_mut(s_in).enumerate().for_each(scatter);
                }
                #[cfg(not(feature = "rayon"))]
                planes.chunks_mut(s_in).enumerate().for_each(scatter);
            }
        }
    }
    finish(dx, shape, dtype)
}

fn finish<T: CfElement>(data: Vec<T>, shape: [usize; 5], dtype: DType) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::from(shape.to_vec())),
        dtype,
    )
}

/// A raw output pointer shared by the workers of [`conv3d_cf`], each writing its own block.
#[derive(Clone, Copy)]
struct OutPtr<T>(*mut T);
// SAFETY: the workers write disjoint blocks (see `conv3d_cf`).
unsafe impl<T> Send for OutPtr<T> {}
unsafe impl<T> Sync for OutPtr<T> {}
impl<T> OutPtr<T> {
    /// # Safety
    /// `offset` must be in bounds of the buffer.
    unsafe fn at(&self, offset: usize) -> *mut T {
        unsafe { self.0.add(offset) }
    }
}

/// The `upstream-conv3d` feature keeps burn-flex 0.22.1's own conv3d passes (forward, input and
/// weight gradients), for A/B benchmarks against this module; off by default.
pub(crate) const fn legacy() -> bool {
    cfg!(feature = "upstream-conv3d")
}

/// rl4seg: gradient of conv_transpose3d with respect to its weight `[c_in, c_out/groups, k...]`,
/// natively: for each kernel tap `k`, `dW[ci, co, k] = sum_b sum_i x[b, ci, i] * grad[b, co,
/// i * stride - padding + k * dilation]` (terms outside the output dropped), one GEMM per
/// (tap, batch, group) over all input positions, the batches added in order. Burn's generic
/// version runs a conv3d whose kernel is the whole input (dilated by the stride).
pub(crate) fn conv_transpose3d_cf_weight_backward<T: CfElement>(
    x: FlexTensor,
    w_shape: &[usize],
    output_grad: FlexTensor,
    stride: [usize; 3],
    padding: [usize; 3],
    dilation: [usize; 3],
    groups: usize,
    dtype: DType,
    zero: T,
) -> FlexTensor {
    let x = x.to_contiguous();
    let grad = output_grad.to_contiguous();
    let (xs, gs) = (x.layout().shape().clone(), grad.layout().shape().clone());
    let (batch, cin, cout) = (xs[0], xs[1], gs[1]);
    let (cin_g, cout_g) = (cin / groups, cout / groups);
    let input = [xs[2], xs[3], xs[4]];
    let output = [gs[2], gs[3], gs[4]];
    let kernel = [w_shape[2], w_shape[3], w_shape[4]];
    let (s_in, s_out) = (
        input.iter().product::<usize>(),
        output.iter().product::<usize>(),
    );
    let ks: usize = kernel.iter().product();
    let one = unit(zero);
    let x_data: &[T] = x.storage();
    let g_data: &[T] = grad.storage();
    let shape = [w_shape[0], w_shape[1], w_shape[2], w_shape[3], w_shape[4]];
    // Per tap: [groups][cin_g][cout_g] (the weight's order without the tap).
    let per_tap = |tap: usize| -> Vec<T> {
        let k = [
            tap / (kernel[1] * kernel[2]),
            (tap / kernel[2]) % kernel[1],
            tap % kernel[2],
        ];
        // Output index along each axis for input index i, if inside the output.
        let axis = |a: usize, i: usize| -> Option<usize> {
            let o = (i * stride[a] + k[a] * dilation[a]) as isize - padding[a] as isize;
            (o >= 0 && (o as usize) < output[a]).then_some(o as usize)
        };
        // The gradient at this tap's output positions, `[batch, cout, s_in]` (zeros outside).
        let mut gathered = vec![zero; batch * cout * s_in];
        for (plane, dst) in gathered.chunks_mut(s_in.max(1)).enumerate() {
            let src = &g_data[plane * s_out..(plane + 1) * s_out];
            let mut i = 0;
            for id in 0..input[0] {
                let od = axis(0, id);
                for ih in 0..input[1] {
                    let oh = axis(1, ih);
                    for iw in 0..input[2] {
                        if let (Some(od), Some(oh), Some(ow)) = (od, oh, axis(2, iw)) {
                            dst[i] = src[(od * output[1] + oh) * output[2] + ow];
                        }
                        i += 1;
                    }
                }
            }
        }
        let mut acc = vec![zero; groups * cin_g * cout_g];
        for b in 0..batch {
            for g in 0..groups {
                // acc[g][ci][co] += sum_i x[b, g*cin_g + ci, i] * gathered[b, g*cout_g + co, i]
                // SAFETY: all operands are in bounds by construction.
                unsafe {
                    gemm::gemm(
                        cin_g,
                        cout_g,
                        s_in,
                        acc.as_mut_ptr().add(g * cin_g * cout_g),
                        1,
                        cout_g as isize,
                        true,
                        x_data.as_ptr().add((b * cin + g * cin_g) * s_in),
                        1,
                        s_in as isize,
                        gathered.as_ptr().add((b * cout + g * cout_g) * s_in),
                        s_in as isize,
                        1,
                        one,
                        one,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            }
        }
        acc
    };
    #[cfg(feature = "rayon")]
    let taps: Vec<Vec<T>> = {
        use rayon::prelude::*;
        (0..ks).into_par_iter().map(per_tap).collect()
    };
    #[cfg(not(feature = "rayon"))]
    let taps: Vec<Vec<T>> = (0..ks).map(per_tap).collect();
    // weight[ci_global, co, tap] with ci_global = g * cin_g + ci.
    let mut weight_grad = vec![zero; cin * cout_g * ks];
    for (tap, acc) in taps.iter().enumerate() {
        for (i, &v) in acc.iter().enumerate() {
            // i = (g * cin_g + ci) * cout_g + co
            weight_grad[i * ks + tap] = v;
        }
    }
    finish(weight_grad, shape, dtype)
}
