//! End to end with the `rl4seg-toy` binary: runs, reruns, partial reruns, sweeps sharing
//! cache entries, a failing job in a sweep, SIGKILL in the middle of a node, two processes on
//! one cache, and `run-node` from a saved plan. Executions are counted from each run's
//! `run.log` (`▶ <node> (running)` lines).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rl4seg-toy");

fn toy(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env("RL4SEG_CACHE", dir.join("cache"))
        .env_remove("RL4SEG_CONFIG_PATH");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    toy(dir).args(args).output().expect("the binary starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The run directory a single run reported on stderr.
fn run_dir(dir: &Path, out: &Output) -> PathBuf {
    let err = text(&out.stderr);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("run directory: "))
        .unwrap_or_else(|| panic!("no run directory in:\n{err}"));
    dir.join(line.trim())
}

/// Node ids executed (not cached) according to a run log.
fn executed(run_log: &Path) -> Vec<String> {
    let log =
        std::fs::read_to_string(run_log).unwrap_or_else(|e| panic!("{}: {e}", run_log.display()));
    log.lines()
        .filter_map(|l| l.split("▶ ").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_string)
        .collect()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn runs_rerun_nothing_and_a_change_reruns_exactly_its_descendants() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let first = run(d, &["run", "toy"]);
    ok(&first);
    let r1 = run_dir(d, &first);
    assert!(r1.starts_with(d.join("outputs/toy")), "{}", r1.display());
    assert_eq!(
        executed(&r1.join("run.log")),
        ["source", "noise", "double", "total"]
    );
    for f in [
        "config.toml",
        "overrides.txt",
        "plan.txt",
        "plan.json",
        "run.log",
        "metrics.json",
        "total/values.txt",
    ] {
        assert!(r1.join(f).is_file(), "{f} missing in {}", r1.display());
    }
    let log = std::fs::read_to_string(r1.join("run.log")).expect("run.log");
    assert!(
        log.contains("node{id=total kind=add}") && !log.contains('\u{1b}'),
        "plain text with node spans:\n{log}"
    );
    let config = std::fs::read_to_string(r1.join("config.toml")).expect("config.toml");
    assert!(
        config.starts_with("# Resolved config of pipeline `toy`.\n# Group choices: source=small"),
        "{config}"
    );
    assert!(
        config.contains("op = \"mul\""),
        "resolved defaults are shown:\n{config}"
    );

    let second = run(d, &["run", "toy"]);
    ok(&second);
    let r2 = run_dir(d, &second);
    assert_ne!(r1, r2, "every run gets its own directory");
    assert!(executed(&r2.join("run.log")).is_empty());
    assert!(text(&second.stderr).contains("✓ total (cached)"));
    assert_eq!(
        std::fs::read(r1.join("metrics.json")).ok(),
        std::fs::read(r2.join("metrics.json")).ok()
    );

    let third = run(d, &["run", "toy", "factor=3"]);
    ok(&third);
    let r3 = run_dir(d, &third);
    assert_eq!(executed(&r3.join("run.log")), ["double", "total"]);
    assert_eq!(
        std::fs::read_to_string(r3.join("overrides.txt"))
            .ok()
            .as_deref(),
        Some("factor=3\n")
    );
}

#[test]
fn a_sweep_runs_every_job_and_shares_upstream_entries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let out = run(d, &["run", "toy", "-m", "factor=1,2", "offset=0,5"]);
    ok(&out);
    let roots: Vec<PathBuf> = std::fs::read_dir(d.join("multirun/toy"))
        .expect("sweep root")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(roots.len(), 1);
    let root = &roots[0];
    let mut jobs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("jobs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    jobs.sort();
    let names: Vec<String> = jobs
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        [
            "0_factor=1,offset=0",
            "1_factor=1,offset=5",
            "2_factor=2,offset=0",
            "3_factor=2,offset=5"
        ]
    );
    let per_job: Vec<Vec<String>> = jobs.iter().map(|j| executed(&j.join("run.log"))).collect();
    assert_eq!(per_job[0], ["source", "noise", "double", "total"]);
    assert_eq!(per_job[1], ["total"], "offset only changes `total`");
    assert_eq!(per_job[2], ["double", "total"]);
    assert_eq!(per_job[3], ["total"]);
    let table = text(&out.stdout);
    assert_eq!(
        table.lines().filter(|l| l.contains("| ok ")).count(),
        4,
        "{table}"
    );
    assert!(table.contains("total.sum"), "{table}");
    assert!(root.join("summary.md").is_file() && root.join("summary.json").is_file());

    let zipped = run(
        d,
        &["run", "toy", "-m", "--zip", "factor=1,2", "offset=0,5"],
    );
    ok(&zipped);
    assert_eq!(
        text(&zipped.stdout)
            .lines()
            .filter(|l| l.contains("| ok "))
            .count(),
        2
    );
}

#[test]
fn a_failing_job_does_not_stop_the_sweep() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let out = run(
        d,
        &["run", "toy", "-m", "++nodes.double.op=div,mul", "factor=0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("| failed: node `double` (scale) failed: scale: cannot divide by factor 0"),
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.contains("| ok ")).count(),
        1,
        "{table}"
    );
    assert!(
        text(&out.stderr).contains("error: 1 of 2 jobs failed"),
        "{}",
        text(&out.stderr)
    );
}

fn wait_for(path: &Path, needle: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn newest_run_log(dir: &Path) -> Option<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    runs.sort();
    runs.pop().map(|r| r.join("run.log"))
}

#[test]
fn sigkill_in_the_middle_of_a_node_then_rerun_recomputes_only_the_unfinished_nodes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let mut child = toy(d)
        .args(["run", "slow", "nodes.nap.seconds=1.5"])
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let start = Instant::now();
    let log = loop {
        if let Some(log) = newest_run_log(&d.join("outputs/slow")).filter(|l| l.exists()) {
            break log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no run log appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(wait_for(&log, "▶ nap (running)", Duration::from_secs(20)));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert_eq!(executed(&log), ["source", "nap"]);

    let rerun = run(d, &["run", "slow", "nodes.nap.seconds=1.5"]);
    ok(&rerun);
    assert_eq!(
        executed(&run_dir(d, &rerun).join("run.log")),
        ["nap", "double"]
    );
    let ls = run(d, &["cache", "ls"]);
    ok(&ls);
    assert!(
        !text(&ls.stdout).contains("DAMAGED"),
        "{}",
        text(&ls.stdout)
    );
    let gc = run(d, &["cache", "gc"]);
    ok(&gc);
    assert_eq!(
        text(&gc.stdout).trim(),
        "removed 1 unfinished temporary directories (0 B)"
    );
}

#[test]
fn two_processes_on_one_cache_compute_a_shared_node_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let spawn = || {
        toy(d)
            .args(["run", "slow", "nodes.nap.seconds=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    ok(&a);
    ok(&b);
    let ran_nap = [&a, &b]
        .iter()
        .filter(|o| executed(&run_dir(d, o).join("run.log")).contains(&"nap".to_string()))
        .count();
    assert_eq!(
        ran_nap,
        1,
        "a:\n{}\nb:\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
}

#[test]
fn run_node_executes_one_instance_of_a_saved_plan() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let plan = run(d, &["plan", "loop", "--format", "json"]);
    ok(&plan);
    std::fs::write(d.join("plan.json"), &plan.stdout).expect("write plan");
    let early = run(d, &["run-node", "--plan", "plan.json", "--node", "step@2"]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        text(&early.stderr).contains("is not in the cache"),
        "{}",
        text(&early.stderr)
    );
    for node in ["start", "step@1", "step@2", "report"] {
        ok(&run(
            d,
            &[
                "run-node",
                "--plan",
                "plan.json",
                "--node",
                node,
                "--run-dir",
                "nodes",
            ],
        ));
    }
    assert_eq!(
        std::fs::read_to_string(d.join("nodes/report/values.txt"))
            .ok()
            .as_deref(),
        Some("40\n")
    );
    let metrics = std::fs::read_to_string(d.join("nodes/metrics.json")).expect("metrics");
    assert!(
        metrics.contains("step@1") && metrics.contains("report"),
        "{metrics}"
    );
    let all = run(d, &["run", "loop"]);
    ok(&all);
    assert!(executed(&run_dir(d, &all).join("run.log")).is_empty());
    let more = run(d, &["run", "loop", "repeat.refine.iterations=3"]);
    ok(&more);
    assert_eq!(
        executed(&run_dir(d, &more).join("run.log")),
        ["step@3", "report"]
    );
}
