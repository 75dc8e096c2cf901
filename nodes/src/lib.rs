//! rl4seg's node kinds and their glue: each kind in `kinds/` reads its inputs' artifacts, calls
//! the libraries (`echo`, `dataset`, `models`) and writes its own artifact. `registry` lists them
//! for the engine; `builtin` embeds `configs/` and `pipelines/` in the binary.

pub mod compute;
pub mod corrector;
pub mod fingerprint;
pub mod infer;
pub mod kinds;
pub mod policy;
pub mod predictions;
pub mod pseudo;
pub mod registry;
pub mod rewardmodel;
pub mod rewardset;
pub mod seqs;
pub mod splits;

/// Built-in config and pipeline files.
pub mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

pub use registry::REGISTRY;

/// Map a library error to a node error: bad input data is the user's (exit code 2).
pub fn user_err(e: impl std::fmt::Display) -> engine::NodeError {
    engine::NodeError::user(e.to_string())
}
