//! Tests of `[runtime.slurm]` parsing, validation and per-node resources.

use super::*;

#[test]
fn slurm_times_parse_to_minutes() {
    assert_eq!(time_minutes("90"), Some(90));
    assert_eq!(time_minutes("1:30"), Some(2));
    assert_eq!(time_minutes("1:30:00"), Some(90));
    assert_eq!(time_minutes("2-00:00:00"), Some(2880));
    assert_eq!(time_minutes("1-2"), Some(1560));
    assert_eq!(time_minutes("1-0:30"), Some(1470));
    for bad in ["", "1h", "1:2:3:4", "-1", "1-", "a:b"] {
        assert_eq!(time_minutes(bad), None, "{bad}");
    }
}

#[test]
fn defaults_are_valid_and_deserialise_from_an_empty_table() {
    let c: SlurmConfig = toml::from_str("").expect("empty table");
    assert_eq!(c, SlurmConfig::default());
    assert!(c.validate(&[]).is_empty());
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    let e = toml::from_str::<SlurmConfig>("partiton = 'gpu'").expect_err("typo");
    assert!(e.to_string().contains("unknown field `partiton`"), "{e}");
    let e =
        toml::from_str::<SlurmConfig>("[nodes.train]\ngpu = 1").expect_err("typo in node table");
    assert!(e.to_string().contains("unknown field `gpu`"), "{e}");
}

#[test]
fn every_bad_value_is_reported_with_its_key() {
    let c: SlurmConfig = toml::from_str(
        r#"
        partition = "gpu large"
        time = "1h"
        mem = "lots"
        cpus_per_task = 0
        extra_sbatch = ["constraint=a100"]
        requeue = false
        poll_interval_s = 0.0
        [nodes.trian]
        time = "x"
        "#,
    )
    .expect("typed");
    let keys: Vec<String> = c
        .validate(&["train", "predict"])
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        keys,
        [
            "partition",
            "time",
            "mem",
            "extra_sbatch[0]",
            "cpus_per_task",
            "signal_delay_s",
            "poll_interval_s",
            "nodes.trian",
            "nodes.trian.time"
        ]
    );
    let msg = c
        .validate(&["train"])
        .into_iter()
        .find(|e| e.key == "nodes.trian")
        .map(|e| e.to_string());
    assert!(msg.is_some_and(|m| m.contains("did you mean `train`")));
}

#[test]
fn the_signal_must_come_before_the_time_limit() {
    let c = SlurmConfig {
        time: Some("2".into()),
        signal_delay_s: 120,
        ..SlurmConfig::default()
    };
    assert_eq!(c.validate(&[]).len(), 1);
    let node: SlurmConfig = toml::from_str("[nodes.train]\ntime = \"1\"").expect("typed");
    let keys: Vec<String> = node
        .validate(&["train"])
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        keys,
        ["nodes.train.time"],
        "a node's own time limit is checked against the signal too"
    );
    let ok = SlurmConfig {
        time: Some("3".into()),
        ..c
    };
    assert!(ok.validate(&[]).is_empty());
}

#[test]
fn node_overrides_replace_only_what_they_set() {
    let c: SlurmConfig = toml::from_str(
        r#"
        partition = "cpu"
        account = "lab"
        mem = "4G"
        extra_sbatch = ["--exclusive"]
        [nodes.train]
        partition = "gpu"
        gpus = 2
        extra_sbatch = ["--constraint=a100"]
        "#,
    )
    .expect("typed");
    let train = c.resources("train");
    assert_eq!(train.partition.as_deref(), Some("gpu"));
    assert_eq!(
        (train.gpus, train.mem.as_deref(), train.account.as_deref()),
        (2, Some("4G"), Some("lab"))
    );
    assert_eq!(train.extra_sbatch, ["--exclusive", "--constraint=a100"]);
    let other = c.resources("predict");
    assert_eq!((other.partition.as_deref(), other.gpus), (Some("cpu"), 0));
}
