//! CLAHE against scikit-image 0.18.3 reference outputs (fixture made once by
//! `fixtures/clahe/gen.py`; no Python at test time).

use echo::preprocess::{ClaheParams, clahe_sequence, equalize_adapthist};
use ndarray::{Array2, Array3};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/clahe/clahe_skimage018.json");
    serde_json::from_str(text).expect("fixture is valid JSON")
}

fn frame(v: &Value, key: &str) -> Array2<f32> {
    let shape = v["shape"].as_array().expect("shape");
    let (r, c) = (
        shape[0].as_u64().expect("r") as usize,
        shape[1].as_u64().expect("c") as usize,
    );
    // Inputs are the shortest f32 text: parse as f32 to get the exact values skimage saw.
    let data: Vec<f32> = v[key]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.to_string().parse::<f32>().expect("number"))
        .collect();
    Array2::from_shape_vec((r, c), data).expect("shape matches data")
}

#[test]
fn matches_skimage_0_18_on_every_fixture_frame() {
    let fx = fixture();
    assert_eq!(fx["skimage_version"], "0.18.3");
    let frames = fx["frames"].as_array().expect("frames");
    assert!(frames.len() >= 3);
    for f in frames {
        let input = frame(f, "input");
        let want = frame(f, "output");
        let got = equalize_adapthist(input.view(), &ClaheParams::default()).expect("valid frame");
        let max_err = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_err < 1e-3, "{}: max abs error {max_err}", f["name"]);
        // The algorithm is reproduced step by step, so it should agree to float precision.
        assert!(
            max_err < 1e-5,
            "{}: max abs error {max_err} (expected bit-level agreement)",
            f["name"]
        );
    }
}

#[test]
fn sequence_version_applies_the_frame_function_to_each_frame() {
    let fx = fixture();
    let f = &fx["frames"][0];
    let input = frame(f, "input");
    let want = frame(f, "output");
    let (r, c) = input.dim();
    let mut seq = Array3::<f32>::zeros((3, r, c));
    seq.index_axis_mut(ndarray::Axis(0), 0).assign(&input);
    seq.index_axis_mut(ndarray::Axis(0), 1)
        .assign(&input.mapv(|v| v * 0.5));
    seq.index_axis_mut(ndarray::Axis(0), 2).assign(&input);
    let out = clahe_sequence(&seq, &ClaheParams::default()).expect("valid");
    for t in [0, 2] {
        let got = out.index_axis(ndarray::Axis(0), t);
        let err = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-5, "frame {t}: {err}");
    }
}

#[test]
fn error_names_the_frame() {
    let mut seq = Array3::<f32>::zeros((2, 16, 16));
    seq[[1, 3, 3]] = 3.0;
    let err = clahe_sequence(&seq, &ClaheParams::default()).expect_err("3.0 is out of range");
    assert!(err.to_string().contains("frame 1"), "{err}");
}
