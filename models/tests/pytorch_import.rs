//! Loading an original-layout PyTorch state_dict (patchless-nnUnet key names, (X, Y, T)
//! kernels) reproduces PyTorch's output. The fixture is a 3-level net written by
//! `python bench/reference_unet.py fixture` (torch.save of its state_dict, 4 KB) with an
//! input/output pair computed by PyTorch.

mod common;

use std::path::PathBuf;

use models::CheckpointError;
use models::checkpoint::pytorch::{PytorchSource, load_pytorch};
use models::checkpoint::safetensors::decode;
use models::convert::{channels_to_tensor, float_values};
use ndarray::Array4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn original_state_dict_reproduces_pytorch_outputs() {
    let device = models::device::select("cpu").expect("cpu");
    let config = common::tiny_config(2).with_io(1, 3);
    let config = models::UNetConfig {
        channels: vec![2, 4, 4],
        ..config
    };
    let net = load_pytorch(
        &fixture("tiny_unet_original.pt"),
        &PytorchSource::default(),
        &config,
        &device,
    )
    .expect("load");
    let io = decode(
        &std::fs::read(fixture("tiny_unet_io.safetensors")).expect("io"),
        "io",
    )
    .expect("decode");
    let input = &io
        .tensors
        .iter()
        .find(|t| t.name == "input")
        .expect("input");
    let expected = &io
        .tensors
        .iter()
        .find(|t| t.name == "output")
        .expect("output");
    let shape = (
        input.shape[1],
        input.shape[2],
        input.shape[3],
        input.shape[4],
    );
    let x = Array4::from_shape_vec(shape, input.values.clone()).expect("shape");
    let y = float_values(
        net.forward(channels_to_tensor(x.view(), &device))
            .expect("forward"),
    );
    assert_eq!(y.len(), expected.values.len());
    let max_diff = y
        .iter()
        .zip(&expected.values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff < 1e-4, "max |burn - torch| = {max_diff}");

    // With deep supervision, the stored head loads too.
    let with_heads = config.clone().with_deep_supervision(true);
    let mut with_heads = with_heads;
    with_heads.deep_supervision_outputs = 1;
    assert!(
        load_pytorch(
            &fixture("tiny_unet_original.pt"),
            &PytorchSource::default(),
            &with_heads,
            &device
        )
        .is_ok()
    );
}

#[test]
fn mismatched_pytorch_checkpoints_name_the_tensor() {
    let device = models::device::select("cpu").expect("cpu");
    let wrong = models::UNetConfig {
        channels: vec![2, 4, 8],
        ..common::tiny_config(2)
    };
    let e = load_pytorch(
        &fixture("tiny_unet_original.pt"),
        &PytorchSource::default(),
        &wrong,
        &device,
    )
    .unwrap_err();
    assert!(matches!(e, CheckpointError::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("`bottleneck.conv1.conv."), "{e}");

    let prefixed = PytorchSource {
        top_level_key: None,
        prefix: "actor.actor.net.".into(),
    };
    let e = load_pytorch(
        &fixture("tiny_unet_original.pt"),
        &prefixed,
        &common::tiny_config(2),
        &device,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no tensor key starts with the prefix"),
        "{e}"
    );

    let e = load_pytorch(
        &fixture("tiny_unet_io.safetensors"),
        &PytorchSource::default(),
        &common::tiny_config(2),
        &device,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("not a readable PyTorch checkpoint"),
        "{e}"
    );
}
