//! Pure-burn reinforcement learning of RL4Seg3D (method.md 2.2-2.4, 3, 5, 7.3): the PPO
//! losses and trainer for the one-step segmentation bandit ([`ppo`], [`ppo_trainer`],
//! [`ppo_loop`]), the reward path of the rollouts (reward-net maps, per-frame min-max
//! normalisation, min-fusion: [`reward`]), reward-net training with temperature scaling
//! ([`reward_train`], [`temperature`]) and test-time optimisation of one sequence ([`tto`]).
//!
//! Everything here runs on `[B, C, T, H, W]` tensors on the networks' device; sequences come in
//! as `ndarray` `[T, H, W]` views. Rewards are supplied by the caller through a [`RewardFn`]
//! callback, so the caller decides which reward nets are fused and how.

pub mod ppo;
pub mod ppo_loop;
pub mod ppo_trainer;
pub mod reward;
mod reward_eval;
pub mod reward_train;
pub mod temperature;
pub mod tto;
mod window;

use burn::tensor::{Int, Tensor};

use crate::error::TrainError;

pub use ppo::{
    ActorTerms, PpoConfig, PpoStats, Rollout, Selection, actor_loss, critic_loss, nearest_resize,
};
pub use ppo_loop::{PpoEpoch, PpoOutcome, PpoProgress, ValScore, ValidityFn, train_ppo, validate};
pub use ppo_trainer::PpoTrainer;
pub use reward::{centre_per_class, fuse_rewards, normalise_per_frame, reward_nets_map};
pub use reward_train::{
    RewardEpoch, RewardLoss, RewardOutcome, RewardProgress, RewardSample, RewardTrainConfig,
    reward_loss, train_reward,
};
pub use temperature::{fit_temperature, fit_temperature_two_class, temperature_nll};
pub use tto::{
    OutputValidityFn, PassScore, TtoConfig, TtoJudges, TtoOutcome, TtoScore, adjust_contrast,
    tto_sequence,
};

/// The reward of a rollout: `(image [B, 1, T, H, W], actions [B, T, H, W]) -> reward
/// [B, T, H, W]` in [0, 1] (1 = the label is right). The caller fuses its reward nets here,
/// e.g. with [`reward_nets_map`].
pub type RewardFn<'a> = dyn FnMut(Tensor<5>, Tensor<4, Int>) -> Result<Tensor<4>, TrainError> + 'a;
