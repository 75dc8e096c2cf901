//! The content-addressed cache: one DIRECTORY per entry, `<root>/<kind>/<key>/`, holding what
//! the node wrote plus the engine's `manifest.toml`.
//!
//! An entry is computed in `<root>/<kind>/.tmp/<key>.<pid>.<nonce>/` and renamed into place only
//! after the node returned Ok and the manifest (with a blake3 + size of every file) was written
//! and fsynced, so a killed run never leaves an entry that looks complete. A lookup is a hit only
//! if the manifest parses and every listed file matches; a damaged entry is reported with
//! `tracing::warn!`, removed and recomputed. A per-key lock file (`<root>/<kind>/<key>.lock`,
//! `fs4` exclusive lock) makes sure two processes never compute the same key at once: the
//! second waits, then finds the first one's entry. Maintenance (`ls`, `gc`, `clear`) is in
//! [`maintain`].

pub mod maintain;
pub mod manifest;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fs4::fs_std::FileExt as _;

use crate::node::Metrics;
pub use manifest::{FileRecord, MANIFEST, Manifest};

/// Name of the per-kind folder holding in-progress entries.
pub const TMP_DIR: &str = ".tmp";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache: cannot {what} {}: {source}; check that the cache directory (runtime.cache_dir, --cache-dir or RL4SEG_CACHE) is writable", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cache: cannot write manifest {}: {message}", .path.display())]
    Manifest { path: PathBuf, message: String },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CacheError {
    let path = path.to_path_buf();
    move |source| CacheError::Io { what, path, source }
}

/// A complete, verified entry.
#[derive(Debug, Clone)]
pub struct Hit {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// Result of looking a key up.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived, one per node lookup: boxing buys nothing
pub enum Lookup {
    Hit(Hit),
    Missing,
    /// An entry exists but is damaged: what is wrong.
    Corrupt(String),
}

/// What the engine records about a new entry besides its files.
#[derive(Debug, Clone)]
pub struct EntryMeta<'a> {
    pub kind: &'a str,
    pub kind_version: u32,
    pub key: &'a str,
    pub node_id: &'a str,
    pub iteration: Option<u32>,
    pub seed: u64,
    pub config: &'a toml::Table,
    pub inputs: &'a std::collections::BTreeMap<String, String>,
}

/// How [`Cache::get_or_compute`] ended.
#[derive(Debug)]
pub enum Outcome {
    /// Found in the cache (possibly after waiting for another process).
    Cached(Hit),
    /// Computed now, in `seconds`.
    Computed { hit: Hit, seconds: f64 },
}

/// Error of [`Cache::get_or_compute`]: the cache itself, or the computation.
#[derive(Debug, thiserror::Error)]
pub enum GetError<E> {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Compute(E),
}

/// Exclusive lock on one key; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct KeyLock {
    file: File,
}

impl Drop for KeyLock {
    fn drop(&mut self) {
        let _ = fs4::fs_std::FileExt::unlock(&self.file);
    }
}

/// An in-progress entry directory, removed on drop unless committed.
#[derive(Debug)]
pub struct TmpDir {
    path: PathBuf,
    keep: bool,
}

impl TmpDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A cache rooted at a directory (created on demand).
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn entry_dir(&self, kind: &str, key: &str) -> PathBuf {
        self.root.join(kind).join(key)
    }

    fn lock_path(&self, kind: &str, key: &str) -> PathBuf {
        self.root.join(kind).join(format!("{key}.lock"))
    }

    /// Looks a key up without side effects; `hashes` also checks every file's blake3.
    pub fn check(&self, kind: &str, key: &str, hashes: bool) -> Lookup {
        let dir = self.entry_dir(kind, key);
        if !dir.exists() {
            return Lookup::Missing;
        }
        match manifest::verify(&dir, kind, key, hashes) {
            Ok(manifest) => Lookup::Hit(Hit { dir, manifest }),
            Err(why) => Lookup::Corrupt(why),
        }
    }

    fn open_lock(&self, kind: &str, key: &str) -> Result<File, CacheError> {
        let path = self.lock_path(kind, key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io("open lock", &path))?;
        // Its modification time says when the key was last locked (gc removes only old orphans).
        let _ = file.set_modified(std::time::SystemTime::now());
        Ok(file)
    }

    /// Blocks until this process holds the key's lock.
    pub fn lock(&self, kind: &str, key: &str) -> Result<KeyLock, CacheError> {
        let file = self.open_lock(kind, key)?;
        file.lock_exclusive()
            .map_err(io("lock", &self.lock_path(kind, key)))?;
        Ok(KeyLock { file })
    }

    /// The key's lock if nobody holds it.
    pub fn try_lock(&self, kind: &str, key: &str) -> Result<Option<KeyLock>, CacheError> {
        let file = self.open_lock(kind, key)?;
        match file.try_lock_exclusive() {
            Ok(true) => Ok(Some(KeyLock { file })),
            Ok(false) => Ok(None),
            Err(e) => Err(io("lock", &self.lock_path(kind, key))(e)),
        }
    }

    /// A fresh in-progress directory for `key` (hold the key's lock while using it).
    pub fn tmp_dir(&self, kind: &str, key: &str) -> Result<TmpDir, CacheError> {
        static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nonce = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = self
            .root
            .join(kind)
            .join(TMP_DIR)
            .join(format!("{key}.{}.{nanos:x}{nonce}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(io("create", &path))?;
        Ok(TmpDir { path, keep: false })
    }

    /// Writes the manifest into `tmp`, fsyncs everything and renames it into place.
    pub fn commit(
        &self,
        mut tmp: TmpDir,
        meta: &EntryMeta<'_>,
        metrics: &Metrics,
        seconds: f64,
    ) -> Result<Hit, CacheError> {
        let manifest = Manifest {
            kind: meta.kind.into(),
            kind_version: meta.kind_version,
            key: meta.key.into(),
            node_id: meta.node_id.into(),
            iteration: meta.iteration,
            seed: meta.seed.to_string(),
            engine_version: crate::plan::ENGINE_VERSION.into(),
            artifact_format_version: crate::plan::ARTIFACT_FORMAT_VERSION,
            host: hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into()),
            created: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            wall_time_s: seconds,
            config: meta.config.clone(),
            inputs: meta.inputs.clone(),
            metrics: metrics.clone(),
            files: manifest::record_files(tmp.path())?,
        };
        manifest::write(tmp.path(), &manifest)?;
        File::open(tmp.path())
            .and_then(|d| d.sync_all())
            .map_err(io("sync", tmp.path()))?;
        let dest = self.entry_dir(meta.kind, meta.key);
        if dest.exists() {
            // Only a damaged entry can be here (we hold the lock and looked it up): replace it.
            std::fs::remove_dir_all(&dest).map_err(io("remove", &dest))?;
        }
        std::fs::rename(tmp.path(), &dest).map_err(io("rename into place", &dest))?;
        tmp.keep = true;
        if let Some(parent) = dest.parent() {
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        Ok(Hit {
            dir: dest,
            manifest,
        })
    }

    /// Records that an entry was used now (its manifest's modification time), for `gc`.
    pub fn touch(&self, hit: &Hit) {
        let path = hit.dir.join(MANIFEST);
        if let Ok(f) = File::options().write(true).open(&path) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
    }

    /// The entry for `meta.key`: a verified hit, or computed by `compute` (given a fresh
    /// directory to fill) under the key's lock. `on_wait` is called if another process holds the
    /// lock; `on_start` just before computing. A damaged entry is warned about and replaced.
    pub fn get_or_compute<E>(
        &self,
        meta: &EntryMeta<'_>,
        on_wait: impl FnOnce(),
        on_start: impl FnOnce(),
        compute: impl FnOnce(&Path) -> Result<Metrics, E>,
    ) -> Result<Outcome, GetError<E>> {
        if let Lookup::Hit(hit) = self.check(meta.kind, meta.key, true) {
            self.touch(&hit);
            return Ok(Outcome::Cached(hit));
        }
        let _lock = match self.try_lock(meta.kind, meta.key)? {
            Some(lock) => lock,
            None => {
                on_wait();
                self.lock(meta.kind, meta.key)?
            }
        };
        match self.check(meta.kind, meta.key, true) {
            Lookup::Hit(hit) => {
                self.touch(&hit);
                return Ok(Outcome::Cached(hit));
            }
            Lookup::Missing => {}
            Lookup::Corrupt(why) => {
                let dir = self.entry_dir(meta.kind, meta.key);
                tracing::warn!(
                    "cache entry {} is damaged ({why}); removing it and recomputing",
                    dir.display()
                );
                std::fs::remove_dir_all(&dir).map_err(io("remove", &dir))?;
            }
        }
        let tmp = self.tmp_dir(meta.kind, meta.key)?;
        on_start();
        let start = Instant::now();
        let metrics = compute(tmp.path()).map_err(GetError::Compute)?;
        let seconds = start.elapsed().as_secs_f64();
        let hit = self.commit(tmp, meta, &metrics, seconds)?;
        Ok(Outcome::Computed { hit, seconds })
    }
}

#[cfg(test)]
mod tests;
