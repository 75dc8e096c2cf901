//! Plan building on the toy registry: validation errors, unrolling, keys.

use std::collections::BTreeMap;

use super::*;
use crate::spec::{InputRef, NodeSpec, RepeatSpec};
use crate::toy::TOY;

pub(crate) fn node(id: &str, kind: &str, inputs: &[(&str, &str)], config: &str) -> NodeSpec {
    let inputs = inputs
        .iter()
        .map(|(p, r)| {
            let r = match r.split_once("@prev") {
                None => InputRef::Node(r.to_string()),
                Some((t, rest)) => InputRef::Prev {
                    node: t.to_string(),
                    first: rest.strip_prefix('|').map(str::to_string),
                },
            };
            (p.to_string(), r)
        })
        .collect::<BTreeMap<_, _>>();
    NodeSpec {
        id: id.into(),
        kind: kind.into(),
        inputs,
        config: config.parse().expect("test TOML parses"),
    }
}

pub(crate) fn spec(nodes: Vec<NodeSpec>, repeat: Vec<(&str, u32, &[&str])>) -> PipelineSpec {
    PipelineSpec {
        name: "test".into(),
        seed: 0,
        runtime: Default::default(),
        nodes,
        repeat: repeat
            .into_iter()
            .map(|(name, iterations, nodes)| RepeatSpec {
                name: name.into(),
                iterations,
                nodes: nodes.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
    }
}

fn chain() -> Vec<NodeSpec> {
    vec![
        node("source", "const", &[], "values = [1.0, 2.0]"),
        node("double", "scale", &[("x", "source")], ""),
        node(
            "total",
            "add",
            &[("a", "double"), ("b", "source")],
            "offset = 1.0",
        ),
    ]
}

fn errors_of(s: &PipelineSpec) -> String {
    match Plan::build(s, &TOY) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_chain_plans_in_order_with_resolved_configs_and_keys() {
    let plan = Plan::build(&spec(chain(), vec![]), &TOY).expect("valid");
    let ids: Vec<&str> = plan.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["source", "double", "total"]);
    let double = plan.node("double").expect("planned");
    assert_eq!(double.config.get("factor"), Some(&toml::Value::Float(2.0)));
    assert_eq!(double.input_keys["x"], plan.nodes[0].key);
    assert_eq!(plan.descendants("source"), ["double", "total"]);
    assert_eq!(plan.descendants("double"), ["total"]);
    let back = Plan::from_json(&plan.to_json(), "plan.json").expect("round trip");
    assert_eq!(back, plan);
}

#[test]
fn changing_one_config_changes_exactly_its_key_and_its_descendants() {
    let base = Plan::build(&spec(chain(), vec![]), &TOY).expect("valid");
    let mut nodes = chain();
    nodes[1] = node("double", "scale", &[("x", "source")], "factor = 3.0");
    let changed = Plan::build(&spec(nodes, vec![]), &TOY).expect("valid");
    let differs: Vec<bool> = base
        .nodes
        .iter()
        .zip(&changed.nodes)
        .map(|(a, b)| a.key != b.key)
        .collect();
    assert_eq!(differs, [false, true, true]);
}

#[test]
fn runtime_knobs_and_iteration_count_are_not_hashed() {
    let mut a = spec(chain(), vec![]);
    let base = Plan::build(&a, &TOY).expect("valid");
    a.runtime.threads = 7;
    a.runtime.device = "cuda:0".into();
    a.runtime.cache_dir = "/elsewhere".into();
    a.runtime.progress = crate::spec::ProgressMode::Never;
    let knobs = Plan::build(&a, &TOY).expect("valid");
    assert!(
        base.nodes
            .iter()
            .zip(&knobs.nodes)
            .all(|(x, y)| x.key == y.key)
    );
    a.seed = 1;
    let reseeded = Plan::build(&a, &TOY).expect("valid");
    assert!(
        base.nodes
            .iter()
            .zip(&reseeded.nodes)
            .all(|(x, y)| x.key != y.key),
        "the seed is hashed"
    );
}

fn loop_spec(iterations: u32) -> PipelineSpec {
    spec(
        vec![
            node("start", "const", &[], "values = [1.0]"),
            node(
                "step",
                "add",
                &[("a", "start"), ("b", "step@prev")],
                "offset = 1.0",
            ),
            node("check", "scale", &[("x", "step")], ""),
            node("report", "scale", &[("x", "step")], "factor = 10.0"),
        ],
        vec![("refine", iterations, &["step", "check"])],
    )
}

#[test]
fn repeat_blocks_unroll_into_chained_instances() {
    let plan = Plan::build(&loop_spec(3), &TOY).expect("valid");
    let ids: Vec<&str> = plan.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "start", "step@1", "check@1", "step@2", "check@2", "step@3", "check@3", "report"
        ]
    );
    let step1 = plan.node("step@1").expect("planned");
    assert_eq!(
        step1.inputs,
        BTreeMap::from([("a".to_string(), "start".to_string())]),
        "iteration 1 leaves @prev unconnected"
    );
    let step3 = plan.node("step@3").expect("planned");
    assert_eq!(step3.inputs["b"], "step@2");
    assert_eq!(
        plan.node("check@2").expect("planned").inputs["x"],
        "step@2",
        "same block reads the same iteration"
    );
    assert_eq!(
        plan.node("report").expect("planned").inputs["x"],
        "step@3",
        "outside reads the last iteration"
    );
    assert_eq!(step3.block.as_deref(), Some("refine"));
    assert_ne!(plan.node("step@1").expect("planned").seed, step3.seed);
}

#[test]
fn raising_iterations_keeps_the_finished_instances_keys() {
    let two = Plan::build(&loop_spec(2), &TOY).expect("valid");
    let three = Plan::build(&loop_spec(3), &TOY).expect("valid");
    for n in &two.nodes {
        let same = three.node(&n.id).expect("still planned");
        if n.id == "report" {
            assert_ne!(n.key, same.key, "report now reads iteration 3");
        } else {
            assert_eq!(n.key, same.key, "{}", n.id);
        }
    }
}

#[test]
fn prev_with_a_first_value_reads_that_node_at_iteration_one() {
    let s = spec(
        vec![
            node("start", "const", &[], ""),
            node("step", "scale", &[("x", "step@prev|start")], ""),
        ],
        vec![("loop", 2, &["step"])],
    );
    let plan = Plan::build(&s, &TOY).expect("valid");
    assert_eq!(plan.node("step@1").expect("planned").inputs["x"], "start");
    assert_eq!(plan.node("step@2").expect("planned").inputs["x"], "step@1");
}

#[test]
fn each_validation_error_reads_well() {
    let cases: Vec<(&str, PipelineSpec)> = vec![
        ("unknown_kind", spec(vec![node("a", "ad", &[], "")], vec![])),
        (
            "missing_input",
            spec(vec![node("a", "scale", &[], "")], vec![]),
        ),
        (
            "unknown_port",
            spec(
                vec![
                    node("s", "const", &[], ""),
                    node("a", "scale", &[("y", "s")], ""),
                ],
                vec![],
            ),
        ),
        (
            "dangling",
            spec(
                vec![
                    node("source", "const", &[], ""),
                    node("a", "scale", &[("x", "sourc")], ""),
                ],
                vec![],
            ),
        ),
        (
            "prev_outside_block",
            spec(vec![node("a", "add", &[("a", "a@prev")], "")], vec![]),
        ),
        (
            "prev_not_in_block",
            spec(
                vec![
                    node("s", "const", &[], ""),
                    node("a", "add", &[("a", "s"), ("b", "s@prev")], ""),
                ],
                vec![("loop", 2, &["a"])],
            ),
        ),
        (
            "prev_needs_first",
            spec(
                vec![node("a", "scale", &[("x", "a@prev")], "")],
                vec![("loop", 2, &["a"])],
            ),
        ),
        (
            "cycle",
            spec(
                vec![
                    node("a", "scale", &[("x", "c")], ""),
                    node("b", "scale", &[("x", "a")], ""),
                    node("c", "scale", &[("x", "b")], ""),
                ],
                vec![],
            ),
        ),
        (
            "self_cycle",
            spec(vec![node("a", "scale", &[("x", "a")], "")], vec![]),
        ),
        (
            "port_type",
            spec(
                vec![
                    node("t", "text", &[], ""),
                    node("a", "scale", &[("x", "t")], ""),
                ],
                vec![],
            ),
        ),
        (
            "config_unknown_key",
            spec(vec![node("a", "const", &[], "valeus = [1.0]")], vec![]),
        ),
        (
            "config_bad_enum",
            spec(
                vec![
                    node("s", "const", &[], ""),
                    node("a", "scale", &[("x", "s")], "op = 'pow'"),
                ],
                vec![],
            ),
        ),
        (
            "repeat_problems",
            spec(
                vec![node("a", "const", &[], "")],
                vec![
                    ("loop", 0, &["a", "b"]),
                    ("other", 1, &["a"]),
                    ("empty", 1, &[]),
                ],
            ),
        ),
    ];
    let mut all = String::new();
    for (name, s) in &cases {
        all.push_str(&format!("## {name}\n{}\n\n", errors_of(s)));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn all_errors_are_reported_together_with_their_sources() {
    let s = spec(
        vec![
            node("a", "ad", &[], ""),
            node("b", "scale", &[("x", "nowhere")], "factr = 1"),
            node("c", "add", &[("a", "t")], ""),
            node("t", "text", &[], ""),
        ],
        vec![],
    );
    let lookup = |path: &str| match path {
        "nodes.a.kind" => Some("pipelines/test.toml".to_string()),
        p if p.starts_with("nodes.b.inputs") => {
            Some("command line: nodes.b.inputs.x=nowhere".to_string())
        }
        p if p.starts_with("nodes.b") => Some("configs/b/x.toml".to_string()),
        _ => None,
    };
    let err = Plan::build_with_sources(&s, &TOY, &lookup).expect_err("four problems");
    assert_eq!(err.0.len(), 4, "{err}");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn render_text_and_dot() {
    let plan = Plan::build(&loop_spec(2), &TOY).expect("valid");
    let status: Vec<render::Status> = plan
        .nodes
        .iter()
        .map(|n| {
            if n.id == "start" {
                render::Status::Cached
            } else {
                render::Status::ToRun
            }
        })
        .collect();
    insta::assert_snapshot!("plan_text", render::text(&plan, &status));
    insta::assert_snapshot!("plan_dot", render::dot(&plan, &status));
}
