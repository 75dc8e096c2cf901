//! The `rl4seg` binary: the engine's CLI with rl4seg's node kinds and built-in configs.

fn main() -> std::process::ExitCode {
    engine::cli::main(engine::cli::AppInfo {
        name: "rl4seg",
        registry: &nodes::REGISTRY,
        builtin: nodes::builtin::BUILTIN,
        version: env!("CARGO_PKG_VERSION"),
    })
}
