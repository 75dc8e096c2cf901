//! Augmentation of `[T, H, W]` sequences: the test-time augmentation passes of method.md 7.2 with
//! exact inverses for probability maps (`tta`), training augmentation deterministic from a seed
//! (`train`), the intensity transforms shared by both and the reward-set image distortions of
//! method.md 4.4 (`intensity`), and the per-frame geometric warps underneath (`warp`).

pub mod intensity;
pub mod train;
pub mod tta;
pub mod warp;

pub use intensity::{
    IntensityDistortion, RewardIntensityConfig, additive_noise_renorm, adjust_contrast,
    reward_intensity_distortions,
};
pub use train::{RandomRange, TrainAugParams, TrainAugmentConfig, augment_training};
pub use tta::{SpatialAxis, TtaConfig, TtaSet, TtaTransform, check_tta_config};
pub use warp::{Affine2, rotate_nearest, shift, warp_linear, warp_nearest};
