//! Reward-net training of `models::rl` on a tiny synthetic set whose correctness target is a
//! simple function of the label map (0 exactly where the label is 2), temperature scaling on
//! synthetic logits with a known temperature, and the input checks.

mod common;

use burn::tensor::Device;
use models::rl::{
    RewardSample, RewardTrainConfig, fit_temperature, normalise_per_frame, train_reward,
};
use models::roles::{actor_config, reward_config};
use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// (image, seg, target) triples `[4, 16, 16]`: seg is blocky random labels 0/1/2, target 0
/// where seg == 2.
fn synthetic_set(n: usize, seed: u64) -> Vec<(Array3<f32>, Array3<u8>, Array3<f32>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let (image, _) = common::synthetic_sequence(4, 16, 16, seed * 100 + i as u64);
            let blocks: Vec<u8> = (0..4 * 4 * 4).map(|_| rng.random_range(0..3u8)).collect();
            let seg = Array3::from_shape_fn((4, 16, 16), |(t, y, x)| {
                blocks[t * 16 + (y / 4) * 4 + x / 4]
            });
            let target = seg.mapv(|l| if l == 2 { 0.0 } else { 1.0 });
            (image, seg, target)
        })
        .collect()
}

fn views(set: &[(Array3<f32>, Array3<u8>, Array3<f32>)]) -> Vec<RewardSample<'_>> {
    set.iter()
        .map(|(image, seg, target)| RewardSample {
            image: image.view(),
            seg: seg.view(),
            target: target.view(),
        })
        .collect()
}

#[test]
fn reward_net_learns_a_simple_correctness_target() {
    let device = Device::flex();
    let net = reward_config(&common::tiny_config(2))
        .init_seeded(&device, 3)
        .expect("net");
    let train = synthetic_set(8, 1);
    let val = synthetic_set(2, 2);
    let config = RewardTrainConfig {
        epochs: 12,
        lr: 1e-2,
        ..RewardTrainConfig::default()
    };
    let mut reports = 0;
    let outcome = train_reward(net, &views(&train), &views(&val), &config, 7, |_| {
        reports += 1
    })
    .expect("train");
    // 12 epochs x (2 batches of 4 + the epoch report).
    assert_eq!(reports, 36);
    let first = &outcome.history[0];
    let best = outcome
        .history
        .iter()
        .map(|e| e.val_loss)
        .fold(f64::INFINITY, f64::min);
    assert!(best < first.val_loss, "{:?}", outcome.history);
    assert_eq!(outcome.val_loss, best);
    assert!(outcome.val_accuracy > 0.8, "{:?}", outcome.history);
    assert!(outcome.val_error_recall > 0.7, "{:?}", outcome.history);
    assert!(outcome.temperature > 0.0 && outcome.temperature.is_finite());
    assert!(outcome.history.iter().all(|e| e.lr == 1e-2));

    // Deterministic from the seed.
    let net = reward_config(&common::tiny_config(2))
        .init_seeded(&device, 3)
        .expect("net");
    let again = train_reward(net, &views(&train), &views(&val), &config, 7, |_| {}).expect("train");
    assert_eq!(again.history, outcome.history);
}

#[test]
fn reward_training_rejects_bad_inputs() {
    let device = Device::flex();
    let arch = common::tiny_config(2);
    let set = synthetic_set(2, 3);
    let samples = views(&set);
    let config = RewardTrainConfig::default();
    let actor = actor_config(&arch).init(&device).expect("net");
    let e = train_reward(actor, &samples, &samples, &config, 0, |_| {})
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("reward_config"), "{e}");
    let net = reward_config(&arch).init(&device).expect("net");
    let e = train_reward(net.clone(), &samples, &[], &config, 0, |_| {})
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("validation"), "{e}");
    let short_target = Array3::<f32>::zeros((4, 16, 8));
    let bad = [RewardSample {
        target: short_target.view(),
        ..samples[0]
    }];
    let e = train_reward(net, &bad, &samples, &config, 0, |_| {})
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("image vs target"), "{e}");
}

#[test]
fn temperature_fit_recovers_a_known_temperature() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let t0 = 3.0f32;
    let (mut logits, mut targets) = (Vec::new(), Vec::new());
    for _ in 0..100_000 {
        let z: f32 = rng.random_range(-5.0..5.0);
        let p = 1.0 / (1.0 + (-z).exp());
        targets.push(if rng.random::<f32>() < p { 1.0 } else { 0.0 });
        logits.push(z * t0);
    }
    let t = fit_temperature(&logits, &targets);
    assert!((t / f64::from(t0) - 1.0).abs() < 0.05, "{t}");
}

#[test]
fn per_frame_normalisation_of_a_constant_frame_is_finite() {
    let device = Device::flex();
    let r: burn::tensor::Tensor<4> = burn::tensor::Tensor::full([2, 3, 4, 4], 0.3, &device);
    let v = models::convert::float_values(normalise_per_frame(r));
    assert!(v.iter().all(|x| *x == 1.0));
}
