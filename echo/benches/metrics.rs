//! Speed of every metric on one realistic 128×128×32 sequence (issue #3 asks for < 50 ms on one
//! core): a beating LV phantom as ground truth and a distorted copy as prediction (shifted,
//! eroded in places, one glitched frame, a few stray blobs), scored by
//! `metrics::evaluate_case` after the largest-blob cleanup, plus calibration on a synthetic
//! confidence map. Prints the median, min and max of several runs, per part and in total.
//! `evaluate_case` computes each frame's masks, surfaces and base points once for all of its
//! metrics, while each part alone computes its own, so the total is less than the sum of the
//! parts.
//!
//! Run: `cargo bench -p echo --bench metrics` (single-threaded code; nothing here uses rayon).
//! The budget is checked on the thread's CPU time per run, which a busy machine inflates much
//! less than the wall time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use echo::metrics::calibration::{AceWeighting, BinEdges, ace, calibration, foreground_samples};
use echo::metrics::phantom::{Glitch, beating_lv};
use echo::metrics::{
    check_sequence, check_temporal_validity, dice_scores, evaluate_case, hausdorff_scores,
    mitral_valve_distance,
};
use echo::morph::keep_largest_foreground_sequence;
use ndarray::{Array3, Axis};

/// Runs per measurement; `METRICS_BENCH_RUNS` overrides it (e.g. 1 under a profiler).
fn runs() -> usize {
    std::env::var("METRICS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15)
}
const SPACING: [f64; 2] = [0.37, 0.37];

fn prediction(gt: &Array3<u8>) -> Array3<u8> {
    let (t, h, w) = gt.dim();
    let glitch = Glitch {
        frame: t / 2,
        width_factor: 0.8,
        base_shift: 0.05,
    };
    let mut pred = beating_lv(t, h, w, Some(glitch));
    // Shift laterally by 2 pixels and add stray blobs that the cleanup removes.
    let unshifted = pred.clone();
    for ((k, r, c), v) in pred.indexed_iter_mut() {
        *v = if c >= 2 { unshifted[[k, r, c - 2]] } else { 0 };
    }
    for k in 0..t {
        pred[[k, 5 + k % 7, 5]] = 2;
        pred[[k, h - 6, w - 6 - k % 5]] = 1;
    }
    pred
}

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`, first field in ns), which
/// stays meaningful on a loaded machine where wall time does not; `None` elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall time of each run, and the mean CPU time per run.
fn time(f: &dyn Fn()) -> (Vec<Duration>, Option<Duration>) {
    let cpu_start = thread_cpu_time();
    let walls = (0..runs())
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    let cpu = cpu_start
        .zip(thread_cpu_time())
        .map(|(a, b)| (b - a) / runs() as u32);
    (walls, cpu)
}

/// Prints the statistics; returns the CPU time per run (the wall median without schedstat).
fn report(name: &str, (mut d, cpu): (Vec<Duration>, Option<Duration>)) -> Duration {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    let median = d[d.len() / 2];
    let cpu_text = cpu.map_or("n/a".to_string(), |c| format!("{:.2} ms", ms(c)));
    println!(
        "{name:<34} cpu/run {cpu_text:>10}   wall median {:>8.2} ms  min {:>8.2} ms  max {:>8.2} ms",
        ms(median),
        ms(d[0]),
        ms(d[d.len() - 1])
    );
    cpu.unwrap_or(median)
}

fn main() {
    let gt = beating_lv(32, 128, 128, None);
    let raw = prediction(&gt);
    let pred = keep_largest_foreground_sequence(&raw.view());
    let confidence = Array3::from_shape_fn(gt.dim(), |(t, r, c)| {
        let agree = pred[[t, r, c]] == gt[[t, r, c]];
        if agree {
            0.9f32 - (r % 7) as f32 * 0.01
        } else {
            0.35 + (c % 5) as f32 * 0.05
        }
    });
    println!("128x128x32 sequence, {} runs, one thread", runs());
    type Part<'a> = (&'static str, Box<dyn Fn() + 'a>);
    let parts: Vec<Part> = vec![
        (
            "largest-blob cleanup",
            Box::new(|| drop(black_box(keep_largest_foreground_sequence(&raw.view())))),
        ),
        (
            "dice (LV, MYO, epi)",
            Box::new(|| drop(black_box(dice_scores(&pred.view(), &gt.view())))),
        ),
        (
            "hausdorff + hd95 (LV, MYO, epi)",
            Box::new(|| {
                drop(black_box(hausdorff_scores(
                    &pred.view(),
                    &gt.view(),
                    SPACING,
                )))
            }),
        ),
        (
            "anatomical validity (32 frames)",
            Box::new(|| drop(black_box(check_sequence(&pred.view())))),
        ),
        (
            "temporal validity",
            Box::new(|| drop(black_box(check_temporal_validity(&pred.view(), SPACING)))),
        ),
        (
            "mitral-valve distances",
            Box::new(|| {
                drop(black_box(mitral_valve_distance(
                    &pred.view(),
                    &gt.view(),
                    SPACING,
                )))
            }),
        ),
        (
            "calibration (ECE/MCE/ACE)",
            Box::new(|| {
                let scores = foreground_samples(&pred.view(), &gt.view(), &confidence.view())
                    .and_then(|(c, ok)| {
                        let cal = calibration(&c, &ok, 20, BinEdges::Strict)?;
                        Ok((cal.ece, ace(&c, &ok, 20, AceWeighting::PerSample)?))
                    });
                drop(black_box(scores));
            }),
        ),
        (
            "TOTAL: cleanup + evaluate_case",
            Box::new(|| {
                let p = keep_largest_foreground_sequence(&raw.view());
                drop(black_box(evaluate_case(&p.view(), &gt.view(), SPACING)));
            }),
        ),
    ];
    // `METRICS_BENCH_ONLY=<text>` runs only the parts whose name contains it (for profilers).
    let only = std::env::var("METRICS_BENCH_ONLY").unwrap_or_default();
    let mut total = None;
    for (name, f) in parts.iter().filter(|(n, _)| n.contains(only.as_str())) {
        let t = report(name, time(f));
        if name.starts_with("TOTAL") {
            total = Some(t);
        }
    }
    let m = evaluate_case(&pred.view(), &gt.view(), SPACING).expect("valid input");
    println!(
        "check: dice LV {:.3} MYO {:.3}; HD LV {:.2} mm; anat valid frames {:.2}; temporal valid {} \
         ({} frames flagged); {} frames",
        m.dice.lv,
        m.dice.myo,
        m.hausdorff.lv.hd,
        m.anatomical.valid_fraction,
        m.temporal.valid,
        m.temporal.frames_with_errors,
        pred.len_of(Axis(0))
    );
    if let Some(total) = total {
        let verdict = if total.as_millis() < 50 {
            "met"
        } else {
            "MISSED"
        };
        println!("budget 50 ms (cpu time of cleanup + evaluate_case): {verdict}");
    }
}
