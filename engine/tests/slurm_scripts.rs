//! Snapshots of the SLURM job scripts generated for a small plan and for a 2x2 sweep of the toy
//! pipeline `cluster` (engine/toy/pipelines/cluster.toml), with fixed paths; cache keys are
//! replaced by `[KEY]` so that a change of key derivation does not churn these snapshots.
//! Also: what `run launcher=slurm --dry-run` writes through the toy binary (no SLURM needed).

use std::path::{Path, PathBuf};

use engine::config::{self, ConfigSources, SweepMode};
use engine::launcher::slurm::{self, LaunchJob, SlurmConfig, script};
use engine::plan::Plan;

fn toy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("toy")
}

fn sources() -> ConfigSources {
    ConfigSources::discover_in(
        engine::toy::BUILTIN,
        &[toy_dir()],
        Path::new("/nonexistent"),
        None,
    )
    .expect("config sources")
}

/// The launch jobs of `cluster` with `overrides` (a sweep when `sweep`), in `/shared/runs/<job>`.
fn jobs(overrides: &[&str], sweep: bool) -> Vec<LaunchJob> {
    let s = sources();
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let points = if sweep {
        config::expand_sweep(&s, "cluster", &overrides, SweepMode::Product).expect("sweep expands")
    } else {
        vec![overrides]
    };
    points
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let composed = config::compose(&s, "cluster", &o).expect("composes");
            let spec = engine::spec_parse::parse(&composed).expect("parses");
            let plan = Plan::build(&spec, &engine::toy::TOY).expect("plans");
            LaunchJob {
                index: i,
                dir: PathBuf::from(
                    format!("/shared/runs/{i}_{}", config::override_dirname(&o))
                        .trim_end_matches('_'),
                ),
                overrides: o,
                plan,
            }
        })
        .collect()
}

/// Every script, then submit.sh, as one text.
fn scripts(jobs: &[LaunchJob], config: &SlurmConfig) -> String {
    let layout = slurm::layout(jobs, &|_| false).expect("layout");
    let stems: Vec<String> = layout
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| script::stem(i, &g.node))
        .collect();
    let ctx = script::ScriptContext {
        pipeline: "cluster",
        program: "rl4seg-toy (test)",
        command: "/opt/rl4seg/bin/rl4seg-toy",
        workdir: Path::new("/shared/work"),
        log_dir: Path::new("/shared/runs/slurm/logs"),
        config,
    };
    let mut out = String::new();
    for (i, g) in layout.groups.iter().enumerate() {
        out.push_str(&format!("===== {}.sbatch =====\n", stems[i]));
        out.push_str(&script::render(i, g, &stems, &ctx));
    }
    out.push_str("===== submit.sh =====\n");
    out.push_str(&script::submit_script(&layout.groups, &stems));
    out
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[KEY]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn scripts_of_a_small_plan() {
    let config: SlurmConfig = toml::from_str(
        r#"
        partition = "gpu"
        account = "def-lab"
        time = "2:00:00"
        mem = "8G"
        cpus_per_task = 4
        setup = ["module load cuda/12", "export OMP_NUM_THREADS=4"]
        extra_sbatch = ["--constraint=a100"]
        [nodes.double]
        gpus = 1
        time = "30"
        "#,
    )
    .expect("slurm config");
    snapshot("small_plan", &scripts(&jobs(&[], false), &config));
}

#[test]
fn scripts_of_a_two_by_two_sweep() {
    let config = SlurmConfig {
        array_parallelism: 2,
        signal_delay_s: 0,
        ..SlurmConfig::default()
    };
    snapshot(
        "sweep_2x2",
        &scripts(&jobs(&["shift=0,10", "factor=2,3"], true), &config),
    );
}

#[test]
fn dry_run_through_the_binary_writes_scripts_and_submits_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rl4seg-toy"))
        .current_dir(tmp.path())
        .env("RL4SEG_CACHE", tmp.path().join("cache"))
        .env_remove("RL4SEG_CONFIG_PATH")
        .args(["--config-dir"])
        .arg(toy_dir())
        .args([
            "run",
            "cluster",
            "launcher=slurm",
            "shift=0,10",
            "factor=2,3",
            "-m",
            "--dry-run",
        ])
        .output()
        .expect("the binary starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr:\n{stderr}");
    let root = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(root.starts_with(tmp.path()), "{}", root.display());
    let record = slurm::Record::read(&root).expect("jobs.json");
    assert!(record.dry_run);
    let nodes: Vec<(&str, usize)> = record
        .submitted
        .iter()
        .map(|s| (s.group.node.as_str(), s.group.tasks.len()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("source", 1),
            ("noise", 1),
            ("shift", 2),
            ("double", 4),
            ("total", 4)
        ]
    );
    assert!(
        record
            .submitted
            .iter()
            .all(|s| s.job_id.is_none() && s.script.is_file())
    );
    for j in &record.jobs {
        assert!(
            j.dir.join("plan.json").is_file() && j.dir.join("config.toml").is_file(),
            "{}",
            j.dir.display()
        );
    }
    assert!(stderr.contains("submit.sh"), "{stderr}");

    let status = std::process::Command::new(env!("CARGO_BIN_EXE_rl4seg-toy"))
        .arg("status")
        .arg(&root)
        .output()
        .expect("status runs");
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(table.matches("NOT SUBMITTED").count(), 12, "{table}");
}

#[test]
fn bad_slurm_options_are_user_errors_naming_the_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rl4seg-toy"))
        .current_dir(tmp.path())
        .env("RL4SEG_CACHE", tmp.path().join("cache"))
        .arg("--config-dir")
        .arg(toy_dir())
        .args([
            "run",
            "cluster",
            "launcher=slurm",
            "++runtime.slurm.time=1h",
            "++runtime.slurm.nodes.dubble.gpus=1",
            "--dry-run",
        ])
        .output()
        .expect("the binary starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("runtime.slurm.time")
            && stderr.contains("runtime.slurm.nodes.dubble")
            && stderr.contains("did you mean `double`"),
        "{stderr}"
    );
    let typo = std::process::Command::new(env!("CARGO_BIN_EXE_rl4seg-toy"))
        .current_dir(tmp.path())
        .arg("--config-dir")
        .arg(toy_dir())
        .args([
            "run",
            "cluster",
            "launcher=slurm",
            "++runtime.slurm.partiton=gpu",
            "--dry-run",
        ])
        .output()
        .expect("the binary starts");
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert_eq!(typo.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("partiton"), "{stderr}");
}
