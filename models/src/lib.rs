//! burn networks of rl4seg and the utilities around them: the nnU-Net-style 3D U-Net
//! ([`unet`]) shared by the actor, the critic and the reward nets ([`roles`], [`policy`]),
//! run-time device selection ([`device`]), self-describing safetensors checkpoints and the
//! original PyTorch state_dict loader ([`checkpoint`]), full-sequence sliding-window inference
//! ([`sliding`]), losses ([`loss`]), supervised training ([`train`]) and the RL training of
//! RL4Seg3D: PPO, reward-net training with temperature scaling, test-time optimisation ([`rl`]).
//!
//! Tensors are `[batch, channel, T, H, W]`; arrays crossing the crate boundary are `ndarray`
//! `[T, H, W]` sequences (f32 images, u8 labels 0/1/2) or `[C, T, H, W]` maps.

pub mod checkpoint;
pub mod convert;
pub mod device;
pub mod error;
pub mod loss;
pub mod perturb;
pub mod policy;
pub mod rl;
pub mod roles;
pub mod sliding;
pub mod train;
pub mod unet;

pub use device::{Device, DeviceSpec};
pub use error::{CheckpointError, ConfigError, DeviceError, ShapeError, TrainError};
pub use unet::{UNet, UNetConfig};

/// burn, re-exported so downstream crates name the same version and feature set.
pub use burn;
