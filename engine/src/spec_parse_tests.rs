//! Tests of the spec parser: a full pipeline, input references, runtime strictness with
//! provenance in messages, repeat blocks, and the `RL4SEG_CACHE` default.

use super::*;
use crate::config::{Builtin, ConfigSources, compose_with_env};

fn no_env(_: &str) -> Option<String> {
    None
}

fn composed(pipeline: &'static str, overrides: &[&str]) -> Composed {
    let builtin: Builtin = Box::leak(Box::new([("pipelines/p.toml", pipeline)]));
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    compose_with_env(&ConfigSources::new(builtin), "p", &o, &no_env)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn errors(pipeline: &'static str, overrides: &[&str]) -> Vec<String> {
    let c = composed(pipeline, overrides);
    parse_with_env(&c, &no_env)
        .expect_err("should fail")
        .iter()
        .map(ToString::to_string)
        .collect()
}

const GOOD: &str = r#"
seed = 7
[runtime]
threads = 2
progress = "never"
[nodes.load]
kind = "load"
path = "/x"
[nodes.train]
kind = "train"
inputs = { data = "load", init = "train@prev|load" }
lr = 0.1
[nodes.eval]
kind = "eval"
inputs = { model = "train", prev = "train@prev" }
[repeat.loop]
iterations = 3
nodes = ["train"]
"#;

#[test]
fn full_pipeline() -> Result<(), ConfigErrors> {
    let spec = parse_with_env(&composed(GOOD, &[]), &no_env)?;
    assert_eq!(spec.name, "p");
    assert_eq!(spec.seed, 7);
    assert_eq!(spec.runtime.threads, 2);
    assert_eq!(spec.runtime.progress, crate::spec::ProgressMode::Never);
    assert_eq!(spec.runtime.cache_dir, PathBuf::from(".rl4seg/cache"));
    let ids: Vec<&str> = spec.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["load", "train", "eval"], "file order is kept");
    let train = &spec.nodes[1];
    assert_eq!(train.inputs["data"], InputRef::Node("load".into()));
    assert_eq!(
        train.inputs["init"],
        InputRef::Prev {
            node: "train".into(),
            first: Some("load".into())
        }
    );
    assert_eq!(
        spec.nodes[2].inputs["prev"],
        InputRef::Prev {
            node: "train".into(),
            first: None
        }
    );
    assert_eq!(
        train.config,
        toml::from_str::<Table>("lr = 0.1").expect("toml")
    );
    assert_eq!(
        spec.repeat,
        vec![RepeatSpec {
            name: "loop".into(),
            iterations: 3,
            nodes: vec!["train".into()]
        }]
    );
    Ok(())
}

#[test]
fn cache_dir_from_env_only_when_not_given() -> Result<(), ConfigErrors> {
    let env = |v: &str| (v == "RL4SEG_CACHE").then(|| "/tmp/c".to_string());
    let spec = parse_with_env(&composed("[nodes]", &[]), &env)?;
    assert_eq!(spec.runtime.cache_dir, PathBuf::from("/tmp/c"));
    let spec = parse_with_env(&composed("[runtime]\ncache_dir = 'mine'", &[]), &env)?;
    assert_eq!(spec.runtime.cache_dir, PathBuf::from("mine"));
    Ok(())
}

#[test]
fn runtime_errors_name_key_and_origin() {
    let e = errors(GOOD, &["runtime.threads=many", "+runtime.thread=1"]);
    assert_eq!(
        e.len(),
        1,
        "type errors wait until the keys are known: {e:?}"
    );
    assert!(
        e[0].starts_with(
            "unknown key 'runtime.thread' (command line: +runtime.thread=1) (did you mean 'runtime.threads'?); \
             allowed here: cache_dir, device, "
        ),
        "{e:?}"
    );
    let e = errors(GOOD, &["runtime.threads=many"]);
    assert_eq!(
        e,
        [
            "'runtime.threads' (command line: runtime.threads=many): invalid type: string \"many\", expected usize"
        ]
    );
    let e = errors(GOOD, &["runtime.progress=fast"]);
    assert!(
        e[0].starts_with(
            "'runtime.progress' (command line: runtime.progress=fast): unknown variant `fast`"
        ),
        "{e:?}"
    );
}

#[test]
fn node_and_repeat_errors_are_all_reported() {
    let e = errors(
        r#"
        seed = -1
        [nodes.a]
        inputs = { x = "b@next", y = 3 }
        [nodes.b]
        kind = 5
        [nodes.c]
        kind = "k"
        inputs = "a"
        [repeat.r]
        iterations = 0
        nodes = ["a", "a"]
        [repeat.s]
        iterations = 1
        nodes = []
        extra = 1
        "#,
        &[],
    );
    let expected = [
        "'seed' (pipelines/p.toml): must be an integer >= 0, got -1",
        "'nodes.a' (pipelines/p.toml): has no `kind`; add kind = \"<node kind>\" (see `rl4seg list`)",
        "'nodes.a.inputs.x' (pipelines/p.toml): 'b@next': after '@' only 'prev' or 'prev|<node>' is allowed; write \"node\", \"node@prev\" or \"node@prev|first_node\" (alternatives: \"a|b\", \"node@prev|a|b|\")",
        "'nodes.a.inputs.y' (pipelines/p.toml): must be a node reference string, got 3",
        "'nodes.b.kind' (pipelines/p.toml): must be a node kind name, got 5",
        "'nodes.c.inputs' (pipelines/p.toml): must be a table like { port = \"node\" }, got \"a\"",
        "'repeat.r.iterations' (pipelines/p.toml): must be at least 1",
        "'repeat.r.nodes' (pipelines/p.toml): 'a' is not a node id or is listed twice; list each node of the block once",
        "unknown key 'repeat.s.extra' (pipelines/p.toml); allowed here: iterations, nodes",
    ];
    assert_eq!(e, expected);
}

#[test]
fn input_refs() {
    assert_eq!(parse_input_ref("a"), Ok(InputRef::Node("a".into())));
    assert_eq!(
        parse_input_ref("a@prev"),
        Ok(InputRef::Prev {
            node: "a".into(),
            first: None
        })
    );
    assert_eq!(parse_input_ref("a|b"), Ok(InputRef::Node("a|b".into())));
    assert_eq!(parse_input_ref("a|"), Ok(InputRef::Node("a|".into())));
    for first in ["b|c", "b|"] {
        assert_eq!(
            parse_input_ref(&format!("a@prev|{first}")),
            Ok(InputRef::Prev {
                node: "a".into(),
                first: Some(first.into())
            })
        );
    }
    for bad in [
        "",
        "|",
        "|a",
        "a||b",
        "@prev",
        "a@",
        "a@prev|",
        "a@prev|b.c",
        "a.b",
        "a@prev||",
        "a@prev|b||",
        "a@prev|b|c.d",
    ] {
        assert!(parse_input_ref(bad).is_err(), "{bad}");
    }
}
