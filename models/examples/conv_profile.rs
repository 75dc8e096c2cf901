//! Where a U-Net step spends its time: times burn's conv3d / conv_transpose3d forward and their
//! backward passes, instance norm and LeakyReLU, one layer shape at a time, at the shapes of the
//! `small` preset on a `[2, 1, 4, 128, 128]` input (the `unet` benchmark's training case).
//!
//! `cargo run --release -p models --example conv_profile -- [--threads N]`

use std::time::Instant;

use burn::tensor::activation::leaky_relu;
use burn::tensor::module::{conv_transpose3d, conv3d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};

fn timed(mut f: impl FnMut()) -> f64 {
    f();
    let mut v: Vec<f64> = (0..3)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[1]
}

fn conv_case(name: &str, x: [usize; 5], cout: usize, k: [usize; 3], s: [usize; 3], dev: &Device) {
    let ad = dev.clone().autodiff();
    let pad = k.map(|k| k / 2);
    let w = [cout, x[1], k[0], k[1], k[2]];
    let opts = ConvOptions::new(s, pad, [1, 1, 1], 1);
    let xi = Tensor::<5>::random(x, Distribution::Default, dev);
    let wi = Tensor::<5>::random(w, Distribution::Default, dev);
    let fwd = timed(|| {
        let _ = conv3d(xi.clone(), wi.clone(), None, opts.clone()).into_data();
    });
    let xa = Tensor::<5>::random(x, Distribution::Default, &ad).require_grad();
    let wa = Tensor::<5>::random(w, Distribution::Default, &ad).require_grad();
    let both = timed(|| {
        let y = conv3d(xa.clone(), wa.clone(), None, opts.clone());
        let g = y.sum().backward();
        let _ = (xa.grad(&g), wa.grad(&g));
    });
    println!("{name:28} x {x:?} k {k:?} s {s:?} -> {cout}: fwd {fwd:.3} s, fwd+bwd {both:.3} s");
}

fn up_case(name: &str, x: [usize; 5], cout: usize, s: [usize; 3], dev: &Device) {
    let ad = dev.clone().autodiff();
    let w = [x[1], cout, s[0], s[1], s[2]];
    let opts = ConvTransposeOptions::new(s, [0, 0, 0], [0, 0, 0], [1, 1, 1], 1);
    let xi = Tensor::<5>::random(x, Distribution::Default, dev);
    let wi = Tensor::<5>::random(w, Distribution::Default, dev);
    let fwd = timed(|| {
        let _ = conv_transpose3d(xi.clone(), wi.clone(), None, opts.clone()).into_data();
    });
    let xa = Tensor::<5>::random(x, Distribution::Default, &ad).require_grad();
    let wa = Tensor::<5>::random(w, Distribution::Default, &ad).require_grad();
    let both = timed(|| {
        let y = conv_transpose3d(xa.clone(), wa.clone(), None, opts.clone());
        let g = y.sum().backward();
        let _ = (xa.grad(&g), wa.grad(&g));
    });
    println!("{name:28} x {x:?} s {s:?} -> {cout}: fwd {fwd:.3} s, fwd+bwd {both:.3} s");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(2), |v| v.parse())?;
    let threads = models::device::init_threads(threads)?;
    println!("burn flex, threads {threads}");
    let dev = models::device::select("cpu")?;
    for (m, k, n) in [(32, 1728, 32768), (32, 64, 32768), (32768, 64, 32)] {
        let a = Tensor::<2>::random([m, k], Distribution::Default, &dev);
        let b = Tensor::<2>::random([k, n], Distribution::Default, &dev);
        let t = timed(|| {
            let _ = a.clone().matmul(b.clone()).into_data();
        });
        let gflops = 2.0 * (m * k * n) as f64 / t / 1e9;
        println!("matmul [{m}, {k}] x [{k}, {n}]: {t:.4} s, {gflops:.1} GFLOP/s");
    }
    let (k133, k333, s1, s122, s222) = ([1, 3, 3], [3, 3, 3], [1, 1, 1], [1, 2, 2], [2, 2, 2]);
    // Every conv of the `small` preset on a [2, 1, 4, 128, 128] input (decoder level l uses
    // level l's kernel, so the full-resolution decoder convs are 3x3x3).
    conv_case("enc0.conv1", [2, 1, 4, 128, 128], 16, k133, s1, &dev);
    conv_case("enc0.conv2", [2, 16, 4, 128, 128], 16, k133, s1, &dev);
    conv_case("enc1.conv1", [2, 16, 4, 128, 128], 32, k333, s122, &dev);
    conv_case("enc1.conv2", [2, 32, 4, 64, 64], 32, k333, s1, &dev);
    conv_case("enc2.conv1", [2, 32, 4, 64, 64], 64, k333, s222, &dev);
    conv_case("enc2.conv2", [2, 64, 2, 32, 32], 64, k333, s1, &dev);
    conv_case(
        "bottleneck.conv1",
        [2, 64, 2, 32, 32],
        128,
        k333,
        s222,
        &dev,
    );
    conv_case("bottleneck.conv2", [2, 128, 1, 16, 16], 128, k333, s1, &dev);
    conv_case("dec2.conv1", [2, 128, 2, 32, 32], 64, k333, s1, &dev);
    conv_case("dec2.conv2", [2, 64, 2, 32, 32], 64, k333, s1, &dev);
    conv_case("dec1.conv1", [2, 64, 4, 64, 64], 32, k333, s1, &dev);
    conv_case("dec1.conv2", [2, 32, 4, 64, 64], 32, k333, s1, &dev);
    conv_case("dec0.conv1", [2, 32, 4, 128, 128], 16, k333, s1, &dev);
    conv_case("dec0.conv2", [2, 16, 4, 128, 128], 16, k333, s1, &dev);
    conv_case("out 1x1x1", [2, 16, 4, 128, 128], 3, s1, s1, &dev);
    up_case("up s122", [2, 32, 4, 64, 64], 16, s122, &dev);
    up_case("up s222", [2, 64, 2, 32, 32], 32, s222, &dev);

    let ad = dev.clone().autodiff();
    let x = Tensor::<5>::random([2, 16, 4, 128, 128], Distribution::Default, &ad).require_grad();
    let norm = timed(|| {
        let flat: Tensor<3> = x.clone().reshape([2, 16, 4 * 128 * 128]);
        let mean = flat.clone().mean_dim(2);
        let c = flat - mean;
        let var = c.clone().square().mean_dim(2);
        let y = leaky_relu(c * var.add_scalar(1e-5).sqrt().recip(), 0.01);
        let g = y.sum().backward();
        let _ = x.grad(&g);
    });
    println!("instance norm + leaky relu [2,16,4,128,128] fwd+bwd {norm:.3} s");
    Ok(())
}
