//! Unit tests of composition on small built-in file sets: layer order, group-switch precedence,
//! adding and removing groups, aliases, package retargeting, provenance, env, closedness.
//! (Snapshots of trees and messages on the fixture config dir are in `engine/tests/config_compose.rs`.)

use super::*;
use crate::config::sources::Builtin;

static FILES: Builtin = &[
    ("configs/data/a.toml", "kind = 'load'\nfps = 10\npath = 'a'"),
    ("configs/data/b.toml", "kind = 'load'\nfps = 20\npath = 'b'"),
    ("configs/data/c.toml", "kind = 'load'\nfps = 30\npath = 'c'"),
    ("configs/extra/x.toml", "k = 1"),
    (
        "configs/experiment/exp.toml",
        "[defaults]\ndata = 'b'\n[data]\nfps = 2\n[nodes.n]\nnote = 'exp'",
    ),
    (
        "pipelines/p.toml",
        r#"
        [defaults]
        data = "a"
        [aliases]
        fps = "data.fps"
        both = ["nodes.n.x", "nodes.m.x"]
        [data]
        fps = 1
        [nodes.src]
        kind = "${data.kind}"
        path = "${data.path}"
        fps = "${data.fps}"
        [nodes.n]
        kind = "k"
        x = 0
        [nodes.m]
        kind = "k"
        x = 0
        "#,
    ),
    (
        "pipelines/two.toml",
        r#"
        [defaults]
        "data@source" = "a"
        "data@target" = "b"
        [nodes]
        source = "${source}"
        target = "${target}"
        "#,
    ),
    (
        "pipelines/dotted.toml",
        r#"
        [defaults]
        "data@source" = "a"
        [aliases]
        "source.path" = "nodes.files.path"
        [nodes]
        source = "${source}"
        [nodes.files]
        kind = "load"
        path = ""
        "#,
    ),
];

fn env(var: &str) -> Option<String> {
    (var == "ROOT").then(|| "/r".to_string())
}

fn run(pipeline: &str, overrides: &[&str]) -> Result<Composed, ConfigErrors> {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    compose_with_env(&ConfigSources::new(FILES), pipeline, &o, &env)
}

fn ok(pipeline: &str, overrides: &[&str]) -> Composed {
    run(pipeline, overrides).unwrap_or_else(|e| panic!("{e}"))
}

fn err(pipeline: &str, overrides: &[&str]) -> Vec<String> {
    run(pipeline, overrides)
        .expect_err("should fail")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn at<'a>(c: &'a Composed, path: &str) -> &'a Value {
    crate::config::tree::get(&c.tree, path).unwrap_or_else(|| panic!("no {path}"))
}

#[test]
fn layer_order_group_pipeline_experiment_cli() {
    assert_eq!(at(&ok("p", &[]), "nodes.src.fps"), &Value::Integer(1));
    let c = ok("p", &["experiment=exp"]);
    assert_eq!(at(&c, "nodes.src.fps"), &Value::Integer(2));
    assert_eq!(
        at(&c, "nodes.src.path").as_str(),
        Some("b"),
        "experiment switched data to b"
    );
    assert_eq!(at(&c, "nodes.n.note").as_str(), Some("exp"));
    assert_eq!(
        c.provenance.source_of("nodes.src.fps"),
        Some(&Source::File("configs/experiment/exp.toml".into()))
    );
    let c = ok("p", &["experiment=exp", "data.fps=3", "data=c"]);
    assert_eq!(at(&c, "nodes.src.fps"), &Value::Integer(3));
    assert_eq!(
        at(&c, "nodes.src.path").as_str(),
        Some("c"),
        "command line beats the experiment"
    );
    assert_eq!(c.choices.get("data").map(String::as_str), Some("c"));
    assert_eq!(c.choices.get("experiment").map(String::as_str), Some("exp"));
    assert_eq!(at(&c, "defaults.data").as_str(), Some("c"));
    assert_eq!(
        c.provenance.source_of("defaults.data"),
        Some(&Source::CommandLine("data=c".into()))
    );
    assert!(c.tree.get("data").is_none(), "group packages are consumed");
}

#[test]
fn aliases_single_multi_and_prefix() {
    let c = ok("p", &["fps=9", "both=5"]);
    assert_eq!(at(&c, "nodes.src.fps"), &Value::Integer(9));
    assert_eq!(
        (at(&c, "nodes.n.x"), at(&c, "nodes.m.x")),
        (&Value::Integer(5), &Value::Integer(5))
    );
    assert_eq!(
        c.provenance.source_of("nodes.m.x"),
        Some(&Source::CommandLine("both=5".into()))
    );
    assert_eq!(
        c.provenance.source_of("nodes.src.fps"),
        Some(&Source::CommandLine("fps=9".into()))
    );
    let e = err("p", &["both.y=1"]);
    assert_eq!(
        e,
        [
            "cannot set 'nodes.n.x.y' (command line: both.y=1): 'nodes.n.x' is an integer, not a table",
            "cannot set 'nodes.m.x.y' (command line: both.y=1): 'nodes.m.x' is an integer, not a table"
        ]
    );
}

#[test]
fn dotted_alias_redirects_only_its_own_path() {
    // `source.path` goes to the loader node; the rest of `source` is still the group's table.
    let c = ok("dotted", &["source.path=/data/camus", "source.fps=12"]);
    assert_eq!(
        at(&c, "nodes.files.path"),
        &Value::String("/data/camus".into())
    );
    assert_eq!(at(&c, "nodes.source.path"), &Value::String("a".into()));
    assert_eq!(at(&c, "nodes.source.fps"), &Value::Integer(12));
    assert_eq!(
        c.provenance.source_of("nodes.files.path"),
        Some(&Source::CommandLine("source.path=/data/camus".into()))
    );
    // A longer key below the alias keeps its tail; a key that only shares a prefix does not match.
    let e = err("dotted", &["source.path.x=1"]);
    assert_eq!(
        e,
        [
            "cannot set 'nodes.files.path.x' (command line: source.path.x=1): 'nodes.files.path' is a string, not a table"
        ]
    );
    let c = ok("dotted", &["++source.pathology=1"]);
    assert_eq!(at(&c, "nodes.files.path"), &Value::String(String::new()));
}

#[test]
fn add_remove_and_retarget_groups() {
    let e = err("p", &["+extra=x"]);
    assert_eq!(
        e,
        [
            "'extra.k' (from configs/extra/x.toml) is not used by any node. Reference it from a node (\"${extra.k}\") or remove it"
        ]
    );
    let c = ok("p", &["+extra=x", "+nodes.n.k=${extra.k}"]);
    assert_eq!(at(&c, "nodes.n.k"), &Value::Integer(1));
    let e = err("p", &["~data"]);
    assert!(
        e[0].contains("refers to 'data.kind', which does not exist"),
        "{e:?}"
    );
    let c = ok("two", &["data@target=c"]);
    assert_eq!(at(&c, "nodes.target.path").as_str(), Some("c"));
    assert_eq!(
        c.provenance.source_of("nodes.target.fps"),
        Some(&Source::File("configs/data/c.toml".into()))
    );
    assert_eq!(
        c.provenance.source_of("nodes.source"),
        Some(&Source::File("configs/data/a.toml".into()))
    );
    let e = err("two", &["data=c"]);
    assert_eq!(
        e,
        [
            "group 'data' appears several times in the defaults of two (command line: data=c); name the one to switch: data@source, data@target"
        ]
    );
    let c = ok("two", &["source.path=${env:ROOT}/s"]);
    assert_eq!(at(&c, "nodes.source.path").as_str(), Some("/r/s"));
    let e = err("two", &["nodes.source.path=x"]);
    assert_eq!(
        e,
        [
            "cannot set 'nodes.source.path' (command line: nodes.source.path=x): 'nodes.source' is a string, not a table; \
          'nodes.source' is the interpolation \"${source}\", so set source.path instead"
        ]
    );
}

#[test]
fn value_override_forms() {
    let c = ok(
        "p",
        &["++nodes.n.new.deep=1", "~nodes.m.x=0", "++nodes.n.x=[1,2]"],
    );
    assert_eq!(at(&c, "nodes.n.new.deep"), &Value::Integer(1));
    assert_eq!(at(&c, "nodes.n.x").as_array().map(Vec::len), Some(2));
    assert!(crate::config::tree::get(&c.tree, "nodes.m.x").is_none());
    assert_eq!(
        c.provenance.source_of("nodes.n.new"),
        Some(&Source::CommandLine("++nodes.n.new.deep=1".into()))
    );
    let e = err(
        "p",
        &[
            "~nodes.m.x=3",
            "~nodes.m.y",
            "+nodes.m.x=1",
            "nodes.n.x.y=1",
        ],
    );
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(
        e[0],
        "cannot delete 'nodes.m.x' (command line: ~nodes.m.x=3): its value is 0, not 3. Write ~nodes.m.x to delete whatever its value is"
    );
    assert!(
        e[1].starts_with("cannot delete 'nodes.m.y' (command line: ~nodes.m.y): no such key"),
        "{}",
        e[1]
    );
    assert_eq!(
        e[2],
        "key 'nodes.m.x' already exists (set by pipelines/p.toml), so '+nodes.m.x=1' cannot add it. Use nodes.m.x=1 to change it, or ++nodes.m.x=1 to add or set"
    );
    assert_eq!(
        e[3],
        "cannot set 'nodes.n.x.y' (command line: nodes.n.x.y=1): 'nodes.n.x' is an integer, not a table"
    );
}

#[test]
fn node_order_survives_deletion() {
    let c = ok("p", &["~nodes.n"]);
    let ids: Vec<&String> = c.tree["nodes"]
        .as_table()
        .map(|t| t.keys().collect())
        .unwrap_or_default();
    assert_eq!(ids, ["src", "m"]);
    let e = err(
        "p",
        &["~nodes.src.fps", "~nodes.src.path", "~nodes.src.kind"],
    );
    assert_eq!(e.len(), 3, "three package keys are now unused: {e:?}");
}
