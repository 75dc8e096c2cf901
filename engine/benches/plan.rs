//! Benchmark (not a test): `show` and `plan` of the toy pipeline through the library,
//! compose + parse + plan of a generated 200-node pipeline, and the `rl4seg-toy` binary end to
//! end (`show toy`, `plan toy`) as whole processes. Prints medians.
//! Targets (issue #2): show/plan < 20 ms, 200 nodes < 100 ms.
//! Run: `cargo bench -p engine --bench plan`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use engine::config::{ConfigSources, compose};
use engine::plan::Plan;
use engine::plan::render::{self, Status};
use engine::toy::{BUILTIN, TOY};

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn generated(n: usize) -> String {
    let mut s = String::from("seed = 1\n");
    for i in 0..n {
        match i % 4 {
            0 => s.push_str(&format!(
                "[nodes.n{i}]\nkind = \"const\"\nvalues = [{i}.0, 1.0]\n"
            )),
            1 | 2 => s.push_str(&format!(
                "[nodes.n{i}]\nkind = \"scale\"\ninputs = {{ x = \"n{}\" }}\nfactor = {i}.5\n",
                i - 1
            )),
            _ => s.push_str(&format!(
                "[nodes.n{i}]\nkind = \"add\"\ninputs = {{ a = \"n{}\", b = \"n{}\" }}\n",
                i - 1,
                i - 3
            )),
        }
    }
    s
}

fn report(name: &str, d: Duration, target_ms: f64) {
    let ms = d.as_secs_f64() * 1e3;
    println!(
        "{name:<48} median {ms:>8.3} ms   (target < {target_ms} ms) {}",
        if ms < target_ms { "ok" } else { "OVER" }
    );
}

fn main() {
    let tmp = std::env::temp_dir().join(format!("rl4seg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let sources = ConfigSources::new(BUILTIN);

    let show = median(
        || {
            let c = compose(&sources, "toy", &["factor=3".to_string()]).expect("composes");
            let spec = engine::spec_parse::parse(&c).expect("parses");
            std::hint::black_box(engine::cli::show::render(&c, &spec, &TOY).expect("renders"));
        },
        200,
    );
    report("library: show toy", show, 20.0);

    let plan = median(
        || {
            let c = compose(&sources, "toy", &["factor=3".to_string()]).expect("composes");
            let mut spec = engine::spec_parse::parse(&c).expect("parses");
            spec.runtime.cache_dir = tmp.join("cache");
            let p = Plan::build(&spec, &TOY).expect("plans");
            let cache = engine::cache::Cache::new(&p.runtime.cache_dir);
            let st: Vec<Status> = p
                .nodes
                .iter()
                .map(|n| match cache.check(&n.kind, &n.key, false) {
                    engine::cache::Lookup::Hit(_) => Status::Cached,
                    _ => Status::ToRun,
                })
                .collect();
            std::hint::black_box(render::text(&p, &st));
        },
        200,
    );
    report("library: plan toy", plan, 20.0);

    let big = tmp.join("big.toml");
    std::fs::write(&big, generated(200)).expect("write generated pipeline");
    let big_path = big.display().to_string();
    let big_time = median(
        || {
            let c = compose(&sources, &big_path, &[]).expect("composes");
            let spec = engine::spec_parse::parse(&c).expect("parses");
            std::hint::black_box(Plan::build(&spec, &TOY).expect("plans"));
        },
        50,
    );
    report(
        "library: compose + parse + plan, 200 nodes",
        big_time,
        100.0,
    );

    let bin = env!("CARGO_BIN_EXE_rl4seg-toy");
    for args in [&["show", "toy"][..], &["plan", "toy"][..]] {
        let d = median(
            || {
                let out = Command::new(bin)
                    .args(args)
                    .current_dir(&tmp)
                    .env("RL4SEG_CACHE", tmp.join("cache"))
                    .output()
                    .expect("runs");
                assert!(out.status.success());
            },
            30,
        );
        report(&format!("process: rl4seg-toy {}", args.join(" ")), d, 20.0);
    }
    let _ = std::fs::remove_dir_all(Path::new(&tmp));
}
