//! Predict one 64-frame 256x256 sequence with the `small` U-Net through the sliding window and
//! report the time; run under `/usr/bin/time -v` to read the peak memory (issue #4: < 2 GB).
//!
//! `cargo run --release -p models --example predict_memory -- [--threads N] [--frames T] [--size S]`

use std::time::Instant;

use models::sliding::SlidingWindow;
use models::{ShapeError, UNetConfig};
use ndarray::Array4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: usize| -> Result<usize, std::num::ParseIntError> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map_or(Ok(default), |v| v.parse())
    };
    let threads = models::device::init_threads(value("--threads", 0)?)?;
    let (frames, size) = (value("--frames", 64)?, value("--size", 256)?);
    let device = models::device::select("cpu")?;
    let net = UNetConfig::small().init(&device)?;
    let image = Array4::from_shape_fn((1, frames, size, size), |(_, t, h, w)| {
        ((t * 7 + h * 3 + w) % 255) as f32 / 255.0
    });
    let start = Instant::now();
    let logits =
        SlidingWindow::default().run(image.view(), &device, |x| -> Result<_, ShapeError> {
            net.forward(x)
        })?;
    println!(
        "predicted [1, {frames}, {size}, {size}] -> {:?} in {:.2} s with {threads} threads",
        logits.dim(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
