//! The PPO trainer of method.md 3: it owns the actor and the critic in training mode (autodiff
//! on), the frozen reference policy and the two Adam optimisers, and runs one PPO step on a
//! batch of windows: a no-grad rollout (argmax or sampled actions), the reward from the
//! caller's callback, then `k_steps` updates of the actor and the critic, each with global
//! gradient-norm clipping.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};
use rand_chacha::ChaCha8Rng;

use super::RewardFn;
use super::ppo::{ActorTerms, PpoConfig, PpoStats, Rollout, STAGE, actor_loss, critic_loss};
use crate::error::{ShapeError, TrainError};
use crate::policy::{action_log_prob, entropy, greedy, sample};
use crate::roles::critic_values;
use crate::train::clip::clip_grad_norm;
use crate::unet::UNet;

/// Actor, critic, reference policy and optimisers of a PPO run.
pub struct PpoTrainer {
    actor: UNet,
    critic: UNet,
    reference: UNet,
    actor_optim: ModuleOptimizer,
    critic_optim: ModuleOptimizer,
    config: PpoConfig,
}

impl std::fmt::Debug for PpoTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpoTrainer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn adam() -> ModuleOptimizer {
    // PyTorch's Adam defaults (eps 1e-8), as the original's optimisers.
    AdamConfig::new().with_epsilon(1e-8).init()
}

impl PpoTrainer {
    /// Take the networks (built on a plain device; autodiff is switched on here for actor and
    /// critic) and check that they fit together: the actor and the reference map 1 channel to
    /// the same number of classes (>= 2), the critic maps 1 channel to 1 value.
    ///
    /// `reference` is the frozen anchor `pi_ref` of the divergence penalty (method.md 2.2: the
    /// pretrained or initial policy, never the rollout policy).
    pub fn new(
        actor: UNet,
        critic: UNet,
        reference: UNet,
        config: PpoConfig,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let (a, c, r) = (actor.config(), critic.config(), reference.config());
        let fail = |m: String| {
            Err(TrainError::RlConfig {
                stage: STAGE,
                message: m,
            })
        };
        if a.in_channels != 1 || a.out_channels < 2 {
            return fail(format!(
                "the actor maps {} -> {} channels; build it with roles::actor_config (1 -> 3)",
                a.in_channels, a.out_channels
            ));
        }
        if (r.in_channels, r.out_channels) != (a.in_channels, a.out_channels) {
            return fail(format!(
                "the reference policy maps {} -> {} channels but the actor {} -> {}; use a copy of the pretrained actor",
                r.in_channels, r.out_channels, a.in_channels, a.out_channels
            ));
        }
        if (c.in_channels, c.out_channels) != (1, 1) {
            return fail(format!(
                "the critic maps {} -> {} channels; build it with roles::critic_config (1 -> 1)",
                c.in_channels, c.out_channels
            ));
        }
        Ok(Self {
            actor: actor.train(),
            critic: critic.train(),
            reference: reference.valid(),
            actor_optim: adam(),
            critic_optim: adam(),
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    /// An inference copy of the current actor.
    pub fn actor(&self) -> UNet {
        self.actor.valid()
    }

    /// An inference copy of the current critic.
    pub fn critic(&self) -> UNet {
        self.critic.valid()
    }

    /// The actor and the critic, in inference mode.
    pub fn into_parts(self) -> (UNet, UNet) {
        (self.actor.valid(), self.critic.valid())
    }

    /// Rollout actions of the current policy (no grad).
    ///
    /// # Shapes
    /// - image `[B, 1, T, H, W]` -> actions `[B, T, H, W]`
    pub fn act(
        &self,
        image: Tensor<5>,
        rollout: Rollout,
        rng: &mut ChaCha8Rng,
    ) -> Result<Tensor<4, Int>, ShapeError> {
        let logits = self
            .actor
            .valid()
            .forward(image)?
            .mul_scalar(1.0 / self.config.temperature);
        Ok(match rollout {
            Rollout::Argmax => greedy(logits),
            Rollout::Sample => sample(logits, rng),
        })
    }

    /// One PPO step on a batch of windows (method.md 3): rollout without gradient
    /// (`config.rollout`), reward `reward(image, actions)`, `logp_old`, then `k_steps` times:
    /// actor loss ([`actor_loss`]) -> backward -> clip -> Adam step, critic loss
    /// ([`critic_loss`]) -> backward -> clip -> Adam step. Returns the statistics averaged
    /// over the `k_steps` updates.
    ///
    /// # Shapes
    /// - image `[B, 1, T, H, W]` on the networks' plain device; the callback gets it and the
    ///   actions `[B, T, H, W]` and returns the reward `[B, T, H, W]` in [0, 1].
    ///
    /// # Errors
    /// A shape the networks cannot take, a reward of the wrong shape, a callback error, or a
    /// reward or loss that is NaN or infinite ([`TrainError::RlNonFinite`]).
    pub fn step(
        &mut self,
        image: Tensor<5>,
        reward: &mut RewardFn<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<PpoStats, TrainError> {
        let image = image.detach().without_autodiff();
        let [b, _, t, h, w] = image.dims();
        self.actor.check_input(image.dims())?;

        // Rollout (no grad). logp_old is the rollout policy's, which at k = 0 equals logp.
        // Every distribution is the tempered policy `softmax(logits / T)`.
        let inv_t = 1.0 / self.config.temperature;
        let logits = self.actor.valid().forward(image.clone())?.mul_scalar(inv_t);
        let actions = match self.config.rollout {
            Rollout::Argmax => greedy(logits.clone()),
            Rollout::Sample => sample(logits.clone(), rng),
        };
        let logp_old = action_log_prob(logits, actions.clone())?;
        let r = reward(image.clone(), actions.clone())?
            .detach()
            .without_autodiff();
        if r.dims() != [b, t, h, w] {
            return Err(ShapeError::Mismatch {
                what: "PPO reward callback output vs actions",
                left: r.dims().to_vec(),
                right: vec![b, t, h, w],
                hint: "the reward callback must return a [B, T, H, W] map like the actions",
            }
            .into());
        }
        let mean_reward = r.clone().mean().into_scalar::<f32>();
        if !mean_reward.is_finite() {
            return Err(TrainError::RlNonFinite {
                stage: STAGE,
                message: format!(
                    "the reward map holds NaN or infinite values (mean {mean_reward}); check the reward nets and the per-frame normalisation"
                ),
            });
        }
        let logp_ref = action_log_prob(
            self.reference.forward(image.clone())?.mul_scalar(inv_t),
            actions.clone(),
        )?;

        let mut all = Vec::with_capacity(self.config.k_steps);
        for k in 0..self.config.k_steps {
            let logits = self.actor.forward(image.clone())?.mul_scalar(inv_t);
            let logp = action_log_prob(logits.clone(), actions.clone())?;
            let values = critic_values(&self.critic, image.clone())?;
            let Some(value) = values.first().cloned() else {
                return Err(ShapeError::Empty {
                    what: "critic output",
                    shape: vec![0],
                }
                .into());
            };
            let terms = ActorTerms {
                logp,
                logp_old: logp_old.clone(),
                logp_ref: logp_ref.clone(),
                entropy: entropy(logits),
                reward: r.clone(),
                value,
            };
            let (loss, mut stats) = actor_loss(
                terms,
                self.config.clip,
                self.config.entropy_coeff,
                self.config.divergence_coeff,
            )?;
            check_finite("actor", stats.actor_loss, k)?;
            let mut grads = GradientsParams::from_grads(loss.backward(), &self.actor);
            if self.config.grad_clip > 0.0 {
                clip_grad_norm(&self.actor, &mut grads, self.config.grad_clip);
            }
            self.actor = self
                .actor_optim
                .step(self.config.actor_lr, self.actor.clone(), grads);

            let c_loss = critic_loss(&values, r.clone())?;
            stats.critic_loss = f64::from(c_loss.clone().detach().into_scalar::<f32>());
            check_finite("critic", stats.critic_loss, k)?;
            let mut grads = GradientsParams::from_grads(c_loss.backward(), &self.critic);
            if self.config.grad_clip > 0.0 {
                clip_grad_norm(&self.critic, &mut grads, self.config.grad_clip);
            }
            self.critic = self
                .critic_optim
                .step(self.config.critic_lr, self.critic.clone(), grads);
            all.push(stats);
        }
        Ok(PpoStats::mean(&all))
    }
}

fn check_finite(which: &str, value: f64, k: usize) -> Result<(), TrainError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(TrainError::RlNonFinite {
            stage: STAGE,
            message: format!(
                "the {which} loss became {value} at update {k}; lower `{which}_lr` or `grad_clip`"
            ),
        })
    }
}
