//! The shipped target domains differ from the source in simple image statistics the way the
//! issue asks: `target_lowq` has less blood/myocardium contrast, `target_scanner` a coarser
//! (laterally longer) speckle grain, yet both keep the cavity darker than the wall.

use dataset::sim::{SimConfig, simulate_case};
use ndarray::Axis;

fn preset(text: &str) -> SimConfig {
    let mut table: toml::Table =
        toml::from_str(text).unwrap_or_else(|e| panic!("preset parses: {e}"));
    table.remove("kind");
    let cfg: SimConfig = toml::Value::Table(table)
        .try_into()
        .unwrap_or_else(|e| panic!("preset is a SimConfig: {e}"));
    SimConfig {
        height: 96,
        width: 96,
        frames: [6, 6],
        ..cfg
    }
}

struct Stats {
    /// Mean intensity in the myocardium minus mean intensity in the LV cavity.
    contrast: f64,
    /// Correlation of horizontally adjacent myocardium pixels.
    lateral_correlation: f64,
}

fn stats(cfg: &SimConfig) -> Stats {
    let (mut myo, mut lv, mut n_myo, mut n_lv) = (0.0, 0.0, 0.0, 0.0);
    let mut pairs = Vec::new();
    for index in 0..4 {
        let case = simulate_case(cfg, 17, index);
        let label = case.label.as_ref().expect("labelled");
        for ((k, i, j), &l) in label.indexed_iter() {
            let v = case.image[[k, i, j]] as f64;
            match l {
                1 => (lv, n_lv) = (lv + v, n_lv + 1.0),
                2 => (myo, n_myo) = (myo + v, n_myo + 1.0),
                _ => {}
            }
            if l == 2 && label.get((k, i, j + 1)) == Some(&2) {
                pairs.push((v, case.image[[k, i, j + 1]] as f64));
            }
        }
        assert!(
            case.image.index_axis(Axis(0), 0).iter().any(|&v| v > 0.5),
            "{}: not a black image",
            cfg.name
        );
    }
    let n = pairs.len() as f64;
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = pairs.iter().map(|p| (p.0 - ma) * (p.1 - mb)).sum();
    let var =
        |f: fn(&(f64, f64)) -> f64, m: f64| pairs.iter().map(|p| (f(p) - m).powi(2)).sum::<f64>();
    Stats {
        contrast: myo / n_myo - lv / n_lv,
        lateral_correlation: cov / (var(|p| p.0, ma) * var(|p| p.1, mb)).sqrt(),
    }
}

#[test]
fn targets_are_shifted_but_readable() {
    let source = stats(&preset(include_str!("../../configs/data/source.toml")));
    let lowq = stats(&preset(include_str!("../../configs/data/target_lowq.toml")));
    let scanner = stats(&preset(include_str!(
        "../../configs/data/target_scanner.toml"
    )));
    assert!(
        source.contrast > 0.3,
        "source: dark cavity, grey wall ({:.2})",
        source.contrast
    );
    assert!(
        lowq.contrast < source.contrast - 0.1,
        "low quality: less contrast ({:.2} vs {:.2})",
        lowq.contrast,
        source.contrast
    );
    assert!(
        lowq.contrast > 0.05,
        "low quality: the cavity is still darker than the wall ({:.2})",
        lowq.contrast
    );
    assert!(
        scanner.contrast > 0.1,
        "scanner: readable ({:.2})",
        scanner.contrast
    );
    assert!(
        scanner.lateral_correlation > source.lateral_correlation + 0.1,
        "other scanner: coarser speckle ({:.2} vs {:.2})",
        scanner.lateral_correlation,
        source.lateral_correlation
    );
}
