//! The conv3d forward and both backward passes of our patched burn-flex (vendor/burn-flex)
//! against a direct f64 reference, over the kernel/stride/padding/group shapes the U-Nets use
//! plus odd sizes, dilation and groups.

use burn::tensor::module::conv3d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Case {
    x: [usize; 5],
    cout: usize,
    kernel: [usize; 3],
    stride: [usize; 3],
    padding: [usize; 3],
    dilation: [usize; 3],
    groups: usize,
}

fn case(
    x: [usize; 5],
    cout: usize,
    kernel: [usize; 3],
    stride: [usize; 3],
    padding: [usize; 3],
    dilation: [usize; 3],
    groups: usize,
) -> Case {
    Case {
        x,
        cout,
        kernel,
        stride,
        padding,
        dilation,
        groups,
    }
}

fn out_size(n: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    (n + 2 * p - d * (k - 1) - 1) / s + 1
}

/// Direct conv3d and its gradients for the loss `sum(y * r)`.
fn reference(c: &Case, x: &[f64], w: &[f64], r: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let [b_n, cin, id, ih, iw] = c.x;
    let [kd, kh, kw] = c.kernel;
    let o = [0, 1, 2].map(|i| {
        out_size(
            c.x[i + 2],
            c.kernel[i],
            c.stride[i],
            c.padding[i],
            c.dilation[i],
        )
    });
    let (cin_g, cout_g) = (cin / c.groups, c.cout / c.groups);
    let mut y = vec![0.0; b_n * c.cout * o[0] * o[1] * o[2]];
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    for b in 0..b_n {
        for co in 0..c.cout {
            let g = co / cout_g;
            for od in 0..o[0] {
                for oh in 0..o[1] {
                    for ow in 0..o[2] {
                        let yi = (((b * c.cout + co) * o[0] + od) * o[1] + oh) * o[2] + ow;
                        for ci in 0..cin_g {
                            for a in 0..kd {
                                for e in 0..kh {
                                    for f in 0..kw {
                                        let pos = [(od, a, 0), (oh, e, 1), (ow, f, 2)].map(
                                            |(o, k, i)| {
                                                (o * c.stride[i] + k * c.dilation[i]) as isize
                                                    - c.padding[i] as isize
                                            },
                                        );
                                        if pos
                                            .iter()
                                            .zip([id, ih, iw])
                                            .any(|(&p, n)| p < 0 || p >= n as isize)
                                        {
                                            continue;
                                        }
                                        let [pd, ph, pw] = pos.map(|p| p as usize);
                                        let xi = (((b * cin + g * cin_g + ci) * id + pd) * ih + ph)
                                            * iw
                                            + pw;
                                        let wi = (((co * cin_g + ci) * kd + a) * kh + e) * kw + f;
                                        y[yi] += x[xi] * w[wi];
                                        dx[xi] += r[yi] * w[wi];
                                        dw[wi] += r[yi] * x[xi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    (y, dx, dw)
}

fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn check(c: &Case, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let device = models::device::select("cpu")
        .expect("cpu device")
        .autodiff();
    let [kd, kh, kw] = c.kernel;
    let w_shape = [c.cout, c.x[1] / c.groups, kd, kh, kw];
    let xv = random(c.x.iter().product(), &mut rng);
    let wv = random(w_shape.iter().product(), &mut rng);
    let o = [0, 1, 2].map(|i| {
        out_size(
            c.x[i + 2],
            c.kernel[i],
            c.stride[i],
            c.padding[i],
            c.dilation[i],
        )
    });
    let y_shape = [c.x[0], c.cout, o[0], o[1], o[2]];
    let rv = random(y_shape.iter().product(), &mut rng);
    let (y_ref, dx_ref, dw_ref) = reference(c, &xv, &wv, &rv);

    let f32s = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<_>>();
    let x = Tensor::<5>::from_data(TensorData::new(f32s(&xv), c.x), &device).require_grad();
    let w = Tensor::<5>::from_data(TensorData::new(f32s(&wv), w_shape), &device).require_grad();
    let r = Tensor::<5>::from_data(TensorData::new(f32s(&rv), y_shape), &device);
    let options = ConvOptions::new(c.stride, c.padding, c.dilation, c.groups);
    let y = conv3d(x.clone(), w.clone(), None, options);
    assert_eq!(y.dims(), y_shape);
    let grads = (y.clone() * r).sum().backward();
    let as_vec = |t: Tensor<5>| t.into_data().try_to_vec::<f32>().expect("f32 data");
    let close = |name: &str, got: Vec<f32>, want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{name}: length");
        for (i, (&g, &e)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - e).abs() <= 1e-3 * (1.0 + e.abs()),
                "{name}[{i}]: burn {g} vs reference {e} (x {:?}, k {:?}, s {:?}, p {:?}, d {:?}, groups {})",
                c.x,
                c.kernel,
                c.stride,
                c.padding,
                c.dilation,
                c.groups
            );
        }
    };
    close("y", as_vec(y), &y_ref);
    close(
        "dx",
        as_vec(x.grad(&grads).expect("x grad").into()),
        &dx_ref,
    );
    close(
        "dw",
        as_vec(w.grad(&grads).expect("w grad").into()),
        &dw_ref,
    );
}

#[test]
fn conv3d_forward_and_gradients_match_a_direct_reference() {
    // (input, c_out, kernel, stride, padding, dilation, groups)
    #[rustfmt::skip]
    let cases = [
        // The U-Net's input block: no temporal mixing.
        case([2, 3, 4, 9, 7], 5, [1, 3, 3], [1, 1, 1], [0, 1, 1], [1, 1, 1], 1),
        // Anisotropic down-sampling (time kept).
        case([2, 4, 4, 10, 8], 6, [3, 3, 3], [1, 2, 2], [1, 1, 1], [1, 1, 1], 1),
        // Isotropic down-sampling, odd sizes.
        case([1, 3, 5, 7, 9], 4, [3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1], 1),
        // Output block.
        case([2, 6, 3, 5, 4], 3, [1, 1, 1], [1, 1, 1], [0, 0, 0], [1, 1, 1], 1),
        // Dilation, uneven padding per axis, groups.
        case([2, 4, 6, 8, 8], 6, [2, 3, 3], [1, 1, 2], [0, 2, 1], [2, 2, 1], 2),
        // More output positions than one 512-position tile.
        case([1, 2, 4, 20, 18], 3, [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1], 1),
        // Channels-first kernels (vendor/burn-flex/src/ops/conv_cf.rs): strided, several
        // tiles whose ends fall inside output rows, batch 3.
        case([3, 3, 6, 40, 37], 4, [3, 3, 3], [1, 2, 2], [1, 1, 1], [1, 1, 1], 1),
        // Stride 3 along W (runs read every third input), unpadded H, odd batch.
        case([3, 2, 3, 9, 17], 5, [3, 3, 3], [1, 1, 3], [1, 0, 1], [1, 1, 1], 1),
        // Padding wider than half the kernel (whole rows and columns of padding).
        case([2, 3, 3, 7, 6], 2, [3, 3, 3], [1, 1, 1], [2, 2, 2], [1, 1, 1], 1),
        // One output column, rows shorter than the kernel reach.
        case([2, 2, 4, 5, 3], 3, [1, 3, 3], [1, 2, 2], [0, 1, 0], [1, 1, 1], 1),
        // Many channels: a long reduction, so the tiles shrink to the 64-position minimum.
        case([1, 40, 2, 12, 12], 6, [3, 3, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1], 1),
        // Groups with strides.
        case([2, 6, 4, 9, 11], 4, [3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1], 2),
    ];
    for (i, case) in cases.iter().enumerate() {
        check(case, i as u64);
    }
}

/// A transposed conv case: input, c_out (total), kernel, stride, padding, padding_out,
/// dilation, groups.
type TransposedCase = (
    [usize; 5],
    usize,
    [usize; 3],
    [usize; 3],
    [usize; 3],
    [usize; 3],
    [usize; 3],
    usize,
);

/// Direct conv_transpose3d and its gradients for the loss `sum(y * r)`.
fn transposed_reference(
    c: &TransposedCase,
    out: [usize; 3],
    x: &[f64],
    w: &[f64],
    r: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let &([b_n, cin, id, ih, iw], cout, kernel, stride, padding, _, dilation, groups) = c;
    let (cin_g, cout_g) = (cin / groups, cout / groups);
    let mut y = vec![0.0; b_n * cout * out.iter().product::<usize>()];
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    for b in 0..b_n {
        for ci in 0..cin {
            let g = ci / cin_g;
            for i in 0..id * ih * iw {
                let pos = [i / (ih * iw), (i / iw) % ih, i % iw];
                let xi = (b * cin + ci) * id * ih * iw + i;
                for co in 0..cout_g {
                    for k in 0..kernel.iter().product::<usize>() {
                        let kk = [
                            k / (kernel[1] * kernel[2]),
                            (k / kernel[2]) % kernel[1],
                            k % kernel[2],
                        ];
                        let o = [0, 1, 2].map(|a| {
                            (pos[a] * stride[a] + kk[a] * dilation[a]) as isize
                                - padding[a] as isize
                        });
                        if (0..3).any(|a| o[a] < 0 || o[a] >= out[a] as isize) {
                            continue;
                        }
                        let o = o.map(|v| v as usize);
                        let yi = ((b * cout + g * cout_g + co) * out[0] + o[0]) * out[1] * out[2]
                            + o[1] * out[2]
                            + o[2];
                        let wi = (ci * cout_g + co) * kernel.iter().product::<usize>() + k;
                        y[yi] += x[xi] * w[wi];
                        dx[xi] += r[yi] * w[wi];
                        dw[wi] += r[yi] * x[xi];
                    }
                }
            }
        }
    }
    (y, dx, dw)
}

#[test]
fn conv_transpose3d_forward_and_gradients_match_a_direct_reference() {
    use burn::tensor::module::conv_transpose3d;
    use burn::tensor::ops::ConvTransposeOptions;
    #[rustfmt::skip]
    let cases: [TransposedCase; 4] = [
        // The decoder's up-sampling: kernel = stride, no padding.
        ([2, 6, 2, 5, 7], 4, [2, 2, 2], [2, 2, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1], 1),
        ([3, 4, 3, 4, 5], 3, [1, 2, 2], [1, 2, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1], 1),
        // Overlapping taps, padding, output padding, groups.
        ([2, 4, 3, 5, 4], 6, [3, 3, 3], [2, 2, 1], [1, 1, 1], [1, 1, 0], [1, 1, 1], 2),
        // Dilation.
        ([1, 3, 2, 4, 4], 2, [2, 3, 2], [1, 2, 2], [0, 1, 0], [0, 0, 1], [2, 1, 2], 1),
    ];
    for (seed, c) in cases.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(100 + seed as u64);
        let device = models::device::select("cpu")
            .expect("cpu device")
            .autodiff();
        let &(xs, cout, kernel, stride, padding, padding_out, dilation, groups) = c;
        let w_shape = [xs[1], cout / groups, kernel[0], kernel[1], kernel[2]];
        let out = [0, 1, 2].map(|a| {
            (xs[a + 2] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 + padding_out[a]
                - 2 * padding[a]
        });
        let y_shape = [xs[0], cout, out[0], out[1], out[2]];
        let xv = random(xs.iter().product(), &mut rng);
        let wv = random(w_shape.iter().product(), &mut rng);
        let rv = random(y_shape.iter().product(), &mut rng);
        let (y_ref, dx_ref, dw_ref) = transposed_reference(c, out, &xv, &wv, &rv);
        let f32s = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<_>>();
        let x = Tensor::<5>::from_data(TensorData::new(f32s(&xv), xs), &device).require_grad();
        let w = Tensor::<5>::from_data(TensorData::new(f32s(&wv), w_shape), &device).require_grad();
        let r = Tensor::<5>::from_data(TensorData::new(f32s(&rv), y_shape), &device);
        let options = ConvTransposeOptions::new(stride, padding, padding_out, dilation, groups);
        let y = conv_transpose3d(x.clone(), w.clone(), None, options);
        assert_eq!(y.dims(), y_shape, "case {seed}");
        let grads = (y.clone() * r).sum().backward();
        let as_vec = |t: Tensor<5>| t.into_data().try_to_vec::<f32>().expect("f32 data");
        for (name, got, want) in [
            ("y", as_vec(y), &y_ref),
            ("dx", as_vec(x.grad(&grads).expect("x grad")), &dx_ref),
            ("dw", as_vec(w.grad(&grads).expect("w grad")), &dw_ref),
        ] {
            assert_eq!(got.len(), want.len(), "{name}: length");
            for (i, (&g, &e)) in got.iter().zip(want.iter()).enumerate() {
                assert!(
                    (g as f64 - e).abs() <= 1e-3 * (1.0 + e.abs()),
                    "case {seed} {name}[{i}]: burn {g} vs reference {e}"
                );
            }
        }
    }
}
