//! The CLI with the toy binary: what people read (`show`, `plan`, `list`, error messages) is
//! snapshotted; every bad input exits with code 2 and one clear message, never a panic.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_rl4seg-toy");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("RL4SEG_CACHE", dir.join("cache"))
        .env_remove("RL4SEG_CONFIG_PATH")
        .args(args)
        .output()
        .expect("the binary starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn stdout_ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}\n{}",
        out.status.code(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn show_prints_the_resolved_config() {
    let tmp = tempfile::tempdir().expect("tempdir");
    insta::assert_snapshot!(
        "show_toy",
        stdout_ok(
            tmp.path(),
            &["show", "toy", "factor=4", "--cache-dir", "cache"]
        )
    );
    insta::assert_snapshot!(
        "show_experiment",
        stdout_ok(
            tmp.path(),
            &[
                "show",
                "toy",
                "experiment=big_source",
                "--cache-dir",
                "cache"
            ]
        )
    );
}

#[test]
fn plan_shows_keys_and_cache_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    insta::assert_snapshot!("plan_loop_before", stdout_ok(d, &["plan", "loop"]));
    stdout_ok(d, &["run", "loop"]);
    insta::assert_snapshot!(
        "plan_loop_after_more_iterations",
        stdout_ok(d, &["plan", "loop", "repeat.refine.iterations=3"])
    );
    insta::assert_snapshot!(
        "plan_loop_dot",
        stdout_ok(d, &["plan", "loop", "--format", "dot"])
    );
}

#[test]
fn list_schema_and_completions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    insta::assert_snapshot!("list", stdout_ok(d, &["list"]));
    let all: serde_json::Value =
        serde_json::from_str(&stdout_ok(d, &["schema"])).expect("schema JSON");
    assert!(all["pipeline"]["$defs"]["node.scale"].is_object());
    let w = run(d, &["schema", "--write", "--dir", "out"]);
    assert!(w.status.success(), "{}", text(&w.stderr));
    assert!(d.join("out/pipeline.json").is_file() && d.join("out/node.const.json").is_file());
    assert!(stdout_ok(d, &["completions", "bash"]).contains("rl4seg-toy"));
}

#[test]
fn cache_commands_list_and_clear() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    assert!(stdout_ok(d, &["cache", "ls"]).contains("is empty"));
    stdout_ok(d, &["run", "toy"]);
    let ls = stdout_ok(d, &["cache", "ls"]);
    assert_eq!(
        ls.lines()
            .filter(|l| l.starts_with("const ") || l.starts_with("scale "))
            .count(),
        2,
        "{ls}"
    );
    assert!(ls.contains("4 entries"), "{ls}");
    let refused = run(d, &["cache", "clear"]);
    assert_eq!(refused.status.code(), Some(2), "no terminal and no --yes");
    assert!(
        text(&refused.stderr).contains("would remove 4 entries"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        stdout_ok(d, &["cache", "clear", "--kind", "scale", "--yes"]).trim(),
        "removed 1 entries (4 B)".replace("4 B", &ls_size(&ls, "scale"))
    );
    let unknown = run(d, &["cache", "clear", "--kind", "nope", "--yes"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stdout_ok(d, &["cache", "gc", "--older-than", "0s"])
            .starts_with("removed 3 unused entries")
    );
}

fn ls_size(ls: &str, kind: &str) -> String {
    let line = ls
        .lines()
        .find(|l| l.starts_with(&format!("{kind} ")))
        .unwrap_or_default();
    let cells: Vec<&str> = line
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    cells.get(3).map(|s| s.to_string()).unwrap_or_default()
}

const BAD_PIPELINES: &[(&str, &str)] = &[
    (
        "cycle.toml",
        "[nodes.a]\nkind = \"scale\"\ninputs = { x = \"b\" }\n[nodes.b]\nkind = \"scale\"\ninputs = { x = \"a\" }\n[nodes.c]\nkind = \"scale\"\ninputs = { x = \"a\" }\n",
    ),
    (
        "badfile.toml",
        "[nodes.l]\nkind = \"load\"\npath = \"missing.txt\"\n",
    ),
    (
        "panics.toml",
        "[nodes.p]\nkind = \"fail\"\nerror = \"panic\"\nmessage = \"kaboom\"\n",
    ),
    (
        "internal.toml",
        "[nodes.p]\nkind = \"fail\"\nerror = \"internal\"\n",
    ),
];

#[test]
fn bad_input_exits_2_with_one_clear_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    for (name, body) in BAD_PIPELINES {
        std::fs::write(d.join(name), body).expect("write pipeline");
    }
    let cases: &[(&str, &[&str])] = &[
        ("unknown pipeline", &["run", "toyy"]),
        ("unknown group option", &["run", "toy", "source=huge"]),
        ("unknown key", &["run", "toy", "nodes.double.factr=2"]),
        ("type mismatch", &["run", "toy", "factor=abc"]),
        ("bad enum value", &["run", "toy", "++nodes.double.op=pow"]),
        ("malformed override", &["run", "toy", "=3"]),
        ("sweep without -m", &["run", "toy", "factor=1,2"]),
        ("cycle", &["plan", "./cycle.toml"]),
        ("missing input", &["run", "toy", "~nodes.double.inputs"]),
        (
            "dangling input",
            &["run", "toy", "nodes.total.inputs.b=nois"],
        ),
        ("bad input data", &["run", "./badfile.toml"]),
        ("unknown subcommand", &["runn", "toy"]),
        (
            "bad sweep everywhere",
            &["run", "-m", "toy", "source=huge,tiny"],
        ),
    ];
    let mut all = String::new();
    for (name, args) in cases {
        let out = run(d, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {args:?}\n{err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{name}: {err}"
        );
        all.push_str(&format!(
            "## {name}: {}\n{}\n",
            args.join(" "),
            err.lines()
                .filter(|l| !l.starts_with("run directory:"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    insta::with_settings!({ filters => vec![(r"outputs/[a-z]+/[0-9_-]+", "outputs/<run>")] }, {
        insta::assert_snapshot!("bad_input", all);
    });
}

#[test]
fn internal_failures_and_panics_exit_1_without_a_backtrace() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    for (name, body) in BAD_PIPELINES {
        std::fs::write(d.join(name), body).expect("write pipeline");
    }
    let internal = run(d, &["run", "./internal.toml"]);
    assert_eq!(internal.status.code(), Some(1));
    assert!(
        text(&internal.stderr).contains("error: node `p` (fail) failed: this node always fails"),
        "{}",
        text(&internal.stderr)
    );
    let panics = run(d, &["run", "./panics.toml"]);
    assert_eq!(panics.status.code(), Some(1));
    let err = text(&panics.stderr);
    assert!(
        err.contains("node `p` (fail) panicked: kaboom; this is a bug"),
        "{err}"
    );
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
}
