//! The loop's stages run alone (`pipelines/train_reward.toml`, `pipelines/ppo.toml`, as the
//! original's `runner.py`) on tiny synthetic data, and the reward variants beyond one
//! anatomical net: the landmark reward net (method.md 2.6) fused by minimum, and the temporal
//! penalty (method.md 2.5). Also: the ppo pipeline reuses the train_reward pipeline's cached
//! nodes, and the adapt pipeline only plans the landmark nodes with `landmark=true`.

#[path = "support/mod.rs"]
mod support;

use support::{executed, ok, run, run_dir, text, user_error};

/// Tiny sizes shared by both stage pipelines (they name the same nodes).
const TINY: &[&str] = &[
    "runtime.progress=never",
    "source.cases=16",
    "source.frames=[12,12]",
    "source.height=64",
    "source.width=64",
    "target.cases=12",
    "target.frames=[12,12]",
    "target.height=64",
    "target.width=64",
    "train.optim.epochs=5",
    "reward.epochs=1",
    "++reward.steps_per_epoch=2",
    "++nodes.rollout.max_cases=6",
];

fn args<'a>(pipeline: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", pipeline];
    a.extend_from_slice(TINY);
    a.extend_from_slice(extra);
    a
}

#[test]
fn train_reward_then_ppo_run_alone_and_share_the_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let out = run(d, &args("train_reward", &[]));
    ok(&out);
    let log = run_dir(d, &out).join("run.log");
    let ran = executed(&log);
    for node in ["pretrain", "rollout", "filter", "distort", "reward"] {
        assert!(ran.iter().any(|n| n == node), "{node} not run: {ran:?}");
    }

    // PPO with the temporal reward variant: the reward net comes from the cache.
    let ppo = [
        "ppo.epochs=1",
        "ppo.steps_per_epoch=2",
        "++nodes.ppo.reward.temporal_penalty=true",
        "++nodes.ppo.reward.temporal.sigma_px=2.0",
    ];
    let out = run(d, &args("ppo", &ppo));
    ok(&out);
    let dir = run_dir(d, &out);
    let ran = executed(&dir.join("run.log"));
    assert_eq!(
        ran,
        ["ppo", "predict", "evaluate"],
        "only the new nodes run"
    );
    let metrics = std::fs::read_to_string(dir.join("metrics.json")).expect("metrics.json");
    assert!(metrics.contains("val_valid_frames"), "{metrics}");
    assert!(
        metrics.contains("dice"),
        "the synthetic target has labels: {metrics}"
    );
}

#[test]
fn the_landmark_reward_net_is_trained_on_the_source_and_fused_in_ppo() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::write(
        d.join("landmark.toml"),
        r#"
[defaults]
"data@source" = "source"
"data@target" = "target_lowq"
model = "tiny"
ppo = "default"

[nodes]
source = "${source}"
target = "${target}"

[nodes.base]
kind = "train_supervised"
inputs = { data = "source" }
model = "${model}"
train = { epochs = 1, batch_size = 2, steps_per_epoch = 3 }

[nodes.landmark_set]
kind = "landmark_samples"
inputs = { policy = "base", data = "source" }
max_cases = 3
windows_per_case = 1

[nodes.anchor]
kind = "landmark_samples"
inputs = { policy = "base", data = "source" }
mode = "correctness"
max_cases = 2
windows_per_case = 1
intensity = { contrast = true, contrast_factors = [0.5], noise = false }

[nodes.landmark]
kind = "train_reward"
inputs = { samples = "landmark_set" }
model = "${model}"
train = { epochs = 1, steps_per_epoch = 2, fit_temperature = false }

[nodes.unlabelled]
kind = "drop_labels"
inputs = { data = "target" }
subset = "train_val"

[nodes.ppo]
kind = "ppo"
inputs = { policy = "base", reference = "base", reward = "landmark", landmark = "landmark", data = "unlabelled" }
ppo = "${ppo}"
reward = { landmark = true }

[source]
cases = 4
frames = [8, 8]
height = 32
width = 32

[target]
cases = 6
frames = [8, 8]
height = 32
width = 32

[ppo]
epochs = 1
steps_per_epoch = 1
"#,
    )
    .expect("write pipeline");
    let out = run(d, &["run", "landmark.toml", "runtime.progress=never"]);
    ok(&out);
    let dir = run_dir(d, &out);
    let metrics = std::fs::read_to_string(dir.join("metrics.json")).expect("metrics.json");
    assert!(metrics.contains("with_errors"), "{metrics}");
    correctness_samples_judge_the_image_they_were_made_on(d, &dir);
    // reward.landmark without a connected landmark net is a user error naming the fix.
    let err = user_error(&run(
        d,
        &[
            "run",
            "landmark.toml",
            "runtime.progress=never",
            "nodes.ppo.inputs={ policy = \"base\", reference = \"base\", reward = \"landmark\", data = \"unlabelled\" }",
        ],
    ));
    assert!(
        err.contains("reward.landmark = true") && err.contains("landmark"),
        "{err}"
    );
}

/// `mode = "correctness"`: no stored target (so `seg == gt` with the true labels), and a
/// contrast sample keeps the distorted image its segmentation was predicted on.
fn correctness_samples_judge_the_image_they_were_made_on(
    d: &std::path::Path,
    run: &std::path::Path,
) {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("plan.json")).expect("plan.json"))
            .expect("plan json");
    let node = plan["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == "anchor")
        .expect("anchor node");
    let artifact = d
        .join("cache/landmark_samples")
        .join(node["key"].as_str().expect("key"));
    let set = nodes::rewardset::RewardSet::open(&artifact).expect("reward set");
    let samples = set.samples().expect("samples");
    let families: Vec<&str> = samples.iter().map(|s| s.family.as_str()).collect();
    assert!(
        families.contains(&"policy") && families.contains(&"contrast_0.5"),
        "{families:?}"
    );
    for s in &samples {
        assert!(s.target.is_none(), "{}: stored target", s.id);
        let expected = ndarray::Zip::from(&s.seg)
            .and(&s.gt)
            .map_collect(|a, b| f32::from(u8::from(a == b)));
        assert_eq!(s.target(), expected, "{}", s.id);
    }
    for s in samples.iter().filter(|s| s.family == "contrast_0.5") {
        let plain = samples
            .iter()
            .find(|p| p.family == "policy" && p.sequence == s.sequence)
            .expect("the policy sample of the same window");
        assert_eq!(plain.gt, s.gt, "same window");
        assert_ne!(
            plain.image, s.image,
            "{}: the distorted image is stored",
            s.id
        );
    }
}

#[test]
fn adapt_plans_the_landmark_nodes_only_when_asked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let plain = run(tmp.path(), &["plan", "adapt", "iterations=1"]);
    ok(&plain);
    assert!(
        !text(&plain.stdout).contains("landmark_set"),
        "{}",
        text(&plain.stdout)
    );
    let with = run(
        tmp.path(),
        &["plan", "adapt", "iterations=1", "landmark=true"],
    );
    ok(&with);
    let s = text(&with.stdout);
    assert!(
        s.contains("landmark_set") && s.contains("landmark_reward"),
        "{s}"
    );
    // `source_samples=true`: the labelled-source correctness samples start the reward set.
    assert!(!text(&plain.stdout).contains("source_samples"));
    let anchored = run(
        tmp.path(),
        &["plan", "adapt", "iterations=2", "source_samples=true"],
    );
    ok(&anchored);
    let s = text(&anchored.stdout);
    let line = |id: &str| {
        s.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_else(|| panic!("no {id} in {s}"))
            .to_string()
    };
    assert!(line("source_samples").contains("landmark_samples"), "{s}");
    assert!(
        line("distort@1").contains("previous <- source_samples"),
        "{s}"
    );
    assert!(line("distort@2").contains("previous <- distort@1"), "{s}");
    // `experiment=sampled`: sampled rollouts, the clean-up, 8 iterations.
    let sampled = run(tmp.path(), &["show", "adapt", "experiment=sampled"]);
    ok(&sampled);
    let shown = text(&sampled.stdout);
    for want in ["rollout = \"sample\"", "cleanup = \"morphological\""] {
        assert!(shown.contains(want), "{want} not in:\n{shown}");
    }
    let plan = run(tmp.path(), &["plan", "adapt", "experiment=sampled"]);
    ok(&plan);
    let plan = text(&plan.stdout);
    assert!(plan.contains("ppo@8") && !plan.contains("ppo@9"), "{plan}");
    let err = user_error(&run(tmp.path(), &["plan", "adapt", "source_samples=maybe"]));
    assert!(
        err.contains("source_samples") && err.contains("write true or false"),
        "{err}"
    );
}

/// The learned shape corrector (`train_corrector`) trains on labelled-source labels alone and
/// feeds the filter; its bad settings are user errors naming the key.
#[test]
fn a_learned_shape_corrector_trains_on_source_labels_and_feeds_the_filter() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    std::fs::write(
        d.join("corrector.toml"),
        r#"
[defaults]
"data@source" = "source"
"data@target" = "target_lowq"
model = "tiny"

[nodes]
source = "${source}"
target = "${target}"

[nodes.base]
kind = "train_supervised"
inputs = { data = "source" }
model = "${model}"
train = { epochs = 1, batch_size = 2, steps_per_epoch = 2 }

[nodes.prior]
kind = "train_corrector"
inputs = { data = "source" }
model = "${model}"
train = { epochs = 2, batch_size = 2, steps_per_epoch = 2 }

[nodes.rollout]
kind = "predict"
inputs = { policy = "base", data = "target" }
subset = "train"

[nodes.filter]
kind = "anatomical_filter"
inputs = { predictions = "rollout", corrector = "prior" }
require_temporal = false

[source]
cases = 10
frames = [8, 8]
height = 32
width = 32

[target]
cases = 4
frames = [8, 8]
height = 32
width = 32
"#,
    )
    .expect("write pipeline");
    let out = run(d, &["run", "corrector.toml", "runtime.progress=never"]);
    ok(&out);
    let dir = run_dir(d, &out);
    let log = std::fs::read_to_string(dir.join("run.log")).expect("run.log");
    assert!(
        log.contains("after correction") && log.contains("of the corrupted inputs"),
        "{log}"
    );
    let metrics = std::fs::read_to_string(dir.join("metrics.json")).expect("metrics.json");
    for key in ["input_dice", "val_dice", "corrected"] {
        assert!(metrics.contains(key), "{key}: {metrics}");
    }
    // A corrector is not a policy: a policy port refuses it.
    let err = user_error(&run(
        d,
        &[
            "plan",
            "corrector.toml",
            "nodes.rollout.inputs={ policy = \"prior\", data = \"target\" }",
        ],
    ));
    assert!(err.contains("corrector") && err.contains("policy"), "{err}");
    for (setting, named) in [
        ("nodes.prior.clean_share=1.5", "clean_share"),
        ("+nodes.prior.dropped_skips=3", "only 2 skip connections"),
        ("+nodes.rollout.walk=true", "set max_cases"),
        (
            "++nodes.prior.corruption={ erode_dilate = { enabled = false }, holes = { enabled = false }, blobs = { enabled = false }, boundary_shift = { enabled = false }, temporal_glitch = { enabled = false } }",
            "every corruption family is off",
        ),
    ] {
        let err = user_error(&run(
            d,
            &["run", "corrector.toml", "runtime.progress=never", setting],
        ));
        assert!(err.contains(named), "{setting}: {err}");
    }
}
