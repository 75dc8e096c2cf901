//! Tests of writing, submitting and querying with a fake scheduler (no SLURM needed).

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::group::tests::{job, node};
use super::scheduler::JobLine;
use super::*;

/// Hands out ids 100, 101, ...; refuses the `fail_at`-th submission; answers `show_job` from `lines`.
#[derive(Default)]
struct Fake {
    submitted: RefCell<Vec<(String, Option<String>)>>,
    cancelled: RefCell<Vec<String>>,
    fail_at: Option<usize>,
    lines: BTreeMap<String, Vec<&'static str>>,
}

impl Scheduler for Fake {
    fn submit(&self, script: &Path, dependency: Option<&str>) -> Result<String, SlurmError> {
        let mut s = self.submitted.borrow_mut();
        if Some(s.len()) == self.fail_at {
            return Err(SlurmError::Sbatch {
                script: script.into(),
                stderr: "Invalid partition name specified".into(),
                cancelled: vec![],
            });
        }
        let name = script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        s.push((name, dependency.map(str::to_string)));
        Ok((100 + s.len() - 1).to_string())
    }
    fn show_job(&self, job_id: &str) -> Result<Option<Vec<JobLine>>, SlurmError> {
        Ok(self
            .lines
            .get(job_id)
            .map(|ls| ls.iter().map(|l| JobLine::parse(l)).collect()))
    }
    fn cancel(&self, job_ids: &[String]) {
        self.cancelled.borrow_mut().extend(job_ids.iter().cloned());
    }
}

/// Writes the scripts of a 2-point sweep `src(2) -> dbl(2) -> total(2)` + shared `noise` under `root`.
fn written(root: &Path, cache: &Path) -> Record {
    let jobs: Vec<LaunchJob> = (0..2)
        .map(|i| {
            let mut j = job(
                i,
                vec![
                    node("src", &format!("s{i}"), &[]),
                    node("noise", "n", &[]),
                    node("dbl", &format!("d{i}"), &[("x", "src")]),
                    node("total", &format!("t{i}"), &[("a", "dbl"), ("b", "noise")]),
                ],
            );
            j.dir = root.join(i.to_string());
            j
        })
        .collect();
    let layout = layout(&jobs, &|_| false).expect("layout");
    let config = SlurmConfig::default();
    let spec = LaunchSpec {
        root,
        jobs: &jobs,
        config: &config,
        program: "rl4seg-test 0",
        command: "/bin/rl4seg",
        workdir: root,
        cache_dir: cache,
        created: "2026-01-01T00:00:00+00:00",
        dry_run: false,
    };
    write_scripts(&spec, &layout).expect("scripts written")
}

#[test]
fn jobs_are_submitted_in_order_with_the_upstream_ids() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut record = written(tmp.path(), &tmp.path().join("cache"));
    let fake = Fake::default();
    submit(tmp.path(), &mut record, &fake).expect("submitted");
    let got = fake.submitted.borrow().clone();
    let want: Vec<(String, Option<String>)> = vec![
        ("00_src.sbatch".into(), None),
        ("01_noise.sbatch".into(), None),
        ("02_dbl.sbatch".into(), Some("aftercorr:100".into())),
        (
            "03_total.sbatch".into(),
            Some("afterok:101,aftercorr:102".into()),
        ),
    ];
    assert_eq!(got, want);
    let reread = Record::read(tmp.path()).expect("record");
    assert_eq!(
        reread
            .submitted
            .iter()
            .map(|s| s.job_id.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["100", "101", "102", "103"]
    );
    assert_eq!(reread, record);
    assert!(tmp.path().join("slurm/submit.sh").is_file() && tmp.path().join("slurm/logs").is_dir());
}

#[test]
fn a_refused_submission_cancels_what_was_queued() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut record = written(tmp.path(), &tmp.path().join("cache"));
    let fake = Fake {
        fail_at: Some(2),
        ..Fake::default()
    };
    let e = submit(tmp.path(), &mut record, &fake).expect_err("refused");
    assert_eq!(*fake.cancelled.borrow(), ["100", "101"]);
    let msg = e.to_string();
    assert!(
        msg.contains("02_dbl.sbatch")
            && msg.contains("Invalid partition")
            && msg.contains("100, 101"),
        "{msg}"
    );
    assert!(
        Record::read(tmp.path())
            .expect("record")
            .submitted
            .iter()
            .all(|s| s.job_id.is_none())
    );
}

#[test]
fn status_reads_scontrol_and_falls_back_on_the_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let mut record = written(tmp.path(), &cache);
    submit(tmp.path(), &mut record, &Fake::default()).expect("submitted");
    // Job 100 (src) is forgotten by the controller; its task 0 is cached, task 1 is not.
    let (config, inputs) = (toml::Table::new(), BTreeMap::new());
    let meta = crate::cache::EntryMeta {
        kind: "const",
        kind_version: 1,
        key: "s0",
        node_id: "src",
        iteration: None,
        seed: 0,
        config: &config,
        inputs: &inputs,
    };
    crate::cache::Cache::new(&cache)
        .get_or_compute(
            &meta,
            || {},
            || {},
            |_| Ok::<_, String>(crate::node::Metrics::default()),
        )
        .expect("cache entry");
    let mut lines = BTreeMap::new();
    lines.insert(
        "101".to_string(),
        vec!["JobId=101 JobName=toy.noise JobState=COMPLETED Reason=None ExitCode=0:0 Restarts=1"],
    );
    lines.insert(
        "102".to_string(),
        vec![
            "JobId=104 ArrayJobId=102 ArrayTaskId=0 JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0",
            "JobId=105 ArrayJobId=102 ArrayTaskId=1 JobState=RUNNING Reason=None ExitCode=0:0",
        ],
    );
    lines.insert(
        "103".to_string(),
        vec![
            "JobId=106 ArrayJobId=103 ArrayTaskId=0 JobState=CANCELLED Reason=DependencyNeverSatisfied ExitCode=0:0",
            "JobId=103 ArrayJobId=103 ArrayTaskId=1%256 JobState=PENDING Reason=Dependency ExitCode=0:0",
        ],
    );
    let fake = Fake {
        lines,
        ..Fake::default()
    };
    let report = query(&record, &fake).expect("status");
    let states: Vec<(Option<String>, TaskState)> = report
        .tasks
        .iter()
        .map(|t| (t.job_id.clone(), t.state.clone()))
        .collect();
    let failed = TaskState::Failed {
        state: "FAILED".into(),
        exit_code: "1:0".into(),
        reason: "NonZeroExitCode".into(),
    };
    let want = vec![
        (Some("100_0".to_string()), TaskState::CompletedCached),
        (Some("100_1".to_string()), TaskState::Unknown),
        (Some("101".to_string()), TaskState::Completed),
        (Some("102_0".to_string()), failed),
        (Some("102_1".to_string()), TaskState::Running),
        (Some("103_0".to_string()), TaskState::NeverRun),
        (
            Some("103_1".to_string()),
            TaskState::Pending {
                reason: "Dependency".into(),
            },
        ),
    ];
    assert_eq!(states, want);
    assert!(!report.all_final());
    assert_eq!(report.tasks[2].restarts, 1);
    assert_eq!(
        report.tasks[3].log,
        tmp.path().join("slurm/logs/02_dbl_102_0.out")
    );
    assert_eq!(
        report.tasks[2].log,
        tmp.path().join("slurm/logs/01_noise_101.out")
    );
    assert_eq!(
        report.counts(),
        "2 completed, 1 running, 1 pending, 1 failed, 1 never run, 1 unknown"
    );
    std::fs::write(
        tmp.path().join("slurm/logs/02_dbl_102_0.out"),
        "line 1\nerror: node `dbl` (const) failed: boom\n",
    )
    .expect("log");
    let table = render(&record, tmp.path(), &report);
    assert!(
        table.contains("102_0") && table.contains("FAILED") && table.contains("02_dbl_102_0.out"),
        "{table}"
    );
    assert!(
        table.contains("NEVER RUN") && table.contains("a job it depends on failed"),
        "{table}"
    );
    assert!(
        table.contains("error: node `dbl` (const) failed: boom"),
        "the failed log's tail is shown:\n{table}"
    );
}
