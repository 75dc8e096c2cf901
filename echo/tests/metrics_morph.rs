//! Laws of the morphology module on small random masks (proptest), and connectivity cases.

use echo::morph::{
    Border, Connectivity, StructuringElement, clean_frame, count_components, dilate, distance_to,
    edt, erode, fill_holes, keep_largest_foreground, label, largest_component,
    remove_small_objects,
};
use ndarray::{Array2, array};
use proptest::prelude::*;

fn mask_strategy() -> impl Strategy<Value = Array2<bool>> {
    (
        1usize..12,
        1usize..12,
        proptest::collection::vec(proptest::bool::weighted(0.45), 144),
    )
        .prop_map(|(h, w, bits)| Array2::from_shape_fn((h, w), |(r, c)| bits[r * 12 + c]))
}

fn labels_strategy() -> impl Strategy<Value = Array2<u8>> {
    (
        2usize..12,
        2usize..12,
        proptest::collection::vec(0u8..3, 144),
    )
        .prop_map(|(h, w, v)| Array2::from_shape_fn((h, w), |(r, c)| v[r * 12 + c]))
}

fn subset(a: &Array2<bool>, b: &Array2<bool>) -> bool {
    a.iter().zip(b.iter()).all(|(&x, &y)| !x || y)
}

proptest! {
    #[test]
    fn fill_holes_is_idempotent_and_extensive(m in mask_strategy()) {
        let once = fill_holes(&m.view());
        prop_assert!(subset(&m, &once));
        prop_assert_eq!(fill_holes(&once.view()), once);
    }

    #[test]
    fn largest_component_is_a_connected_subset_of_the_mask(m in mask_strategy()) {
        for conn in [Connectivity::Four, Connectivity::Eight] {
            let l = largest_component(&m.view(), conn);
            prop_assert!(subset(&l, &m));
            let n = count_components(&l.view(), conn);
            prop_assert_eq!(n, usize::from(m.iter().any(|&v| v)));
            let sizes = label(&m.view(), conn).sizes;
            prop_assert_eq!(l.iter().filter(|&&v| v).count(), sizes.iter().copied().max().unwrap_or(0));
        }
    }

    #[test]
    fn eight_connectivity_never_has_more_components_than_four(m in mask_strategy()) {
        prop_assert!(count_components(&m.view(), Connectivity::Eight) <= count_components(&m.view(), Connectivity::Four));
    }

    #[test]
    fn erosion_and_dilation_are_dual(m in mask_strategy()) {
        // erode(m) = ¬dilate(¬m) with the complementary border value.
        let not_m = m.mapv(|v| !v);
        for se in [StructuringElement::Square, StructuringElement::Cross] {
            let e = erode(&m.view(), se, 1, Border::Background);
            let d = dilate(&not_m.view(), se, 1, Border::Foreground).mapv(|v| !v);
            prop_assert_eq!(e.clone(), d);
            prop_assert!(subset(&e, &m));
        }
    }

    #[test]
    fn edt_is_zero_exactly_off_the_mask_and_one_on_its_edge(m in mask_strategy()) {
        let d = edt(&m.view(), [1.0, 1.0]);
        let has_background = m.iter().any(|&v| !v);
        for ((r, c), &v) in m.indexed_iter() {
            if !v {
                prop_assert_eq!(d[[r, c]], 0.0);
            } else if has_background {
                prop_assert!(d[[r, c]] >= 1.0);
            }
        }
        let to_bg = distance_to(&m.mapv(|v| !v).view(), [1.0, 1.0]);
        prop_assert_eq!(d, to_bg);
    }

    #[test]
    fn clean_frame_is_idempotent(f in labels_strategy()) {
        let once = clean_frame(&f.view());
        prop_assert_eq!(clean_frame(&once.view()), once);
    }

    #[test]
    fn largest_foreground_keeps_labels_on_one_blob(f in labels_strategy()) {
        let k = keep_largest_foreground(&f.view());
        for (a, b) in k.iter().zip(f.iter()) {
            prop_assert!(*a == 0 || a == b);
        }
        let fg = k.mapv(|v| v != 0);
        prop_assert!(count_components(&fg.view(), Connectivity::Four) <= 1);
    }

    #[test]
    fn remove_small_objects_keeps_only_big_components(m in mask_strategy(), min in 1usize..6) {
        let r = remove_small_objects(&m.view(), min as f64, Connectivity::Four);
        prop_assert!(subset(&r, &m));
        prop_assert!(label(&r.view(), Connectivity::Four).sizes.iter().all(|&s| s >= min));
    }
}

#[test]
fn ring_with_diagonal_gap_connectivity_cases() {
    // The ring is closed for 8-connectivity but not for 4; its interior is a hole only when the
    // background cannot leak through the diagonal gap (4-connected background).
    let m = array![
        [0, 1, 1, 0, 0],
        [1, 0, 0, 1, 0],
        [1, 0, 0, 1, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 0]
    ]
    .mapv(|v: u8| v != 0);
    assert_eq!(count_components(&m.view(), Connectivity::Eight), 1);
    assert_eq!(count_components(&m.view(), Connectivity::Four), 4);
    let filled = fill_holes(&m.view());
    assert!(filled[[1, 1]] && filled[[2, 2]]);
}
