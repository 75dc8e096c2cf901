//! End to end on users' own files: `rl4seg run simulate output_path=...` writes a synthetic
//! domain as NIfTI in the original's layout (img/ + segmentation/), and `rl4seg run adapt
//! source.path=... target.path=...` runs the whole loop on such folders instead of the embedded
//! domains: a labelled source, an unlabelled target, so the final report has validity, reward and
//! uncertainty but no Dice, and no oracle. Bad folders are user errors.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;

use support::{executed, ok, run, run_dir, user_error};

/// Write a small synthetic domain (drawn with `seed`) as NIfTI files under `out` (labels too
/// when `labels`).
fn export(d: &Path, domain: &str, seed: u64, cases: usize, out: &Path, labels: bool) {
    let data = format!("data={domain}");
    let seed = format!("seed={seed}");
    let cases = format!("data.cases={cases}");
    let out = format!("output_path={}", out.display());
    let labels = format!("export_labels={labels}");
    ok(&run(
        d,
        &[
            "run",
            "simulate",
            &data,
            &seed,
            &cases,
            "data.frames=[12,12]",
            "data.height=64",
            "data.width=64",
            &out,
            &labels,
            "runtime.progress=never",
        ],
    ));
}

fn nifti_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn adapt_runs_on_user_nifti_folders_without_target_labels() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let (src, tgt) = (d.join("camus_like"), d.join("unlabelled"));
    // The quick experiment's sizes, and a "target" drawn from the source domain with another
    // seed: this checks the plumbing, not adaptation. (With a smaller net or grid, or the
    // low-quality domain at this size, no rollout is anatomically valid or correctable and the
    // reward set is empty, which `train_reward` reports as an error.)
    export(d, "source", 0, 16, &src, true);
    export(d, "source", 7, 12, &tgt, false);
    let images = nifti_names(&src.join("img"));
    assert_eq!(images.len(), 16, "{images:?}");
    assert!(
        images.iter().all(|n| n.ends_with("_0000.nii.gz")),
        "{images:?}"
    );
    assert_eq!(nifti_names(&src.join("segmentation")).len(), 16);
    assert!(!tgt.join("segmentation").exists(), "export_labels=false");

    let source = format!("source.path={}", src.display());
    let target = format!("target.path={}", tgt.display());
    let args = [
        "run",
        "adapt",
        "experiment=quick",
        "iterations=1",
        &source,
        &target,
        "runtime.progress=never",
    ];
    let out = run(d, &args);
    ok(&out);
    let r = run_dir(d, &out);
    let ran = executed(&r.join("run.log"));
    for node in [
        "source_files",
        "target_files",
        "pretrain",
        "ppo@1",
        "report",
    ] {
        assert!(ran.iter().any(|n| n == node), "{node} did not run: {ran:?}");
    }
    for node in ["source", "target", "oracle", "eval_oracle"] {
        assert!(
            !ran.iter().any(|n| n == node),
            "{node} ran on user data: {ran:?}"
        );
    }
    // The loop reads the target through drop_labels only (structural label hiding).
    let plan = std::fs::read_to_string(r.join("plan.txt")).expect("plan.txt");
    assert!(plan.contains("data <- target_files"), "{plan}");

    // Without target labels: validity, reward and uncertainty, no Dice.
    let metrics = std::fs::read_to_string(r.join("metrics.json")).expect("metrics.json");
    let metrics: serde_json::Value = serde_json::from_str(&metrics).expect("json");
    let last = &metrics["eval_final"];
    for key in [
        "anat_valid_frames",
        "temporal_valid",
        "mean_reward",
        "uncertainty",
    ] {
        let v = last[key].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite(), "eval_final.{key} = {v}: {last}");
    }
    assert!(last.get("dice").is_none(), "Dice without labels: {last}");
    let report = std::fs::read_to_string(r.join("report/report.md")).expect("report.md");
    assert!(report.contains("final + TTA/TTO"), "{report}");
    assert!(!report.contains("oracle"), "{report}");
    let header = report
        .lines()
        .find(|l| l.starts_with("| |"))
        .unwrap_or_default();
    assert!(header.contains("anat_valid_frames"), "{report}");
    assert!(header.contains("mean_reward"), "{report}");
    assert!(
        !header.contains("dice"),
        "no Dice column without labels: {report}"
    );
}

#[test]
fn bad_user_folders_are_user_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let err = user_error(&run(d, &["plan", "adapt", "source.path=/no/such/source"]));
    assert!(err.contains("/no/such/source"), "{err}");

    // A source without segmentations cannot train the policy: the error names the case.
    let images = d.join("images_only");
    export(d, "source", 0, 3, &images, false);
    let source = format!("source.path={}", images.display());
    let err = user_error(&run(
        d,
        &["run", "adapt", &source, "runtime.progress=never"],
    ));
    assert!(err.contains("no segmentation found"), "{err}");
    assert!(err.contains("labels"), "{err}");
}
