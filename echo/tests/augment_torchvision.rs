//! TTA image transforms against torchvision (fixture made once by `fixtures/tta/gen.py`):
//! `rotate(img, angle, NEAREST, fill=0)` and `adjust_contrast(img, f)`.

use echo::augment::{TtaTransform, adjust_contrast, rotate_nearest};
use ndarray::Array3;
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/tta/torchvision_tta.json")).expect("valid JSON")
}

fn frame(shape: &Value, data: &Value) -> Array3<f32> {
    let (h, w) = (
        shape[0].as_u64().expect("h") as usize,
        shape[1].as_u64().expect("w") as usize,
    );
    let v: Vec<f32> = data
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect();
    Array3::from_shape_vec((1, h, w), v).expect("shape matches data")
}

#[test]
fn rotation_matches_torchvision_nearest() {
    let fx = fixture();
    for entry in fx["rotations"].as_array().expect("rotations") {
        let input = frame(&entry["shape"], &entry["input"]);
        for out in entry["outputs"].as_array().expect("outputs") {
            let angle = out["angle"].as_f64().expect("angle");
            let want = frame(&entry["shape"], &out["output"]);
            let got = rotate_nearest(&input, angle);
            let differ = got.iter().zip(want.iter()).filter(|(a, b)| a != b).count();
            // Exact on these frames. (torchvision builds its grid in float32; a source exactly
            // at a half-pixel tie could round differently from our f64 grid.)
            assert!(
                differ == 0,
                "{angle} deg on {:?}: {differ} pixels differ",
                entry["shape"]
            );
            let tr = TtaTransform::Rotate {
                degrees: angle as f32,
            };
            assert_eq!(tr.apply_image(&input), got);
        }
    }
}

#[test]
fn contrast_matches_torchvision() {
    let fx = fixture();
    for c in fx["contrasts"].as_array().expect("contrasts") {
        let input = frame(&c["shape"], &c["input"]);
        let want = frame(&c["shape"], &c["output"]);
        let f = c["factor"].as_f64().expect("factor") as f32;
        let got = adjust_contrast(&input, f);
        let err = got
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-6, "factor {f}: max error {err}");
    }
}
