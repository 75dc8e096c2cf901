//! Output shapes of both presets (rl4seg3d at its smallest legal input), deep-supervision
//! outputs, and clear errors for inputs the network cannot take.

mod common;

use burn::tensor::Tensor;
use models::{ShapeError, UNetConfig};

#[test]
fn small_preset_keeps_the_input_resolution() {
    let device = models::device::select("cpu").expect("cpu");
    let net = UNetConfig::small().init(&device).expect("small");
    let x = Tensor::<5>::zeros([2, 1, 4, 16, 24], &device);
    assert_eq!(net.forward(x).expect("forward").dims(), [2, 3, 4, 16, 24]);
    assert_eq!(net.config().required_divisibility(), [4, 8, 8]);
}

#[test]
fn rl4seg3d_preset_runs_at_its_smallest_input() {
    let device = models::device::select("cpu").expect("cpu");
    let config = UNetConfig::rl4seg3d().with_deep_supervision(true);
    let net = config.init(&device).expect("rl4seg3d");
    assert_eq!(burn::module::Module::num_params(&net), config.num_params());
    assert_eq!(config.num_params(), 30_431_104);
    let x = Tensor::<5>::zeros([1, 1, 4, 32, 32], &device);
    let outputs = net.forward_deep_supervision(x).expect("forward");
    let dims: Vec<_> = outputs.iter().map(Tensor::dims).collect();
    // method.md 2.1: full, head0 on the 64-channel X/2 output, head1 on the 128-channel
    // X/4, T/2 output.
    assert_eq!(
        dims,
        vec![[1, 3, 4, 32, 32], [1, 3, 4, 16, 16], [1, 3, 2, 8, 8]]
    );
}

#[test]
fn parameter_count_of_the_built_network_matches_the_config() {
    let device = models::device::select("cpu").expect("cpu");
    for config in [UNetConfig::small(), common::tiny_config(2).with_io(2, 1)] {
        let net = config.init(&device).expect("net");
        assert_eq!(burn::module::Module::num_params(&net), config.num_params());
    }
}

#[test]
fn odd_inputs_are_clear_errors() {
    let device = models::device::select("cpu").expect("cpu");
    let net = UNetConfig::small().init(&device).expect("small");
    let cases = [
        ([1, 1, 6, 16, 16], "T = 6 is not a multiple of 4"),
        ([1, 1, 4, 20, 16], "H = 20 is not a multiple of 8"),
        ([1, 1, 4, 16, 12], "W = 12 is not a multiple of 8"),
        (
            [1, 2, 4, 16, 16],
            "has 2 channels but the network expects 1",
        ),
        ([1, 1, 0, 16, 16], "empty input"),
    ];
    for (shape, needle) in cases {
        let e = net.forward(Tensor::<5>::zeros(shape, &device)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(needle), "{shape:?}: {text}");
    }
    let e = net.check_input([1, 1, 4, 20, 16]).unwrap_err();
    assert!(matches!(
        e,
        ShapeError::NotDivisible {
            axis: "H",
            multiple: 8,
            ..
        }
    ));
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let device = models::device::select("cpu").expect("cpu");
    let config = common::tiny_config(2);
    let a = models::checkpoint::named_tensors(&config.init_seeded(&device, 5).expect("a"));
    let b = models::checkpoint::named_tensors(&config.init_seeded(&device, 5).expect("b"));
    let c = models::checkpoint::named_tensors(&config.init_seeded(&device, 6).expect("c"));
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Kaiming normal, a = 0.01: std = sqrt(2 / 1.0001) / sqrt(fan_in); input conv fan_in = 9.
    let w = &a
        .iter()
        .find(|t| t.name == "input_block.conv1.conv.weight")
        .expect("weight")
        .values;
    let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    assert!(std > 0.2 && std < 0.75, "{std}");
    let bias = &a
        .iter()
        .find(|t| t.name == "input_block.conv1.conv.bias")
        .expect("bias")
        .values;
    assert!(bias.iter().all(|v| *v == 0.0));
}

#[test]
fn dropped_skips_keep_the_weights_and_change_the_output() {
    let device = models::device::select("cpu").expect("cpu");
    let plain = common::tiny_config(2);
    let coarse = UNetConfig {
        dropped_skips: 2,
        ..plain.clone()
    };
    let a = plain.init_seeded(&device, 3).expect("plain");
    let b = coarse.init_seeded(&device, 3).expect("coarse");
    assert_eq!(
        models::checkpoint::named_tensors(&a),
        models::checkpoint::named_tensors(&b),
        "same weights"
    );
    // The same weights on the same input: the dropped skips change the output.
    let values: Vec<f32> = (0..4 * 16 * 16)
        .map(|i| ((i * 37 % 101) as f32) / 101.0)
        .collect();
    let x = Tensor::<5>::from_data(
        burn::tensor::TensorData::new(values, [1, 1, 4, 16, 16]),
        &device,
    );
    let out = |net: &models::UNet| -> Vec<f32> {
        net.forward(x.clone())
            .expect("forward")
            .into_data()
            .try_to_vec::<f32>()
            .expect("values")
    };
    let (ya, yb) = (out(&a), out(&b));
    let diff = ya
        .iter()
        .zip(&yb)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0f32, f32::max);
    assert!(diff > 1e-4, "dropping skips changed nothing ({diff})");
    assert_eq!(
        b.forward(x.clone()).expect("shape").dims(),
        [1, 3, 4, 16, 16]
    );
    // Left out of the serialised config at 0; more than levels - 1 is a clear error.
    assert!(
        !serde_json::to_string(&plain)
            .expect("json")
            .contains("dropped_skips")
    );
    let err = UNetConfig {
        dropped_skips: 3,
        ..plain
    }
    .validate()
    .expect_err("3 > 2");
    assert!(err.to_string().contains("dropped_skips"), "{err}");
}
