//! Typed errors of the `models` crate: bad network configs, tensors of the wrong shape,
//! checkpoints that cannot be read or do not match, devices this binary cannot drive.
//! Every message names the thing at fault and says how to fix it.

use std::path::PathBuf;

use thiserror::Error;

/// A U-Net configuration that cannot build a network.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "model config: `{field}` has {found} entries but `channels` has {expected}; give one entry per level"
    )]
    LevelCount {
        field: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("model config: a U-Net needs at least 2 levels, `channels` has {0}")]
    TooFewLevels(usize),
    #[error("model config: `{field}` must be >= 1 (got 0){hint}")]
    Zero { field: String, hint: &'static str },
    #[error(
        "model config: kernel {kernel:?} of level {level} has an even size; use odd kernels (1, 3, 5, ...) so 'same' padding exists"
    )]
    EvenKernel { level: usize, kernel: [usize; 3] },
    #[error(
        "model config: stride {stride:?} of level {level} is larger than its kernel {kernel:?}; strides must be <= kernel sizes"
    )]
    StrideAboveKernel {
        level: usize,
        stride: [usize; 3],
        kernel: [usize; 3],
    },
    #[error(
        "model config: `deep_supervision_outputs` = {requested} but this {levels}-level U-Net has only {available} deep-supervision heads (levels - 2)"
    )]
    TooManyDeepSupervisionOutputs {
        requested: usize,
        available: usize,
        levels: usize,
    },
    #[error("model config: cannot parse {what}: {message}")]
    Parse { what: String, message: String },
}

/// A tensor handed to a network or utility does not have the shape it needs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShapeError {
    #[error(
        "input of shape {shape:?} ([batch, channel, T, H, W]) has {found} channels but the network expects {expected}"
    )]
    Channels {
        shape: [usize; 5],
        expected: usize,
        found: usize,
    },
    #[error(
        "input of shape {shape:?} ([batch, channel, T, H, W]): {axis} = {size} is not a multiple of {multiple}; pad or crop {axis} to a multiple of {multiple} (the product of the network's strides on that axis)"
    )]
    NotDivisible {
        shape: [usize; 5],
        axis: &'static str,
        size: usize,
        multiple: usize,
    },
    #[error("{what}: empty input (shape {shape:?}); every axis must be >= 1")]
    Empty {
        what: &'static str,
        shape: Vec<usize>,
    },
    #[error("{what}: shapes differ: {left:?} vs {right:?}; {hint}")]
    Mismatch {
        what: &'static str,
        left: Vec<usize>,
        right: Vec<usize>,
        hint: &'static str,
    },
    #[error("{what}: label {label} at flat index {index} is >= the number of classes {classes}")]
    LabelOutOfRange {
        what: &'static str,
        label: u8,
        index: usize,
        classes: usize,
    },
}

/// A checkpoint that cannot be written, read, or applied to a network.
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("checkpoint {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "checkpoint {path}: the model config beside it ({config}) is missing or unreadable: {message}; a checkpoint is the pair <name>.safetensors + <name>.json"
    )]
    Config {
        path: PathBuf,
        config: PathBuf,
        message: String,
    },
    #[error("checkpoint {origin}: cannot decode the tensor file: {message}")]
    Format { origin: String, message: String },
    #[error(
        "checkpoint {origin}: tensor `{name}` has shape {found:?} but the network needs {expected:?}; the checkpoint was made for another network shape (compare the model configs)"
    )]
    ShapeMismatch {
        origin: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error(
        "checkpoint {origin}: missing tensor(s) {names:?}; the checkpoint does not hold these parameters of the network"
    )]
    Missing { origin: String, names: Vec<String> },
    #[error(
        "checkpoint {origin}: unexpected tensor(s) {names:?} that the network does not have; the checkpoint was made for another network"
    )]
    Unexpected { origin: String, names: Vec<String> },
    #[error("checkpoint {origin}: tensor `{name}`: {message}")]
    Tensor {
        origin: String,
        name: String,
        message: String,
    },
    #[error(transparent)]
    ModelConfig(#[from] ConfigError),
}

/// A device string this binary cannot drive.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeviceError {
    #[error(
        "runtime.device = {0:?} is not a device; use \"cpu\", \"vulkan\", \"vulkan:N\", \"cuda\" or \"cuda:N\""
    )]
    Unknown(String),
    #[error(
        "runtime.device = {spec:?} needs the `{feature}` feature, which this binary was built without; rebuild with `cargo build --release --features {feature}` or use runtime.device=cpu"
    )]
    FeatureMissing { spec: String, feature: &'static str },
    #[error("runtime.threads = {threads}: cannot set up the worker thread pool: {message}")]
    Threads { threads: usize, message: String },
}

/// An error of the training utilities.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error("supervised training: {0}")]
    Config(String),
    #[error("supervised training: sample {index}: {source}")]
    Sample {
        index: usize,
        #[source]
        source: ShapeError,
    },
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error("supervised training: the augmentation callback failed on sample {index}: {message}")]
    Augment { index: usize, message: String },
    #[error("supervised training: {0}")]
    NonFinite(String),
    /// A setting of an RL stage (PPO, reward-net training, test-time optimisation) that
    /// cannot work; the message names the field and how to fix it.
    #[error("{stage}: {message}")]
    RlConfig {
        stage: &'static str,
        message: String,
    },
    /// A loss or reward of an RL stage became NaN or infinite.
    #[error("{stage}: {message}")]
    RlNonFinite {
        stage: &'static str,
        message: String,
    },
    /// A caller's callback (e.g. the output validity test of test-time optimisation) failed.
    #[error("{stage}: {message}")]
    Callback {
        stage: &'static str,
        message: String,
    },
}
