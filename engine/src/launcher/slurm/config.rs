//! `[runtime.slurm]`: the typed options of `runtime.launcher = "slurm"` (modelled on Hydra's
//! submitit launcher: partition, account, qos, time limit, cpus per task, memory, gpus, array
//! parallelism, extra `#SBATCH` lines, setup lines, requeue and signal), per-node resource
//! overrides under `[runtime.slurm.nodes.<node id>]`, and their validation. Like everything in
//! `runtime`, none of it is part of a cache key: a cluster run computes the same artifacts as a
//! local one.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Options of the SLURM launcher (`[runtime.slurm]`). Unset options are left to the cluster's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmConfig {
    /// `--partition`: the partition (queue) the jobs go to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// `--account`: the account charged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `--qos`: the quality of service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
    /// `--time`: time limit of each job, in SLURM's format (`90` minutes, `1:30:00`, `2-00:00:00`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: u32,
    /// `--mem`: memory per node, a number with an optional K/M/G/T suffix (`16G`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// GPUs per job (`--gres=gpu:N`); 0 = none.
    pub gpus: u32,
    /// Most tasks of one job array running at once (`--array=0-N%P`); 0 = no limit.
    pub array_parallelism: u32,
    /// Extra `#SBATCH` options, one per entry, written as given (`"--constraint=a100"`).
    pub extra_sbatch: Vec<String>,
    /// Shell lines run at the start of every job (`"module load cuda"`, `"source venv/bin/activate"`).
    pub setup: Vec<String>,
    /// Shell words that start this program on the compute nodes; default: the absolute path of
    /// the running executable (the cluster must share that file system).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `--requeue`: let SLURM requeue a job after preemption or node failure. A requeued node
    /// restarts from scratch; its partial result is never taken as done.
    pub requeue: bool,
    /// Seconds before the time limit at which a job is sent SIGUSR1 and requeues itself
    /// (`--signal=B:USR1@N`); 0 = never. Needs `requeue`.
    pub signal_delay_s: u32,
    /// Most self-requeues of one job after its time limit was near (submitit's `max_num_timeout`).
    pub max_requeues: u32,
    /// Seconds between two looks at the queue for `--wait` and progress.
    pub poll_interval_s: f64,
    /// Resource overrides for single nodes: `[runtime.slurm.nodes.<node id>]` (declared node id,
    /// without `@iteration`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, SlurmNodeResources>,
}

impl Default for SlurmConfig {
    fn default() -> Self {
        SlurmConfig {
            partition: None,
            account: None,
            qos: None,
            time: None,
            cpus_per_task: 1,
            mem: None,
            gpus: 0,
            // submitit's default array_parallelism (config-anchors.md section D).
            array_parallelism: 256,
            extra_sbatch: Vec::new(),
            setup: Vec::new(),
            command: None,
            requeue: true,
            // submitit's defaults: signal_delay_s = 120, max_num_timeout = 3.
            signal_delay_s: 120,
            max_requeues: 3,
            poll_interval_s: 5.0,
            nodes: BTreeMap::new(),
        }
    }
}

/// Per-node overrides of the job resources; unset fields keep `[runtime.slurm]`'s value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmNodeResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u32>,
    /// Added after `[runtime.slurm]`'s `extra_sbatch` lines.
    pub extra_sbatch: Vec<String>,
}

/// The resources of one job: `[runtime.slurm]` with a node's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: u32,
    pub mem: Option<String>,
    pub gpus: u32,
    pub extra_sbatch: Vec<String>,
}

/// One invalid `[runtime.slurm]` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("runtime.slurm.{key} = {value:?}: {reason}")]
pub struct SlurmConfigError {
    /// Dotted key below `runtime.slurm`.
    pub key: String,
    pub value: String,
    pub reason: String,
}

impl SlurmConfig {
    /// The resources of declared node `node`.
    pub fn resources(&self, node: &str) -> Resources {
        let o = self.nodes.get(node).cloned().unwrap_or_default();
        let mut extra = self.extra_sbatch.clone();
        extra.extend(o.extra_sbatch);
        Resources {
            partition: o.partition.or_else(|| self.partition.clone()),
            account: self.account.clone(),
            qos: o.qos.or_else(|| self.qos.clone()),
            time: o.time.or_else(|| self.time.clone()),
            cpus_per_task: o.cpus_per_task.unwrap_or(self.cpus_per_task),
            mem: o.mem.or_else(|| self.mem.clone()),
            gpus: o.gpus.unwrap_or(self.gpus),
            extra_sbatch: extra,
        }
    }

    /// Every problem of the options, given the declared node ids of the pipeline(s).
    pub fn validate(&self, node_ids: &[&str]) -> Vec<SlurmConfigError> {
        let mut errors = Vec::new();
        let mut bad = |key: &str, value: &str, reason: &str| {
            errors.push(SlurmConfigError {
                key: key.into(),
                value: value.into(),
                reason: reason.into(),
            })
        };
        for (key, value) in [
            ("partition", &self.partition),
            ("account", &self.account),
            ("qos", &self.qos),
        ] {
            if let Some(v) = value
                && !is_word(v)
            {
                bad(key, v, "must be a single name without spaces or quotes");
            }
        }
        check_common(
            &mut bad,
            "",
            self.time.as_deref(),
            self.mem.as_deref(),
            &self.extra_sbatch,
        );
        if self.cpus_per_task == 0 {
            bad("cpus_per_task", "0", "must be at least 1");
        }
        for (i, line) in self.setup.iter().enumerate() {
            if line.contains('\n') {
                bad(
                    &format!("setup[{i}]"),
                    line,
                    "must be one line; give each shell line its own entry",
                );
            }
        }
        if let Some(c) = &self.command
            && (c.trim().is_empty() || c.contains('\n'))
        {
            bad(
                "command",
                c,
                "must be one non-empty line of shell words, e.g. \"/opt/rl4seg/bin/rl4seg\"",
            );
        }
        if self.signal_delay_s > 0 && !self.requeue {
            bad(
                "signal_delay_s",
                &self.signal_delay_s.to_string(),
                "needs requeue = true (the signal makes the job requeue itself); set it to 0 or requeue = true",
            );
        }
        let signal = u64::from(self.signal_delay_s);
        if let Some(t) = self.time.as_deref().and_then(time_minutes)
            && signal > 0
            && signal >= t * 60
        {
            bad(
                "signal_delay_s",
                &self.signal_delay_s.to_string(),
                "must be shorter than the time limit `time`",
            );
        }
        if !(self.poll_interval_s.is_finite() && self.poll_interval_s > 0.0) {
            bad(
                "poll_interval_s",
                &self.poll_interval_s.to_string(),
                "must be a positive number of seconds",
            );
        }
        for (node, o) in &self.nodes {
            let prefix = format!("nodes.{node}.");
            if !node_ids.contains(&node.as_str()) {
                let hint = crate::plan::errors::nearest(node, node_ids.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                bad(
                    &format!("nodes.{node}"),
                    node,
                    &format!(
                        "is not a node of the pipeline{hint} (nodes: {})",
                        node_ids.join(", ")
                    ),
                );
            }
            for (key, value) in [("partition", &o.partition), ("qos", &o.qos)] {
                if let Some(v) = value
                    && !is_word(v)
                {
                    bad(
                        &format!("{prefix}{key}"),
                        v,
                        "must be a single name without spaces or quotes",
                    );
                }
            }
            if o.cpus_per_task == Some(0) {
                bad(&format!("{prefix}cpus_per_task"), "0", "must be at least 1");
            }
            check_common(
                &mut bad,
                &prefix,
                o.time.as_deref(),
                o.mem.as_deref(),
                &o.extra_sbatch,
            );
            if let Some(t) = o.time.as_deref().and_then(time_minutes)
                && signal > 0
                && signal >= t * 60
            {
                bad(
                    &format!("{prefix}time"),
                    o.time.as_deref().unwrap_or_default(),
                    &format!(
                        "is not longer than signal_delay_s = {signal} s; raise it or lower signal_delay_s"
                    ),
                );
            }
        }
        errors
    }
}

fn check_common(
    bad: &mut impl FnMut(&str, &str, &str),
    prefix: &str,
    time: Option<&str>,
    mem: Option<&str>,
    extra: &[String],
) {
    if let Some(t) = time
        && time_minutes(t).is_none()
    {
        bad(
            &format!("{prefix}time"),
            t,
            "is not a SLURM time: write minutes (`90`), `H:MM:SS` or `D-HH:MM:SS`",
        );
    }
    if let Some(m) = mem
        && !is_mem(m)
    {
        bad(
            &format!("{prefix}mem"),
            m,
            "is not a SLURM memory size: write a number with an optional K/M/G/T suffix (`16G`)",
        );
    }
    for (i, line) in extra.iter().enumerate() {
        if !line.starts_with('-') || line.contains('\n') {
            bad(
                &format!("{prefix}extra_sbatch[{i}]"),
                line,
                "must be one sbatch option starting with '-' (`--constraint=a100`)",
            );
        }
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '\\' | '$' | '`'))
}

fn is_mem(s: &str) -> bool {
    let digits = s
        .strip_suffix(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't'])
        .unwrap_or(s);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Minutes of a SLURM time limit (`M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`), rounded up.
pub fn time_minutes(s: &str) -> Option<u64> {
    let num = |p: &str| {
        (!p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let (days, rest) = match s.split_once('-') {
        Some((d, rest)) => (Some(num(d)?), rest),
        None => (None, s),
    };
    let parts: Vec<u64> = rest.split(':').map(num).collect::<Option<_>>()?;
    let seconds = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return None,
    };
    Some(seconds.div_ceil(60))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
