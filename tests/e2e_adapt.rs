//! End to end: the project's main job on the embedded synthetic data, in its `quick` size.
//! `rl4seg run adapt experiment=quick` pretrains on the source domain, runs two iterations of the
//! RL loop on the unlabelled target, predicts with TTA/TTO and writes the comparison report; a
//! second run is all cache hits; the loop's target data carry no labels.

#[path = "support/mod.rs"]
mod support;

use support::{executed, ok, run, run_dir};

#[test]
fn quick_adapt_runs_end_to_end_and_a_rerun_is_all_cache_hits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let args = ["run", "adapt", "experiment=quick", "runtime.progress=never"];
    let first = run(d, &args);
    ok(&first);
    let r1 = run_dir(d, &first);
    let ran = executed(&r1.join("run.log"));
    for node in [
        "pretrain",
        "unlabelled",
        "rollout@1",
        "filter@1",
        "distort@1",
        "reward@1",
        "ppo@1",
        "ppo@2",
        "predict_final",
        "oracle",
        "report",
    ] {
        assert!(ran.iter().any(|n| n == node), "{node} did not run: {ran:?}");
    }
    let report = std::fs::read_to_string(r1.join("report/report.md")).expect("report.md");
    for row in [
        "source-only",
        "iteration 1",
        "iteration 2",
        "final + TTA/TTO",
        "oracle",
    ] {
        assert!(report.contains(row), "row {row} missing:\n{report}");
    }
    assert!(r1.join("report/report.png").is_file());
    // Where the uncertainty falls against the errors: 4 panels per shown case, each 3x the frame.
    let png = std::fs::read(r1.join("eval_final/uncertainty.png")).expect("uncertainty.png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("IHDR width"));
    assert!(width > 20 && (width - 20) % 12 == 0, "width {width}");
    let metrics = std::fs::read_to_string(r1.join("metrics.json")).expect("metrics.json");
    let metrics: serde_json::Value = serde_json::from_str(&metrics).expect("json");
    let dice = metrics["eval_final"]["dice"].as_f64().expect("final dice");
    assert!((0.0..=1.0).contains(&dice), "final Dice {dice}");

    let second = run(d, &args);
    ok(&second);
    let r2 = run_dir(d, &second);
    assert!(
        executed(&r2.join("run.log")).is_empty(),
        "a rerun is all cache hits"
    );

    // Structural label hiding: no node of the loop's training path reads the labelled target;
    // they read `unlabelled` (drop_labels) or what was derived from it.
    let plan = std::fs::read_to_string(r2.join("plan.txt")).expect("plan.txt");
    let loop_rows: Vec<&str> = plan
        .lines()
        .filter(|l| {
            let node = l.split_whitespace().nth(1).unwrap_or_default();
            ["rollout@", "filter@", "distort@", "reward@", "ppo@"]
                .iter()
                .any(|n| node.starts_with(n))
        })
        .collect();
    assert!(loop_rows.len() >= 10, "{plan}");
    for row in loop_rows {
        let inputs = row.split("  ").last().unwrap_or_default();
        assert!(
            !inputs.contains("<- target"),
            "a loop node reads the labelled target: {row}"
        );
    }
    assert!(plan.contains("data <- unlabelled"), "{plan}");
}
