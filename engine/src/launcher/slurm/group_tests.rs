//! Tests of the grouping of planned jobs into SLURM jobs (hand-built plans, no SLURM).

use std::collections::BTreeMap;

use super::*;
use crate::spec::RuntimeConfig;

/// A node `id` of kind `kind` whose key is `key`, reading `inputs` (port -> instance id).
pub(crate) fn node(id: &str, key: &str, inputs: &[(&str, &str)]) -> PlannedNode {
    let (declared, iteration) = match id.split_once('@') {
        Some((d, i)) => (d.to_string(), i.parse().ok()),
        None => (id.to_string(), None),
    };
    PlannedNode {
        id: id.into(),
        node: declared,
        kind: "const".into(),
        kind_version: 1,
        output: "numbers".into(),
        cacheable: true,
        iteration,
        block: iteration.map(|_| "loop".into()),
        seed: 0,
        config: toml::Table::new(),
        inputs: inputs
            .iter()
            .map(|(p, u)| (p.to_string(), u.to_string()))
            .collect(),
        input_keys: BTreeMap::new(),
        key: key.into(),
    }
}

pub(crate) fn job(index: usize, nodes: Vec<PlannedNode>) -> LaunchJob {
    LaunchJob {
        index,
        overrides: vec![format!("job={index}")],
        dir: PathBuf::from(format!("/runs/{index}")),
        plan: Plan {
            pipeline: "toy".into(),
            seed: 0,
            engine_version: "0".into(),
            artifact_format_version: 1,
            runtime: RuntimeConfig::default(),
            nodes,
        },
    }
}

fn nothing_done(_: &PlannedNode) -> bool {
    false
}

/// (instance id, number of tasks, dependencies as (upstream group, kind)) of one group.
type Shape = (String, usize, Vec<(usize, DepKind)>);

fn summary(l: &Layout) -> Vec<Shape> {
    l.groups
        .iter()
        .map(|g| {
            (
                g.node.clone(),
                g.tasks.len(),
                g.deps.iter().map(|d| (d.group, d.kind)).collect(),
            )
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn a_single_job_becomes_one_plain_job_per_node_chained_by_afterok() {
    let j = job(
        0,
        vec![
            node("a", "ka", &[]),
            node("b", "kb", &[("x", "a")]),
            node("c", "kc", &[("x", "b"), ("y", "a")]),
        ],
    );
    let l = layout(&[j], &nothing_done).expect("layout");
    assert_eq!(
        summary(&l),
        [
            (s("a"), 1, vec![]),
            (s("b"), 1, vec![(0, DepKind::AfterOk)]),
            (
                s("c"),
                1,
                vec![(0, DepKind::AfterOk), (1, DepKind::AfterOk)]
            )
        ]
    );
    assert!(l.cached.is_empty());
    assert_eq!(
        l.groups[2].tasks[0].runs,
        [Run {
            job: 0,
            node: s("c"),
            dir: PathBuf::from("/runs/0")
        }]
    );
}

#[test]
fn cached_nodes_are_not_submitted_and_nothing_waits_for_them() {
    let j = job(
        0,
        vec![node("a", "ka", &[]), node("b", "kb", &[("x", "a")])],
    );
    let l = layout(&[j], &|n: &PlannedNode| n.key == "ka").expect("layout");
    assert_eq!(summary(&l), [(s("b"), 1, vec![])]);
    assert_eq!(l.cached.len(), 1);
    assert_eq!(
        (l.cached[0].node.as_str(), l.cached[0].key.as_str()),
        ("a", "ka")
    );
}

/// A 2x2 sweep: `src` varies with the first axis, `dbl` with both, `noise` with none.
fn two_by_two() -> Vec<LaunchJob> {
    (0..4)
        .map(|i| {
            job(
                i,
                vec![
                    node("src", &format!("src{}", i / 2), &[]),
                    node("noise", "noise", &[]),
                    node("dbl", &format!("dbl{i}"), &[("x", "src")]),
                    node("total", &format!("tot{i}"), &[("a", "dbl"), ("b", "noise")]),
                ],
            )
        })
        .collect()
}

#[test]
fn sweep_points_become_arrays_and_shared_nodes_run_once() {
    let l = layout(&two_by_two(), &nothing_done).expect("layout");
    assert_eq!(
        summary(&l),
        [
            (s("src"), 2, vec![]),
            (s("noise"), 1, vec![]),
            // dbl task i reads src task i/2: not element-wise, so it waits for the whole array.
            (s("dbl"), 4, vec![(0, DepKind::AfterOk)]),
            (
                s("total"),
                4,
                vec![(1, DepKind::AfterOk), (2, DepKind::AfterCorr)]
            ),
        ]
    );
    let noise = &l.groups[1].tasks[0];
    assert_eq!(noise.jobs(), [0, 1, 2, 3]);
    assert_eq!(
        noise.runs[0].job, 0,
        "the first sweep point computes, the others link"
    );
    assert_eq!(l.groups[0].tasks[1].jobs(), [2, 3]);
}

#[test]
fn a_rerun_submits_only_what_is_missing() {
    let done = |n: &PlannedNode| n.key.starts_with("src") || n.key == "noise" || n.key == "dbl0";
    let l = layout(&two_by_two(), &done).expect("layout");
    assert_eq!(
        summary(&l),
        [
            (s("dbl"), 3, vec![]),
            (s("total"), 4, vec![(0, DepKind::AfterOk)])
        ]
    );
    assert_eq!(
        l.cached.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["src0", "noise", "dbl0", "src1"]
    );
}

#[test]
fn uncacheable_nodes_run_in_every_job_but_nothing_may_read_them() {
    let mut export = node("export", "kx", &[("x", "a")]);
    export.cacheable = false;
    let jobs: Vec<LaunchJob> = (0..2)
        .map(|i| job(i, vec![node("a", "ka", &[]), export.clone()]))
        .collect();
    let l = layout(&jobs, &|_: &PlannedNode| true).expect("layout");
    assert_eq!(
        summary(&l),
        [(s("export"), 2, vec![])],
        "never cached, once per job even with one key"
    );

    let reader = node("after", "kr", &[("x", "export")]);
    let bad = job(0, vec![node("a", "ka", &[]), export, reader]);
    let e = layout(&[bad], &nothing_done).expect_err("uncacheable input");
    assert!(
        e.to_string().contains("`export`") && e.to_string().contains("`after`"),
        "{e}"
    );
}

#[test]
fn groups_first_seen_in_a_later_sweep_point_are_ordered_before_their_readers() {
    // Job 1 has one more loop iteration: `report` (seen first in job 0) must wait for step@3.
    let j0 = job(
        0,
        vec![
            node("step@1", "s1", &[]),
            node("step@2", "s2", &[("p", "step@1")]),
            node("report", "r0", &[("x", "step@2")]),
        ],
    );
    let j1 = job(
        1,
        vec![
            node("step@1", "s1", &[]),
            node("step@2", "s2", &[("p", "step@1")]),
            node("step@3", "s3", &[("p", "step@2")]),
            node("report", "r1", &[("x", "step@3")]),
        ],
    );
    let l = layout(&[j0, j1], &nothing_done).expect("layout");
    assert_eq!(
        summary(&l),
        [
            (s("step@1"), 1, vec![]),
            (s("step@2"), 1, vec![(0, DepKind::AfterOk)]),
            (s("step@3"), 1, vec![(1, DepKind::AfterOk)]),
            (
                s("report"),
                2,
                vec![(1, DepKind::AfterOk), (2, DepKind::AfterOk)]
            ),
        ]
    );
    assert_eq!(l.groups[3].declared, "report");
    assert_eq!(l.groups[2].declared, "step");
}
