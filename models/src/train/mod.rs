//! Training utilities: supervised training of the segmentation U-Net ([`supervised`]), the
//! validation Dice it reports ([`dice`]) and global gradient-norm clipping for the RL loops
//! ([`clip`]).

pub mod clip;
pub mod dice;
pub mod supervised;

pub use supervised::{
    EpochStats, Labelled, Progress, SupervisedConfig, TrainOutcome, train_supervised,
};
