//! Training augmentation: deterministic from the seed, same geometry for image and labels.

use echo::augment::{RandomRange, TrainAugParams, TrainAugmentConfig, augment_training};
use ndarray::Array3;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn labels() -> Array3<u8> {
    Array3::from_shape_fn((3, 32, 28), |(t, r, c)| {
        let d = ((r as f32 - 14.0) / 9.0).powi(2) + ((c as f32 - 13.0 - t as f32) / 6.0).powi(2);
        if d < 1.0 {
            1
        } else if d < 1.8 {
            2
        } else {
            0
        }
    })
}

#[test]
fn same_seed_same_result_other_seed_other_result() {
    let lab = labels();
    let img = lab.mapv(|l| 0.2 + 0.3 * f32::from(l));
    let cfg = TrainAugmentConfig::default();
    let run = |seed| {
        augment_training(&img, Some(&lab), &cfg, &mut ChaCha8Rng::seed_from_u64(seed)).expect("ok")
    };
    assert_eq!(run(5), run(5));
    let outs: Vec<_> = (0..6).map(run).collect();
    assert!(
        outs.iter().any(|o| o.0 != outs[0].0),
        "six seeds all gave the same augmentation"
    );
}

#[test]
fn image_and_labels_get_the_same_geometric_transform() {
    let lab = labels();
    let img = lab.mapv(|l| f32::from(l) / 2.0);
    let off = RandomRange::new(0.0, 0.0, 0.0);
    let cfg = TrainAugmentConfig {
        enabled: true,
        rotation_deg: RandomRange::new(1.0, 8.0, 10.0),
        scale: RandomRange::new(1.0, 1.05, 1.1),
        translation_frac: RandomRange::new(1.0, 0.05, 0.1),
        brightness: off,
        gamma: off,
        contrast: off,
        noise_sigma: off,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (im, lb) = augment_training(&img, Some(&lab), &cfg, &mut rng).expect("ok");
    let lb = lb.expect("labels");
    assert_ne!(lb, lab, "a rotation of 8-10 degrees changes the labels");
    let agree = im
        .iter()
        .zip(lb.iter())
        .filter(|(i, l)| (*i * 2.0).round() as u8 == **l)
        .count();
    assert!(
        agree * 100 > 95 * lab.len(),
        "only {agree} of {} pixels agree",
        lab.len()
    );
}

#[test]
fn disabled_is_identity_and_bad_ranges_are_errors() {
    let lab = labels();
    let img = lab.mapv(|l| 0.3 * f32::from(l));
    let cfg = TrainAugmentConfig {
        enabled: false,
        ..Default::default()
    };
    let (im, lb) =
        augment_training(&img, Some(&lab), &cfg, &mut ChaCha8Rng::seed_from_u64(1)).expect("ok");
    assert_eq!(im, img);
    assert_eq!(lb, Some(lab.clone()));
    let bad = TrainAugmentConfig {
        gamma: RandomRange::new(0.5, 2.0, 1.0),
        ..Default::default()
    };
    let err = augment_training(&img, None, &bad, &mut ChaCha8Rng::seed_from_u64(1))
        .expect_err("min > max");
    assert!(err.to_string().contains("augment.gamma"), "{err}");
    let params = TrainAugParams::sample(&cfg, 32, 28, &mut ChaCha8Rng::seed_from_u64(1));
    assert!(params.affine().is_none());
}
