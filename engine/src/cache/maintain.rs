//! Cache maintenance behind `cache ls | gc | clear`: listing entries, removing stale
//! in-progress directories, damaged entries and entries unused for a while, and clearing kinds.
//! Every removal first takes the key's lock (without waiting), so nothing in use by a running
//! process is touched; such entries are counted as "in use" and skipped.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Cache, CacheError, Lookup, MANIFEST, TMP_DIR, io, manifest};

/// One entry, as `cache ls` shows it.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    pub kind: String,
    pub key: String,
    pub node_id: String,
    /// Bytes of the entry's files (manifest included).
    pub size: u64,
    /// RFC 3339 creation time (from the manifest).
    pub created: String,
    pub last_used: Option<SystemTime>,
    /// `None` when the sizes match the manifest; otherwise what is wrong.
    pub damage: Option<String>,
}

/// What `gc` or `clear` removed (or would remove, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    pub tmp_dirs: usize,
    pub damaged: usize,
    pub unused: usize,
    pub entries: usize,
    pub lock_files: usize,
    pub bytes: u64,
    /// Skipped because a running process holds their lock.
    pub in_use: usize,
}

impl Removal {
    pub fn summary(&self, dry_run: bool) -> String {
        let verb = if dry_run { "would remove" } else { "removed" };
        let mut parts = Vec::new();
        for (n, what) in [
            (self.entries, "entries"),
            (self.unused, "unused entries"),
            (self.damaged, "damaged entries"),
            (self.tmp_dirs, "unfinished temporary directories"),
            (self.lock_files, "stale lock files"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let mut s = if parts.is_empty() {
            "nothing to remove".to_string()
        } else {
            format!("{verb} {} ({})", parts.join(", "), human_bytes(self.bytes))
        };
        if self.in_use > 0 {
            s.push_str(&format!(
                "; skipped {} in use by a running process",
                self.in_use
            ));
        }
        s
    }
}

/// `1.5 MB`-style size.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn dir_size(dir: &Path) -> u64 {
    manifest::list_files(dir)
        .map(|files| {
            files
                .iter()
                .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn subdirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

impl Cache {
    fn kinds(&self, only: Option<&str>) -> Vec<(String, PathBuf)> {
        subdirs(&self.root)
            .into_iter()
            .filter(|(k, _)| !k.starts_with('.') && only.is_none_or(|o| o == k))
            .collect()
    }

    /// Every entry (sizes checked, hashes not), sorted by kind then creation time.
    pub fn list(&self) -> Vec<EntryInfo> {
        let mut out = Vec::new();
        for (kind, kdir) in self.kinds(None) {
            for (key, dir) in subdirs(&kdir).into_iter().filter(|(k, _)| k != TMP_DIR) {
                let last_used = std::fs::metadata(dir.join(MANIFEST))
                    .and_then(|m| m.modified())
                    .ok();
                let info = match manifest::verify(&dir, &kind, &key, false) {
                    Ok(m) => EntryInfo {
                        size: m.total_size()
                            + std::fs::metadata(dir.join(MANIFEST))
                                .map(|m| m.len())
                                .unwrap_or(0),
                        kind: kind.clone(),
                        key,
                        node_id: m.node_id,
                        created: m.created,
                        last_used,
                        damage: None,
                    },
                    Err(why) => EntryInfo {
                        size: dir_size(&dir),
                        kind: kind.clone(),
                        key,
                        node_id: "?".into(),
                        created: "?".into(),
                        last_used,
                        damage: Some(why),
                    },
                };
                out.push(info);
            }
        }
        out.sort_by(|a, b| (&a.kind, &a.created, &a.key).cmp(&(&b.kind, &b.created, &b.key)));
        out
    }

    /// Removes a directory under the key's lock; counts it as in use if the lock is held.
    fn remove_locked(
        &self,
        kind: &str,
        key: &str,
        dir: &Path,
        dry_run: bool,
        r: &mut Removal,
    ) -> Result<bool, CacheError> {
        let Some(_lock) = self.try_lock(kind, key)? else {
            r.in_use += 1;
            return Ok(false);
        };
        r.bytes += dir_size(dir);
        if !dry_run {
            std::fs::remove_dir_all(dir).map_err(io("remove", dir))?;
        }
        Ok(true)
    }

    fn remove_tmp_dirs(
        &self,
        kind: &str,
        kdir: &Path,
        dry_run: bool,
        r: &mut Removal,
    ) -> Result<(), CacheError> {
        for (name, dir) in subdirs(&kdir.join(TMP_DIR)) {
            let key = name.split('.').next().unwrap_or(&name);
            if self.remove_locked(kind, key, &dir, dry_run, r)? {
                r.tmp_dirs += 1;
            }
        }
        Ok(())
    }

    /// Removes unfinished temporary directories, damaged entries (every file hashed) and, with
    /// `older_than`, entries not used for that long and their orphaned lock files.
    pub fn gc(&self, older_than: Option<Duration>, dry_run: bool) -> Result<Removal, CacheError> {
        let mut r = Removal::default();
        let now = SystemTime::now();
        let old = |t: Option<SystemTime>| match (older_than, t) {
            (Some(limit), Some(t)) => now.duration_since(t).is_ok_and(|age| age > limit),
            (Some(_), None) => true,
            (None, _) => false,
        };
        for (kind, kdir) in self.kinds(None) {
            self.remove_tmp_dirs(&kind, &kdir, dry_run, &mut r)?;
            for (key, dir) in subdirs(&kdir).into_iter().filter(|(k, _)| k != TMP_DIR) {
                match self.check(&kind, &key, true) {
                    Lookup::Corrupt(why) => {
                        if self.remove_locked(&kind, &key, &dir, dry_run, &mut r)? {
                            tracing::info!(
                                "{} {kind}/{key}: {why}",
                                if dry_run { "would remove" } else { "removing" }
                            );
                            r.damaged += 1;
                        }
                    }
                    Lookup::Hit(_) => {
                        let used = std::fs::metadata(dir.join(MANIFEST))
                            .and_then(|m| m.modified())
                            .ok();
                        if old(used) && self.remove_locked(&kind, &key, &dir, dry_run, &mut r)? {
                            r.unused += 1;
                        }
                    }
                    Lookup::Missing => {}
                }
            }
            // Lock files whose entry is gone and that nobody used for `older_than`.
            if older_than.is_some() {
                let Ok(rd) = std::fs::read_dir(&kdir) else {
                    continue;
                };
                for e in rd.filter_map(Result::ok) {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let Some(key) = name.strip_suffix(".lock") else {
                        continue;
                    };
                    let exists = kdir.join(key).exists();
                    let modified = e.metadata().and_then(|m| m.modified()).ok();
                    if !exists
                        && old(modified)
                        && let Some(_lock) = self.try_lock(&kind, key)?
                    {
                        if !dry_run {
                            std::fs::remove_file(e.path()).map_err(io("remove", &e.path()))?;
                        }
                        r.lock_files += 1;
                    }
                }
            }
        }
        Ok(r)
    }

    /// Removes every entry (and unfinished directory) of `kind`, or of every kind.
    pub fn clear(&self, kind: Option<&str>, dry_run: bool) -> Result<Removal, CacheError> {
        let mut r = Removal::default();
        for (k, kdir) in self.kinds(kind) {
            self.remove_tmp_dirs(&k, &kdir, dry_run, &mut r)?;
            for (key, dir) in subdirs(&kdir)
                .into_iter()
                .filter(|(name, _)| name != TMP_DIR)
            {
                if self.remove_locked(&k, &key, &dir, dry_run, &mut r)? {
                    r.entries += 1;
                }
            }
        }
        Ok(r)
    }

    /// Kind names present in the cache.
    pub fn kind_names(&self) -> Vec<String> {
        self.kinds(None).into_iter().map(|(k, _)| k).collect()
    }
}
