//! Simulator throughput: the target is 100 sequences of 32 frames at 128x128 in a few
//! seconds on 2 cores (release). Run with `cargo bench -p dataset --bench sim`; set
//! `RAYON_NUM_THREADS` to vary the thread count. Prints wall time for the whole data set and
//! for one case on one thread, for each shipped domain preset.

use std::time::Instant;

use dataset::sim::{SimConfig, simulate, simulate_case};

fn preset(text: &str) -> SimConfig {
    let mut table: toml::Table =
        toml::from_str(text).unwrap_or_else(|e| panic!("preset does not parse: {e}"));
    table.remove("kind");
    toml::Value::Table(table)
        .try_into()
        .unwrap_or_else(|e| panic!("preset is not a SimConfig: {e}"))
}

fn main() {
    let presets = [
        include_str!("../../configs/data/source.toml"),
        include_str!("../../configs/data/target_lowq.toml"),
        include_str!("../../configs/data/target_scanner.toml"),
    ];
    println!("threads: {}", rayon::current_num_threads());
    for text in presets {
        let cfg = SimConfig {
            cases: 100,
            frames: [32, 32],
            height: 128,
            width: 128,
            ..preset(text)
        };
        let _warm = simulate_case(&cfg, 0, 0);
        let t = Instant::now();
        for i in 0..10 {
            std::hint::black_box(simulate_case(&cfg, 1, i));
        }
        let one = t.elapsed().as_secs_f64() / 10.0;
        let t = Instant::now();
        let cases = simulate(&cfg, 1);
        let all = t.elapsed().as_secs_f64();
        let frames: usize = cases.iter().map(|c| c.image.shape()[0]).sum();
        println!(
            "{:<15} 100 x 32 x 128 x 128: {all:.2} s wall ({:.2} ms/frame/thread); one case on one thread: {:.0} ms",
            cfg.name,
            1e3 * all * rayon::current_num_threads() as f64 / frames as f64,
            1e3 * one
        );
    }
}
