//! Which anatomical criteria (method.md 6.1) fail, frame by frame, in an artifact's `pred` and
//! `label` volumes: a diagnostic for "the Dice is high but the sequence is invalid".
//!
//! `cargo run -p dataset --example validity_breakdown -- <artifact.h5> [dataset ...]`
//! (default datasets: `pred label`).

use std::collections::BTreeMap;
use std::path::Path;

use dataset::h5::ArtifactReader;
use echo::metrics::anatomical::check_frame;
use ndarray::{Array3, Ix3};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: validity_breakdown <artifact.h5> [dataset ...]")?;
    let names: Vec<&str> = if args.len() > 1 {
        args[1..].iter().map(String::as_str).collect()
    } else {
        vec!["pred", "label"]
    };
    let reader = ArtifactReader::open(Path::new(path))?;
    for name in names {
        let (mut frames, mut valid) = (0usize, 0usize);
        let mut failures: BTreeMap<String, usize> = BTreeMap::new();
        for id in reader.case_ids()? {
            if !reader.has(&id, name) {
                continue;
            }
            let vol: Array3<u8> = reader.get_u8(&id, name)?.into_dimensionality::<Ix3>()?;
            for frame in vol.outer_iter() {
                let v = check_frame(&frame);
                frames += 1;
                valid += usize::from(v.is_valid());
                for c in &v.failed {
                    *failures.entry(format!("{c:?}")).or_default() += 1;
                }
            }
        }
        println!("{name}: {valid}/{frames} frames valid");
        for (c, n) in failures {
            println!("  {c:32} fails in {n} frames");
        }
    }
    Ok(())
}
