//! The U-Net's fused normalisation and activation paths against direct references: the
//! instance norm, which runs as one `batch_norm_train` (burn-flex's fused kernel,
//! vendor/burn-flex/src/ops/norm.rs), and `leaky_relu_fast` (a mask multiplication under
//! autodiff). Odd sizes, batch > 1, and both kernel branches (one sample; several samples).

use burn::module::Param;
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::batch_norm_train;
use burn::tensor::{Tensor, TensorData};
use models::unet::layers::{InstanceNorm, leaky_relu_fast};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(n: usize, rng: &mut ChaCha8Rng, scale: f64, offset: f64) -> Vec<f64> {
    (0..n)
        .map(|_| rng.random_range(-1.0..1.0) * scale + offset)
        .collect()
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

fn as_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 data")
}

fn close(name: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (&g, &e)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - e).abs() <= tol * (1.0 + e.abs()),
            "{name}[{i}]: burn {g} vs reference {e}"
        );
    }
}

/// Instance norm over `[B, C, S]` with affine, and its gradients for the loss `sum(y * r)`:
/// `(y, dx, dweight, dbias)`.
#[allow(clippy::type_complexity)]
fn instance_norm_reference(
    [b, c, s]: [usize; 3],
    x: &[f64],
    weight: &[f64],
    bias: &[f64],
    r: &[f64],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
    for bi in 0..b {
        for ci in 0..c {
            let at = (bi * c + ci) * s;
            let (xs, rs) = (&x[at..at + s], &r[at..at + s]);
            let mean = xs.iter().sum::<f64>() / s as f64;
            let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / s as f64;
            let inv = 1.0 / (var + eps).sqrt();
            let xhat: Vec<f64> = xs.iter().map(|v| (v - mean) * inv).collect();
            let mean_r = rs.iter().sum::<f64>() / s as f64;
            let mean_rx = rs.iter().zip(&xhat).map(|(g, h)| g * h).sum::<f64>() / s as f64;
            for i in 0..s {
                y[at + i] = xhat[i] * weight[ci] + bias[ci];
                dx[at + i] = weight[ci] * inv * (rs[i] - mean_r - xhat[i] * mean_rx);
            }
            dw[ci] += mean_rx * s as f64;
            db[ci] += mean_r * s as f64;
        }
    }
    (y, dx, dw, db)
}

fn check_instance_norm(shape: [usize; 5], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let device = models::device::select("cpu").expect("cpu").autodiff();
    let [b, c, t, h, w] = shape;
    let s = t * h * w;
    // An offset and a spread like a conv output's, so the centring matters.
    let xv = random(b * c * s, &mut rng, 3.0, 1.5);
    let wv = random(c, &mut rng, 1.0, 1.0);
    let bv = random(c, &mut rng, 0.5, 0.0);
    let rv = random(b * c * s, &mut rng, 1.0, 0.0);
    let eps = 1e-5;
    let (y_ref, dx_ref, dw_ref, db_ref) =
        instance_norm_reference([b, c, s], &xv, &wv, &bv, &rv, eps);

    let x = Tensor::<5>::from_data(TensorData::new(f32s(&xv), shape), &device).require_grad();
    let norm = InstanceNorm {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(f32s(&wv), [c]), &device)),
        bias: Param::from_tensor(Tensor::from_data(TensorData::new(f32s(&bv), [c]), &device)),
        epsilon: eps,
    };
    let r = Tensor::<5>::from_data(TensorData::new(f32s(&rv), shape), &device);
    let y = norm.forward(x.clone());
    assert_eq!(y.dims(), shape);
    let grads = (y.clone() * r).sum().backward();
    close("y", &as_vec(y), &y_ref, 1e-4);
    close(
        "dx",
        &as_vec(x.grad(&grads).expect("x grad")),
        &dx_ref,
        1e-3,
    );
    let dw = norm.weight.grad(&grads).expect("weight grad");
    let db = norm.bias.grad(&grads).expect("bias grad");
    // Sums over up to ~2K terms of O(1): relative to their size.
    close("dweight", &as_vec(dw), &dw_ref, 1e-3);
    close("dbias", &as_vec(db), &db_ref, 1e-3);

    // Without autodiff (inference) the same kernel gives the same values.
    let plain = models::device::select("cpu").expect("cpu");
    let x = Tensor::<5>::from_data(TensorData::new(f32s(&xv), shape), &plain);
    let norm = InstanceNorm {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(f32s(&wv), [c]), &plain)),
        bias: Param::from_tensor(Tensor::from_data(TensorData::new(f32s(&bv), [c]), &plain)),
        epsilon: eps,
    };
    close("y (no autodiff)", &as_vec(norm.forward(x)), &y_ref, 1e-4);
}

#[test]
fn instance_norm_matches_a_direct_reference() {
    for (i, shape) in [
        [1, 3, 2, 5, 7],
        [3, 5, 2, 7, 9],
        [2, 4, 1, 1, 1],
        [2, 2, 4, 16, 17],
    ]
    .into_iter()
    .enumerate()
    {
        check_instance_norm(shape, i as u64);
    }
}

/// burn-flex's batch-norm kernel with several samples per channel (the branch instance norm
/// never takes: it always normalises `[1, B * C, S]`) against the same formula in f64.
#[test]
fn batch_norm_train_with_several_samples_matches_a_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let device = models::device::select("cpu").expect("cpu").autodiff();
    let (n, c, s) = (3, 4, 11);
    let xv = random(n * c * s, &mut rng, 2.0, -0.5);
    let gv = random(c, &mut rng, 1.0, 1.0);
    let bv = random(c, &mut rng, 0.5, 0.0);
    let rv = random(n * c * s, &mut rng, 1.0, 0.0);
    // The same data as [1, C, N*S] per channel: the reference normalises over (n, s).
    let mut per_channel = vec![0.0; n * c * s];
    let mut r_per_channel = vec![0.0; n * c * s];
    for ni in 0..n {
        for ci in 0..c {
            for si in 0..s {
                per_channel[(ci * n + ni) * s + si] = xv[(ni * c + ci) * s + si];
                r_per_channel[(ci * n + ni) * s + si] = rv[(ni * c + ci) * s + si];
            }
        }
    }
    let (y_ref, dx_ref, dg_ref, db_ref) =
        instance_norm_reference([1, c, n * s], &per_channel, &gv, &bv, &r_per_channel, 1e-5);
    let back = |v: &[f64]| {
        let mut out = vec![0.0; n * c * s];
        for ni in 0..n {
            for ci in 0..c {
                for si in 0..s {
                    out[(ni * c + ci) * s + si] = v[(ci * n + ni) * s + si];
                }
            }
        }
        out
    };
    let x = Tensor::<3>::from_data(TensorData::new(f32s(&xv), [n, c, s]), &device).require_grad();
    let gamma = Tensor::<1>::from_data(TensorData::new(f32s(&gv), [c]), &device).require_grad();
    let beta = Tensor::<1>::from_data(TensorData::new(f32s(&bv), [c]), &device).require_grad();
    let r = Tensor::<3>::from_data(TensorData::new(f32s(&rv), [n, c, s]), &device);
    let out = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5);
    let grads = (out.output.clone() * r).sum().backward();
    close("y", &as_vec(out.output), &back(&y_ref), 1e-4);
    close(
        "dx",
        &as_vec(x.grad(&grads).expect("x")),
        &back(&dx_ref),
        1e-3,
    );
    close(
        "dgamma",
        &as_vec(gamma.grad(&grads).expect("gamma")),
        &dg_ref,
        1e-3,
    );
    close(
        "dbeta",
        &as_vec(beta.grad(&grads).expect("beta")),
        &db_ref,
        1e-3,
    );
}

#[test]
fn leaky_relu_fast_equals_leaky_relu_bit_for_bit_and_has_its_gradient() {
    let device = models::device::select("cpu").expect("cpu").autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut values: Vec<f32> = (0..2 * 3 * 5 * 7 * 9)
        .map(|_| rng.random_range(-4.0f32..4.0))
        .collect();
    values[..6].copy_from_slice(&[0.0, -0.0, 1e-30, -1e-30, f32::MIN_POSITIVE, -3.0]);
    let shape = [2, 3, 5, 7, 9];
    for slope in [0.01, 0.2] {
        let x =
            Tensor::<5>::from_data(TensorData::new(values.clone(), shape), &device).require_grad();
        let fast = leaky_relu_fast(x.clone(), slope);
        let plain = leaky_relu(x.clone(), slope);
        let bits = |t: Tensor<5>| as_vec(t).into_iter().map(f32::to_bits).collect::<Vec<_>>();
        assert_eq!(bits(fast.clone()), bits(plain), "values, slope {slope}");
        let grads = fast.sum().backward();
        let dx = as_vec(x.grad(&grads).expect("x grad"));
        for (i, (&g, &v)) in dx.iter().zip(&values).enumerate() {
            // PyTorch's convention: slope at zero and below, 1 above.
            let want = if v > 0.0 { 1.0 } else { slope as f32 };
            assert_eq!(g, want, "gradient [{i}] at x = {v}, slope {slope}");
        }
        // Untracked input: burn's kernel, same values.
        let plain_device = models::device::select("cpu").expect("cpu");
        let y = leaky_relu_fast(
            Tensor::<5>::from_data(TensorData::new(values.clone(), shape), &plain_device),
            slope,
        );
        let want = leaky_relu(
            Tensor::<5>::from_data(TensorData::new(values.clone(), shape), &plain_device),
            slope,
        );
        assert_eq!(bits(y), bits(want), "untracked values, slope {slope}");
    }
}
