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
    ];
    for (i, case) in cases.iter().enumerate() {
        check(case, i as u64);
    }
}
