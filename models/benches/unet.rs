//! U-Net benchmark: one training step (forward, cross-entropy, backward, Adam) and one
//! inference forward of the `small` and `rl4seg3d` presets at fixed shapes, on the CPU backend
//! with a fixed thread count. `bench/reference_unet.py` times the same in PyTorch.
//!
//! `cargo bench -p models --bench unet -- [--threads N] [--presets small,rl4seg3d]`

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Distribution, Int, Tensor};
use models::UNetConfig;
use models::loss::cross_entropy;

struct Case {
    name: &'static str,
    train: [usize; 5],
    infer: [usize; 5],
    repeats: usize,
}

const CASES: [Case; 2] = [
    Case {
        name: "small",
        train: [2, 1, 4, 128, 128],
        infer: [2, 1, 4, 128, 128],
        repeats: 5,
    },
    Case {
        name: "rl4seg3d",
        train: [1, 1, 4, 128, 128],
        infer: [2, 1, 4, 128, 128],
        repeats: 3,
    },
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time (user + system) of this process so far, in seconds, from `/proc/self/stat`
/// (Linux; `None` elsewhere). On a loaded machine the CPU time per step is a steadier measure
/// of the work done than the wall time.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Median wall time and median CPU time of `repeats` runs after one warm-up run.
fn timed(repeats: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    f();
    let (wall, cpu): (Vec<f64>, Vec<Option<f64>>) = (0..repeats)
        .map(|_| {
            let (start, cpu0) = (Instant::now(), cpu_seconds());
            f();
            let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a);
            (start.elapsed().as_secs_f64(), cpu)
        })
        .unzip();
    let cpu: Option<Vec<f64>> = cpu.into_iter().collect();
    (median(wall), cpu.map(median))
}

fn show(cpu: Option<f64>) -> String {
    cpu.map_or_else(String::new, |c| format!(" (cpu {c:.2} s)"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let threads: usize = value("--threads").map_or(Ok(2), |v| v.parse())?;
    let presets = value("--presets").unwrap_or_else(|| "small,rl4seg3d".into());
    let threads = models::device::init_threads(threads)?;
    println!("burn flex, threads {threads}");
    let device = models::device::select("cpu")?;
    let ad = device.clone().autodiff();
    for case in CASES
        .iter()
        .filter(|c| presets.split(',').any(|p| p == c.name))
    {
        let config = UNetConfig::preset(case.name)?;
        let mut net = Some(config.init(&device)?.train());
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let [b, _, t, h, w] = case.train;
        let x = Tensor::<5>::random(case.train, Distribution::Default, &ad);
        let y = Tensor::<4, Int>::random([b, t, h, w], Distribution::Uniform(0.0, 3.0), &ad);
        let (train_s, train_cpu) = timed(case.repeats, || {
            let Some(model) = net.take() else { return };
            let loss = match model.forward(x.clone()) {
                Ok(logits) => cross_entropy(logits, y.clone()),
                Err(e) => panic!("bench input shape: {e}"),
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            net = Some(optim.step(1e-3, model, grads));
        });
        let eval = net.as_ref().map(|n| n.valid()).ok_or("model lost")?;
        let xi = Tensor::<5>::random(case.infer, Distribution::Default, &device);
        let (infer_s, infer_cpu) = timed(case.repeats, || {
            let out = eval.forward(xi.clone()).map(|o| o.into_data());
            assert!(out.is_ok());
        });
        println!(
            "{}: params {}, train step {:?} {train_s:.3} s{}, inference {:?} {infer_s:.3} s{}",
            case.name,
            config.num_params(),
            case.train,
            show(train_cpu),
            case.infer,
            show(infer_cpu),
        );
    }
    Ok(())
}
