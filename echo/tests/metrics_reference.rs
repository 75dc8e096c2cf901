//! Cross-checks against independent references computed once in Python
//! (`fixtures/metrics/generate.py` → `reference.json`): MedPy `dc` / `hd` / `hd95`, vital's
//! anatomical metrics, morphological fix, LV base points and apex, and RL4Seg3D's temporal
//! metrics, arranged on SciPy / scikit-image primitives.

use std::collections::HashMap;

use echo::metrics::{self, Attribute, Structure};
use echo::morph;
use ndarray::{Array2, Array3};
use serde_json::Value;

fn reference() -> Value {
    let text = include_str!("fixtures/metrics/reference.json");
    serde_json::from_str(text).expect("reference.json is valid JSON")
}

/// Decodes one run-length coded frame ("<label><count>,...").
fn decode_frame(code: &str, h: usize, w: usize) -> Array2<u8> {
    let mut flat = Vec::with_capacity(h * w);
    for run in code.split(',') {
        let (label, count) = run.split_at(1);
        let label: u8 = label.parse().expect("label digit");
        let count: usize = count.parse().expect("run length");
        flat.extend(std::iter::repeat_n(label, count));
    }
    Array2::from_shape_vec((h, w), flat).expect("frame size matches shape")
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("shape array")
        .iter()
        .map(|x| x.as_u64().expect("dim") as usize)
        .collect()
}

fn decode_seq(frames: &Value, shape: &[usize]) -> Array3<u8> {
    let frames = frames.as_array().expect("frame list");
    let mut seq = Array3::zeros((shape[0], shape[1], shape[2]));
    for (t, f) in frames.iter().enumerate() {
        let frame = decode_frame(f.as_str().expect("frame code"), shape[1], shape[2]);
        seq.index_axis_mut(ndarray::Axis(0), t).assign(&frame);
    }
    seq
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol
}

#[test]
fn dice_and_hausdorff_match_medpy() {
    let r = reference();
    let o = &r["overlap"];
    let sh = shape(&o["shape"]);
    let pred = decode_seq(&o["pred"], &sh);
    let gt = decode_seq(&o["gt"], &sh);
    let sp = [f(&o["spacing"][0]), f(&o["spacing"][1])];
    for (name, s) in [
        ("lv", Structure::Lv),
        ("myo", Structure::Myo),
        ("epi", Structure::Epi),
    ] {
        let d = metrics::dice(&pred.view(), &gt.view(), s).expect("same shapes");
        assert!(close(d, f(&o["dice"][name]), 1e-12), "dice {name}: {d}");
        // Per-frame values.
        for t in 0..sh[0] {
            let pm = s.mask(&pred.index_axis(ndarray::Axis(0), t));
            let gm = s.mask(&gt.index_axis(ndarray::Axis(0), t));
            let expected_hd = &o["hd"][name][t];
            if expected_hd.is_null() {
                assert!(metrics::hausdorff(&pm.view(), &gm.view(), sp).is_none());
                continue;
            }
            let mut pm = pm;
            if !pm.iter().any(|&v| v) {
                pm[[sh[1] / 2, sh[2] / 2]] = true;
            }
            let h = metrics::hausdorff(&pm.view(), &gm.view(), sp).expect("non-empty");
            let h95 = metrics::hausdorff95(&pm.view(), &gm.view(), sp).expect("non-empty");
            assert!(close(h, f(expected_hd), 1e-9), "hd {name} frame {t}: {h}");
            assert!(
                close(h95, f(&o["hd95"][name][t]), 1e-9),
                "hd95 {name} frame {t}: {h95}"
            );
        }
        // Frame average with the same empty-mask rules.
        let score = metrics::hausdorff_structure(&pred.view(), &gt.view(), s, sp).expect("valid");
        let vals: Vec<f64> = o["hd"][name]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        assert!(close(score.hd, mean, 1e-9), "mean hd {name}");
    }
    // Frame 2 has no predicted LV: the centre pixel was used.
    let lv =
        metrics::hausdorff_structure(&pred.view(), &gt.view(), Structure::Lv, sp).expect("valid");
    assert_eq!(lv.empty_predictions, 1);
}

#[test]
fn anatomical_metrics_match_the_vital_port() {
    let r = reference();
    for (i, case) in r["anatomical"].as_array().expect("list").iter().enumerate() {
        let sh = shape(&case["shape"]);
        let frame = decode_frame(case["frame"].as_str().expect("code"), sh[0], sh[1]);
        let m = metrics::anatomical::measure_frame(&frame.view());
        let e = &case["metrics"];
        let ints = [
            ("lv_pixels", m.lv_pixels),
            ("holes_in_lv", m.holes_in_lv),
            ("disconnectivity_in_lv", m.disconnectivity_in_lv),
            ("disconnectivity_in_myo", m.disconnectivity_in_myo),
            ("holes_in_epi", m.holes_in_epi),
            ("holes_between_lv_and_myo", m.holes_between_lv_and_myo),
        ];
        for (k, v) in ints {
            assert_eq!(v as u64, e[k].as_u64().expect("int"), "frame {i}: {k}");
        }
        let floats = [
            (
                "erosion_ratio_before_myo_split",
                m.erosion_ratio_before_myo_split,
            ),
            (
                "width_ratio_between_lv_and_myo",
                m.width_ratio_between_lv_and_myo,
            ),
            (
                "frontier_ratio_between_lv_and_bg",
                m.frontier_ratio_between_lv_and_bg,
            ),
        ];
        for (k, v) in floats {
            assert!(
                close(v, f(&e[k]), 1e-12),
                "frame {i}: {k} = {v}, expected {}",
                e[k]
            );
        }
    }
}

#[test]
fn morphological_fix_and_largest_blob_match_scipy() {
    let r = reference();
    for (i, case) in r["morph"].as_array().expect("list").iter().enumerate() {
        let sh = shape(&case["shape"]);
        let get = |k: &str| decode_frame(case[k].as_str().expect("code"), sh[0], sh[1]);
        let frame = get("frame");
        assert_eq!(
            morph::clean_frame(&frame.view()),
            get("clean_frame"),
            "clean_frame {i}"
        );
        assert_eq!(
            morph::keep_largest_foreground(&frame.view()),
            get("largest_foreground"),
            "largest_foreground {i}"
        );
    }
}

#[test]
fn base_points_and_apex_match_the_vital_port() {
    let r = reference();
    for (i, case) in r["landmarks"].as_array().expect("list").iter().enumerate() {
        let sh = shape(&case["shape"]);
        let frame = decode_frame(case["frame"].as_str().expect("code"), sh[0], sh[1]);
        let [a, b] = metrics::lv_base_points(&frame.view()).expect("base points");
        let px = |v: &Value| {
            [
                v[0].as_u64().expect("row") as usize,
                v[1].as_u64().expect("col") as usize,
            ]
        };
        assert_eq!(
            [a, b],
            [px(&case["base"][0]), px(&case["base"][1])],
            "base {i}"
        );
        let apex = metrics::lv_apex(&frame.view()).expect("apex");
        let e = [f(&case["apex"][0]), f(&case["apex"][1])];
        assert!(
            close(apex[0], e[0], 1e-9) && close(apex[1], e[1], 1e-9),
            "apex {i}: {apex:?} vs {e:?}"
        );
    }
}

#[test]
fn temporal_signals_and_flags_match_rl4seg3d() {
    let r = reference();
    let names: HashMap<&str, Attribute> = [
        ("lv_area", Attribute::LvArea),
        ("myo_area", Attribute::MyoArea),
        ("epi_center_x", Attribute::EpiCenterX),
        ("epi_center_y", Attribute::EpiCenterY),
        ("lv_base_width", Attribute::LvBaseWidth),
        ("lv_length", Attribute::LvLength),
        ("hd_frames_myo", Attribute::HdFramesMyo),
        ("hd_frames_epi", Attribute::HdFramesEpi),
    ]
    .into_iter()
    .collect();
    for case in r["temporal"].as_array().expect("list") {
        let sh = shape(&case["shape"]);
        let seq = decode_seq(&case["seq"], &sh);
        let sp = [f(&case["spacing"][0]), f(&case["spacing"][1])];
        let v = metrics::check_temporal_validity(&seq.view(), sp).expect("valid");
        let case_name = case["name"].as_str().expect("name");
        let mut any_flag = vec![false; sh[0]];
        for (name, expected) in case["attributes"].as_object().expect("map") {
            let check = v.check(names[name.as_str()]).expect("attribute present");
            let signal: Vec<f64> = expected["signal"]
                .as_array()
                .expect("list")
                .iter()
                .map(f)
                .collect();
            for (a, b) in check.signal.iter().zip(&signal) {
                assert!(
                    close(*a, *b, 1e-9),
                    "{case_name} {name}: {:?} vs {signal:?}",
                    check.signal
                );
            }
            let flagged: Vec<usize> = expected["flagged"]
                .as_array()
                .expect("list")
                .iter()
                .map(|x| x.as_u64().expect("index") as usize)
                .collect();
            assert_eq!(check.flagged, flagged, "{case_name} {name}");
            flagged.iter().for_each(|&t| any_flag[t] = true);
        }
        assert_eq!(v.valid, !any_flag.contains(&true), "{case_name}");
        assert_eq!(
            v.frames_with_errors,
            any_flag.iter().filter(|&&x| x).count()
        );
    }
}

#[test]
fn rust_phantom_draws_the_same_shapes_as_the_python_generator() {
    let r = reference();
    let case = &r["temporal"][0];
    let sh = shape(&case["shape"]);
    let seq = decode_seq(&case["seq"], &sh);
    assert_eq!(metrics::phantom::beating_lv(sh[0], sh[1], sh[2], None), seq);
}
