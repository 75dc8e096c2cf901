//! Uncertainty calibration: hand-computed cases, a perfectly calibrated synthetic set, and the
//! reference values of NumPy's `histogram2d`-based mutual information and `np.corrcoef`.

use echo::metrics::calibration::{
    AceWeighting, BinEdges, ace, calibration, foreground_mean_uncertainty, foreground_samples,
    normalized_mutual_information, pearson,
};
use ndarray::{Array3, array};
use rand::{Rng, SeedableRng};

#[test]
fn hand_computed_ece_mce_and_reliability_bins() {
    // Two bins: (0, 0.5) holds 0.2, 0.3 (1 of 2 correct); (0.5, 1) holds 0.8, 0.9, 0.7 (3 of 3).
    let conf = [0.2, 0.3, 0.8, 0.9, 0.7];
    let ok = [true, false, true, true, true];
    let c = calibration(&conf, &ok, 2, BinEdges::Strict).expect("valid");
    // bin 0: conf 0.25, acc 0.5 → gap 0.25; bin 1: conf 0.8, acc 1 → gap 0.2.
    let ece = 2.0 / 5.0 * 0.25 + 3.0 / 5.0 * 0.2;
    assert!((c.ece - ece).abs() < 1e-12);
    assert!((c.mce - 0.25).abs() < 1e-12);
    assert_eq!(c.bins[0].count, 2);
    assert!((c.bins[1].confidence - 0.8).abs() < 1e-12);
    assert_eq!(c.bins[1].accuracy, 1.0);
}

#[test]
fn strict_edges_drop_confidences_on_a_bin_edge_but_keep_them_in_the_total() {
    let conf = [0.5, 1.0, 0.75];
    let ok = [true, true, false];
    let strict = calibration(&conf, &ok, 2, BinEdges::Strict).expect("valid");
    assert_eq!(strict.bins.iter().map(|b| b.count).sum::<usize>(), 1);
    assert!((strict.ece - 0.75 / 3.0).abs() < 1e-12);
    let inclusive = calibration(&conf, &ok, 2, BinEdges::Inclusive).expect("valid");
    assert_eq!(inclusive.bins[0].count, 1);
    assert_eq!(inclusive.bins[1].count, 2);
}

#[test]
fn perfectly_calibrated_set_has_near_zero_ece() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let n = 200_000;
    let conf: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let ok: Vec<bool> = conf.iter().map(|&c| rng.random::<f64>() < c).collect();
    let c = calibration(&conf, &ok, 20, BinEdges::Strict).expect("valid");
    assert!(c.ece < 0.01, "ece {}", c.ece);
    let a = ace(&conf, &ok, 20, AceWeighting::PerSample).expect("valid");
    assert!(a < 0.01, "ace {a}");
    // An overconfident model is not calibrated.
    let over: Vec<f64> = conf.iter().map(|c| (c + 1.0) / 2.0).collect();
    assert!(
        calibration(&over, &ok, 20, BinEdges::Strict)
            .expect("valid")
            .ece
            > 0.2
    );
}

#[test]
fn ace_hand_computed_and_the_original_weighting_quirk() {
    // Sorted confidences split in 2 equal-mass bins: {0.1, 0.2} (0 correct), {0.6, 0.9} (2).
    let conf = [0.9, 0.1, 0.6, 0.2];
    let ok = [true, false, true, false];
    let a = ace(&conf, &ok, 2, AceWeighting::PerSample).expect("valid");
    let expected = 0.5 * 0.15 + 0.5 * 0.25;
    assert!((a - expected).abs() < 1e-12);
    let quirk = ace(&conf, &ok, 2, AceWeighting::OriginalQuirk).expect("valid");
    assert!((quirk - (1.0 * 0.15 + 1.0 * 0.25)).abs() < 1e-12);
}

#[test]
fn bad_inputs_are_errors_naming_the_problem() {
    let err =
        calibration(&[0.5, 1.2], &[true, false], 20, BinEdges::Strict).expect_err("out of range");
    assert!(err.to_string().contains("1.2"), "{err}");
    assert!(calibration(&[0.5], &[true, false], 20, BinEdges::Strict).is_err());
    assert!(ace(&[f64::NAN], &[true], 20, AceWeighting::PerSample).is_err());
    assert!(pearson(&[1.0, 2.0], &[1.0]).is_err());
}

#[test]
fn mutual_information_matches_numpy_reference() {
    // Reference: x = [0,0,1,1,1,0], y = [0.1,0.2,0.9,0.8,0.7,0.6];
    // h = np.histogram2d(x, y)[0] / 6; MI and entropies with natural logs → 0.55788589...
    let x = [0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
    let y = [0.1, 0.2, 0.9, 0.8, 0.7, 0.6];
    let nmi = normalized_mutual_information(&x, &y, 10).expect("valid");
    assert!((nmi - 0.557_885_891_302_259_7).abs() < 1e-9, "{nmi}");
    // Identical variables: NMI = 1; independent constant: NaN denominator avoided.
    let same = normalized_mutual_information(&y, &y, 10).expect("valid");
    assert!((same - 1.0).abs() < 1e-12);
    assert!(
        normalized_mutual_information(&[1.0; 4], &[2.0; 4], 10)
            .expect("valid")
            .is_nan()
    );
}

#[test]
fn pearson_matches_a_hand_computed_value() {
    let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 5.0, 4.0]).expect("valid");
    // np.corrcoef([1,2,3,4],[2,4,5,4])[0,1]
    assert!((r - 0.718_184_846_459_607_9).abs() < 1e-12, "{r}");
    assert!(pearson(&[1.0, 1.0], &[2.0, 3.0]).expect("valid").is_nan());
}

#[test]
fn scored_voxels_are_the_foreground_of_either_map() {
    let pred = array![[[0, 1], [2, 0]]];
    let gt = array![[[0, 1], [1, 2]]];
    let conf = array![[[0.9f32, 0.8], [0.3, 0.6]]];
    let (c, ok) = foreground_samples(&pred.view(), &gt.view(), &conf.view()).expect("same shapes");
    assert_eq!(
        c,
        vec![0.800000011920929, 0.30000001192092896, 0.6000000238418579]
    );
    assert_eq!(ok, vec![true, false, false]);
    let unc = conf.mapv(|v| 1.0 - v);
    let m = foreground_mean_uncertainty(&pred.view(), &unc.view()).expect("same shapes");
    assert!((m - 1.4 / 2.0).abs() < 1e-6);
    let bad = Array3::<f32>::zeros((1, 3, 2));
    assert!(foreground_samples(&pred.view(), &gt.view(), &bad.view()).is_err());
}
