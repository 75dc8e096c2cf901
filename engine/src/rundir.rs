//! Run directories: expanding the `runtime.run_dir` / `runtime.sweep_dir` templates
//! (`{pipeline}`, `{date}`, `{time}`, `{job}`, `{overrides}`), creating them without ever reusing
//! an existing directory (a suffix `_1`, `_2`, ... is added when one exists, e.g. two runs in the
//! same second), and writing a job's record: `config.toml` (resolved, with a header listing the
//! group choices), `overrides.txt`, `plan.txt`, `plan.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::plan::Plan;

#[derive(Debug, thiserror::Error)]
#[error("cannot {what} {}: {source}; check runtime.run_dir / runtime.sweep_dir and that the directory is writable", .path.display())]
pub struct RunDirError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Date and time of a run, fixed once (all jobs of a sweep share it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub date: String,
    pub time: String,
}

impl Stamp {
    pub fn now() -> Stamp {
        let now = chrono::Local::now();
        Stamp {
            date: now.format("%Y-%m-%d").to_string(),
            time: now.format("%H-%M-%S").to_string(),
        }
    }
}

/// Replaces `{name}` by its value for each `(name, value)`.
pub fn expand(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Creates `path` (and its parents); if it exists, the first free `path_1`, `path_2`, ...
pub fn create_unique(path: &Path) -> Result<PathBuf, RunDirError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| RunDirError {
            what: "create",
            path: parent.into(),
            source,
        })?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut i = 0u32;
    loop {
        let candidate = if i == 0 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{name}_{i}"))
        };
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && i < 10_000 => i += 1,
            Err(source) => {
                return Err(RunDirError {
                    what: "create",
                    path: candidate,
                    source,
                });
            }
        }
    }
}

/// The directory of a single run (created).
pub fn single(template: &str, pipeline: &str, stamp: &Stamp) -> Result<PathBuf, RunDirError> {
    let path = expand(
        template,
        &[
            ("pipeline", pipeline),
            ("date", &stamp.date),
            ("time", &stamp.time),
        ],
    );
    create_unique(Path::new(&path))
}

/// A multirun's layout: the sweep root (created, shared by all jobs) and the per-job part of
/// the template (the path components from the first one naming `{job}` or `{overrides}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepDirs {
    pub root: PathBuf,
    job_template: String,
}

impl SweepDirs {
    pub fn create(template: &str, pipeline: &str, stamp: &Stamp) -> Result<SweepDirs, RunDirError> {
        let parts: Vec<&str> = template.split('/').collect();
        let split = parts
            .iter()
            .position(|p| p.contains("{job}") || p.contains("{overrides}"))
            .unwrap_or(parts.len());
        let root_t = parts[..split].join("/");
        let job_template = if split == parts.len() {
            "{job}".to_string()
        } else {
            parts[split..].join("/")
        };
        let root = expand(
            &root_t,
            &[
                ("pipeline", pipeline),
                ("date", &stamp.date),
                ("time", &stamp.time),
            ],
        );
        let root = create_unique(Path::new(if root.is_empty() { "." } else { &root }))?;
        Ok(SweepDirs { root, job_template })
    }

    /// Creates job `job`'s directory; `overrides` is its override dirname.
    pub fn job(
        &self,
        job: usize,
        overrides: &str,
        pipeline: &str,
        stamp: &Stamp,
    ) -> Result<PathBuf, RunDirError> {
        let n = job.to_string();
        let rel = expand(
            &self.job_template,
            &[
                ("job", &n),
                ("overrides", overrides),
                ("pipeline", pipeline),
                ("date", &stamp.date),
                ("time", &stamp.time),
            ],
        );
        let rel: Vec<String> = rel
            .split('/')
            .map(|c| c.trim_end_matches(['_', '-', ',']).to_string())
            .collect();
        create_unique(&self.root.join(rel.join("/")))
    }
}

/// What a job's directory records about its config.
#[derive(Debug, Clone)]
pub struct JobRecord<'a> {
    /// The resolved config (what `show` prints).
    pub config_toml: &'a str,
    /// Defaults entry -> chosen option.
    pub choices: &'a BTreeMap<String, String>,
    pub overrides: &'a [String],
    pub plan: &'a Plan,
    /// `plan` text output (with cache status at the start of the run).
    pub plan_text: &'a str,
}

/// Writes `config.toml`, `overrides.txt`, `plan.txt` and `plan.json` into `dir`.
pub fn write_record(dir: &Path, r: &JobRecord<'_>) -> Result<(), RunDirError> {
    let choices = if r.choices.is_empty() {
        "(none)".to_string()
    } else {
        r.choices
            .iter()
            .map(|(g, o)| format!("{g}={o}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let overrides = if r.overrides.is_empty() {
        "(none)".to_string()
    } else {
        r.overrides.join(" ")
    };
    let header = format!(
        "# Resolved config of pipeline `{}`.\n# Group choices: {choices}\n# Overrides: {overrides}\n\n",
        r.plan.pipeline
    );
    let files = [
        ("config.toml", header + r.config_toml),
        (
            "overrides.txt",
            r.overrides.iter().map(|o| format!("{o}\n")).collect(),
        ),
        ("plan.txt", r.plan_text.to_string()),
        ("plan.json", r.plan.to_json() + "\n"),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| RunDirError {
            what: "write",
            path,
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_directory_gets_a_suffix() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let stamp = Stamp {
            date: "2026-01-02".into(),
            time: "03-04-05".into(),
        };
        let t = format!(
            "{}/outputs/{{pipeline}}/{{date}}_{{time}}",
            tmp.path().display()
        );
        let a = single(&t, "toy", &stamp).expect("created");
        let b = single(&t, "toy", &stamp).expect("created");
        assert_eq!(a, tmp.path().join("outputs/toy/2026-01-02_03-04-05"));
        assert_eq!(b, tmp.path().join("outputs/toy/2026-01-02_03-04-05_1"));
    }

    #[test]
    fn sweep_jobs_live_under_one_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let stamp = Stamp {
            date: "d".into(),
            time: "t".into(),
        };
        let t = format!(
            "{}/multirun/{{pipeline}}/{{date}}_{{time}}/{{job}}_{{overrides}}",
            tmp.path().display()
        );
        let dirs = SweepDirs::create(&t, "toy", &stamp).expect("root");
        assert_eq!(dirs.root, tmp.path().join("multirun/toy/d_t"));
        assert_eq!(
            dirs.job(0, "a=1,b=x", "toy", &stamp).expect("job"),
            dirs.root.join("0_a=1,b=x")
        );
        assert_eq!(
            dirs.job(1, "", "toy", &stamp).expect("job"),
            dirs.root.join("1")
        );
        let flat = SweepDirs::create(&format!("{}/flat", tmp.path().display()), "toy", &stamp)
            .expect("root");
        assert_eq!(
            flat.job(3, "a=1", "toy", &stamp).expect("job"),
            tmp.path().join("flat/3")
        );
    }
}
