//! Benchmark (not a test): compose + spec-parse a generated 200-node pipeline with config groups,
//! aliases, interpolations and command-line overrides; prints the median of 30 runs.
//! Run: `cargo bench -p engine --bench compose`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use engine::config::{Builtin, ConfigSources, compose};

const NODES: usize = 200;

fn pipeline() -> String {
    let mut p = String::from(
        "seed = 1\n[defaults]\nmodel = \"unet\"\n\"data@source\" = \"source\"\n\n[aliases]\nlr = \"nodes.n199.lr\"\n\n[runtime]\nthreads = 2\n\n[nodes]\nsource = \"${source}\"\n\n",
    );
    for i in 0..NODES {
        let input = if i == 0 {
            "source".to_string()
        } else {
            format!("n{}", i - 1)
        };
        let _ = write!(
            p,
            "[nodes.n{i}]\nkind = \"step\"\ninputs = {{ data = \"{input}\" }}\nchannels = \"${{model.channels}}\"\n\
             depth = \"${{model.depth}}\"\nlr = 0.001\nname = \"node {i} at ${{source.fps}} fps\"\n\
             [nodes.n{i}.opt]\nbetas = [0.9, 0.999]\nwarmup = {i}\n\n"
        );
    }
    p
}

fn main() {
    let files: Builtin = Box::leak(Box::new([
        ("configs/model/unet.toml", "channels = 16\ndepth = 3\n"),
        (
            "configs/data/source.toml",
            "kind = \"load\"\npath = \"/data\"\nfps = 30\n",
        ),
        (
            "pipelines/big.toml",
            Box::leak(pipeline().into_boxed_str()) as &'static str,
        ),
    ]));
    let sources = ConfigSources::new(files);
    let overrides: Vec<String> = [
        "lr=0.01",
        "model.channels=32",
        "+nodes.n5.extra=1",
        "~nodes.n7.opt.warmup",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let text = pipeline();
    let (mut parse, mut comp, mut spec_t, mut total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..30 {
        let t0 = Instant::now();
        let _: toml::Table = match toml::from_str(&text) {
            Ok(t) => t,
            Err(e) => return eprintln!("bad generated pipeline: {e}"),
        };
        parse.push(t0.elapsed());
        let start = Instant::now();
        let composed = match compose(&sources, "big", &overrides) {
            Ok(c) => c,
            Err(e) => return eprintln!("compose failed: {e}"),
        };
        comp.push(start.elapsed());
        let t1 = Instant::now();
        let spec = match engine::spec_parse::parse(&composed) {
            Ok(s) => s,
            Err(e) => return eprintln!("spec parse failed: {e}"),
        };
        spec_t.push(t1.elapsed());
        total.push(start.elapsed());
        assert_eq!(spec.nodes.len(), NODES + 1);
    }
    println!(
        "{} nodes, median of 30: compose + spec_parse {:.2} ms (compose {:.2} ms, of which TOML parsing of the \
         pipeline file {:.2} ms; spec_parse {:.2} ms)",
        NODES + 1,
        median(&mut total),
        median(&mut comp),
        median(&mut parse),
        median(&mut spec_t)
    );
}

fn median(v: &mut [Duration]) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}
