//! Checkpoints: safetensors round trip (bit-exact weights and outputs), the config beside
//! them, in-memory weights, and clear errors for corrupt or mismatched checkpoints.

mod common;

use burn::tensor::{Distribution, Tensor};
use models::checkpoint::{self, config_path};
use models::convert::float_values;
use models::{CheckpointError, UNetConfig};

fn device() -> burn::tensor::Device {
    models::device::select("cpu").expect("cpu")
}

#[test]
fn file_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("actor.safetensors");
    let config = common::tiny_config(2).with_deep_supervision(true);
    let net = config.init_seeded(&device(), 11).expect("net");
    checkpoint::save(&net, &path).expect("save");
    assert!(
        config_path(&path).exists(),
        "config JSON beside the weights"
    );
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let loaded = checkpoint::load(&path, &device()).expect("load");
    assert_eq!(loaded.config(), &config);
    assert_eq!(
        checkpoint::named_tensors(&loaded),
        checkpoint::named_tensors(&net)
    );
    let x = Tensor::<5>::random([1, 1, 4, 8, 8], Distribution::Default, &device());
    let a = float_values(net.forward(x.clone()).expect("a"));
    let b = float_values(loaded.forward(x).expect("b"));
    assert_eq!(a, b);
    // The config file alone describes the network.
    assert_eq!(checkpoint::read_config(&path).expect("config"), config);
}

#[test]
fn in_memory_weights_restore_a_network() {
    let config = common::tiny_config(2);
    let net = config.init_seeded(&device(), 1).expect("net");
    let bytes = checkpoint::save_weights(&net);
    let other = config.init_seeded(&device(), 2).expect("other");
    assert_ne!(
        checkpoint::named_tensors(&other),
        checkpoint::named_tensors(&net)
    );
    let restored = checkpoint::load_weights(other, &bytes).expect("load");
    assert_eq!(
        checkpoint::named_tensors(&restored),
        checkpoint::named_tensors(&net)
    );
    let rebuilt = checkpoint::from_bytes(&bytes, &device()).expect("from bytes");
    assert_eq!(rebuilt.config(), &config);
}

#[test]
fn mis_shaped_tensor_is_named() {
    let small = common::tiny_config(2).init(&device()).expect("net");
    let wider = common::tiny_config(3).init(&device()).expect("wider");
    let e = checkpoint::load_weights(wider, &checkpoint::save_weights(&small)).unwrap_err();
    match &e {
        CheckpointError::ShapeMismatch {
            name,
            expected,
            found,
            ..
        } => {
            assert_eq!(name, "input_block.conv1.conv.weight");
            assert_eq!(expected, &vec![3, 1, 1, 3, 3]);
            assert_eq!(found, &vec![2, 1, 1, 3, 3]);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(e.to_string().contains("another network shape"), "{e}");
}

#[test]
fn missing_and_unexpected_tensors_are_named() {
    let plain = common::tiny_config(2).init(&device()).expect("plain");
    let with_heads = common::tiny_config(2)
        .with_deep_supervision(true)
        .init(&device())
        .expect("ds");
    let e = checkpoint::load_weights(with_heads, &checkpoint::save_weights(&plain)).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, CheckpointError::Missing { .. }), "{text}");
    assert!(
        text.contains("deep_supervision_heads.0.conv.weight"),
        "{text}"
    );

    let with_heads = common::tiny_config(2)
        .with_deep_supervision(true)
        .init(&device())
        .expect("ds");
    let plain = common::tiny_config(2).init(&device()).expect("plain");
    let e = checkpoint::load_weights(plain, &checkpoint::save_weights(&with_heads)).unwrap_err();
    assert!(matches!(e, CheckpointError::Unexpected { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("deep_supervision_heads.0.conv.weight"),
        "{e}"
    );
}

#[test]
fn corrupt_files_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("net.safetensors");
    let net = common::tiny_config(2).init(&device()).expect("net");
    checkpoint::save(&net, &path).expect("save");
    let bytes = std::fs::read(&path).expect("read");

    std::fs::write(&path, &bytes[..bytes.len() - 10]).expect("truncate");
    let e = checkpoint::load(&path, &device()).unwrap_err().to_string();
    assert!(
        e.contains("truncated or corrupt") && e.contains("output_block.conv.weight"),
        "{e}"
    );

    std::fs::write(&path, b"not a checkpoint").expect("garbage");
    let e = checkpoint::load(&path, &device()).unwrap_err().to_string();
    assert!(e.contains(path.to_str().expect("utf8")), "{e}");

    let missing = dir.path().join("absent.safetensors");
    let e = checkpoint::load(&missing, &device()).unwrap_err();
    assert!(matches!(e, CheckpointError::Io { .. }), "{e}");

    // A bare safetensors file without embedded config and without the JSON beside it.
    let bare = dir.path().join("bare.safetensors");
    let decoded = checkpoint::safetensors::decode(&bytes, "x").expect("decode");
    let raw = checkpoint::safetensors::encode(&decoded.tensors, &Default::default());
    std::fs::write(&bare, raw).expect("write");
    let e = checkpoint::load(&bare, &device()).unwrap_err().to_string();
    assert!(e.contains("bare.json") && e.contains("<name>.json"), "{e}");
    // ... which the weights-only loader accepts.
    let fresh = common::tiny_config(2).init(&device()).expect("fresh");
    assert!(checkpoint::load_into(fresh, &bare).is_ok());
}

#[test]
fn python_readable_layout() {
    // Header first (little-endian length, JSON with F32 entries), payload 8-byte aligned.
    let net = UNetConfig::small().init(&device()).expect("small");
    let bytes = checkpoint::save_weights(&net);
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("len")) as usize;
    assert_eq!((8 + n) % 8, 0);
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).expect("json");
    assert_eq!(header["input_block.conv1.norm.weight"]["dtype"], "F32");
    assert_eq!(
        header["upsamples.0.transp_conv.weight"]["shape"],
        serde_json::json!([128, 64, 2, 2, 2])
    );
    assert!(
        header["__metadata__"]["rl4seg.model_config"]
            .as_str()
            .expect("config")
            .contains("channels")
    );
}
