//! Config layer on the fixture config dir (`tests/fixtures/config`): snapshots of composed trees
//! with provenance and of every user-facing error message, search-path shadowing, sweeps that
//! compose job by job, the spec parser on a real pipeline, and composition never panicking.

use std::path::{Path, PathBuf};

use engine::config::{
    Builtin, Composed, ConfigErrors, ConfigSources, SweepMode, compose_with_env, expand_sweep,
    override_dirname,
};
use engine::spec::InputRef;
use proptest::prelude::*;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn sources() -> ConfigSources {
    ConfigSources::new(&[]).with_search_dir(fixture())
}

fn env(var: &str) -> Option<String> {
    (var == "RL4SEG_TEST_OUT").then(|| "/env/out".to_string())
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn compose(pipeline: &str, overrides: &[&str]) -> Result<Composed, ConfigErrors> {
    compose_with_env(&sources(), pipeline, &strings(overrides), &env)
}

/// The tree as TOML, then its provenance with the fixture dir shown as `<fixture>`.
fn show(c: &Composed) -> String {
    let tree = toml::to_string(&c.tree).unwrap_or_else(|e| format!("cannot render: {e}"));
    let prov = c
        .provenance
        .to_string()
        .replace(&fixture().display().to_string(), "<fixture>");
    format!("# choices: {:?}\n{tree}\n# provenance\n{prov}", c.choices)
}

#[test]
fn composed_default_tree() -> Result<(), ConfigErrors> {
    insta::assert_snapshot!("predict_default", show(&compose("predict", &[])?));
    Ok(())
}

#[test]
fn composed_with_experiment_aliases_and_overrides() -> Result<(), ConfigErrors> {
    let c = compose(
        "predict",
        &[
            "experiment=big_lowq",
            "model=unet",
            "tta=true",
            "batch=8",
            "input_path=/mnt/x",
            "++runtime.device=cuda:0",
        ],
    )?;
    insta::assert_snapshot!("predict_experiment_overrides", show(&c));
    Ok(())
}

#[test]
fn every_user_facing_error_message() {
    let cases: &[(&str, &[&str])] = &[
        ("predict", &["nodes.predict.ttaa=false"]),
        ("predict", &["+nodes.predict.tta=false"]),
        ("predict", &["data@target=maybe"]),
        ("predict", &["data=target_lowq"]),
        ("predict", &["a=1,2"]),
        (
            "predict",
            &["tta=range(0,3)", "data@target=glob(*)", "+x=choice(a,b)"],
        ),
        ("predict", &["a b=1", "x", "+y", "z=[1,"]),
        ("predict", &["experiment=nope"]),
        ("predict", &["+nope=x"]),
        ("predict", &["model.widht=3"]),
        ("predict", &["+model.width=3"]),
        ("predict", &["nodes.train.channels=${model.chanels}"]),
        (
            "predict",
            &[
                "+nodes.train.x=${nodes.train.y}",
                "+nodes.train.y=${nodes.train.x}",
            ],
        ),
        ("predict", &["+nodse.x=1"]),
        ("predict", &["nodes.target.path=/x"]),
        (
            "predict",
            &["~nodes.predict.batch=5", "~nodes.predict.bach"],
        ),
        ("predict", &["nodes.train.out=${env:RL4SEG_NOT_SET}"]),
        ("unused", &[]),
        ("predcit", &[]),
        ("missing/pipeline.toml", &[]),
    ];
    let mut out = String::new();
    for (pipeline, overrides) in cases {
        out.push_str(&format!("$ {pipeline} {}\n", overrides.join(" ")));
        match compose(pipeline, overrides) {
            Ok(_) => out.push_str("(composed without error)\n"),
            Err(e) => {
                for line in e.iter() {
                    out.push_str(&format!("error: {line}\n"));
                }
            }
        }
        out.push('\n');
    }
    insta::assert_snapshot!(
        "error_messages",
        out.replace(&fixture().display().to_string(), "<fixture>")
    );
}

#[test]
fn spec_errors_cite_provenance() -> Result<(), ConfigErrors> {
    let c = compose(
        "predict",
        &["runtime.threads=lots", "+runtime.proggress=never"],
    )?;
    let e = engine::spec_parse::parse_with_env(&c, &env).expect_err("bad runtime");
    let c = compose("predict", &["runtime.threads=lots"])?;
    let e2 = engine::spec_parse::parse_with_env(&c, &env).expect_err("bad type");
    // The runtime's field list belongs to `spec.rs`; keep it out of the snapshot.
    let e = e.to_string();
    let (head, fields) = e
        .split_once("allowed here: ")
        .expect("lists the allowed keys");
    assert!(
        fields.contains("threads") && fields.contains("progress"),
        "{fields}"
    );
    insta::assert_snapshot!(
        "spec_errors",
        format!("{head}allowed here: <RuntimeConfig fields>\n{e2}")
    );
    Ok(())
}

#[test]
fn spec_of_fixture_pipeline() -> Result<(), ConfigErrors> {
    let spec = engine::spec_parse::parse_with_env(&compose("predict", &["batch=2"])?, &env)?;
    let ids: Vec<(&str, &str)> = spec
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.kind.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("source", "load"),
            ("target", "load"),
            ("train", "train"),
            ("predict", "predict")
        ]
    );
    let predict = &spec.nodes[3];
    assert_eq!(predict.inputs["model"], InputRef::Node("train".into()));
    assert_eq!(predict.config["batch"], toml::Value::Integer(2));
    assert_eq!(spec.nodes[2].config["out"].as_str(), Some("/env/out/train"));
    assert_eq!(spec.runtime.threads, 2);
    Ok(())
}

static BUILTIN: Builtin = &[
    (
        "configs/data/source.toml",
        include_str!("fixtures/config/configs/data/source.toml"),
    ),
    (
        "configs/data/target_lowq.toml",
        include_str!("fixtures/config/configs/data/target_lowq.toml"),
    ),
    (
        "configs/data/target_scanner.toml",
        include_str!("fixtures/config/configs/data/target_scanner.toml"),
    ),
    (
        "configs/model/unet.toml",
        include_str!("fixtures/config/configs/model/unet.toml"),
    ),
    (
        "pipelines/predict.toml",
        include_str!("fixtures/config/pipelines/predict.toml"),
    ),
];

#[test]
fn search_path_shadows_builtin_files_one_by_one() -> Result<(), ConfigErrors> {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("configs/data");
    std::fs::create_dir_all(&data).expect("write fixture");
    std::fs::write(
        data.join("source.toml"),
        "kind = 'load'\npath = '/shadowed'\nfps = 1\n",
    )
    .expect("write fixture");
    std::fs::write(
        data.join("target_new.toml"),
        "kind = 'load'\npath = '/new'\nfps = 2\n",
    )
    .expect("write fixture");
    let builtin_only = ConfigSources::new(BUILTIN);
    let c = compose_with_env(&builtin_only, "predict", &[], &env)?;
    assert_eq!(
        c.tree["nodes"]["source"]["path"].as_str(),
        Some("/data/source")
    );
    assert_eq!(
        c.provenance.origin("nodes.source.path"),
        "configs/data/source.toml"
    );

    let sources = ConfigSources::discover_in(
        BUILTIN,
        &[dir.path().to_path_buf()],
        Path::new("/nonexistent"),
        None,
    )?;
    assert_eq!(
        sources.groups()["data"],
        ["source", "target_lowq", "target_new", "target_scanner"]
    );
    let c = compose_with_env(
        &sources,
        "predict",
        &strings(&["data@target=target_new"]),
        &env,
    )?;
    assert_eq!(
        c.tree["nodes"]["source"]["path"].as_str(),
        Some("/shadowed")
    );
    assert_eq!(c.tree["nodes"]["target"]["path"].as_str(), Some("/new"));
    assert_eq!(
        c.provenance.origin("nodes.source.fps"),
        data.join("source.toml").display().to_string()
    );
    assert_eq!(
        c.provenance.origin("nodes.train.depth"),
        "configs/model/unet.toml",
        "not shadowed"
    );

    // A pipeline given as a path uses the same search path for its groups.
    let file = fixture().join("pipelines/predict.toml");
    let c = compose_with_env(&sources, &file.display().to_string(), &[], &env)?;
    assert_eq!(c.pipeline, "predict");
    assert_eq!(
        c.tree["nodes"]["source"]["path"].as_str(),
        Some("/shadowed")
    );
    Ok(())
}

#[test]
fn sweep_jobs_each_compose() -> Result<(), ConfigErrors> {
    let overrides = strings(&["data@target=glob(target_*)", "tta=true,false", "batch=2"]);
    let jobs = expand_sweep(&sources(), "predict", &overrides, SweepMode::Product)?;
    assert_eq!(jobs.len(), 4);
    let mut seen = Vec::new();
    for job in &jobs {
        let c = compose_with_env(&sources(), "predict", job, &env)?;
        seen.push(format!(
            "{} -> {} {}",
            override_dirname(job),
            c.choices["data@target"],
            c.tree["nodes"]["predict"]["tta"]
        ));
    }
    insta::assert_snapshot!("sweep_jobs", seen.join("\n"));
    let zipped = expand_sweep(
        &sources(),
        "predict",
        &strings(&["model=unet,unet_big", "tta=true,false"]),
        SweepMode::Zip,
    )?;
    assert_eq!(
        zipped,
        [
            strings(&["model=unet", "tta=true"]),
            strings(&["model=unet_big", "tta=false"])
        ]
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn composition_never_panics(overrides in prop::collection::vec(
        "[+~]{0,2}(tta|batch|model|data@target|experiment|nodes\\.predict\\.[a-z]{1,4}|seed)=?[a-z0-9_,\\[\\]\"'${}.:]{0,10}", 0..4)) {
        let _ = compose_with_env(&sources(), "predict", &overrides, &env);
    }
}
