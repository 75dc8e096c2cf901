//! `rl4seg-toy`: the engine's CLI with the toy node set (no ML), for the engine's end-to-end
//! tests and for trying the engine out.

fn main() -> std::process::ExitCode {
    engine::cli::main(engine::cli::AppInfo {
        name: "rl4seg-toy",
        registry: &engine::toy::TOY,
        builtin: engine::toy::BUILTIN,
        version: env!("CARGO_PKG_VERSION"),
    })
}
