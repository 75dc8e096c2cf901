//! `manifest.toml`, written by the engine into every cache entry: what produced the entry
//! (kind, version, node id, canonical config, input keys, engine version, host, wall time,
//! metrics) and a blake3 hash + size of every file in it, so that a lookup can prove the entry
//! is complete and intact.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CacheError;

/// File name of the manifest inside an entry.
pub const MANIFEST: &str = "manifest.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub kind_version: u32,
    pub key: String,
    /// Instance id of the node that computed it (informational: ids are not hashed).
    pub node_id: String,
    pub iteration: Option<u32>,
    /// Decimal (a u64 does not fit a TOML integer).
    pub seed: String,
    pub engine_version: String,
    pub artifact_format_version: u32,
    pub host: String,
    /// RFC 3339.
    pub created: String,
    pub wall_time_s: f64,
    pub config: toml::Table,
    /// Port -> upstream key.
    pub inputs: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
    pub files: Vec<FileRecord>,
}

/// One file of an entry (`path` relative to the entry, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    pub blake3: String,
}

impl Manifest {
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// blake3 (hex) and size of a file.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    let size = std::io::copy(&mut file, &mut h)?;
    Ok((h.finalize().to_hex().to_string(), size))
}

/// Every regular file under `dir` (recursively), as paths relative to `dir`, sorted.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let rel_child = rel.join(entry.file_name());
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push(rel_child);
            } else if ty.is_file() {
                out.push(rel_child);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn slash_path(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Hashes every file of a freshly written entry (except a manifest) and fsyncs it.
pub fn record_files(dir: &Path) -> Result<Vec<FileRecord>, CacheError> {
    let io = |path: &Path, source| CacheError::Io {
        what: "hash",
        path: path.to_path_buf(),
        source,
    };
    let mut records = Vec::new();
    for rel in list_files(dir).map_err(|e| io(dir, e))? {
        if rel == Path::new(MANIFEST) {
            continue;
        }
        let full = dir.join(&rel);
        std::fs::File::open(&full)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(&full, e))?;
        let (blake3, size) = hash_file(&full).map_err(|e| io(&full, e))?;
        records.push(FileRecord {
            path: slash_path(&rel),
            size,
            blake3,
        });
    }
    Ok(records)
}

/// Reads and parses an entry's manifest.
pub fn read(dir: &Path) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {MANIFEST}: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("{MANIFEST} does not parse: {}", e.message()))
}

/// Writes the manifest and fsyncs it.
pub fn write(dir: &Path, m: &Manifest) -> Result<(), CacheError> {
    use std::io::Write as _;
    let path = dir.join(MANIFEST);
    let text = toml::to_string(m).map_err(|e| CacheError::Manifest {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut f = std::fs::File::create(&path).map_err(|e| CacheError::Io {
        what: "create",
        path: path.clone(),
        source: e,
    })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| CacheError::Io {
            what: "write",
            path,
            source: e,
        })
}

/// Checks an entry against its manifest: right kind and key, every file present with the
/// recorded size and (when `hashes`) blake3. Returns what is wrong.
pub fn verify(dir: &Path, kind: &str, key: &str, hashes: bool) -> Result<Manifest, String> {
    let m = read(dir)?;
    if m.kind != kind || m.key != key {
        return Err(format!("manifest names {}/{} instead", m.kind, m.key));
    }
    if m.artifact_format_version != crate::plan::ARTIFACT_FORMAT_VERSION {
        return Err(format!(
            "artifact format version {} (this engine writes {})",
            m.artifact_format_version,
            crate::plan::ARTIFACT_FORMAT_VERSION
        ));
    }
    for f in &m.files {
        let path = dir.join(&f.path);
        let size = std::fs::metadata(&path)
            .map_err(|e| format!("file `{}`: {e}", f.path))?
            .len();
        if size != f.size {
            return Err(format!(
                "file `{}` has {size} bytes, the manifest says {}",
                f.path, f.size
            ));
        }
        if hashes {
            let (h, _) = hash_file(&path).map_err(|e| format!("file `{}`: {e}", f.path))?;
            if h != f.blake3 {
                return Err(format!(
                    "file `{}` does not match its recorded blake3 hash",
                    f.path
                ));
            }
        }
    }
    Ok(m)
}
