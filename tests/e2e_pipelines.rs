//! End to end on the real binary: what users see from `list`, `show` and `plan`, the errors of
//! bad input (exit code 2, one message, nothing half-written), and `simulate` with its pictures.

#[path = "support/mod.rs"]
mod support;

use support::{ok, run, run_dir, text, user_error};

#[test]
fn list_shows_every_pipeline_and_node_kind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(tmp.path(), &["list"]);
    ok(&out);
    let s = text(&out.stdout);
    for name in [
        "adapt",
        "pretrain",
        "predict",
        "evaluate",
        "simulate",
        "simulate ",
        "train_supervised",
        "anatomical_filter",
        "distort",
        "train_reward",
        "ppo",
        "report",
        "drop_labels",
        "export",
    ] {
        assert!(
            s.contains(name.trim()),
            "`{name}` missing from rl4seg list:\n{s}"
        );
    }
}

#[test]
fn show_resolves_the_adapt_pipeline_with_overrides_and_aliases() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(
        tmp.path(),
        &[
            "show",
            "adapt",
            "experiment=quick",
            "tto=force",
            "ppo.entropy_coeff=0.05",
            "iterations=3",
            "class_centring=0.5",
            "distort.segmentation.erode_dilate.structure=[lv,epi]",
        ],
    );
    ok(&out);
    let s = text(&out.stdout);
    assert!(s.contains("class_centring = 0.5"), "{s}");
    assert!(
        s.contains(r#"structure = ["lv", "epi"]"#),
        "Hydra bare-string list:\n{s}"
    );
    assert!(s.contains("entropy_coeff = 0.05"), "{s}");
    assert!(s.contains("mode = \"force\""), "{s}");
    assert!(s.contains("iterations = 3"), "{s}");
    assert!(s.contains("cases = 16"), "experiment=quick applied:\n{s}");
}

#[test]
fn a_bad_distortion_structure_or_reward_share_names_the_key_and_the_valid_values() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(
        tmp.path(),
        &[
            "show",
            "adapt",
            "distort.segmentation.erode_dilate.structure=[lv,rv]",
        ],
    );
    let e = user_error(&out);
    assert!(e.contains("erode_dilate.structure"), "{e}");
    assert!(
        e.contains("unknown variant `rv`") && e.contains("`epi`"),
        "{e}"
    );
    let out = run(tmp.path(), &["show", "adapt", "class_centring=2"]);
    let e = user_error(&out);
    assert!(
        e.contains("class_centring") && e.contains("between 0 (off) and 1"),
        "{e}"
    );
}

/// The clean-up of each `predict` node of the resolved adapt pipeline, by node id.
fn predict_cleanups(dir: &std::path::Path, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["show", "adapt"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    ok(&out);
    let resolved: toml::Table = toml::from_str(&text(&out.stdout)).expect("show prints TOML");
    let nodes = resolved["nodes"].as_table().expect("nodes");
    let mut found: Vec<(String, String)> = nodes
        .iter()
        .filter(|(_, n)| n.get("kind").and_then(|k| k.as_str()) == Some("predict"))
        .map(|(id, n)| {
            let cleanup = n.get("cleanup").and_then(|c| c.as_str()).unwrap_or("?");
            (id.clone(), cleanup.to_string())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn one_clean_up_applies_to_every_evaluated_prediction_and_the_loop_keeps_the_originals() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let expect = |evaluated: &str| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = [
            "predict_baseline",
            "predict_final",
            "predict_iter",
            "predict_oracle",
        ]
        .iter()
        .map(|id| (id.to_string(), evaluated.to_string()))
        .collect();
        v.push(("rollout".into(), "largest_blob".into()));
        v.sort();
        v
    };
    assert_eq!(predict_cleanups(tmp.path(), &[]), expect("largest_blob"));
    assert_eq!(
        predict_cleanups(tmp.path(), &["evaluation=cleaned"]),
        expect("morphological")
    );
    assert_eq!(
        predict_cleanups(tmp.path(), &["cleanup=morphological"]),
        expect("morphological")
    );
    let out = run(tmp.path(), &["show", "adapt", "cleanup=median"]);
    let e = user_error(&out);
    assert!(
        e.contains("largest_blob") && e.contains("morphological"),
        "{e}"
    );
}

#[test]
fn plan_unrolls_the_loop() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(tmp.path(), &["plan", "adapt", "iterations=2"]);
    ok(&out);
    let s = text(&out.stdout);
    for node in [
        "pretrain",
        "rollout@1",
        "ppo@1",
        "rollout@2",
        "ppo@2",
        "predict_final",
        "report",
    ] {
        assert!(s.contains(node), "{node} missing from the plan:\n{s}");
    }
    assert!(!s.contains("ppo@3"), "{s}");
}

#[test]
fn bad_values_and_keys_are_user_errors_that_say_how_to_fix_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let err = user_error(&run(d, &["plan", "adapt", "tto=maybe"]));
    for v in ["maybe", "off", "on", "force"] {
        assert!(err.contains(v), "{err}");
    }
    let err = user_error(&run(d, &["plan", "adapt", "ppo.entropy_coef=0.1"]));
    assert!(
        err.contains("entropy_coeff"),
        "nearest key suggested:\n{err}"
    );
    let err = user_error(&run(
        d,
        &[
            "run",
            "predict",
            "input_path=/no/such/folder",
            "output_path=out",
        ],
    ));
    assert!(err.contains("/no/such/folder"), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!d.join("out").exists(), "nothing half-written");
    // Refused while planning: no node ran, so nothing was trained or cached.
    assert!(
        !d.join("cache").exists() || walk(&d.join("cache")).is_empty(),
        "{err}"
    );
    let err = user_error(&run(
        d,
        &["plan", "predict", "reward_path=/no/such/reward", "tto=on"],
    ));
    assert!(err.contains("/no/such/reward"), "{err}");
}

/// `schemas/` holds what `rl4seg schema --write` writes: regenerate with
/// `cargo run -p nodes -- schema --write` after changing a config type.
#[test]
fn committed_schemas_are_fresh() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fresh = tmp.path().join("schemas");
    let fresh_arg = fresh.to_string_lossy().into_owned();
    ok(&run(
        tmp.path(),
        &["schema", "--write", "--dir", &fresh_arg],
    ));
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = walk(d)
            .iter()
            .filter_map(|p| p.strip_prefix(d).ok())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let how = "regenerate with `cargo run -p nodes -- schema --write` and commit schemas/";
    assert_eq!(names(&fresh), names(&committed), "{how}");
    for name in names(&fresh) {
        let a = std::fs::read_to_string(fresh.join(&name)).expect("fresh schema");
        let b = std::fs::read_to_string(committed.join(&name)).expect("committed schema");
        assert!(a == b, "schemas/{name} is stale: {how}");
    }
}

#[test]
fn simulate_writes_sequences_and_pictures() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let out = run(
        d,
        &[
            "run",
            "simulate",
            "data=target_scanner",
            "runtime.progress=never",
            "data.cases=3",
            "data.frames=[8,8]",
            "data.height=64",
            "data.width=64",
        ],
    );
    ok(&out);
    let r = run_dir(d, &out);
    let pngs: Vec<_> = walk(&r)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    let gifs: Vec<_> = walk(&r)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gif"))
        .collect();
    assert!(
        !pngs.is_empty() && !gifs.is_empty(),
        "pictures in {}",
        r.display()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `train_supervised` with an `init` policy fine-tunes it; a policy of another architecture is a
/// user error naming the node and the input.
#[test]
fn train_supervised_fine_tunes_an_init_policy_of_the_same_architecture_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::write(
        d.join("finetune.toml"),
        r#"
[defaults]
"data@source" = "source"
model = "tiny"

[nodes]
source = "${source}"

[nodes.base]
kind = "train_supervised"
inputs = { data = "source" }
model = "${model}"
train = { epochs = 1, batch_size = 1, steps_per_epoch = 2 }

[nodes.tuned]
kind = "train_supervised"
inputs = { data = "source", init = "base" }
train = { epochs = 1, batch_size = 1, steps_per_epoch = 2, lr = 1e-4 }

[nodes.tuned.model]           # configs/model/tiny.toml, written out so a test can change it
channels = [8, 16, 32]
kernels = [[1, 3, 3], [3, 3, 3], [3, 3, 3]]
strides = [[1, 1, 1], [1, 2, 2], [2, 2, 2]]
negative_slope = 0.01
norm_epsilon = 1e-5

[source]
cases = 4
frames = [8, 8]
height = 32
width = 32
"#,
    )
    .expect("write pipeline");
    let common = ["run", "finetune.toml", "runtime.progress=never"];
    let out = run(d, &common);
    ok(&out);
    let log = std::fs::read_to_string(run_dir(d, &out).join("run.log")).expect("run.log");
    assert!(log.contains("✓ tuned"), "{log}");

    let mut other = common.to_vec();
    other.push("nodes.tuned.model.channels=[4,8,16]");
    let err = user_error(&run(d, &other));
    assert!(
        err.contains("tuned") && err.contains("`init` policy") && err.contains("same architecture"),
        "{err}"
    );
}
