//! Simulator throughput: the target is 100 sequences of 32 frames at 128x128 in a few
//! seconds on 2 cores (release). Run with `cargo bench -p dataset --bench sim`; set
//! `RAYON_NUM_THREADS` to vary the thread count. For each shipped domain preset it prints the
//! wall time of the whole data set and the CPU time it used (summed over threads, from
//! `/proc/self/stat` on Linux), which stays meaningful on a loaded machine.

use std::time::Instant;

use dataset::sim::{SimConfig, simulate};

fn preset(text: &str) -> SimConfig {
    let mut table: toml::Table =
        toml::from_str(text).unwrap_or_else(|e| panic!("preset does not parse: {e}"));
    table.remove("kind");
    toml::Value::Table(table)
        .try_into()
        .unwrap_or_else(|e| panic!("preset is not a SimConfig: {e}"))
}

/// CPU seconds (user + system, all threads) of this process, when the OS reports them.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 and 15 of proc(5) (utime, stime), in clock ticks of 1/100 s on Linux.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let presets = [
        include_str!("../../configs/data/source.toml"),
        include_str!("../../configs/data/target_lowq.toml"),
        include_str!("../../configs/data/target_scanner.toml"),
    ];
    let threads = rayon::current_num_threads();
    println!("rayon threads: {threads}");
    for text in presets {
        let cfg = SimConfig {
            cases: 100,
            frames: [32, 32],
            height: 128,
            width: 128,
            ..preset(text)
        };
        let cpu0 = cpu_seconds();
        let t = Instant::now();
        let cases = simulate(&cfg, 1);
        let wall = t.elapsed().as_secs_f64();
        let frames: usize = cases.iter().map(|c| c.image.shape()[0]).sum();
        std::hint::black_box(&cases);
        let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a);
        println!(
            "{:<15} 100 x 32 x 128 x 128: wall {wall:.2} s; cpu {} ({} per frame)",
            cfg.name,
            cpu.map_or("n/a".into(), |c| format!("{c:.2} s")),
            cpu.map_or("n/a".into(), |c| format!(
                "{:.2} ms",
                1e3 * c / frames as f64
            )),
        );
    }
}
