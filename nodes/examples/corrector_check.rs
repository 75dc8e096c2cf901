//! How a trained shape corrector (`train_corrector`) treats labels whose truth is known: it
//! corrects every labelled sequence of a `sequences` artifact, and prints per case and on
//! average the Dice (LV, MYO) of the correction against the input labels and the areas of the
//! corrected classes over the input's. A good shape prior leaves true labels nearly unchanged.
//!
//! `cargo run -p nodes --example corrector_check -- <corrector dir> <sequences dir> [subset]`

use std::path::PathBuf;

use echo::metrics::dice_scores;
use nodes::corrector::Corrector;
use nodes::seqs::{Sequences, Subset};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: corrector_check <corrector dir> <sequences dir> [subset]".into());
    }
    let subset: Subset = match args.get(2) {
        Some(s) => serde_json::from_value(serde_json::Value::String(s.clone()))
            .map_err(|e| format!("subset {s:?}: {e}"))?,
        None => Subset::All,
    };
    let device = models::Device::flex();
    let corrector =
        Corrector::load(&PathBuf::from(&args[0]), &device).map_err(|e| e.to_string())?;
    let data = Sequences::open(&PathBuf::from(&args[1])).map_err(|e| e.to_string())?;
    let (mut n, mut sums) = (0usize, [0.0f64; 4]);
    println!("case,dice_lv,dice_myo,area_lv,area_myo");
    for case in data.cases(subset).map_err(|e| e.to_string())? {
        let Some(label) = case.label.as_ref() else {
            continue;
        };
        let out = corrector
            .correct(label, case.geometry.spacing, &device)
            .map_err(|e| e.to_string())?;
        let d = dice_scores(&out.view(), &label.view()).map_err(|e| e.to_string())?;
        let area = |a: &ndarray::Array3<u8>, k: u8| a.iter().filter(|&&v| v == k).count() as f64;
        let row = [
            d.lv,
            d.myo,
            area(&out, 1) / area(label, 1),
            area(&out, 2) / area(label, 2),
        ];
        println!(
            "{},{:.3},{:.3},{:.3},{:.3}",
            case.id, row[0], row[1], row[2], row[3]
        );
        for (s, r) in sums.iter_mut().zip(row) {
            *s += r;
        }
        n += 1;
    }
    if n == 0 {
        return Err("no labelled case in that subset".into());
    }
    let m: Vec<String> = sums
        .iter()
        .map(|s| format!("{:.3}", s / n as f64))
        .collect();
    println!("mean,{}", m.join(","));
    Ok(())
}
