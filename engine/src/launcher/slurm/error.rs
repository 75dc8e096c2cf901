//! The SLURM launcher's errors. Each names what is at fault and how to fix it; [`SlurmError::is_user`]
//! says which are the user's to fix (exit code 2) and which are the cluster's or ours (exit code 1).

use std::path::PathBuf;

use super::config::SlurmConfigError;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("{} invalid [runtime.slurm] option{}:\n  {}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Config(Vec<SlurmConfigError>),
    #[error(
        "node `{node}` ({kind}) is not cacheable, so its output only lives in the process that ran it, but node `{reader}` reads it; on SLURM every node runs in its own job and reads its inputs from the cache: run this pipeline with launcher=local, or make `{node}` a node that nothing reads"
    )]
    UncacheableInput {
        node: String,
        kind: String,
        reader: String,
    },
    #[error(
        "cannot group node `{node}` into one SLURM job per node: {detail}; run the sweep points as separate runs, or with launcher=local"
    )]
    Grouping { node: String, detail: String },
    #[error("cannot {what} {}: {source}; check that the run directory is on a writable (shared) file system", .path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot run `{program}` ({source}); is this a SLURM login node with `{program}` on PATH? Use --dry-run to only write the job scripts"
    )]
    Missing {
        program: String,
        source: std::io::Error,
    },
    #[error("sbatch refused {}: {stderr}{}", .script.display(), cancelled_note(.cancelled))]
    Sbatch {
        script: PathBuf,
        stderr: String,
        cancelled: Vec<String>,
    },
    #[error("sbatch printed {output:?} for {}, not a job id; is `sbatch` SLURM's?", .script.display())]
    SbatchOutput { script: PathBuf, output: String },
    #[error("`scontrol show job -o {job}` failed: {stderr}")]
    Scontrol { job: String, stderr: String },
    #[error("{} holds no SLURM submission (no {}); give the directory that `run` printed for a run with launcher=slurm", .dir.display(), .record.display())]
    NotASubmission { dir: PathBuf, record: PathBuf },
    #[error("{} is not a submission record this version understands ({message}); it was written by another version of the program", .path.display())]
    Record { path: PathBuf, message: String },
}

fn cancelled_note(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(
            "; the jobs already submitted ({}) were cancelled, so nothing of this run is queued; fix the problem and run again",
            ids.join(", ")
        )
    }
}

impl SlurmError {
    /// Whether the user can fix it in the config or the command line.
    pub fn is_user(&self) -> bool {
        matches!(
            self,
            SlurmError::Config(_)
                | SlurmError::UncacheableInput { .. }
                | SlurmError::Grouping { .. }
                | SlurmError::Missing { .. }
                | SlurmError::Sbatch { .. }
                | SlurmError::NotASubmission { .. }
        )
    }

    pub(crate) fn io(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> SlurmError {
        let path = path.into();
        move |source| SlurmError::Io { what, path, source }
    }
}
