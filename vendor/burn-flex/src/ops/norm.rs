//! rl4seg: fused batch normalization with batch statistics (`ModuleOps::batch_norm_train`) and
//! its backward pass, instead of burn's default decomposition into ~10 tensor operations (two
//! axis swaps with copies, two reductions, several full-size element-wise passes; twice that in
//! the backward pass). The U-Net's instance norm runs through it (on `[1, B * C, T*H*W]`).
//!
//! Each channel is one task (in parallel over channels); its sums are accumulated in f64 over
//! 8 fixed lanes merged in a fixed order, so the results do not depend on the thread count.
//! Forward: two passes for the mean and the centred variance, one for `x * scale + shift`.
//! Backward: one pass for `sum(g)` and `sum(g * x_hat)`, one for the input gradient.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_backend::ops::{BatchNormTrain, BatchNormTrainBackward};
use burn_std::{Bytes, Shape, bf16, f16};

use crate::ops::module::{cast_from_f32, cast_to_f32};
use crate::{Flex, FlexTensor, Layout};

/// Element types with a native kernel.
trait NormElement: num_traits::Float + bytemuck::Pod + burn_backend::Element + Send + Sync {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}
impl NormElement for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl NormElement for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

const LANES: usize = 8;

/// `sum(f(i))` over `0..n` in f64, accumulated in `LANES` fixed lanes merged in order.
#[inline]
fn lane_sum(n: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let full = n / LANES * LANES;
    let mut i = 0;
    while i < full {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(i + l);
        }
        i += LANES;
    }
    for (l, a) in acc.iter_mut().enumerate().take(n - full) {
        *a += f(full + l);
    }
    acc.iter().sum()
}

/// `[N, C, rest...]`: (N, C, S) with S the product of `rest`.
fn dims(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape[2..].iter().product())
}

/// Run `f(c, out_channel_slices)` for each channel, in parallel over channels. With `n == 1`
/// each channel owns one contiguous chunk of `out`; otherwise the channels run in turn and
/// each writes its `n` strided segments.
fn per_channel<T: Send>(
    out: &mut [T],
    n: usize,
    c: usize,
    s: usize,
    f: impl Fn(usize, &mut [&mut [T]]) + Sync + Send,
) {
    if n == 1 {
        let job = |(ch, chunk): (usize, &mut [T])| f(ch, &mut [chunk]);
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            if c > 1 {
                out.par_chunks_mut(s.max(1)).enumerate().for_each(job);
                return;
            }
        }
        out.chunks_mut(s.max(1)).enumerate().for_each(job);
        return;
    }
    // n > 1: collect each channel's segments (disjoint), then run the channels in parallel.
    let mut segments: Vec<Vec<&mut [T]>> = (0..c).map(|_| Vec::with_capacity(n)).collect();
    for (i, chunk) in out.chunks_mut(s.max(1)).enumerate() {
        segments[i % c].push(chunk);
    }
    let job = |(ch, segs): (usize, &mut Vec<&mut [T]>)| f(ch, segs.as_mut_slice());
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        segments.par_iter_mut().enumerate().for_each(job);
    }
    #[cfg(not(feature = "rayon"))]
    segments.iter_mut().enumerate().for_each(job);
}

fn batch_norm_train_native<T: NormElement>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
    dtype: DType,
) -> BatchNormTrain<Flex> {
    let x = x.to_contiguous();
    let (gamma, beta) = (gamma.to_contiguous(), beta.to_contiguous());
    let shape = x.layout().shape().clone();
    let (n, c, s) = dims(&shape);
    let xs: &[T] = x.storage();
    let (gs, bs): (&[T], &[T]) = (gamma.storage(), beta.storage());
    let count = (n * s).max(1) as f64;
    let seg = |b: usize, ch: usize| &xs[(b * c + ch) * s..(b * c + ch + 1) * s];
    // Statistics per channel (mean, biased variance), in f64.
    let stats: Vec<(f64, f64)> = {
        let stat = |ch: usize| {
            let mean = (0..n)
                .map(|b| lane_sum(s, |i| seg(b, ch)[i].to_f64()))
                .sum::<f64>()
                / count;
            let var = (0..n)
                .map(|b| {
                    let v = seg(b, ch);
                    lane_sum(s, |i| {
                        let d = v[i].to_f64() - mean;
                        d * d
                    })
                })
                .sum::<f64>()
                / count;
            (mean, var)
        };
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            (0..c).into_par_iter().map(stat).collect()
        }
        #[cfg(not(feature = "rayon"))]
        {
            (0..c).map(stat).collect()
        }
    };
    let mut out = vec![T::zero(); xs.len()];
    per_channel(&mut out, n, c, s, |ch, segs| {
        let (mean, var) = stats[ch];
        let inv_std = 1.0 / (var + epsilon).sqrt();
        let scale = gs[ch].to_f64() * inv_std;
        let shift = bs[ch].to_f64() - mean * scale;
        let (scale, shift) = (T::from_f64(scale), T::from_f64(shift));
        for (b, dst) in segs.iter_mut().enumerate() {
            for (o, &v) in dst.iter_mut().zip(seg(b, ch)) {
                // (`mul_add` would be a libm call: the crate is built without FMA.)
                *o = v * scale + shift;
            }
        }
    });
    let vec_of = |f: fn(&(f64, f64)) -> f64| -> Vec<T> {
        stats.iter().map(|st| T::from_f64(f(st))).collect()
    };
    let chan = || Layout::contiguous(Shape::from(vec![c]));
    BatchNormTrain::new(
        FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(shape), dtype),
        FlexTensor::new(Bytes::from_elems(vec_of(|st| st.0)), chan(), dtype),
        FlexTensor::new(Bytes::from_elems(vec_of(|st| st.1)), chan(), dtype),
    )
}

fn batch_norm_train_backward_native<T: NormElement>(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
    dtype: DType,
) -> BatchNormTrainBackward<Flex> {
    let x = x.to_contiguous();
    let grad = output_grad.to_contiguous();
    let (gamma, mean, variance) = (
        gamma.to_contiguous(),
        mean.to_contiguous(),
        variance.to_contiguous(),
    );
    let shape = x.layout().shape().clone();
    let (n, c, s) = dims(&shape);
    let xs: &[T] = x.storage();
    let gr: &[T] = grad.storage();
    let (gam, mu, var): (&[T], &[T], &[T]) = (gamma.storage(), mean.storage(), variance.storage());
    let count = (n * s).max(1) as f64;
    let at = |b: usize, ch: usize| (b * c + ch) * s..(b * c + ch + 1) * s;
    let inv_std = |ch: usize| 1.0 / (var[ch].to_f64() + epsilon).sqrt();
    // Per channel: (sum(g), sum(g * x_hat)).
    let sums: Vec<(f64, f64)> = {
        let sum = |ch: usize| {
            let (m, is) = (mu[ch].to_f64(), inv_std(ch));
            let mut sg = 0.0;
            let mut sgx = 0.0;
            for b in 0..n {
                let (xv, gv) = (&xs[at(b, ch)], &gr[at(b, ch)]);
                sg += lane_sum(s, |i| gv[i].to_f64());
                sgx += lane_sum(s, |i| gv[i].to_f64() * (xv[i].to_f64() - m)) * is;
            }
            (sg, sgx)
        };
        #[cfg(feature = "rayon")]
        {
            use rayon::prelude::*;
            (0..c).into_par_iter().map(sum).collect()
        }
        #[cfg(not(feature = "rayon"))]
        {
            (0..c).map(sum).collect()
        }
    };
    // dx = a * (g - mean(g) - x_hat * mean(g * x_hat)), a = gamma * inv_std
    //    = a * g + k * x + k0 with k = -a * inv_std * mean(g x_hat), k0 = -a * mean(g) - k * mean.
    let mut dx = vec![T::zero(); xs.len()];
    per_channel(&mut dx, n, c, s, |ch, segs| {
        let (sg, sgx) = sums[ch];
        let is = inv_std(ch);
        let a = gam[ch].to_f64() * is;
        let k = -a * is * (sgx / count);
        let k0 = -a * (sg / count) - k * mu[ch].to_f64();
        let (a, k, k0) = (T::from_f64(a), T::from_f64(k), T::from_f64(k0));
        for (b, dst) in segs.iter_mut().enumerate() {
            let r = at(b, ch);
            for ((o, &g), &v) in dst.iter_mut().zip(&gr[r.clone()]).zip(&xs[r]) {
                *o = g * a + (v * k + k0);
            }
        }
    });
    let chan = || Layout::contiguous(Shape::from(vec![c]));
    let gamma_grad: Vec<T> = sums.iter().map(|st| T::from_f64(st.1)).collect();
    let beta_grad: Vec<T> = sums.iter().map(|st| T::from_f64(st.0)).collect();
    BatchNormTrainBackward::new(
        FlexTensor::new(Bytes::from_elems(dx), Layout::contiguous(shape), dtype),
        FlexTensor::new(Bytes::from_elems(gamma_grad), chan(), dtype),
        FlexTensor::new(Bytes::from_elems(beta_grad), chan(), dtype),
    )
}

/// `ModuleOps::batch_norm_train` for Flex: native f32/f64, half precision through f32.
pub(crate) fn batch_norm_train(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
) -> BatchNormTrain<Flex> {
    match x.dtype() {
        DType::F32 => batch_norm_train_native::<f32>(x, gamma, beta, epsilon, DType::F32),
        DType::F64 => batch_norm_train_native::<f64>(x, gamma, beta, epsilon, DType::F64),
        DType::F16 => half_forward(x, gamma, beta, epsilon, f16::to_f32, f16::from_f32),
        DType::BF16 => half_forward(x, gamma, beta, epsilon, bf16::to_f32, bf16::from_f32),
        dtype => panic!("batch_norm_train: unsupported dtype {dtype:?}"),
    }
}

/// `ModuleOps::batch_norm_train_backward` for Flex.
pub(crate) fn batch_norm_train_backward(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
) -> BatchNormTrainBackward<Flex> {
    match x.dtype() {
        DType::F32 => batch_norm_train_backward_native::<f32>(
            x,
            gamma,
            mean,
            variance,
            epsilon,
            output_grad,
            DType::F32,
        ),
        DType::F64 => batch_norm_train_backward_native::<f64>(
            x,
            gamma,
            mean,
            variance,
            epsilon,
            output_grad,
            DType::F64,
        ),
        DType::F16 => half_backward(
            x,
            gamma,
            mean,
            variance,
            epsilon,
            output_grad,
            f16::to_f32,
            f16::from_f32,
        ),
        DType::BF16 => half_backward(
            x,
            gamma,
            mean,
            variance,
            epsilon,
            output_grad,
            bf16::to_f32,
            bf16::from_f32,
        ),
        dtype => panic!("batch_norm_train_backward: unsupported dtype {dtype:?}"),
    }
}

fn half_forward<E: burn_backend::Element + bytemuck::Pod + Copy>(
    x: FlexTensor,
    gamma: FlexTensor,
    beta: FlexTensor,
    epsilon: f64,
    to: fn(E) -> f32,
    from: fn(f32) -> E,
) -> BatchNormTrain<Flex> {
    let r = batch_norm_train_native::<f32>(
        cast_to_f32(x, to),
        cast_to_f32(gamma, to),
        cast_to_f32(beta, to),
        epsilon,
        DType::F32,
    );
    BatchNormTrain::new(
        cast_from_f32(r.output, from),
        cast_from_f32(r.mean, from),
        cast_from_f32(r.variance, from),
    )
}

#[allow(clippy::too_many_arguments)]
fn half_backward<E: burn_backend::Element + bytemuck::Pod + Copy>(
    x: FlexTensor,
    gamma: FlexTensor,
    mean: FlexTensor,
    variance: FlexTensor,
    epsilon: f64,
    output_grad: FlexTensor,
    to: fn(E) -> f32,
    from: fn(f32) -> E,
) -> BatchNormTrainBackward<Flex> {
    let r = batch_norm_train_backward_native::<f32>(
        cast_to_f32(x, to),
        cast_to_f32(gamma, to),
        cast_to_f32(mean, to),
        cast_to_f32(variance, to),
        epsilon,
        cast_to_f32(output_grad, to),
        DType::F32,
    );
    BatchNormTrainBackward::new(
        cast_from_f32(r.x_grad, from),
        cast_from_f32(r.gamma_grad, from),
        cast_from_f32(r.beta_grad, from),
    )
}
