//! TTA transforms: each inverse maps a probability map back exactly up to the lost border.

use echo::augment::{SpatialAxis, TtaConfig, TtaSet, TtaTransform, check_tta_config, shift};
use ndarray::{Array3, Array4, Axis};

fn ramp(t: usize, h: usize, w: usize) -> Array3<f32> {
    Array3::from_shape_fn((t, h, w), |(k, r, c)| {
        ((k * 7 + r * 3 + c * 2) % 97) as f32 / 97.0
    })
}

/// A network that is perfectly equivariant: its "probability map" is the image itself.
fn equivariant(img: &Array3<f32>) -> Array3<f32> {
    img.clone()
}

#[test]
fn original25_has_the_passes_of_the_original() {
    let set = TtaSet::original25();
    assert_eq!(set.len(), 25);
    let count = |f: fn(&TtaTransform) -> bool| set.transforms().iter().filter(|t| f(t)).count();
    assert_eq!(count(|t| matches!(t, TtaTransform::Identity)), 1);
    assert_eq!(count(|t| matches!(t, TtaTransform::Contrast { .. })), 4);
    assert_eq!(count(|t| matches!(t, TtaTransform::Translate { .. })), 16);
    assert_eq!(count(|t| matches!(t, TtaTransform::Rotate { .. })), 4);
    assert!(set.transforms().contains(&TtaTransform::Translate {
        axis: SpatialAxis::Depth,
        pixels: -120
    }));
    assert_eq!(TtaSet::identity_only().len(), 1);
    let no_rot = TtaSet::from_config(&TtaConfig {
        rotations_deg: vec![],
        ..Default::default()
    });
    assert_eq!(no_rot.len(), 21);
}

#[test]
fn translation_inverse_is_exact_except_the_uncovered_border() {
    let map = ramp(2, 20, 24);
    for (axis, px) in [
        (SpatialAxis::Lateral, 5),
        (SpatialAxis::Lateral, -3),
        (SpatialAxis::Depth, 4),
        (SpatialAxis::Depth, -6),
    ] {
        let tr = TtaTransform::Translate { axis, pixels: px };
        let back = tr.invert_map(&equivariant(&tr.apply_image(&map)));
        let n = px.unsigned_abs() as usize;
        for ((t, r, c), v) in back.indexed_iter() {
            let i = if axis == SpatialAxis::Depth { r } else { c };
            let len = if axis == SpatialAxis::Depth { 20 } else { 24 };
            let lost = if px > 0 { i >= len - n } else { i < n };
            if lost {
                assert_eq!(*v, 0.0, "{tr:?}: uncovered border gets 0");
            } else {
                assert_eq!(*v, map[[t, r, c]], "{tr:?} at {t},{r},{c}");
            }
        }
    }
}

#[test]
fn translations_compose() {
    let map = ramp(1, 16, 16);
    assert_eq!(shift(&shift(&map, 0, 3), 0, 4), shift(&map, 0, 7));
    assert_eq!(shift(&shift(&map, -2, 0), -3, 0), shift(&map, -5, 0));
    let there_and_back = shift(&shift(&map, 3, -2), -3, 2);
    for ((_, r, c), v) in there_and_back.indexed_iter() {
        if r < 13 && c >= 2 {
            assert_eq!(*v, map[[0, r, c]]);
        }
    }
}

#[test]
fn contrast_is_identity_at_one_and_needs_no_map_inverse() {
    let img = ramp(3, 8, 9);
    assert_eq!(
        TtaTransform::Contrast { factor: 1.0 }.apply_image(&img),
        img
    );
    let changed = TtaTransform::Contrast { factor: 1.25 }.apply_image(&img);
    assert_ne!(changed, img);
    assert_eq!(
        TtaTransform::Contrast { factor: 1.25 }.invert_map(&img),
        img
    );
}

#[test]
fn rotation_inverse_is_exact_on_constant_regions_away_from_edges() {
    // Piecewise-constant map: a disc. Nearest rotation there and back can only move pixels by
    // one at region boundaries; everything else is exact.
    let (h, w) = (33, 31);
    let map = Array3::from_shape_fn((2, h, w), |(t, r, c)| {
        let d = ((r as f32 - 15.0).powi(2) + (c as f32 - 14.0 - t as f32).powi(2)).sqrt();
        if d < 8.0 { 0.9 } else { 0.1 }
    });
    for deg in [5.0f32, 10.0, -5.0, -10.0] {
        let tr = TtaTransform::Rotate { degrees: deg };
        let back = tr.invert_map(&equivariant(&tr.apply_image(&map)));
        for ((t, r, c), v) in back.indexed_iter() {
            let (dy, dx) = (r as f32 - 16.0, c as f32 - 15.0);
            let from_centre = (dy * dy + dx * dx).sqrt();
            let d = ((r as f32 - 15.0).powi(2) + (c as f32 - 14.0 - t as f32).powi(2)).sqrt();
            if from_centre < 14.0 && (d - 8.0).abs() > 1.5 {
                assert_eq!(*v, map[[t, r, c]], "{deg} deg at {t},{r},{c}");
            }
        }
        // The rotation moved something (it is not a no-op) and stays close overall.
        let rotated = tr.apply_image(&map);
        assert_ne!(rotated, map);
        let moved = back.iter().zip(map.iter()).filter(|(a, b)| a != b).count();
        assert!(moved * 5 < map.len(), "{deg}: {moved} pixels differ");
    }
}

#[test]
fn average_of_an_equivariant_network_recovers_its_prediction_in_the_interior() {
    let img = ramp(2, 24, 24);
    let set = TtaSet::from_config(&TtaConfig {
        identity: true,
        contrast_factors: vec![],
        translations_px: vec![2, 3],
        rotations_deg: vec![],
    });
    let predict = |x: &Array3<f32>| -> Result<Array4<f32>, echo::Error> {
        let p = equivariant(x);
        Ok(ndarray::stack(Axis(0), &[p.view(), p.mapv(|v| 1.0 - v).view()]).expect("same shapes"))
    };
    let avg = set.average(&img, predict).expect("passes agree in shape");
    assert_eq!(avg.dim(), (2, 2, 24, 24));
    for r in 3..21 {
        for c in 3..21 {
            assert!((avg[[0, 1, r, c]] - img[[1, r, c]]).abs() < 1e-6);
        }
    }
    // Near the border some passes contribute 0 (the original's behaviour), so the mean drops.
    assert!(avg[[1, 0, 0, 0]] < 1.0 - img[[0, 0, 0]]);
    let empty = TtaSet::from_transforms(vec![]);
    assert!(empty.average(&img, predict).is_err());
}

#[test]
fn oversized_translations_are_rejected_for_small_frames() {
    assert!(check_tta_config(&TtaConfig::default(), 64, 64).is_err());
    let small = TtaConfig {
        translations_px: vec![5, 10],
        ..Default::default()
    };
    assert!(check_tta_config(&small, 64, 64).is_ok());
}
