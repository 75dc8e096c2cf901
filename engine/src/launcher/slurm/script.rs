//! The text of the generated files: one batch script per SLURM job (`slurm/NN_<node>.sbatch`:
//! `#SBATCH` header, setup lines, a requeue trap for the signal sent before the time limit, and
//! one `case` branch per array task calling `run-node` for each run directory it serves), the
//! `--dependency` string of a job given its upstream job ids, and `slurm/submit.sh`, which submits
//! everything by hand the way `run` does (for `--dry-run`). Pure functions of their inputs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::config::SlurmConfig;
use super::group::{DepKind, Group};

/// What every script of a launch shares.
#[derive(Debug, Clone)]
pub struct ScriptContext<'a> {
    pub pipeline: &'a str,
    /// Program name and version, for the header comment.
    pub program: &'a str,
    /// Shell words that start the program (already quoted).
    pub command: &'a str,
    /// Working directory of the jobs (`--chdir`): relative paths in the plans resolve from here.
    pub workdir: &'a Path,
    pub log_dir: &'a Path,
    pub config: &'a SlurmConfig,
}

/// File stem of group `index`: `03_step-2` (the `@` of an iteration becomes `-`).
pub fn stem(index: usize, node: &str) -> String {
    let safe: String = node
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{index:02}_{safe}")
}

/// The `--output` pattern of a job (`%A_%a` for arrays, `%j` otherwise).
pub fn log_pattern(log_dir: &Path, stem: &str, array: bool) -> PathBuf {
    log_dir.join(if array {
        format!("{stem}_%A_%a.out")
    } else {
        format!("{stem}_%j.out")
    })
}

/// Quotes a word for a POSIX shell (unchanged when it needs no quotes).
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./,:=@%+".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `--dependency` value for `group`, given the job ids of the groups before it.
pub fn dependency(group: &Group, job_ids: &[String]) -> Option<String> {
    let ids = |kind: DepKind| -> Vec<&str> {
        group
            .deps
            .iter()
            .filter(|d| d.kind == kind)
            .filter_map(|d| job_ids.get(d.group).map(String::as_str))
            .collect()
    };
    let mut parts = Vec::new();
    for (kind, name) in [
        (DepKind::AfterOk, "afterok"),
        (DepKind::AfterCorr, "aftercorr"),
    ] {
        let list = ids(kind);
        if !list.is_empty() {
            parts.push(format!("{name}:{}", list.join(":")));
        }
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

/// The batch script of group `index` (`stems` holds every group's stem, for comments).
pub fn render(index: usize, group: &Group, stems: &[String], ctx: &ScriptContext<'_>) -> String {
    let c = ctx.config;
    let res = c.resources(&group.declared);
    let n = group.tasks.len();
    let stem = &stems[index];
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let what = if group.is_array() {
        format!("a job array of {n} tasks (one per distinct cache key)")
    } else {
        "one task".into()
    };
    let _ = writeln!(
        s,
        "# Node `{}` of pipeline `{}`: {what}. Written by {}.",
        group.node, ctx.pipeline, ctx.program
    );
    if group.deps.is_empty() {
        let _ = writeln!(s, "# Depends on no other job of this run.");
    } else {
        let deps: Vec<String> = group
            .deps
            .iter()
            .map(|d| {
                format!(
                    "{} ({})",
                    stems.get(d.group).map_or("?", String::as_str),
                    if d.kind == DepKind::AfterOk {
                        "afterok"
                    } else {
                        "aftercorr"
                    }
                )
            })
            .collect();
        let _ = writeln!(s, "# Submitted with --dependency on: {}.", deps.join(", "));
    }
    let mut sbatch = |line: String| {
        let _ = writeln!(s, "#SBATCH {line}");
    };
    sbatch(format!(
        "--job-name={}",
        quote(&format!("{}.{}", ctx.pipeline, group.node))
    ));
    sbatch(format!(
        "--output={}",
        quote(
            &log_pattern(ctx.log_dir, stem, group.is_array())
                .display()
                .to_string()
        )
    ));
    if group.is_array() {
        let throttle = if c.array_parallelism > 0 {
            format!("%{}", c.array_parallelism)
        } else {
            String::new()
        };
        sbatch(format!("--array=0-{}{throttle}", n - 1));
    }
    sbatch(format!(
        "--chdir={}",
        quote(&ctx.workdir.display().to_string())
    ));
    // A job whose dependency failed would stay pending forever without this (slurm-localhost.md).
    sbatch("--kill-on-invalid-dep=yes".into());
    for (flag, value) in [
        ("partition", &res.partition),
        ("account", &res.account),
        ("qos", &res.qos),
        ("time", &res.time),
        ("mem", &res.mem),
    ] {
        if let Some(v) = value {
            sbatch(format!("--{flag}={}", quote(v)));
        }
    }
    sbatch(format!("--cpus-per-task={}", res.cpus_per_task));
    if res.gpus > 0 {
        sbatch(format!("--gres=gpu:{}", res.gpus));
    }
    sbatch(if c.requeue {
        "--requeue".into()
    } else {
        "--no-requeue".into()
    });
    sbatch("--open-mode=append".into());
    let signal = c.requeue && c.signal_delay_s > 0;
    if signal {
        sbatch(format!("--signal=B:USR1@{}", c.signal_delay_s));
    }
    for line in &res.extra_sbatch {
        sbatch(line.clone());
    }
    s.push_str("set -uo pipefail\n\n");
    let _ = writeln!(s, "rl4seg() {{ {} \"$@\"; }}\n", ctx.command);
    if signal {
        let max = c.max_requeues;
        let _ = write!(
            s,
            r#"# SIGUSR1 comes {delay} s before the time limit: requeue this job (at most {max} times); a
# requeued node starts again from scratch, its unfinished artifact is never taken as done.
requeue_before_time_limit() {{
  local restarts=${{SLURM_RESTART_COUNT:-0}}
  if [ "$restarts" -lt {max} ]; then
    echo "rl4seg: time limit near: requeueing job $SLURM_JOB_ID (restart $((restarts + 1)) of {max})" >&2
    scontrol requeue "$SLURM_JOB_ID"
  else
    echo "rl4seg: time limit near and {max} requeues used: not requeueing job $SLURM_JOB_ID" >&2
  fi
}}
trap requeue_before_time_limit USR1

"#,
            delay = c.signal_delay_s
        );
    }
    s.push_str(
        r#"# Runs one node instance (in the background, so that a trapped signal is handled at once).
run_node() {
  rl4seg run-node --plan "$1/plan.json" --node "$2" --run-dir "$1" &
  local pid=$! rc
  while true; do
    wait "$pid"
    rc=$?
    if [ "$rc" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then continue; fi
    return "$rc"
  done
}

echo "rl4seg: job ${SLURM_JOB_ID:-?} task ${SLURM_ARRAY_TASK_ID:-0} on $(hostname) (restart ${SLURM_RESTART_COUNT:-0})" >&2
"#,
    );
    if !c.setup.is_empty() {
        s.push_str("\n# setup ([runtime.slurm] setup)\n");
        for line in &c.setup {
            let _ = writeln!(s, "{line}");
        }
    }
    s.push_str("\ncase \"${SLURM_ARRAY_TASK_ID:-0}\" in\n");
    for (i, task) in group.tasks.iter().enumerate() {
        let jobs: Vec<String> = task.jobs().iter().map(ToString::to_string).collect();
        let key = &task.key[..task.key.len().min(12)];
        let _ = writeln!(
            s,
            "  {i})  # {} {key}, sweep job{} {}",
            task.kind,
            if jobs.len() == 1 { "" } else { "s" },
            jobs.join(", ")
        );
        for run in &task.runs {
            let _ = writeln!(
                s,
                "    run_node {} {} || exit $?",
                quote(&run.dir.display().to_string()),
                quote(&run.node)
            );
        }
        s.push_str("    ;;\n");
    }
    s.push_str("  *)\n    echo \"rl4seg: $0 has no task ${SLURM_ARRAY_TASK_ID:-0}\" >&2\n    exit 2\n    ;;\nesac\n");
    s
}

/// `slurm/submit.sh`: submits the scripts in order with their dependencies, as `run` does,
/// and appends `<stem> <job id>` lines to `slurm/submitted.txt` so that `status` finds them.
pub fn submit_script(groups: &[Group], stems: &[String]) -> String {
    let mut s = String::from(
        "#!/bin/bash\n# Submits the jobs of this run in order, as `run` does without --dry-run; `status <run dir>`\n# then finds them through submitted.txt.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n",
    );
    let vars: Vec<String> = (0..groups.len()).map(|i| format!("${{j{i}}}")).collect();
    for (i, g) in groups.iter().enumerate() {
        let dep = dependency(g, &vars)
            .map(|d| format!(" --dependency={d}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "j{i}=$(sbatch --parsable{dep} {}.sbatch); j{i}=${{j{i}%%;*}}",
            stems[i]
        );
        let _ = writeln!(s, "echo \"{} $j{i}\" >> submitted.txt", stems[i]);
    }
    let _ = writeln!(
        s,
        "echo \"submitted {} job(s): {}\"",
        groups.len(),
        vars.join(" ")
    );
    s
}
