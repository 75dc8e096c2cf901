//! Fingerprints of the user files a node reads (`load`, `evaluate_nifti`): path, size and
//! modification time of every file found, hashed into the node's cache key so that an edited or
//! added file invalidates the cached artifact (as DVC does for its dependencies).

use std::path::Path;

use engine::NodeError;

/// Fingerprint of every file under `path` (recursively), or of `path` itself.
pub fn of_path(path: &Path) -> Result<String, NodeError> {
    let mut entries = Vec::new();
    collect(path, &mut entries, 0);
    entries.sort();
    let mut hasher = blake3::Hasher::new();
    for e in &entries {
        hasher.update(e.as_bytes());
        hasher.update(b"\n");
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn collect(path: &Path, out: &mut Vec<String>, depth: usize) {
    let Ok(meta) = std::fs::metadata(path) else {
        out.push(format!("{}\tmissing", path.display()));
        return;
    };
    if meta.is_dir() {
        if depth > 32 {
            return;
        }
        if let Ok(rd) = std::fs::read_dir(path) {
            for e in rd.flatten() {
                collect(&e.path(), out, depth + 1);
            }
        }
    } else {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        out.push(format!("{}\t{}\t{mtime}", path.display(), meta.len()));
    }
}

/// The fingerprint for a node kind's config, for kinds that read user files.
pub fn of_kind(kind: &str, config: &toml::Table) -> Result<Option<String>, NodeError> {
    let keys: &[&str] = match kind {
        "load" | "checkpoint" | "reward_checkpoint" => &["path"],
        "evaluate_nifti" => &["pred_path", "gt_path"],
        _ => return Ok(None),
    };
    let mut parts = Vec::new();
    for k in keys {
        if let Some(p) = config
            .get(*k)
            .and_then(toml::Value::as_str)
            .filter(|p| !p.is_empty())
        {
            // Checked while planning, so a mistyped path fails before any node runs.
            if !Path::new(p).exists() {
                return Err(NodeError::user(format!(
                    "`{k}` = {p:?} does not exist; give an existing file or folder (a relative path is taken from the directory you run rl4seg in)"
                )));
            }
            parts.push(of_path(Path::new(p))?);
        }
    }
    Ok(Some(parts.join(":")))
}
