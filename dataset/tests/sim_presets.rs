//! The shipped domain presets (`configs/data/*.toml`) are the TOML form of the `simulate` node's
//! data-source table: `kind = "simulate"` plus a `SimConfig`. They must parse, validate, and the
//! source preset must equal `SimConfig::default()`, so code and files never drift apart.

use dataset::sim::{SimConfig, View};

const PRESETS: [(&str, &str); 3] = [
    ("source", include_str!("../../configs/data/source.toml")),
    (
        "target_lowq",
        include_str!("../../configs/data/target_lowq.toml"),
    ),
    (
        "target_scanner",
        include_str!("../../configs/data/target_scanner.toml"),
    ),
];

fn parse(text: &str) -> Result<(String, SimConfig), String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let kind = table
        .remove("kind")
        .and_then(|k| k.as_str().map(str::to_string))
        .ok_or("missing `kind`")?;
    let cfg: SimConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())?;
    Ok((kind, cfg))
}

#[test]
fn every_preset_parses_and_validates() {
    for (file, text) in PRESETS {
        let (kind, cfg) = parse(text).unwrap_or_else(|e| panic!("configs/data/{file}.toml: {e}"));
        assert_eq!(kind, "simulate", "{file}");
        assert_eq!(cfg.name, file, "the preset's name is its file name");
        cfg.validate()
            .unwrap_or_else(|e| panic!("configs/data/{file}.toml: {e}"));
        assert_eq!(cfg.views, vec![View::A2c, View::A4c], "{file}");
        assert_eq!(
            (cfg.height, cfg.width, cfg.cases),
            (128, 128, 100),
            "{file}"
        );
    }
}

#[test]
fn source_preset_is_the_default_config() {
    let (_, cfg) = parse(PRESETS[0].1).expect("source parses");
    assert_eq!(
        cfg,
        SimConfig::default(),
        "configs/data/source.toml and SimConfig::default() drifted apart"
    );
}

#[test]
fn targets_differ_from_source_in_image_formation_only() {
    let (_, source) = parse(PRESETS[0].1).expect("source parses");
    for (file, text) in &PRESETS[1..] {
        let (_, t) = parse(text).expect("target parses");
        assert_eq!(
            t.domain.anatomy, source.domain.anatomy,
            "{file}: same patient population"
        );
        assert_eq!(
            t.domain.motion, source.domain.motion,
            "{file}: same patient population"
        );
        assert_ne!(t.domain.artefacts, source.domain.artefacts, "{file}");
    }
}

#[test]
fn a_misspelt_key_is_an_error_naming_it() {
    let text = PRESETS[0].1.replace("haze_db", "haze_dB");
    let err = parse(&text).expect_err("unknown key");
    assert!(err.contains("haze_dB"), "{err}");
    let text = PRESETS[0].1.replace(
        "ejection_fraction = [0.45, 0.70]",
        "ejection_fraction = [0.70, 0.45]",
    );
    let err = parse(&text).expect_err("reversed interval");
    assert!(
        err.contains("lo > hi") && err.contains("ejection_fraction"),
        "{err}"
    );
}
