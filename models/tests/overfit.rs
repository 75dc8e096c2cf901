//! A tiny U-Net overfits one synthetic sequence (ellipse LV, ring MYO, on noise) to a Dice
//! above 0.9 within a few seconds, through the public supervised-training loop; and training
//! is deterministic from its seed.

mod common;

use std::convert::Infallible;

use models::train::{Labelled, SupervisedConfig, train_supervised};

fn no_augment(
    _: &mut ndarray::Array3<f32>,
    _: &mut ndarray::Array3<u8>,
    _: &mut rand_chacha::ChaCha8Rng,
) -> Result<(), Infallible> {
    Ok(())
}

#[test]
fn tiny_unet_overfits_one_sequence() {
    let device = models::device::select("cpu").expect("cpu");
    let (image, labels) = common::synthetic_sequence(4, 32, 32, 1);
    let sample = Labelled {
        image: image.view(),
        labels: labels.view(),
    };
    let net = common::tiny_config(8).init_seeded(&device, 3).expect("net");
    let config = SupervisedConfig {
        epochs: 12,
        batch_size: 1,
        steps_per_epoch: 10,
        lr: 1e-2,
        dice_weight: 1.0,
        ..Default::default()
    };
    let mut reports = 0;
    let start = std::time::Instant::now();
    let outcome = train_supervised(net, &[sample], &[sample], &config, 0, no_augment, |_| {
        reports += 1
    })
    .expect("training");
    let elapsed = start.elapsed();
    assert_eq!(reports, 12 * 11, "one report per step plus one per epoch");
    let best = outcome.best_dice.expect("validation ran");
    assert!(
        best > 0.9,
        "best Dice {best} after {elapsed:?}: {:?}",
        outcome.history
    );
    assert_eq!(outcome.history.len(), 12);
    let first = outcome.history[0].train_loss;
    let last = outcome.history[11].train_loss;
    assert!(last < first, "loss went from {first} to {last}");
    // The kept network reproduces the reported Dice.
    let again = outcome.history[outcome.best_epoch - 1]
        .val_dice
        .expect("dice");
    assert_eq!(again, best);
}

#[test]
fn training_is_deterministic_from_the_seed() {
    let device = models::device::select("cpu").expect("cpu");
    let (image, labels) = common::synthetic_sequence(6, 16, 16, 2);
    let sample = Labelled {
        image: image.view(),
        labels: labels.view(),
    };
    let config = SupervisedConfig {
        epochs: 2,
        batch_size: 2,
        steps_per_epoch: 2,
        ..Default::default()
    };
    let run = |seed| {
        let net = common::tiny_config(2).init_seeded(&device, 9).expect("net");
        let augment = |img: &mut ndarray::Array3<f32>,
                       _: &mut ndarray::Array3<u8>,
                       rng: &mut rand_chacha::ChaCha8Rng| {
            use rand::Rng;
            let gain: f32 = rng.random_range(0.8..1.2);
            img.mapv_inplace(|v| v * gain);
            Ok::<(), Infallible>(())
        };
        let out = train_supervised(net, &[sample], &[sample], &config, seed, augment, |_| {})
            .expect("train");
        (out.history, models::checkpoint::named_tensors(&out.best))
    };
    let (a, wa) = run(4);
    let (b, wb) = run(4);
    assert_eq!(a, b);
    assert_eq!(wa, wb);
    let (c, _) = run(5);
    assert_ne!(a[0].train_loss, c[0].train_loss);
}

#[test]
fn bad_training_inputs_are_clear_errors() {
    let device = models::device::select("cpu").expect("cpu");
    let net = || common::tiny_config(2).init(&device).expect("net");
    let (image, labels) = common::synthetic_sequence(3, 16, 16, 2);
    let short = Labelled {
        image: image.view(),
        labels: labels.view(),
    };
    let e = train_supervised(
        net(),
        &[short],
        &[],
        &SupervisedConfig::default(),
        0,
        no_augment,
        |_| {},
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("sample 0") && e.to_string().contains("T = 3"),
        "{e}"
    );

    let (image, mut labels) = common::synthetic_sequence(4, 16, 16, 2);
    labels[[0, 0, 0]] = 7;
    let bad = Labelled {
        image: image.view(),
        labels: labels.view(),
    };
    let e = train_supervised(
        net(),
        &[bad],
        &[],
        &SupervisedConfig::default(),
        0,
        no_augment,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("label 7"), "{e}");

    let e = train_supervised(
        net(),
        &[],
        &[],
        &SupervisedConfig::default(),
        0,
        no_augment,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("no training sequences"), "{e}");

    let (image, labels) = common::synthetic_sequence(4, 16, 16, 2);
    let ok = Labelled {
        image: image.view(),
        labels: labels.view(),
    };
    let failing = |_: &mut ndarray::Array3<f32>,
                   _: &mut ndarray::Array3<u8>,
                   _: &mut rand_chacha::ChaCha8Rng| Err("boom");
    let e = train_supervised(
        net(),
        &[ok],
        &[],
        &SupervisedConfig::default(),
        0,
        failing,
        |_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("boom"), "{e}");
}
