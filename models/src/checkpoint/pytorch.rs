//! Loading the original RL4Seg3D PyTorch weights (patchless-nnUnet's `UNet` state_dict, a
//! `.pt`/`.ckpt` pickle or zip) into a [`UNet`], through burn-store's PyTorch reader.
//!
//! Key names need no renaming: our parameter paths are the original's keys, including the
//! InstanceNorm `norm.weight` / `norm.bias` (our norm names its affine that way, so burn's
//! `gamma`/`beta` remapping is not needed). What differs is the axis order: the original runs
//! on `(B, C, X, Y, T)` and we on `(B, C, T, H=Y, W=X)`, so every 5-D kernel
//! `[o, i, kX, kY, kT]` is permuted to `[o, i, kT, kY, kX]` (method.md 1.1, 2.1).

use std::collections::BTreeSet;
use std::path::Path;

use burn::store::pytorch_reader::PytorchReader;
use burn::tensor::Device;

use super::safetensors::NamedTensor;
use crate::error::CheckpointError;
use crate::unet::{UNet, UNetConfig};

/// Where the weights sit inside a PyTorch checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PytorchSource {
    /// Top-level dictionary key holding the state_dict (`"state_dict"` in Lightning
    /// checkpoints), or `None` for a bare state_dict (the original's `actor.ckpt`).
    pub top_level_key: Option<String>,
    /// Key prefix of the network inside that dictionary, stripped before matching
    /// (e.g. `"actor.actor.net."` in the original's full checkpoint); empty for none.
    pub prefix: String,
}

/// Load an original-layout PyTorch state_dict into a new network built from `config` (which
/// must describe the same architecture in our `(T, H, W)` order, e.g. the `rl4seg3d` preset).
/// Keys outside `prefix` are ignored; inside it, a missing, unexpected or mis-shaped tensor is
/// an error naming it. `deep_supervision_heads.*` are ignored when `config` has no deep
/// supervision (the original always stores its four heads).
pub fn load_pytorch(
    path: &Path,
    source: &PytorchSource,
    config: &UNetConfig,
    device: &Device,
) -> Result<UNet, CheckpointError> {
    let origin = path.display().to_string();
    let format = |message: String| CheckpointError::Format {
        origin: origin.clone(),
        message,
    };
    let reader = match &source.top_level_key {
        Some(key) => PytorchReader::with_top_level_key(path, key),
        None => PytorchReader::new(path),
    }
    .map_err(|e| format(format!("not a readable PyTorch checkpoint: {e}")))?;

    let mut tensors = Vec::new();
    let mut ignored = BTreeSet::new();
    let mut entries: Vec<_> = reader.into_tensors().into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, tensor) in entries {
        let Some(name) = key.strip_prefix(source.prefix.as_str()) else {
            continue;
        };
        let name = name.to_string();
        if !config.deep_supervision && name.starts_with("deep_supervision_heads.") {
            ignored.insert(name);
            continue;
        }
        let tensor_err = |message: String| CheckpointError::Tensor {
            origin: origin.clone(),
            name: name.clone(),
            message,
        };
        let shape = tensor.shape().to_vec();
        let bytes = tensor.read().map_err(|e| tensor_err(e.to_string()))?;
        let values: Vec<f32> = match tensor.dtype() {
            burn::store::pytorch_reader::DType::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            burn::store::pytorch_reader::DType::F64 => bytes
                .chunks_exact(8)
                .map(|c| {
                    f64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
            other => {
                return Err(tensor_err(format!(
                    "dtype {other:?} is not supported; convert the state_dict to float32"
                )));
            }
        };
        tensors.push(to_our_axes(NamedTensor {
            name,
            shape,
            values,
        }));
    }
    if tensors.is_empty() {
        return Err(format(format!(
            "no tensor key starts with the prefix {:?}; check the prefix and top-level key",
            source.prefix
        )));
    }
    let net = config.init(device)?;
    super::apply_named(net, tensors, &origin, &ignored)
}

/// Permute a 5-D kernel from `[a, b, kX, kY, kT]` to `[a, b, kT, kY, kX]`; other ranks pass.
pub fn to_our_axes(t: NamedTensor) -> NamedTensor {
    let [a, b, x, y, z] = match t.shape[..] {
        [a, b, x, y, z] => [a, b, x, y, z],
        _ => return t,
    };
    let mut values = vec![0f32; t.values.len()];
    for ab in 0..a * b {
        let base = ab * x * y * z;
        for i in 0..x {
            for j in 0..y {
                for k in 0..z {
                    values[base + (k * y + j) * x + i] = t.values[base + (i * y + j) * z + k];
                }
            }
        }
    }
    NamedTensor {
        name: t.name,
        shape: vec![a, b, z, y, x],
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_axes_are_reversed() {
        // [1, 1, kX=2, kY=1, kT=3]: value = 10 * x + t.
        let values = vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        let t = to_our_axes(NamedTensor {
            name: "w".into(),
            shape: vec![1, 1, 2, 1, 3],
            values,
        });
        assert_eq!(t.shape, vec![1, 1, 3, 1, 2]);
        // Ours is [t][y][x]: (t0: x0, x1), (t1: ...), (t2: ...).
        assert_eq!(t.values, vec![0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
        let bias = to_our_axes(NamedTensor {
            name: "b".into(),
            shape: vec![3],
            values: vec![1.0, 2.0, 3.0],
        });
        assert_eq!(bias.shape, vec![3]);
    }
}
