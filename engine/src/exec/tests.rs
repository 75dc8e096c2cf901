//! Executor behaviour on the toy registry.

use std::sync::Arc;

use super::*;
use crate::plan::tests::{node, spec};
use crate::spec::{NodeSpec, PipelineSpec};
use crate::toy::TOY;

fn with_cache(mut s: PipelineSpec, cache: &Path) -> PipelineSpec {
    s.runtime.cache_dir = cache.to_path_buf();
    s.runtime.progress = ProgressMode::Never;
    s
}

fn chain(cache: &Path, factor: f64) -> Plan {
    let nodes = vec![
        node("source", "const", &[], "values = [1.0, 2.0]"),
        node(
            "double",
            "scale",
            &[("x", "source")],
            &format!("factor = {factor:?}"),
        ),
        node(
            "total",
            "add",
            &[("a", "double"), ("b", "source")],
            "offset = 1.0",
        ),
    ];
    Plan::build(&with_cache(spec(nodes, vec![]), cache), &TOY).expect("valid plan")
}

fn values(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("values.txt")).expect("values.txt")
}

#[test]
fn a_second_run_executes_nothing_and_a_change_reruns_only_descendants() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let run1 = tmp.path().join("run1");
    let first = run_plan(&chain(&cache, 2.0), &TOY, &run1).expect("runs");
    assert_eq!(first.executed(), ["source", "double", "total"]);
    assert_eq!(values(&run1.join("total")), "4\n7\n");
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run1.join("metrics.json")).expect("metrics"))
            .expect("json");
    assert_eq!(metrics["total"]["sum"], 11.0);

    let run2 = tmp.path().join("run2");
    let second = run_plan(&chain(&cache, 2.0), &TOY, &run2).expect("runs");
    assert!(second.executed().is_empty());
    assert_eq!(second.cached().len(), 3);
    assert_eq!(
        values(&run2.join("total")),
        "4\n7\n",
        "cached outputs are linked too"
    );
    assert_eq!(
        second.metrics, first.metrics,
        "cached metrics come from the manifest"
    );

    let third = run_plan(&chain(&cache, 3.0), &TOY, &tmp.path().join("run3")).expect("runs");
    assert_eq!(third.executed(), ["double", "total"]);
}

#[test]
fn a_failing_node_stops_the_job_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let nodes = vec![
        node("source", "const", &[], ""),
        node(
            "broken",
            "scale",
            &[("x", "source")],
            "factor = 0.0\nop = 'div'",
        ),
        node("after", "scale", &[("x", "broken")], ""),
        node("independent", "const", &[], "values = [5.0]"),
    ];
    let plan = Plan::build(&with_cache(spec(nodes, vec![]), &cache), &TOY).expect("valid");
    let report = run_plan(&plan, &TOY, &tmp.path().join("run")).expect("engine ok");
    let statuses: Vec<&NodeStatus> = report.nodes.iter().map(|n| &n.status).collect();
    assert!(matches!(statuses[0], NodeStatus::Ran { .. }));
    assert!(
        matches!(statuses[1], NodeStatus::Failed { user: true, message } if message.contains("cannot divide by factor 0"))
    );
    assert_eq!(statuses[2..], [&NodeStatus::NotRun, &NodeStatus::NotRun]);
    assert_eq!(report.failure().map(|f| f.id.as_str()), Some("broken"));
    let broken = plan.node("broken").expect("planned");
    assert!(matches!(
        Cache::new(&cache).check("scale", &broken.key, true),
        Lookup::Missing
    ));
    let leftovers = std::fs::read_dir(cache.join("scale").join(crate::cache::TMP_DIR))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
}

#[test]
fn a_panicking_node_is_an_internal_failure_not_a_crash() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nodes = vec![node(
        "boom",
        "fail",
        &[],
        "error = 'panic'\nmessage = 'kaboom'",
    )];
    let plan = Plan::build(
        &with_cache(spec(nodes, vec![]), &tmp.path().join("c")),
        &TOY,
    )
    .expect("valid");
    let report = run_plan(&plan, &TOY, &tmp.path().join("run")).expect("engine ok");
    let Some(NodeOutcome {
        status: NodeStatus::Failed {
            message,
            user: false,
        },
        ..
    }) = report.failure()
    else {
        panic!("expected an internal failure: {report:?}")
    };
    assert_eq!(
        message,
        "node `boom` (fail) panicked: kaboom; this is a bug"
    );
}

#[test]
fn non_cacheable_nodes_run_every_time_and_leave_no_temporary_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("exported/values.txt");
    let nodes = vec![
        node("source", "const", &[], "values = [3.0]"),
        node(
            "export",
            "export",
            &[("x", "source")],
            &format!("path = {:?}", out.display().to_string()),
        ),
    ];
    let plan = Plan::build(&with_cache(spec(nodes, vec![]), &cache), &TOY).expect("valid");
    for i in 0..2 {
        let run = tmp.path().join(format!("run{i}"));
        let report = run_plan(&plan, &TOY, &run).expect("runs");
        assert_eq!(report.executed().last(), Some(&"export"), "run {i}");
        assert_eq!(
            std::fs::read_to_string(run.join("export/export.txt"))
                .ok()
                .as_deref(),
            Some("3\n")
        );
        std::fs::remove_file(&out).expect("exported file exists");
    }
    assert_eq!(
        std::fs::read_dir(cache.join("export").join(crate::cache::TMP_DIR))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    assert!(!cache.join("export").join(&plan.nodes[1].key).exists());
}

fn loop_nodes() -> Vec<NodeSpec> {
    vec![
        node("start", "const", &[], "values = [1.0]"),
        node(
            "step",
            "add",
            &[("a", "start"), ("b", "step@prev")],
            "offset = 1.0",
        ),
        node("report", "scale", &[("x", "step")], "factor = 10.0"),
    ]
}

#[test]
fn raising_iterations_computes_only_the_new_iterations() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let plan = |n| {
        Plan::build(
            &with_cache(spec(loop_nodes(), vec![("refine", n, &["step"])]), &cache),
            &TOY,
        )
        .expect("valid")
    };
    let two = run_plan(&plan(2), &TOY, &tmp.path().join("r2")).expect("runs");
    assert_eq!(two.executed(), ["start", "step@1", "step@2", "report"]);
    assert_eq!(
        values(&tmp.path().join("r2/step@2")),
        "4\n",
        "step@1 = 1+1, step@2 = 1+2+1"
    );
    let three = run_plan(&plan(3), &TOY, &tmp.path().join("r3")).expect("runs");
    assert_eq!(three.executed(), ["step@3", "report"]);
    assert_eq!(
        values(&tmp.path().join("r3/report")),
        "60\n",
        "step@3 = 1 + 4 + 1"
    );
}

#[test]
fn run_node_needs_cached_inputs_and_runs_exactly_one_instance() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let plan = chain(&cache, 2.0);
    let run = tmp.path().join("run");
    let missing = run_node(&plan, "double", &TOY, &run).expect_err("source not cached");
    assert!(
        matches!(missing, ExecError::InputNotCached { ref upstream, .. } if upstream == "source"),
        "{missing}"
    );
    let unknown = run_node(&plan, "dubble", &TOY, &run).expect_err("no such node");
    assert!(
        unknown.to_string().contains("did you mean `double`?"),
        "{unknown}"
    );

    let back = Plan::from_json(&plan.to_json(), "plan.json").expect("round trip");
    assert!(matches!(
        run_node(&back, "source", &TOY, &run).expect("runs").status,
        NodeStatus::Ran { .. }
    ));
    assert!(matches!(
        run_node(&back, "double", &TOY, &run).expect("runs").status,
        NodeStatus::Ran { .. }
    ));
    assert_eq!(
        run_node(&back, "double", &TOY, &run).expect("runs").status,
        NodeStatus::Cached
    );
    let report = run_plan(&plan, &TOY, &tmp.path().join("all")).expect("runs");
    assert_eq!(report.executed(), ["total"]);
}

#[test]
fn two_jobs_sharing_a_slow_node_compute_it_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("cache");
    let nodes = vec![
        node("nap", "sleep", &[], "seconds = 0.3"),
        node("double", "scale", &[("x", "nap")], ""),
    ];
    let plan =
        Arc::new(Plan::build(&with_cache(spec(nodes, vec![]), &cache), &TOY).expect("valid"));
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let (plan, run) = (plan.clone(), tmp.path().join(format!("run{i}")));
            std::thread::spawn(move || run_plan(&plan, &TOY, &run).map(|r| r.executed().len()))
        })
        .collect();
    let executed: usize = handles
        .into_iter()
        .map(|h| h.join().expect("thread").expect("runs"))
        .sum();
    assert_eq!(executed, 2, "each of the two nodes computed once in total");
}
