//! What a job leaves in its run directory besides the log: each node's `files/` hard-linked
//! (copied where linking fails, e.g. across file systems) into `<run dir>/<node id>/`, and
//! `metrics.json` (`{node id: {metric: value}}`), rewritten atomically after every node.

use std::collections::BTreeMap;
use std::path::Path;

use super::ExecError;
use crate::cache::manifest::list_files;
use crate::node::Metrics;

/// Links (or copies) `<entry>/files/**` into `<run_dir>/<node_id>/`. Returns the number of files.
pub fn link_files(entry: &Path, run_dir: &Path, node_id: &str) -> Result<usize, ExecError> {
    let src = entry.join("files");
    if !src.is_dir() {
        return Ok(0);
    }
    let err = |path: &Path, e: std::io::Error| ExecError::RunDir {
        what: "link node files into",
        path: path.to_path_buf(),
        source: e,
    };
    let files = list_files(&src).map_err(|e| err(&src, e))?;
    let dest_root = run_dir.join(node_id);
    for rel in &files {
        let from = src.join(rel);
        let to = dest_root.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
        }
        if to.exists() {
            std::fs::remove_file(&to).map_err(|e| err(&to, e))?;
        }
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(|e| err(&to, e))?;
        }
    }
    Ok(files.len())
}

/// Writes `metrics.json` atomically (temporary file + rename).
pub fn write_metrics(run_dir: &Path, metrics: &BTreeMap<String, Metrics>) -> Result<(), ExecError> {
    let path = run_dir.join("metrics.json");
    let tmp = run_dir.join(".metrics.json.tmp");
    let text = serde_json::to_string_pretty(metrics).unwrap_or_else(|_| "{}".into());
    std::fs::write(&tmp, text + "\n")
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| ExecError::RunDir {
            what: "write",
            path,
            source: e,
        })
}

/// Adds one node's metrics to `metrics.json`, under a lock so that nodes of one run executing in
/// parallel processes (`run-node` on a cluster) do not lose each other's entries.
pub fn merge_metrics(run_dir: &Path, node_id: &str, metrics: Metrics) -> Result<(), ExecError> {
    use fs4::fs_std::FileExt as _;
    let lock_path = run_dir.join(".metrics.lock");
    let err = |path: &Path, e: std::io::Error| ExecError::RunDir {
        what: "lock",
        path: path.to_path_buf(),
        source: e,
    };
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| err(&lock_path, e))?;
    lock.lock_exclusive().map_err(|e| err(&lock_path, e))?;
    let mut all: BTreeMap<String, Metrics> = std::fs::read_to_string(run_dir.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    all.insert(node_id.to_string(), metrics);
    let result = write_metrics(run_dir, &all);
    let _ = fs4::fs_std::FileExt::unlock(&lock);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_linked_into_the_node_folder_and_metrics_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let entry = tmp.path().join("entry");
        std::fs::create_dir_all(entry.join("files/deep")).expect("mkdir");
        std::fs::write(entry.join("files/deep/a.txt"), "A").expect("write");
        std::fs::write(entry.join("artifact.h5"), "not for people").expect("write");
        let run = tmp.path().join("run");
        std::fs::create_dir_all(&run).expect("mkdir");
        assert_eq!(link_files(&entry, &run, "ppo@2").expect("linked"), 1);
        assert_eq!(
            std::fs::read_to_string(run.join("ppo@2/deep/a.txt"))
                .ok()
                .as_deref(),
            Some("A")
        );
        assert!(!run.join("ppo@2/artifact.h5").exists());
        assert_eq!(
            link_files(&tmp.path().join("nothing"), &run, "x").expect("no files"),
            0
        );

        let m = BTreeMap::from([(
            "ppo@2".to_string(),
            Metrics::from([("reward".to_string(), 0.5)]),
        )]);
        write_metrics(&run, &m).expect("written");
        let back: BTreeMap<String, Metrics> =
            serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).expect("read"))
                .expect("json");
        assert_eq!(back, m);

        merge_metrics(&run, "other", Metrics::from([("x".to_string(), 2.0)])).expect("merged");
        let merged: BTreeMap<String, Metrics> =
            serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).expect("read"))
                .expect("json");
        assert_eq!(merged.len(), 2);
    }
}
