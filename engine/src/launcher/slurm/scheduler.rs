//! Talking to SLURM: the [`Scheduler`] trait (submit a script, show a job, cancel jobs) with its
//! implementation over the `sbatch`, `scontrol` and `scancel` commands ([`SlurmCli`]), and the
//! parsing of their output: `sbatch --parsable` prints `id` or `id;cluster`, and
//! `scontrol show job -o <id>` prints one `Key=Value ...` line per array task (the tasks not yet
//! started share one line whose `ArrayTaskId` is a range such as `2-5%2`). `sacct` is not used:
//! it needs an accounting database that many clusters and CI machines lack (slurm-localhost.md).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::SlurmError;

/// What the launcher needs from a scheduler.
pub trait Scheduler {
    /// Submits `script` (with `--dependency=<dependency>` when given); returns the job id.
    fn submit(&self, script: &Path, dependency: Option<&str>) -> Result<String, SlurmError>;
    /// `scontrol show job -o <job_id>`'s lines, or `None` when the controller no longer knows
    /// the job (finished longer ago than its `MinJobAge`).
    fn show_job(&self, job_id: &str) -> Result<Option<Vec<JobLine>>, SlurmError>;
    /// Cancels jobs (best effort).
    fn cancel(&self, job_ids: &[String]);
}

/// The real SLURM commands, found on `PATH`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlurmCli;

fn run(program: &str, args: &[&str]) -> Result<std::process::Output, SlurmError> {
    Command::new(program)
        .args(args)
        .output()
        .map_err(|source| SlurmError::Missing {
            program: program.into(),
            source,
        })
}

impl Scheduler for SlurmCli {
    fn submit(&self, script: &Path, dependency: Option<&str>) -> Result<String, SlurmError> {
        let dep = dependency.map(|d| format!("--dependency={d}"));
        let script_arg = script.display().to_string();
        let mut args = vec!["--parsable"];
        if let Some(d) = &dep {
            args.push(d);
        }
        args.push(&script_arg);
        let out = run("sbatch", &args)?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(SlurmError::Sbatch {
                script: script.into(),
                stderr,
                cancelled: Vec::new(),
            });
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        parse_parsable(&stdout).ok_or_else(|| SlurmError::SbatchOutput {
            script: script.into(),
            output: stdout.trim().into(),
        })
    }

    fn show_job(&self, job_id: &str) -> Result<Option<Vec<JobLine>>, SlurmError> {
        let out = run("scontrol", &["show", "job", "-o", job_id])?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if stderr.contains("Invalid job id") {
                return Ok(None);
            }
            return Err(SlurmError::Scontrol {
                job: job_id.into(),
                stderr: stderr.trim().into(),
            });
        }
        Ok(Some(
            stdout
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(JobLine::parse)
                .collect(),
        ))
    }

    fn cancel(&self, job_ids: &[String]) {
        if !job_ids.is_empty() {
            let args: Vec<&str> = job_ids.iter().map(String::as_str).collect();
            let _ = run("scancel", &args);
        }
    }
}

/// The job id in `sbatch --parsable`'s output (`12` or `12;cluster`).
pub fn parse_parsable(stdout: &str) -> Option<String> {
    let line = stdout.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let id = line.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// One line of `scontrol show job -o`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobLine {
    pub fields: BTreeMap<String, String>,
}

impl JobLine {
    /// Splits `Key=Value Key=Value ...`; a word without `=` (a value with spaces) joins the
    /// previous value.
    pub fn parse(line: &str) -> JobLine {
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        let mut last: Option<String> = None;
        for word in line.split_whitespace() {
            match word.split_once('=') {
                Some((k, v)) if is_key(k) => {
                    fields.insert(k.to_string(), v.to_string());
                    last = Some(k.to_string());
                }
                _ => {
                    if let Some(v) = last.as_ref().and_then(|k| fields.get_mut(k)) {
                        v.push(' ');
                        v.push_str(word);
                    }
                }
            }
        }
        JobLine { fields }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// The array task ids this line stands for (`None` for a job that is not an array).
    pub fn task_ids(&self) -> Option<Vec<usize>> {
        self.get("ArrayTaskId").map(parse_task_ids)
    }
}

fn is_key(k: &str) -> bool {
    k.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/:".contains(c))
}

/// `3`, `0-3`, `0-3%2`, `1,4-5`, `0-6:2` -> the ids.
pub fn parse_task_ids(s: &str) -> Vec<usize> {
    let s = s.split('%').next().unwrap_or_default();
    let mut out = Vec::new();
    for part in s.split(',') {
        let (range, step) = match part.split_once(':') {
            Some((r, st)) => (r, st.parse::<usize>().unwrap_or(1).max(1)),
            None => (part, 1),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    out.extend((a..=b).step_by(step));
                }
            }
            None => out.extend(range.parse::<usize>().ok()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsable_output_is_the_id_before_the_cluster() {
        assert_eq!(parse_parsable("12\n").as_deref(), Some("12"));
        assert_eq!(parse_parsable("345;cluster\n").as_deref(), Some("345"));
        assert_eq!(parse_parsable("Submitted batch job 3"), None);
        assert_eq!(parse_parsable(""), None);
    }

    #[test]
    fn task_id_ranges_expand() {
        assert_eq!(parse_task_ids("3"), [3]);
        assert_eq!(parse_task_ids("0-3%2"), [0, 1, 2, 3]);
        assert_eq!(parse_task_ids("1,4-5"), [1, 4, 5]);
        assert_eq!(parse_task_ids("0-6:2"), [0, 2, 4, 6]);
        assert!(parse_task_ids("x").is_empty());
    }

    #[test]
    fn scontrol_lines_parse_with_values_holding_spaces() {
        let line = "JobId=17 ArrayJobId=16 ArrayTaskId=1 JobName=toy.dbl JobState=FAILED Reason=NonZeroExitCode Dependency=(null) \
                    Restarts=0 ExitCode=1:0 Command=/runs/a b/00_x.sbatch Socks/Node=* StdOut=/runs/logs/00_x_16_1.out";
        let l = JobLine::parse(line);
        assert_eq!(l.get("JobState"), Some("FAILED"));
        assert_eq!(l.get("Command"), Some("/runs/a b/00_x.sbatch"));
        assert_eq!(l.get("Socks/Node"), Some("*"));
        assert_eq!(l.get("StdOut"), Some("/runs/logs/00_x_16_1.out"));
        assert_eq!(l.task_ids(), Some(vec![1]));
        assert_eq!(JobLine::parse("JobId=3 JobState=RUNNING").task_ids(), None);
    }
}
