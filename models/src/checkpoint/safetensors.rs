//! The safetensors container, read and written by hand (little-endian f32 payload after a
//! JSON header; <https://huggingface.co/docs/safetensors>): small, exact, and able to report
//! the tensor at fault. Files written here load in Python's `safetensors` and in PyTorch.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::CheckpointError;

/// A named f32 tensor in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// The decoded content of a safetensors buffer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub tensors: Vec<NamedTensor>,
    pub metadata: BTreeMap<String, String>,
}

/// Encode tensors (in the given order) and string metadata.
pub fn encode(tensors: &[NamedTensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), json!(metadata));
    }
    let mut offset = 0usize;
    for t in tensors {
        let end = offset + 4 * t.values.len();
        header.insert(
            t.name.clone(),
            json!({ "dtype": "F32", "shape": t.shape, "data_offsets": [offset, end] }),
        );
        offset = end;
    }
    let mut header = Value::Object(header).to_string().into_bytes();
    // Pad the header with spaces so the payload starts 8-byte aligned.
    while (8 + header.len()) % 8 != 0 {
        header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for t in tensors {
        for v in &t.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Decode a buffer. F32 and F64 tensors are accepted (F64 is narrowed to f32); anything else,
/// a truncated buffer or a malformed header is a [`CheckpointError`] naming the problem.
pub fn decode(bytes: &[u8], origin: &str) -> Result<Decoded, CheckpointError> {
    let format = |message: String| CheckpointError::Format {
        origin: origin.to_string(),
        message,
    };
    let Some(len_bytes) = bytes.get(..8) else {
        return Err(format(format!(
            "{} bytes is too short for a safetensors header",
            bytes.len()
        )));
    };
    let mut len_array = [0u8; 8];
    len_array.copy_from_slice(len_bytes);
    let header_len = u64::from_le_bytes(len_array);
    let header_end = usize::try_from(header_len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            format(format!(
                "header length {header_len} runs past the end of the {}-byte file",
                bytes.len()
            ))
        })?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes[8..header_end])
        .map_err(|e| format(format!("the JSON header is not an object: {e}")))?;
    let payload = &bytes[header_end..];

    let mut decoded = Decoded::default();
    let mut entries = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            let Value::Object(map) = entry else {
                return Err(format("`__metadata__` is not an object".into()));
            };
            for (k, v) in map {
                let Value::String(v) = v else {
                    return Err(format(format!("metadata `{k}` is not a string")));
                };
                decoded.metadata.insert(k, v);
            }
            continue;
        }
        let tensor_err = |message: String| CheckpointError::Tensor {
            origin: origin.to_string(),
            name: name.clone(),
            message,
        };
        let dtype = entry
            .get("dtype")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let shape: Vec<usize> = entry
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                    .collect()
            })
            .ok_or_else(|| tensor_err("no valid `shape` in the header".into()))?;
        let offsets: Vec<usize> = entry
            .get("data_offsets")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                    .collect()
            })
            .filter(|o: &Vec<usize>| o.len() == 2 && o[0] <= o[1])
            .ok_or_else(|| tensor_err("no valid `data_offsets` in the header".into()))?;
        let width = match dtype.as_str() {
            "F32" => 4,
            "F64" => 8,
            other => {
                return Err(tensor_err(format!(
                    "dtype {other:?} is not supported; save the checkpoint as float32"
                )));
            }
        };
        let count: usize = shape.iter().product();
        let (begin, end) = (offsets[0], offsets[1]);
        if end - begin != count * width || end > payload.len() {
            return Err(tensor_err(format!(
                "holds bytes {begin}..{end} but shape {shape:?} of {dtype} needs {} bytes and the payload has {}; the file is truncated or corrupt",
                count * width,
                payload.len()
            )));
        }
        let raw = &payload[begin..end];
        let values: Vec<f32> = if width == 4 {
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            raw.chunks_exact(8)
                .map(|c| {
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect()
        };
        entries.push((
            begin,
            NamedTensor {
                name,
                shape,
                values,
            },
        ));
    }
    entries.sort_by_key(|(begin, _)| *begin);
    decoded.tensors = entries.into_iter().map(|(_, t)| t).collect();
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<NamedTensor>, BTreeMap<String, String>) {
        let tensors = vec![
            NamedTensor {
                name: "a.weight".into(),
                shape: vec![2, 3],
                values: vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE, 0.0, 1e30],
            },
            NamedTensor {
                name: "b".into(),
                shape: vec![1],
                values: vec![7.0],
            },
        ];
        let metadata = BTreeMap::from([("k".to_string(), "{\"x\": 1}".to_string())]);
        (tensors, metadata)
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let (tensors, metadata) = sample();
        let bytes = encode(&tensors, &metadata);
        let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
        assert_eq!((8 + header_len) % 8, 0);
        let decoded = decode(&bytes, "test").expect("decode");
        assert_eq!(decoded.tensors, tensors);
        assert_eq!(decoded.metadata, metadata);
    }

    #[test]
    fn truncated_or_corrupt_buffers_name_the_problem() {
        let (tensors, metadata) = sample();
        let bytes = encode(&tensors, &metadata);
        let e = decode(&bytes[..bytes.len() - 2], "ckpt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("tensor `b`") && e.contains("truncated"), "{e}");
        let e = decode(&bytes[..5], "ckpt").unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");
        let mut garbage = bytes.clone();
        garbage[9] = b'!';
        let e = decode(&garbage, "ckpt").unwrap_err().to_string();
        assert!(e.contains("JSON header"), "{e}");
        let mut huge = bytes;
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(
            decode(&huge, "ckpt")
                .unwrap_err()
                .to_string()
                .contains("runs past")
        );
    }
}
