//! Resampling against SimpleITK executing torchio 0.18's grid rule (fixture made once by
//! `fixtures/resample/gen.py`), and the exact undo of the whole preprocessing.

use echo::preprocess::{
    IntensityNorm, Interp, PreprocessConfig, ResampleGrid, TemporalCrop, preprocess_arrays,
    resample_f32, resample_labels, undo_float, undo_labels,
};
use ndarray::Array3;
use serde_json::Value;

fn shape3(v: &Value) -> [usize; 3] {
    let a = v.as_array().expect("shape");
    [0, 1, 2].map(|i| a[i].as_u64().expect("dim") as usize)
}

fn f64x3(v: &Value) -> [f64; 3] {
    let a = v.as_array().expect("spacing");
    [0, 1, 2].map(|i| a[i].as_f64().expect("spacing value"))
}

#[test]
fn matches_simpleitk_with_the_torchio_grid() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/resample/resample_sitk.json"))
        .expect("fixture is valid JSON");
    for case in fx["cases"].as_array().expect("cases") {
        let shape = shape3(&case["shape"]);
        let img: Vec<f32> = case["image"]
            .as_array()
            .expect("image")
            .iter()
            .map(|x| x.to_string().parse::<f32>().expect("f32"))
            .collect();
        let lab: Vec<u8> = case["label"]
            .as_array()
            .expect("label")
            .iter()
            .map(|x| x.as_u64().expect("u8") as u8)
            .collect();
        let img = Array3::from_shape_vec(shape, img).expect("shape");
        let lab = Array3::from_shape_vec(shape, lab).expect("shape");
        let grid =
            ResampleGrid::torchio(shape, f64x3(&case["spacing"]), f64x3(&case["new_spacing"]))
                .expect("valid spacings");
        assert_eq!(
            grid.new_shape(),
            shape3(&case["out_shape"]),
            "size rule for {:?}",
            case["spacing"]
        );

        let out = resample_f32(img.view(), &grid, Interp::Linear).expect("shape");
        let want: Vec<f64> = case["out_image"]
            .as_array()
            .expect("out")
            .iter()
            .map(|x| x.as_f64().expect("f"))
            .collect();
        let max_err = out
            .iter()
            .zip(&want)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0f64, f64::max);
        assert!(
            max_err < 1e-5,
            "linear: max error {max_err} for {:?}",
            case["spacing"]
        );

        let out = resample_labels(lab.view(), &grid).expect("shape");
        let want: Vec<u8> = case["out_label"]
            .as_array()
            .expect("out")
            .iter()
            .map(|x| x.as_u64().expect("u8") as u8)
            .collect();
        let mismatches = out.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(
            mismatches, 0,
            "nearest: {mismatches} voxels differ for {:?}",
            case["spacing"]
        );
    }
}

fn blob_labels(shape: [usize; 3]) -> Array3<u8> {
    Array3::from_shape_fn(shape, |(t, h, w)| {
        let (cy, cx) = (
            shape[1] as f64 / 2.0,
            shape[2] as f64 / 2.0 + t as f64 * 0.3,
        );
        let d = ((h as f64 - cy).powi(2) / 30.0 + (w as f64 - cx).powi(2) / 20.0).sqrt();
        if d < 1.0 {
            1
        } else if d < 1.6 {
            2
        } else {
            0
        }
    })
}

#[test]
fn undo_puts_labels_back_on_the_original_voxels() {
    // Up-sampling by exactly 2 (0.74 -> 0.37) and odd padding to 32: labels round-trip exactly.
    let shape = [5, 19, 13];
    let labels = blob_labels(shape);
    let image = labels.mapv(|l| 0.2 + 0.3 * f32::from(l));
    let cfg = PreprocessConfig {
        clahe: false,
        spacing: [1.0, 0.37, 0.37],
        divisibility: [4, 32, 32],
        temporal: TemporalCrop::Keep,
        ..PreprocessConfig::default()
    };
    let pre =
        preprocess_arrays(&image, Some(&labels), [1.0, 0.74, 0.74], &cfg).expect("valid input");
    assert_eq!(pre.record.resample.new_shape(), [5, 38, 26]);
    assert_eq!(pre.image.dim(), (5, 64, 32));
    let lab = pre.label.as_ref().expect("label");
    let back = undo_labels(lab, &pre.record).expect("record fits");
    assert_eq!(back, labels);
    let float_back = undo_float(&pre.image, &pre.record).expect("record fits");
    assert_eq!(float_back.dim(), (5, 19, 13));
}

#[test]
fn undo_after_non_integer_resampling_keeps_almost_every_label() {
    let shape = [4, 30, 26];
    let labels = blob_labels(shape);
    let image = labels.mapv(|l| 0.1 + 0.4 * f32::from(l));
    let cfg = PreprocessConfig {
        clahe: false,
        temporal: TemporalCrop::FloorToMultiple,
        ..Default::default()
    };
    let pre =
        preprocess_arrays(&image, Some(&labels), [1.0, 0.5, 0.45], &cfg).expect("valid input");
    assert_eq!(pre.image.dim().0, 4);
    assert_eq!(pre.image.dim().1 % 32, 0);
    let back = undo_labels(pre.label.as_ref().expect("label"), &pre.record).expect("fits");
    let diff = back
        .iter()
        .zip(labels.iter())
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        diff * 50 < labels.len(),
        "{diff} of {} labels moved",
        labels.len()
    );
}

#[test]
fn bad_inputs_are_named() {
    let img = Array3::<f32>::from_elem((2, 16, 16), 0.5);
    let cfg = PreprocessConfig::default();
    let err = preprocess_arrays(&img, None, [1.0, 0.0, 0.3], &cfg).expect_err("zero spacing");
    assert!(err.to_string().contains("spacing"), "{err}");
    let err = preprocess_arrays(&img, None, [1.0, -0.3, 0.3], &cfg).expect_err("negative spacing");
    assert!(err.to_string().contains("-0.3"), "{err}");
    let mut nan = img.clone();
    nan[[1, 2, 3]] = f32::NAN;
    let err = preprocess_arrays(&nan, None, [1.0, 0.3, 0.3], &cfg).expect_err("NaN");
    assert!(err.to_string().contains("not finite"), "{err}");
    let bad_lab = Array3::<u8>::from_elem((2, 16, 16), 7);
    let err = preprocess_arrays(&img, Some(&bad_lab), [1.0, 0.3, 0.3], &cfg).expect_err("label 7");
    assert!(err.to_string().contains("outside 0-2"), "{err}");
    let short_lab = Array3::<u8>::zeros((1, 16, 16));
    assert!(preprocess_arrays(&img, Some(&short_lab), [1.0, 0.3, 0.3], &cfg).is_err());
    let flat2d = ndarray::ArrayD::<f32>::zeros(vec![16, 16]);
    let err = echo::preprocess::as_sequence(flat2d, "input.nii").expect_err("2-D");
    assert!(
        err.to_string().contains("input.nii") && err.to_string().contains("2 dimensions"),
        "{err}"
    );
    let cfg = PreprocessConfig {
        intensity: IntensityNorm::Max,
        ..Default::default()
    };
    let zero = Array3::<f32>::zeros((2, 16, 16));
    assert!(preprocess_arrays(&zero, None, [1.0, 0.3, 0.3], &cfg).is_err());
}

#[test]
fn default_pipeline_runs_clahe_and_gives_divisible_shapes() {
    let shape = [3, 40, 36];
    let labels = blob_labels(shape);
    let image = labels.mapv(|l| 10.0 + 50.0 * f32::from(l));
    let pre = preprocess_arrays(
        &image,
        Some(&labels),
        [1.0, 0.3, 0.3],
        &PreprocessConfig::default(),
    )
    .expect("valid");
    let (t, h, w) = pre.image.dim();
    assert_eq!((t, h % 32, w % 32), (3, 0, 0));
    assert!(pre.image.iter().all(|v| (0.0..=1.0).contains(v)));
    let round = undo_labels(pre.label.as_ref().expect("label"), &pre.record).expect("fits");
    assert_eq!(round.dim(), (3, 40, 36));
}
