//! PPO and TTO of `models::rl` on hand-made tensors and tiny networks: the actor loss against
//! hand-computed values (clipping on both sides, entropy bonus, divergence penalty), the
//! critic's deep-supervision weighting and nearest downsampling, a PPO step that learns a
//! simple reward, the epoch loop's determinism and the TTO contract.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use models::UNet;
use models::convert::{float_values, int_values};
use models::error::TrainError;
use models::policy::{greedy, probs};
use models::rl::{
    ActorTerms, PassScore, PpoConfig, PpoOutcome, PpoTrainer, Rollout, Selection, TtoConfig,
    TtoJudges, TtoOutcome, TtoScore, actor_loss, critic_loss, nearest_resize, reward_nets_map,
    train_ppo, tto_sequence,
};
use models::roles::{actor_config, critic_config, reward_config};
use ndarray::Array3;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn t4(values: &[f64], device: &Device) -> Tensor<4> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [1, 1, 1, values.len()]), device)
}

#[test]
fn actor_loss_matches_hand_values_with_clipping_entropy_and_divergence() {
    let device = Device::flex();
    let p = [0.6f64, 0.2, 0.3, 0.5];
    let p_ref = [0.5f64, 0.25, 0.3, 0.4];
    let ratio = [1.5f64, 0.5, 1.5, 1.0];
    let reward = [0.9f64, 0.1, 0.2, 0.7];
    let value = [0.3f64, 0.6, 0.5, 0.5];
    let h = [0.5f64, 1.0, 0.8, 0.2];
    let (clip, c_ent, beta) = (0.2, 0.15, 0.5);

    let logp: Vec<f64> = p.iter().map(|x| x.ln()).collect();
    let logp_ref: Vec<f64> = p_ref.iter().map(|x| x.ln()).collect();
    let logp_old: Vec<f64> = logp.iter().zip(ratio).map(|(l, r)| l - r.ln()).collect();
    let adv: Vec<f64> = (0..4)
        .map(|i| reward[i] - beta * (logp[i] - logp_ref[i]) - value[i])
        .collect();
    // The four cases: A > 0 with ratio 1.5 (clipped to 1.2), A < 0 with ratio 0.5 (clipped to
    // 0.8), A < 0 with ratio 1.5 (unclipped: the pessimistic min keeps 1.5 A), ratio 1.
    assert!(
        adv[0] > 0.0 && adv[1] < 0.0 && adv[2] < 0.0 && adv[3] > 0.0,
        "{adv:?}"
    );
    let surrogate = [1.2 * adv[0], 0.8 * adv[1], 1.5 * adv[2], adv[3]];
    let expected = -surrogate.iter().sum::<f64>() / 4.0 - c_ent * h.iter().sum::<f64>() / 4.0;

    let ad = device.clone().autodiff();
    let logp_t = t4(&logp, &device).autodiff().require_grad();
    let terms = ActorTerms {
        logp: logp_t.clone(),
        logp_old: t4(&logp_old, &device),
        logp_ref: t4(&logp_ref, &device),
        entropy: t4(&h, &ad),
        reward: t4(&reward, &device),
        value: t4(&value, &device),
    };
    let (loss, stats) = actor_loss(terms, clip, c_ent, beta).expect("shapes");
    let got = f64::from(float_values(loss.clone())[0]);
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    assert!((stats.actor_loss - expected).abs() < 1e-5);
    assert!((stats.ratio - 1.125).abs() < 1e-5, "{}", stats.ratio);
    let kl: f64 = (0..4).map(|i| logp[i] - logp_ref[i]).sum::<f64>() / 4.0;
    assert!((stats.approx_kl - kl).abs() < 1e-6);
    assert!((stats.advantage - adv.iter().sum::<f64>() / 4.0).abs() < 1e-5);
    assert!((stats.entropy - 0.625).abs() < 1e-6 && (stats.reward - 0.475).abs() < 1e-6);
    assert_eq!(stats.critic_loss, 0.0);

    // Clipped voxels get no gradient; the others -ratio A / N (the divergence penalty is
    // inside the no-grad advantage).
    let grads = loss.backward();
    let g = float_values(logp_t.grad(&grads).expect("gradient"));
    let want = [0.0, 0.0, -1.5 * adv[2] / 4.0, -adv[3] / 4.0];
    for (a, b) in g.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{g:?} vs {want:?}");
    }

    let bad = ActorTerms {
        logp: t4(&logp, &device),
        logp_old: t4(&logp_old, &device),
        logp_ref: t4(&logp_ref, &device),
        entropy: t4(&h, &device),
        reward: t4(&reward[..3], &device),
        value: t4(&value, &device),
    };
    let e = actor_loss(bad, clip, c_ent, beta)
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("reward map"), "{e}");
}

#[test]
fn critic_loss_weights_heads_and_downsamples_by_nearest_neighbour() {
    let device = Device::flex();
    let v0: Tensor<4> = Tensor::full([1, 4, 4, 4], 0.5, &device);
    let v1: Tensor<4> = Tensor::full([1, 4, 2, 2], 0.25, &device);
    let v2: Tensor<4> = Tensor::full([1, 2, 1, 1], 1.0, &device);
    let r: Tensor<4> = Tensor::zeros([1, 4, 4, 4], &device);
    let loss = float_values(critic_loss(&[v0, v1, v2], r).expect("loss"))[0];
    let expected = (0.25 + 0.5 * 0.0625 + 0.25 * 1.0) / 1.875;
    assert!(
        (f64::from(loss) - expected).abs() < 1e-6,
        "{loss} vs {expected}"
    );

    // Index-coded map: value = 100 t + 10 h + w.
    let values: Vec<f32> = (0..64)
        .map(|i| (100 * (i / 16) + 10 * ((i / 4) % 4) + i % 4) as f32)
        .collect();
    let x: Tensor<4> = Tensor::from_data(TensorData::new(values, [1, 4, 4, 4]), &device);
    let down = float_values(nearest_resize(x.clone(), [2, 2, 2]).expect("resize"));
    assert_eq!(down, vec![0.0, 2.0, 20.0, 22.0, 200.0, 202.0, 220.0, 222.0]);
    // Non-integer ratio 4 -> 3: floor(i * 4 / 3) = 0, 1, 2.
    let w = float_values(nearest_resize(x, [1, 1, 3]).expect("resize"));
    assert_eq!(w, vec![0.0, 1.0, 2.0]);
    assert!(critic_loss(&[], Tensor::zeros([1, 1, 1, 1], &device)).is_err());
}

struct Nets {
    actor: UNet,
    critic: UNet,
    reference: UNet,
}

fn tiny_nets(device: &Device) -> Nets {
    let arch = common::tiny_config(2);
    let actor = actor_config(&arch).init_seeded(device, 1).expect("actor");
    let reference = actor_config(&arch)
        .init_seeded(device, 1)
        .expect("reference");
    let critic = critic_config(&arch).init_seeded(device, 2).expect("critic");
    Nets {
        actor,
        critic,
        reference,
    }
}

fn noise_image(t: usize, seed: u64) -> Array3<f32> {
    common::synthetic_sequence(t, 16, 16, seed).0
}

/// Reward 1 where the action is class 2 (myocardium), else 0.
fn class_two_reward(_image: Tensor<5>, actions: Tensor<4, Int>) -> Result<Tensor<4>, TrainError> {
    Ok(actions.equal_elem(2).float())
}

fn mean_class_two_probability(actor: &UNet, x: Tensor<5>) -> f64 {
    let p = probs(actor.forward(x).expect("forward")).narrow(1, 2, 1);
    f64::from(float_values(p.mean())[0])
}

#[test]
fn a_ppo_step_raises_the_probability_of_the_rewarded_class() {
    let device = Device::flex();
    let nets = tiny_nets(&device);
    let image = noise_image(4, 5);
    let x = models::convert::image_to_tensor(image.view(), &device);
    let before = mean_class_two_probability(&nets.actor, x.clone());
    let config = PpoConfig {
        rollout: Rollout::Sample,
        entropy_coeff: 0.0,
        divergence_coeff: 0.0,
        ..PpoConfig::default()
    };
    let mut trainer =
        PpoTrainer::new(nets.actor, nets.critic, nets.reference, config).expect("trainer");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut reward = class_two_reward;
    let stats = trainer
        .step(x.clone(), &mut reward, &mut rng)
        .expect("step");
    let after = mean_class_two_probability(&trainer.actor(), x);
    assert!(after > before + 0.01, "p(class 2) {before} -> {after}");
    assert!(stats.reward > 0.0 && stats.reward < 1.0, "{stats:?}");
    assert!(
        stats.critic_loss > 0.0 && stats.actor_loss.is_finite(),
        "{stats:?}"
    );
    // The log-prob ratio moves away from 1 over the k updates.
    assert!((stats.ratio - 1.0).abs() > 1e-4, "{stats:?}");
}

#[test]
fn a_tempered_policy_samples_the_argmax_where_it_is_sure_and_trains_on_its_own_log_probs() {
    let device = Device::flex();
    let x = models::convert::image_to_tensor(noise_image(4, 5).view(), &device);
    let trainer = |temperature: f64| {
        let nets = tiny_nets(&device);
        // One update: its statistics are those of the rollout policy itself.
        let config = PpoConfig {
            rollout: Rollout::Sample,
            temperature,
            k_steps: 1,
            ..PpoConfig::default()
        };
        PpoTrainer::new(nets.actor, nets.critic, nets.reference, config).expect("trainer")
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let greedy_actions = int_values(
        trainer(1.0)
            .act(x.clone(), Rollout::Argmax, &mut rng)
            .expect("act"),
    );
    let cold = int_values(
        trainer(1e-4)
            .act(x.clone(), Rollout::Sample, &mut rng)
            .expect("act"),
    );
    let warm = int_values(
        trainer(1.0)
            .act(x.clone(), Rollout::Sample, &mut rng)
            .expect("act"),
    );
    assert_eq!(cold, greedy_actions, "T -> 0 samples the argmax");
    assert_ne!(
        warm, greedy_actions,
        "T = 1 samples the untrained net's near-uniform policy"
    );
    // The log-probabilities PPO trains on are the tempered policy's: near 0 when it is cold,
    // near -ln 3 for the untrained net at T = 1.
    let mut reward = class_two_reward;
    let cold = trainer(1e-3)
        .step(x.clone(), &mut reward, &mut rng)
        .expect("step");
    let warm = trainer(1.0).step(x, &mut reward, &mut rng).expect("step");
    assert!(cold.log_prob > -0.05, "{cold:?}");
    assert!(warm.log_prob < -0.5, "{warm:?}");
    for bad in [0.0, -1.0, f64::NAN] {
        let config = PpoConfig {
            temperature: bad,
            ..PpoConfig::default()
        };
        let e = config.validate().expect_err("bad temperature").to_string();
        assert!(e.contains("temperature"), "{e}");
    }
}

#[test]
fn the_trainer_rejects_mismatched_networks_and_rewards() {
    let device = Device::flex();
    let nets = tiny_nets(&device);
    let wrong_critic = reward_config(&common::tiny_config(2))
        .init(&device)
        .expect("net");
    let e = PpoTrainer::new(
        nets.actor.clone(),
        wrong_critic,
        nets.reference.clone(),
        PpoConfig::default(),
    )
    .expect_err("must fail")
    .to_string();
    assert!(e.contains("critic_config"), "{e}");
    let bad = PpoConfig {
        k_steps: 0,
        ..PpoConfig::default()
    };
    let e = PpoTrainer::new(
        nets.actor.clone(),
        nets.critic.clone(),
        nets.reference.clone(),
        bad,
    )
    .expect_err("must fail")
    .to_string();
    assert!(e.contains("k_steps"), "{e}");

    let mut trainer = PpoTrainer::new(
        nets.actor,
        nets.critic,
        nets.reference,
        PpoConfig::default(),
    )
    .expect("trainer");
    let x = models::convert::image_to_tensor(noise_image(4, 1).view(), &device);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut wrong_shape = |_: Tensor<5>, _: Tensor<4, Int>| -> Result<Tensor<4>, TrainError> {
        Ok(Tensor::zeros([1, 4, 16, 8], &Device::flex()))
    };
    let e = trainer
        .step(x.clone(), &mut wrong_shape, &mut rng)
        .expect_err("must fail");
    assert!(e.to_string().contains("[B, T, H, W]"), "{e}");
    let mut nan = |_: Tensor<5>, a: Tensor<4, Int>| -> Result<Tensor<4>, TrainError> {
        Ok(a.float().mul_scalar(f32::NAN))
    };
    let e = trainer.step(x, &mut nan, &mut rng).expect_err("must fail");
    assert!(matches!(e, TrainError::RlNonFinite { .. }), "{e}");
}

#[test]
fn train_ppo_is_deterministic_and_keeps_the_best_epoch() {
    let device = Device::flex();
    let train: Vec<Array3<f32>> = (0..2).map(|s| noise_image(6, s)).collect();
    let val = [noise_image(6, 9)];
    let train_views: Vec<_> = train.iter().map(|a| a.view()).collect();
    let val_views: Vec<_> = val.iter().map(|a| a.view()).collect();
    let config = PpoConfig {
        epochs: 2,
        k_steps: 2,
        ..PpoConfig::default()
    };
    let run = || {
        let nets = tiny_nets(&device);
        let mut reward = class_two_reward;
        let mut reports = 0;
        let outcome = train_ppo(
            nets.actor,
            nets.critic,
            nets.reference,
            &train_views,
            &val_views,
            &config,
            3,
            &mut reward,
            None,
            |_| reports += 1,
        )
        .expect("train");
        (outcome, reports)
    };
    let (a, reports) = run();
    let (b, _) = run();
    // 2 epochs x (1 step per sequence x 2 sequences + the epoch report).
    assert_eq!(reports, 6);
    assert_eq!(a.history.len(), 2);
    assert_eq!(a.history, b.history);
    let best = a
        .history
        .iter()
        .filter_map(|e| e.val.map(|v| v.reward))
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(a.best_val.map(|v| v.reward), Some(best));
    assert!(a.initial_val.is_some_and(|v| v.valid_fraction.is_none()));
    let x = models::convert::image_to_tensor(val[0].view(), &device).narrow(2, 0, 4);
    assert_eq!(
        float_values(a.actor.forward(x.clone()).expect("a")),
        float_values(b.actor.forward(x).expect("b"))
    );
}

#[test]
fn ppo_config_round_trips_and_rejects_unknown_fields() {
    let config = PpoConfig::default();
    assert_eq!((config.clip, config.k_steps), (0.2, 4));
    assert_eq!((config.actor_lr, config.critic_lr), (0.01, 0.005));
    assert_eq!(config.rollout, Rollout::Argmax);
    let json = serde_json::to_string(&config).expect("json");
    assert!(json.contains("\"rollout\":\"argmax\""), "{json}");
    let back: PpoConfig = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, config);
    let sample: PpoConfig = serde_json::from_str(r#"{"rollout": "sample"}"#).expect("parse");
    assert_eq!(sample.rollout, Rollout::Sample);
    assert!(serde_json::from_str::<PpoConfig>(r#"{"clips": 0.1}"#).is_err());
    // The temperature is written only when it is not 1, so cache keys made before it existed
    // stay valid.
    assert!(!json.contains("temperature"), "{json}");
    let tempered = PpoConfig {
        temperature: 0.5,
        ..PpoConfig::default()
    };
    let json = serde_json::to_string(&tempered).expect("json");
    assert!(json.contains("\"temperature\":0.5"), "{json}");
    assert_eq!(
        serde_json::from_str::<PpoConfig>(&json).expect("parse"),
        tempered
    );
}

#[test]
fn reward_nets_are_fused_by_their_minimum() {
    let device = Device::flex();
    let arch = common::tiny_config(2);
    let n0 = reward_config(&arch).init_seeded(&device, 4).expect("net");
    let n1 = reward_config(&arch).init_seeded(&device, 5).expect("net");
    let x = models::convert::image_to_tensor(noise_image(4, 2).view(), &device);
    let a: Tensor<4, Int> = Tensor::ones([1, 4, 16, 16], &device);
    let fused = float_values(
        reward_nets_map(&[(&n0, 2.0), (&n1, 1.0)], x.clone(), a.clone(), false).expect("map"),
    );
    let r0 = float_values(reward_nets_map(&[(&n0, 2.0)], x.clone(), a.clone(), false).expect("r0"));
    let r1 = float_values(reward_nets_map(&[(&n1, 1.0)], x.clone(), a.clone(), false).expect("r1"));
    for ((f, p), q) in fused.iter().zip(&r0).zip(&r1) {
        assert_eq!(*f, p.min(*q));
    }
    let normalised =
        reward_nets_map(&[(&n0, 1.0), (&n1, 1.0)], x.clone(), a.clone(), true).expect("norm");
    let v = float_values(normalised);
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    assert!(reward_nets_map(&[(&n0, 0.0)], x, a, false).is_err());
}

/// [`tto_sequence`] on a copy of the tiny actor, with `V = 0` (no critic).
fn tto_without_critic(
    nets: &Nets,
    image: &Array3<f32>,
    config: &TtoConfig,
    judges: TtoJudges<'_, '_>,
    rng: &mut ChaCha8Rng,
) -> Result<TtoOutcome, TrainError> {
    tto_sequence(
        nets.actor.clone(),
        &nets.reference,
        None,
        image.view(),
        config,
        judges,
        rng,
    )
}

#[test]
fn tto_keeps_the_best_pass_and_leaves_the_callers_actor_alone() {
    let device = Device::flex();
    let nets = tiny_nets(&device);
    let image = noise_image(6, 8); // chunks at frames 0 and 2 (the last 4 frames)
    let probe = models::convert::image_to_tensor(image.view(), &device).narrow(2, 0, 4);
    let kept = float_values(nets.actor.forward(probe.clone()).expect("forward"));
    let config = TtoConfig {
        lr: 0.01,
        ..TtoConfig::default()
    };
    let (mut reward, mut score) = (class_two_reward, class_two_reward);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let outcome = tto_sequence(
        nets.actor.clone(),
        &nets.reference,
        Some(&nets.critic),
        image.view(),
        &config,
        TtoJudges {
            rollout: &mut reward,
            score: &mut score,
            validity: None,
        },
        &mut rng,
    )
    .expect("tto");
    assert_eq!(outcome.passes, 5);
    assert_eq!(outcome.scores.len(), 5);
    assert_eq!(outcome.initial_score, outcome.scores[0]);
    assert!(
        outcome.best_score.reward >= outcome.initial_score.reward,
        "{outcome:?}"
    );
    assert_eq!(outcome.best_score, outcome.scores[outcome.best_pass]);
    assert!(
        outcome.best_pass > 0,
        "no pass improved: {:?}",
        outcome.scores
    );
    // The caller's copy is untouched; the returned actor moved.
    assert_eq!(
        float_values(nets.actor.forward(probe.clone()).expect("forward")),
        kept
    );
    assert_ne!(
        float_values(outcome.actor.forward(probe).expect("forward")),
        kept
    );

    let short = noise_image(3, 1);
    let e = tto_without_critic(
        &nets,
        &short,
        &config,
        TtoJudges {
            rollout: &mut reward,
            score: &mut score,
            validity: None,
        },
        &mut rng,
    )
    .expect_err("must fail")
    .to_string();
    assert!(e.contains("window"), "{e}");
}

#[test]
fn tto_prediction_score_is_the_worst_frame_reward_of_the_argmax_on_the_original_chunks() {
    let device = Device::flex();
    let nets = tiny_nets(&device);
    let image = noise_image(6, 8); // chunks at frames 0 and 2
    let config = TtoConfig {
        lr: 0.01,
        iterations: 2,
        score: TtoScore::Prediction,
        ..TtoConfig::default()
    };
    // Expected initial score, computed here: class-2 fraction of each argmax frame, worst one.
    let x = models::convert::image_to_tensor(image.view(), &device);
    let mut expected = f64::INFINITY;
    for start in [0, 2] {
        let labels = greedy(
            nets.actor
                .forward(x.clone().narrow(2, start, 4))
                .expect("forward"),
        );
        let [_, t, h, w] = labels.dims();
        let values = models::convert::int_values(labels);
        for f in 0..t {
            let frame = &values[f * h * w..(f + 1) * h * w];
            let share = frame.iter().filter(|&&v| v == 2).count() as f64 / (h * w) as f64;
            expected = expected.min(share);
        }
    }
    let mut reward = class_two_reward;
    let mut seen: Vec<Vec<f32>> = Vec::new();
    let mut score = |chunk: Tensor<5>, actions: Tensor<4, Int>| {
        seen.push(float_values(chunk.clone()));
        class_two_reward(chunk, actions)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let outcome = tto_without_critic(
        &nets,
        &image,
        &config,
        TtoJudges {
            rollout: &mut reward,
            score: &mut score,
            validity: None,
        },
        &mut rng,
    )
    .expect("tto");
    assert!(
        (outcome.initial_score.reward - expected).abs() < 1e-6,
        "{:?} vs {expected}",
        outcome.initial_score
    );
    assert_eq!(outcome.initial_score.valid, 0.0);
    assert_eq!(outcome.scores.len(), 3);
    assert_eq!(outcome.best_score, outcome.scores[outcome.best_pass]);
    assert!(
        outcome
            .scores
            .iter()
            .all(|s| s.reward <= outcome.best_score.reward)
    );
    // The scorer saw the un-augmented chunks: 2 per pass, 3 passes.
    assert_eq!(seen.len(), 6);
    let chunk0 = float_values(x.narrow(2, 0, 4));
    assert_eq!(seen[0], chunk0);
}

#[test]
fn tto_validity_score_keeps_the_pass_with_the_most_valid_frames_and_needs_a_validity_test() {
    let device = Device::flex();
    let nets = tiny_nets(&device);
    let image = noise_image(6, 8);
    let config = TtoConfig {
        lr: 0.01,
        iterations: 3,
        score: TtoScore::Validity,
        ..TtoConfig::default()
    };
    // A scripted judge of the caller's output: pass 2 is the first to be the most valid,
    // whatever the rewards (pass 3 ties and loses). It is called once per pass, with the
    // pass's weights: pass 0 with the input weights.
    let script = [0.5, 0.5, 0.75, 0.75];
    let probe = models::convert::image_to_tensor(image.view(), &device).narrow(2, 0, 4);
    let input_output = float_values(nets.actor.forward(probe.clone()).expect("forward"));
    let mut outputs = Vec::new();
    let mut validity = |actor: &UNet| -> Result<f64, TrainError> {
        outputs.push(float_values(actor.forward(probe.clone())?));
        Ok(script[outputs.len() - 1])
    };
    let (mut reward, mut score) = (class_two_reward, class_two_reward);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let outcome = tto_without_critic(
        &nets,
        &image,
        &config,
        TtoJudges {
            rollout: &mut reward,
            score: &mut score,
            validity: Some(&mut validity),
        },
        &mut rng,
    )
    .expect("tto");
    assert_eq!(outputs.len(), 4);
    assert_eq!(outputs[0], input_output);
    assert_ne!(
        outputs[1], input_output,
        "pass 1 is judged with updated weights"
    );
    let valid: Vec<f64> = outcome.scores.iter().map(|s| s.valid).collect();
    assert_eq!(valid, script);
    assert_eq!(outcome.best_pass, 2, "{:?}", outcome.scores);
    assert_eq!(outcome.best_score.valid, 0.75);
    // Only strictly more valid frames replace the kept pass; the reward does not count.
    let kept = PassScore {
        valid: 0.5,
        reward: 0.9,
    };
    let richer = PassScore {
        valid: 0.5,
        reward: 0.95,
    };
    let valid = PassScore {
        valid: 0.75,
        reward: 0.1,
    };
    assert!(!TtoScore::Validity.prefers(richer, kept));
    assert!(TtoScore::Validity.prefers(valid, kept));
    assert!(TtoScore::Prediction.prefers(richer, kept));

    let e = tto_without_critic(
        &nets,
        &image,
        &config,
        TtoJudges {
            rollout: &mut reward,
            score: &mut score,
            validity: None,
        },
        &mut rng,
    )
    .expect_err("must fail")
    .to_string();
    assert!(e.contains("validity") && e.contains("prediction"), "{e}");
    // A failing or non-finite judgement is an error of TTO, not a silent pick.
    for bad in [Err("no disk space".to_string()), Ok(f64::NAN)] {
        let mut judge = |_: &UNet| {
            bad.clone().map_err(|message| TrainError::Callback {
                stage: "test",
                message,
            })
        };
        let e = tto_without_critic(
            &nets,
            &image,
            &config,
            TtoJudges {
                rollout: &mut reward,
                score: &mut score,
                validity: Some(&mut judge),
            },
            &mut rng,
        )
        .expect_err("must fail")
        .to_string();
        assert!(e.contains("no disk space") || e.contains("NaN"), "{e}");
    }
}

/// Trains 2 epochs with a validity test that returns `script[k]` at its k-th call (one
/// validation sequence: call 0 judges the input weights, calls 1 and 2 the two epochs).
fn run_with_validity(selection: Selection, keep_input: bool, script: [f64; 3]) -> PpoOutcome {
    let device = Device::flex();
    let train: Vec<Array3<f32>> = (0..2).map(|s| noise_image(6, s)).collect();
    let val = [noise_image(6, 9)];
    let train_views: Vec<_> = train.iter().map(|a| a.view()).collect();
    let val_views: Vec<_> = val.iter().map(|a| a.view()).collect();
    let config = PpoConfig {
        epochs: 2,
        k_steps: 1,
        selection,
        keep_input,
        ..PpoConfig::default()
    };
    let nets = tiny_nets(&device);
    let mut reward = class_two_reward;
    let mut calls = 0usize;
    let mut frames_seen = Vec::new();
    let mut validity = |labels: &Array3<u8>| {
        frames_seen.push(labels.dim());
        calls += 1;
        script[calls - 1]
    };
    let outcome = train_ppo(
        nets.actor,
        nets.critic,
        nets.reference,
        &train_views,
        &val_views,
        &config,
        3,
        &mut reward,
        Some(&mut validity),
        |_| {},
    )
    .expect("train");
    // Each call sees the sequence's windows stacked: 6 frames -> windows at 0 and 2 -> 8 frames.
    assert_eq!(frames_seen, vec![(8, 16, 16); 3]);
    outcome
}

#[test]
fn validity_selection_keeps_the_most_valid_epoch_or_the_input_weights() {
    let valid = |o: &PpoOutcome| o.best_val.and_then(|v| v.valid_fraction);
    // The most valid epoch wins whatever the rewards.
    let o = run_with_validity(Selection::Validity, false, [0.1, 0.9, 0.2]);
    assert_eq!((o.best_epoch, valid(&o)), (1, Some(0.9)));
    let o = run_with_validity(Selection::Validity, false, [0.1, 0.2, 0.9]);
    assert_eq!(o.best_epoch, 2);
    // Without keep_input a trained epoch is kept even when the input was more valid ...
    let o = run_with_validity(Selection::Validity, false, [1.0, 0.5, 0.25]);
    assert_eq!(o.best_epoch, 1);
    // ... with it, the input weights come back unchanged.
    let o = run_with_validity(Selection::Validity, true, [1.0, 0.5, 0.25]);
    assert_eq!((o.best_epoch, valid(&o)), (0, Some(1.0)));
    let device = Device::flex();
    let input = tiny_nets(&device).actor;
    let x = models::convert::image_to_tensor(noise_image(6, 9).view(), &device).narrow(2, 0, 4);
    assert_eq!(
        float_values(o.actor.forward(x.clone()).expect("kept")),
        float_values(input.forward(x).expect("input"))
    );
    // Reward selection ignores the validity test.
    let o = run_with_validity(Selection::Reward, false, [0.1, 0.9, 0.2]);
    let best = o
        .history
        .iter()
        .max_by(|a, b| {
            a.val
                .map(|v| v.reward)
                .partial_cmp(&b.val.map(|v| v.reward))
                .expect("finite")
        })
        .map(|e| e.epoch);
    assert_eq!(Some(o.best_epoch), best);
}

#[test]
fn validity_selection_without_a_validity_test_is_a_config_error() {
    let device = Device::flex();
    let nets = tiny_nets(&device);
    let train = [noise_image(6, 0)];
    let views: Vec<_> = train.iter().map(|a| a.view()).collect();
    let config = PpoConfig {
        epochs: 1,
        selection: Selection::Validity,
        ..PpoConfig::default()
    };
    let mut reward = class_two_reward;
    let e = train_ppo(
        nets.actor,
        nets.critic,
        nets.reference,
        &views,
        &views,
        &config,
        3,
        &mut reward,
        None,
        |_| {},
    )
    .expect_err("must fail");
    assert!(e.to_string().contains("selection"), "{e}");
}
