//! Cache behaviour: hits, atomic commits, damaged entries, locking, maintenance.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use maintain::Removal;

fn meta<'a>(
    key: &'a str,
    config: &'a toml::Table,
    inputs: &'a BTreeMap<String, String>,
) -> EntryMeta<'a> {
    EntryMeta {
        kind: "toy",
        kind_version: 1,
        key,
        node_id: "n",
        iteration: None,
        seed: u64::MAX,
        config,
        inputs,
    }
}

fn write_files(dir: &Path, text: &str) -> Result<Metrics, String> {
    std::fs::write(dir.join("artifact.h5"), text).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join("files/sub")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("files/sub/a.txt"), "people").map_err(|e| e.to_string())?;
    Ok(Metrics::from([("m".to_string(), 1.5)]))
}

fn compute(cache: &Cache, key: &str, text: &str, runs: &AtomicUsize) -> Outcome {
    let cfg = toml::Table::new();
    let inputs = BTreeMap::new();
    cache
        .get_or_compute(
            &meta(key, &cfg, &inputs),
            || {},
            || {},
            |dir| {
                runs.fetch_add(1, Ordering::SeqCst);
                write_files(dir, text)
            },
        )
        .expect("cache works")
}

#[test]
fn second_lookup_is_a_hit_with_a_complete_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(tmp.path().join("cache"));
    let runs = AtomicUsize::new(0);
    let first = compute(&cache, "k1", "data", &runs);
    assert!(matches!(first, Outcome::Computed { .. }));
    let Outcome::Cached(hit) = compute(&cache, "k1", "data", &runs) else {
        panic!("expected a hit")
    };
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(hit.dir, tmp.path().join("cache/toy/k1"));
    let m = &hit.manifest;
    assert_eq!(
        (m.kind.as_str(), m.key.as_str(), m.seed.as_str()),
        ("toy", "k1", "18446744073709551615")
    );
    let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["artifact.h5", "files/sub/a.txt"]);
    assert_eq!(m.metrics["m"], 1.5);
    assert!(!m.host.is_empty() && !m.created.is_empty());
    let tmp_root = tmp.path().join("cache/toy").join(TMP_DIR);
    assert_eq!(
        std::fs::read_dir(tmp_root).map(|d| d.count()).unwrap_or(0),
        0,
        "no temporary directory left"
    );
}

#[test]
fn a_failed_computation_leaves_no_entry_and_no_temporary_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(tmp.path());
    let cfg = toml::Table::new();
    let inputs = BTreeMap::new();
    let r = cache.get_or_compute(
        &meta("k", &cfg, &inputs),
        || {},
        || {},
        |dir| {
            std::fs::write(dir.join("artifact.h5"), "half").map_err(|e| e.to_string())?;
            Err::<Metrics, String>("boom".into())
        },
    );
    assert!(matches!(r, Err(GetError::Compute(ref m)) if m == "boom"));
    assert!(matches!(cache.check("toy", "k", true), Lookup::Missing));
    assert_eq!(
        std::fs::read_dir(tmp.path().join("toy").join(TMP_DIR))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_damaged_entry_is_warned_about_removed_and_recomputed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(tmp.path());
    let runs = AtomicUsize::new(0);
    compute(&cache, "k", "0123456789", &runs);
    let artifact = tmp.path().join("toy/k/artifact.h5");

    // Truncated file: size check.
    std::fs::write(&artifact, "01234").expect("truncate");
    assert!(
        matches!(cache.check("toy", "k", false), Lookup::Corrupt(ref w) if w.contains("has 5 bytes"))
    );
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let outcome =
        tracing::subscriber::with_default(subscriber, || compute(&cache, "k", "0123456789", &runs));
    assert!(matches!(outcome, Outcome::Computed { .. }));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let log = String::from_utf8(buf.0.lock().expect("log").clone()).expect("utf8");
    assert!(
        log.contains("WARN")
            && log.contains("is damaged (file `artifact.h5` has 5 bytes, the manifest says 10)"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(&artifact).ok().as_deref(),
        Some("0123456789")
    );

    // Same size, different bytes: only the hash sees it.
    std::fs::write(&artifact, "9876543210").expect("overwrite");
    assert!(matches!(cache.check("toy", "k", false), Lookup::Hit(_)));
    assert!(
        matches!(cache.check("toy", "k", true), Lookup::Corrupt(ref w) if w.contains("blake3"))
    );

    // Unreadable manifest.
    std::fs::write(tmp.path().join("toy/k").join(MANIFEST), "kind = ").expect("break manifest");
    assert!(
        matches!(cache.check("toy", "k", true), Lookup::Corrupt(ref w) if w.contains("does not parse"))
    );
    assert!(matches!(
        compute(&cache, "k", "0123456789", &runs),
        Outcome::Computed { .. }
    ));
}

#[test]
fn two_threads_on_one_key_compute_it_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().to_path_buf();
    let runs = Arc::new(AtomicUsize::new(0));
    let waited = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (root, runs, waited) = (root.clone(), runs.clone(), waited.clone());
            std::thread::spawn(move || {
                let cache = Cache::new(root);
                let cfg = toml::Table::new();
                let inputs = BTreeMap::new();
                let outcome = cache.get_or_compute(
                    &meta("same", &cfg, &inputs),
                    || {
                        waited.fetch_add(1, Ordering::SeqCst);
                    },
                    || {},
                    |dir| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        write_files(dir, "x")
                    },
                );
                matches!(outcome, Ok(Outcome::Computed { .. }))
            })
        })
        .collect();
    let computed: Vec<bool> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(computed.iter().filter(|&&c| c).count(), 1);
    assert_eq!(
        waited.load(Ordering::SeqCst),
        1,
        "the second thread waited for the lock"
    );
}

#[test]
fn gc_removes_stale_temporaries_damaged_and_unused_entries_but_not_locked_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(tmp.path());
    let runs = AtomicUsize::new(0);
    for k in ["good", "bad", "busy"] {
        compute(&cache, k, "0123456789", &runs);
    }
    std::fs::write(tmp.path().join("toy/bad/artifact.h5"), "x").expect("damage");
    let stale = cache.tmp_dir("toy", "killed").expect("tmp");
    let stale_path = stale.path().to_path_buf();
    std::mem::forget(stale); // as if the process had been killed
    std::fs::write(stale_path.join("artifact.h5"), "half").expect("partial write");
    assert!(
        matches!(cache.check("toy", "killed", true), Lookup::Missing),
        "temporaries are ignored"
    );

    let listed = cache.list();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|e| e.damage.is_some()).count(), 1);

    let _busy = cache.lock("toy", "busy").expect("lock");
    let dry = cache.gc(Some(std::time::Duration::ZERO), true).expect("gc");
    assert_eq!(
        (dry.tmp_dirs, dry.damaged, dry.unused, dry.in_use),
        (1, 1, 1, 1)
    );
    assert!(stale_path.exists(), "a dry run removes nothing");
    let done = cache
        .gc(Some(std::time::Duration::ZERO), false)
        .expect("gc");
    assert_eq!(
        done,
        Removal {
            lock_files: done.lock_files,
            ..dry.clone()
        }
    );
    assert!(
        done.summary(false).starts_with(
            "removed 1 unused entries, 1 damaged entries, 1 unfinished temporary directories"
        ),
        "{}",
        done.summary(false)
    );
    assert!(!stale_path.exists());
    assert!(tmp.path().join("toy/busy").exists());
    assert!(!tmp.path().join("toy/good").exists());
}

#[test]
fn gc_without_an_age_keeps_healthy_entries_and_clear_filters_by_kind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = Cache::new(tmp.path());
    let runs = AtomicUsize::new(0);
    compute(&cache, "a", "1", &runs);
    let cfg = toml::Table::new();
    let inputs = BTreeMap::new();
    let other = EntryMeta {
        kind: "other",
        ..meta("b", &cfg, &inputs)
    };
    cache
        .get_or_compute(&other, || {}, || {}, |d| write_files(d, "2"))
        .expect("computed");
    assert_eq!(cache.gc(None, false).expect("gc"), Removal::default());
    assert_eq!(cache.kind_names(), ["other", "toy"]);
    let r = cache.clear(Some("other"), false).expect("clear");
    assert_eq!(r.entries, 1);
    assert!(matches!(cache.check("toy", "a", true), Lookup::Hit(_)));
    assert!(matches!(cache.check("other", "b", true), Lookup::Missing));
    assert_eq!(maintain::human_bytes(1500), "1.5 kB");
}
