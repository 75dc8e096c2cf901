//! Checkpoints of a [`UNet`]: a safetensors file with the model config embedded in its
//! metadata *and* written beside it as JSON (`<name>.safetensors` + `<name>.json`), so a
//! checkpoint is self-describing; both files are written atomically (temporary file + rename).
//! In-memory weights ([`save_weights`] / [`load_weights`]) serve "keep the best weights" and
//! frozen reference policies. [`pytorch`] loads the original RL4Seg3D state_dicts.
//!
//! Tensor names are the network's parameter paths, which equal the original's state_dict keys
//! (see [`UNet`]); conv kernels are stored in our `(T, H, W)` axis order.

pub mod pytorch;
pub mod safetensors;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{ModuleSnapshot, bridge};
use burn::tensor::{Device, TensorData};

use self::safetensors::NamedTensor;
use crate::error::CheckpointError;
use crate::unet::{UNet, UNetConfig};

/// Metadata key holding the model config JSON inside the safetensors file.
pub const CONFIG_METADATA_KEY: &str = "rl4seg.model_config";
/// Metadata key naming the kernel axis order.
pub const AXES_METADATA_KEY: &str = "rl4seg.axes";

/// The config file that sits beside a weights file: same stem, `.json`.
pub fn config_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

/// All parameters of a network, by path, in the network's traversal order.
pub fn named_tensors(net: &UNet) -> Vec<NamedTensor> {
    net.collect(None, None, false)
        .into_iter()
        .map(|t| {
            let name = t.name.clone();
            let shape = t.shape.to_vec();
            let values = bridge::into_data(t)
                .map(|d| d.convert::<f32>().try_into_vec::<f32>().unwrap_or_default())
                .unwrap_or_default();
            NamedTensor {
                name,
                shape,
                values,
            }
        })
        .collect()
}

/// Serialize a network's weights (and its config, in the metadata) to safetensors bytes.
pub fn save_weights(net: &UNet) -> Vec<u8> {
    let config = serde_json::to_string(net.config()).unwrap_or_default();
    let metadata = BTreeMap::from([
        (CONFIG_METADATA_KEY.to_string(), config),
        (AXES_METADATA_KEY.to_string(), "T,H,W".to_string()),
        ("format".to_string(), "pt".to_string()),
    ]);
    safetensors::encode(&named_tensors(net), &metadata)
}

/// Load weights from safetensors bytes into a network of the same architecture. Fails,
/// leaving nothing half-loaded, on a missing, unexpected or mis-shaped tensor.
pub fn load_weights(net: UNet, bytes: &[u8]) -> Result<UNet, CheckpointError> {
    let decoded = safetensors::decode(bytes, "<memory>")?;
    apply_named(net, decoded.tensors, "<memory>", &BTreeSet::new())
}

/// Build a network from safetensors bytes that carry their config (as [`save_weights`] writes).
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<UNet, CheckpointError> {
    let decoded = safetensors::decode(bytes, "<memory>")?;
    let config = embedded_config(&decoded.metadata).ok_or_else(|| CheckpointError::Format {
        origin: "<memory>".into(),
        message: format!(
            "no `{CONFIG_METADATA_KEY}` metadata; load it into a network with load_weights"
        ),
    })??;
    let net = config.init(device)?;
    apply_named(net, decoded.tensors, "<memory>", &BTreeSet::new())
}

fn embedded_config(
    metadata: &BTreeMap<String, String>,
) -> Option<Result<UNetConfig, CheckpointError>> {
    metadata
        .get(CONFIG_METADATA_KEY)
        .map(|text| UNetConfig::from_json_str(text).map_err(CheckpointError::from))
}

/// Write `<path>` (safetensors) and `<path>.json` (config) atomically.
pub fn save(net: &UNet, path: &Path) -> Result<(), CheckpointError> {
    let config = serde_json::to_string_pretty(net.config()).unwrap_or_default();
    write_atomic(&config_path(path), config.as_bytes())?;
    write_atomic(path, &save_weights(net))
}

/// Load a checkpoint written by [`save`]: the config comes from the file's metadata, or from
/// the JSON beside it when the metadata lacks it.
pub fn load(path: &Path, device: &Device) -> Result<UNet, CheckpointError> {
    let bytes = read(path)?;
    let origin = path.display().to_string();
    let decoded = safetensors::decode(&bytes, &origin)?;
    let config = match embedded_config(&decoded.metadata) {
        Some(config) => config?,
        None => read_config(path)?,
    };
    let net = config.init(device)?;
    apply_named(net, decoded.tensors, &origin, &BTreeSet::new())
}

/// Load the weights of a checkpoint into an existing network (its architecture must match).
pub fn load_into(net: UNet, path: &Path) -> Result<UNet, CheckpointError> {
    let bytes = read(path)?;
    let origin = path.display().to_string();
    let decoded = safetensors::decode(&bytes, &origin)?;
    apply_named(net, decoded.tensors, &origin, &BTreeSet::new())
}

/// Read the config JSON beside a weights file.
pub fn read_config(weights: &Path) -> Result<UNetConfig, CheckpointError> {
    let config = config_path(weights);
    let fail = |message: String| CheckpointError::Config {
        path: weights.to_path_buf(),
        config: config.clone(),
        message,
    };
    let text = std::fs::read_to_string(&config).map_err(|e| fail(e.to_string()))?;
    UNetConfig::from_json_str(&text).map_err(|e| fail(e.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Write to a temporary file in the same folder, sync it, then rename it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let io = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// Check names and shapes against the network, then apply. `ignored` names may be present in
/// the tensors without being used.
pub(crate) fn apply_named(
    mut net: UNet,
    tensors: Vec<NamedTensor>,
    origin: &str,
    ignored: &BTreeSet<String>,
) -> Result<UNet, CheckpointError> {
    let expected: BTreeMap<String, Vec<usize>> = net
        .collect(None, None, false)
        .into_iter()
        .map(|t| (t.name.clone(), t.shape.to_vec()))
        .collect();
    let mut given: BTreeMap<String, NamedTensor> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for t in tensors {
        match expected.get(&t.name) {
            Some(shape) if *shape != t.shape => {
                return Err(CheckpointError::ShapeMismatch {
                    origin: origin.to_string(),
                    name: t.name,
                    expected: shape.clone(),
                    found: t.shape,
                });
            }
            Some(_) => {
                given.insert(t.name.clone(), t);
            }
            None if ignored.contains(&t.name) => {}
            None => unexpected.push(t.name),
        }
    }
    let missing: Vec<String> = expected
        .keys()
        .filter(|k| !given.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(CheckpointError::Missing {
            origin: origin.to_string(),
            names: missing,
        });
    }
    if !unexpected.is_empty() {
        return Err(CheckpointError::Unexpected {
            origin: origin.to_string(),
            names: unexpected,
        });
    }
    let packs = given
        .into_values()
        .map(|t| bridge::from_data(TensorData::new(t.values, t.shape), t.name, None))
        .collect();
    let result = net.apply(packs, None, None, false);
    if let Some(error) = result.errors.first() {
        return Err(CheckpointError::Format {
            origin: origin.to_string(),
            message: error.to_string(),
        });
    }
    if net.config().freeze_deep_supervision_heads {
        net.deep_supervision_heads = net
            .deep_supervision_heads
            .into_iter()
            .map(Module::no_grad)
            .collect();
    }
    Ok(net)
}
