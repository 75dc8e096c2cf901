//! The toy node kinds' typed configs and run functions. A toy artifact (`artifact.h5`) is a
//! small JSON file (`{"values": [...]}` for "numbers", `{"text": "..."}` for "text"): the engine
//! never reads artifacts, so the toy set needs no HDF5. Each kind also writes `files/` for people.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::node::{Metrics, NodeContext, NodeError};

/// `const`: writes fixed numbers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ConstConfig {
    /// The numbers to write.
    pub values: Vec<f64>,
}
impl Default for ConstConfig {
    fn default() -> Self {
        ConstConfig {
            values: vec![1.0, 2.0, 3.0],
        }
    }
}

/// `random`: `n` numbers drawn uniformly in [low, high) from the node's seed.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RandomConfig {
    pub n: u32,
    pub low: f64,
    pub high: f64,
}
impl Default for RandomConfig {
    fn default() -> Self {
        RandomConfig {
            n: 3,
            low: 0.0,
            high: 1.0,
        }
    }
}

/// `add`: `a + b + offset`, element-wise (`b` optional; a single number broadcasts).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AddConfig {
    pub offset: f64,
}

/// `scale`: multiplies or divides every number by `factor`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ScaleConfig {
    pub factor: f64,
    pub op: ScaleOp,
}
impl Default for ScaleConfig {
    fn default() -> Self {
        ScaleConfig {
            factor: 2.0,
            op: ScaleOp::Mul,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScaleOp {
    Mul,
    Div,
}

/// `sleep`: waits, then passes its input through (or writes `[seconds]`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SleepConfig {
    pub seconds: f64,
}
impl Default for SleepConfig {
    fn default() -> Self {
        SleepConfig { seconds: 1.0 }
    }
}

/// `fail`: always fails, the way `error` says.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FailConfig {
    pub message: String,
    pub error: FailMode,
}
impl Default for FailConfig {
    fn default() -> Self {
        FailConfig {
            message: "this node always fails".into(),
            error: FailMode::User,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// A user error (exit code 2).
    User,
    /// An internal error (exit code 1).
    Internal,
    /// A panic (a bug: exit code 1 with "this is a bug").
    Panic,
}

/// `text`: writes a string (an artifact of type "text", which numeric ports reject).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TextConfig {
    pub text: String,
}
impl Default for TextConfig {
    fn default() -> Self {
        TextConfig {
            text: "hello".into(),
        }
    }
}

/// `load`: reads numbers from a user file, one per line.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadConfig {
    pub path: PathBuf,
}

/// `export`: writes its input's numbers to a user path (not cached: runs every time).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Numbers {
    values: Vec<f64>,
}

fn io_err(what: &str, path: &std::path::Path, e: impl std::fmt::Display) -> NodeError {
    NodeError::internal(format!("cannot {what} {}: {e}", path.display()))
}

/// Reads the "numbers" artifact of an input port.
pub fn read_numbers(ctx: &NodeContext, port: &str) -> Result<Vec<f64>, NodeError> {
    let path = ctx.input(port)?.join("artifact.h5");
    let text = std::fs::read_to_string(&path).map_err(|e| io_err("read", &path, e))?;
    let n: Numbers = serde_json::from_str(&text).map_err(|e| io_err("parse", &path, e))?;
    Ok(n.values)
}

/// Writes a "numbers" artifact plus `files/values.txt`; returns `{sum, count}` metrics.
pub fn write_numbers(ctx: &NodeContext, values: &[f64]) -> Result<Metrics, NodeError> {
    let path = ctx.artifact_path();
    let json = serde_json::to_string(&Numbers {
        values: values.to_vec(),
    })
    .map_err(|e| io_err("encode", &path, e))?;
    std::fs::write(&path, json).map_err(|e| io_err("write", &path, e))?;
    let txt = ctx.files_dir()?.join("values.txt");
    let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&txt, lines).map_err(|e| io_err("write", &txt, e))?;
    Ok(Metrics::from([
        ("sum".to_string(), values.iter().sum()),
        ("count".to_string(), values.len() as f64),
    ]))
}

pub fn write_text(ctx: &NodeContext, text: &str) -> Result<Metrics, NodeError> {
    let path = ctx.artifact_path();
    let json = serde_json::json!({ "text": text }).to_string();
    std::fs::write(&path, json).map_err(|e| io_err("write", &path, e))?;
    Ok(Metrics::from([(
        "chars".to_string(),
        text.chars().count() as f64,
    )]))
}

/// SplitMix64: a tiny deterministic generator for the `random` kind.
pub fn random_values(seed: u64, c: &RandomConfig) -> Vec<f64> {
    let mut state = seed;
    (0..c.n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
            c.low + unit * (c.high - c.low)
        })
        .collect()
}

pub fn add(a: &[f64], b: Option<&[f64]>, offset: f64) -> Result<Vec<f64>, NodeError> {
    let b = match b {
        None => return Ok(a.iter().map(|x| x + offset).collect()),
        Some(b) => b,
    };
    match (a.len(), b.len()) {
        (n, m) if n == m => Ok(a.iter().zip(b).map(|(x, y)| x + y + offset).collect()),
        (_, 1) => Ok(a.iter().map(|x| x + b[0] + offset).collect()),
        (1, _) => Ok(b.iter().map(|y| a[0] + y + offset).collect()),
        (n, m) => Err(NodeError::user(format!(
            "add: inputs `a` ({n} numbers) and `b` ({m} numbers) differ in length; give them the same length or one number"
        ))),
    }
}

pub fn scale(x: &[f64], c: &ScaleConfig) -> Result<Vec<f64>, NodeError> {
    match c.op {
        ScaleOp::Mul => Ok(x.iter().map(|v| v * c.factor).collect()),
        ScaleOp::Div if c.factor == 0.0 => Err(NodeError::user(
            "scale: cannot divide by factor 0; set `factor` to a non-zero number or use op = \"mul\"",
        )),
        ScaleOp::Div => Ok(x.iter().map(|v| v / c.factor).collect()),
    }
}

pub fn load(c: &LoadConfig) -> Result<Vec<f64>, NodeError> {
    let text = std::fs::read_to_string(&c.path).map_err(|e| {
        NodeError::user(format!(
            "load: cannot read {}: {e}; check `path`",
            c.path.display()
        ))
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.trim().parse::<f64>().map_err(|_| {
                NodeError::user(format!(
                    "load: {} line {}: `{}` is not a number; write one number per line",
                    c.path.display(),
                    i + 1,
                    l.trim()
                ))
            })
        })
        .collect()
}

/// Size and modification time of a `load` node's file: a changed file changes the cache key.
pub fn load_fingerprint(c: &LoadConfig) -> Result<String, NodeError> {
    let meta = std::fs::metadata(&c.path).map_err(|e| {
        NodeError::user(format!(
            "cannot read {}: {e}; check `path`",
            c.path.display()
        ))
    })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{} bytes, modified {modified}", meta.len()))
}

pub fn export(ctx: &NodeContext, c: &ExportConfig) -> Result<Metrics, NodeError> {
    let values = read_numbers(ctx, "x")?;
    let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
    if let Some(parent) = c.path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            NodeError::user(format!("export: cannot create {}: {e}", parent.display()))
        })?;
    }
    std::fs::write(&c.path, &lines)
        .map_err(|e| NodeError::user(format!("export: cannot write {}: {e}", c.path.display())))?;
    let copy = ctx.files_dir()?.join("export.txt");
    std::fs::write(&copy, &lines).map_err(|e| io_err("write", &copy, e))?;
    Ok(Metrics::from([(
        "exported".to_string(),
        values.len() as f64,
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_broadcasts_one_number_and_rejects_length_mismatch() {
        assert_eq!(
            add(&[1.0, 2.0], Some(&[10.0]), 0.5).ok(),
            Some(vec![11.5, 12.5])
        );
        assert_eq!(add(&[1.0, 2.0], None, 1.0).ok(), Some(vec![2.0, 3.0]));
        assert!(matches!(
            add(&[1.0, 2.0], Some(&[1.0, 2.0, 3.0]), 0.0),
            Err(NodeError::User(_))
        ));
    }

    #[test]
    fn random_is_deterministic_per_seed_and_in_range() {
        let c = RandomConfig {
            n: 50,
            low: -2.0,
            high: 3.0,
        };
        let a = random_values(7, &c);
        assert_eq!(a, random_values(7, &c));
        assert_ne!(a, random_values(8, &c));
        assert!(a.iter().all(|v| (-2.0..3.0).contains(v)));
    }

    #[test]
    fn scale_division_by_zero_is_a_user_error() {
        let c = ScaleConfig {
            factor: 0.0,
            op: ScaleOp::Div,
        };
        assert!(matches!(scale(&[1.0], &c), Err(NodeError::User(_))));
        assert_eq!(
            scale(
                &[1.0, 4.0],
                &ScaleConfig {
                    factor: 2.0,
                    op: ScaleOp::Div
                }
            )
            .ok(),
            Some(vec![0.5, 2.0])
        );
    }
}
