//! Temporal validity (method.md 6.2) on a smooth beating LV and on the same sequence with one
//! glitched frame, and the behaviour when a measure fails.

use echo::metrics::phantom::{Glitch, beating_lv};
use echo::metrics::temporal::second_difference;
use echo::metrics::{Attribute, DEFAULT_SPACING, check_temporal_validity};
use ndarray::Axis;

const GLITCH: usize = 8;

fn glitched() -> ndarray::Array3<u8> {
    beating_lv(
        16,
        64,
        56,
        Some(Glitch {
            frame: GLITCH,
            width_factor: 0.6,
            base_shift: 0.12,
        }),
    )
}

#[test]
fn smooth_sequence_is_valid() {
    let v = check_temporal_validity(&beating_lv(16, 64, 56, None).view(), DEFAULT_SPACING)
        .expect("valid spacing");
    assert!(v.valid);
    assert_eq!(v.frames_with_errors, 0);
    assert!(v.attributes.iter().all(|a| !a.measure_failed));
}

#[test]
fn glitched_frame_is_flagged_with_its_neighbours_where_the_second_difference_says_so() {
    let seq = glitched();
    let v = check_temporal_validity(&seq.view(), DEFAULT_SPACING).expect("valid spacing");
    assert!(!v.valid);
    for check in &v.attributes {
        // Every flag sits at the glitch or one of its neighbours.
        assert!(
            check.flagged.iter().all(|t| t.abs_diff(GLITCH) <= 1),
            "{:?}",
            check
        );
        // Flags are exactly the frames whose normalised second difference exceeds the threshold.
        if !check.attribute.is_raw() {
            let d = second_difference(&check.signal);
            let expected: Vec<usize> = (0..d.len())
                .filter(|&t| d[t].abs() > check.threshold)
                .collect();
            assert_eq!(check.flagged, expected);
        }
    }
    // A large area drop at t flags t (|d_t| ≈ drop) and t±1 (|d_{t±1}| ≈ drop / 2).
    let lv_area = v.check(Attribute::LvArea).expect("present");
    assert_eq!(lv_area.flagged, vec![GLITCH - 1, GLITCH, GLITCH + 1]);
    assert!(
        v.check(Attribute::LvLength)
            .expect("present")
            .flagged
            .contains(&GLITCH)
    );
    assert_eq!(v.frames_with_errors, 3);
}

#[test]
fn a_failed_measure_flags_every_interior_frame() {
    // Remove the MYO of one frame: base points and the MYO Hausdorff cannot be measured.
    let mut seq = beating_lv(10, 64, 56, None);
    seq.index_axis_mut(Axis(0), 4)
        .mapv_inplace(|v| if v == 2 { 0 } else { v });
    let v = check_temporal_validity(&seq.view(), DEFAULT_SPACING).expect("valid spacing");
    for attribute in [
        Attribute::LvBaseWidth,
        Attribute::LvLength,
        Attribute::HdFramesMyo,
    ] {
        let check = v.check(attribute).expect("present");
        assert!(check.measure_failed, "{attribute:?}");
        assert_eq!(check.flagged, (1..9).collect::<Vec<_>>(), "{attribute:?}");
    }
    assert_eq!(v.frames_with_errors, 8);
    assert!(!v.valid);
}

#[test]
fn short_and_empty_sequences_do_not_panic() {
    let two = beating_lv(2, 48, 40, None);
    assert!(
        check_temporal_validity(&two.view(), DEFAULT_SPACING)
            .expect("valid")
            .valid
    );
    let none = ndarray::Array3::<u8>::zeros((0, 8, 8));
    let v = check_temporal_validity(&none.view(), DEFAULT_SPACING).expect("valid");
    assert!(v.valid && v.frames_with_errors == 0);
    assert!(check_temporal_validity(&two.view(), [0.37, f64::NAN]).is_err());
}
