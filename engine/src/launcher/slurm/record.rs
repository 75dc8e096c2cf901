//! The submission record `slurm/jobs.json` in a run directory: what was (or, for `--dry-run`,
//! would be) submitted, with the job ids, scripts, log patterns and the node instances each task
//! runs. `status` and `--wait` read it; it is rewritten atomically after every submission, so an
//! interrupted submission still records the jobs already queued. `slurm/submitted.txt` (written by
//! `submit.sh` for hand submissions) fills in missing job ids.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SlurmError;
use super::group::{CachedUnit, Group};

/// Version of the record format.
pub const RECORD_FORMAT: u32 = 1;
/// Folder of the generated files inside the run (or sweep) directory.
pub const SLURM_DIR: &str = "slurm";
pub const RECORD_FILE: &str = "jobs.json";
pub const SUBMITTED_FILE: &str = "submitted.txt";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub format: u32,
    pub pipeline: String,
    /// Program name and version that wrote it.
    pub program: String,
    /// Working directory of the jobs (relative paths resolve from here).
    pub workdir: PathBuf,
    /// Cache root (absolute).
    pub cache_dir: PathBuf,
    /// When the scripts were written (RFC 3339).
    pub created: String,
    pub dry_run: bool,
    /// Every job (sweep point) of the run.
    pub jobs: Vec<RecordJob>,
    /// SLURM jobs in submission order.
    pub submitted: Vec<Submitted>,
    /// Units not submitted because they were cached.
    pub cached: Vec<CachedUnit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordJob {
    pub index: usize,
    pub overrides: Vec<String>,
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submitted {
    /// `02_double`.
    pub stem: String,
    pub script: PathBuf,
    /// `--output` pattern (`%A`, `%a`, `%j` not expanded).
    pub log: PathBuf,
    /// SLURM job id (the array's id for an array); `None` until submitted.
    pub job_id: Option<String>,
    /// The `--dependency` it was submitted with.
    pub dependency: Option<String>,
    pub group: Group,
}

impl Submitted {
    /// The log file of task `task`, given its own job id (`%j`).
    pub fn log_of(&self, task: usize, own_id: Option<&str>) -> PathBuf {
        let array = self.job_id.as_deref().unwrap_or("%A");
        let text = self
            .log
            .display()
            .to_string()
            .replace("%A", array)
            .replace("%a", &task.to_string());
        PathBuf::from(text.replace("%j", own_id.or(self.job_id.as_deref()).unwrap_or("%j")))
    }
}

pub fn record_path(root: &Path) -> PathBuf {
    root.join(SLURM_DIR).join(RECORD_FILE)
}

impl Record {
    /// Writes `slurm/jobs.json` atomically.
    pub fn write(&self, root: &Path) -> Result<(), SlurmError> {
        let path = record_path(root);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| SlurmError::Record {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, text + "\n").map_err(SlurmError::io("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(SlurmError::io("rename into place", &path))
    }

    /// Reads a run directory's record (job ids from `submitted.txt` filled in).
    pub fn read(root: &Path) -> Result<Record, SlurmError> {
        let path = record_path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SlurmError::NotASubmission {
                    dir: root.into(),
                    record: path,
                });
            }
            Err(e) => return Err(SlurmError::io("read", &path)(e)),
        };
        let mut record: Record = serde_json::from_str(&text).map_err(|e| SlurmError::Record {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if record.format != RECORD_FORMAT {
            return Err(SlurmError::Record {
                path,
                message: format!("format {} (expected {RECORD_FORMAT})", record.format),
            });
        }
        if let Ok(lines) = std::fs::read_to_string(root.join(SLURM_DIR).join(SUBMITTED_FILE)) {
            for line in lines.lines() {
                if let Some((stem, id)) = line.trim().split_once(' ')
                    && let Some(s) = record
                        .submitted
                        .iter_mut()
                        .find(|s| s.stem == stem && s.job_id.is_none())
                {
                    s.job_id = Some(id.trim().to_string());
                }
            }
        }
        Ok(record)
    }
}
