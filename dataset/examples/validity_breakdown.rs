//! Which anatomical criteria (method.md 6.1) fail, frame by frame, and which temporal attributes
//! (method.md 6.2) flag each sequence, in an artifact's `pred` and `label` volumes: a diagnostic
//! for "the Dice is high but the sequence is invalid".
//!
//! `cargo run -p dataset --example validity_breakdown -- <artifact.h5> [dataset ...]`
//! (default datasets: `pred label`).

use std::collections::BTreeMap;
use std::path::Path;

use dataset::h5::ArtifactReader;
use echo::metrics::anatomical::check_frame;
use echo::metrics::check_temporal_validity;
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
        let (mut seqs, mut temporal_valid) = (0usize, 0usize);
        let mut flagged_by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for id in reader.case_ids()? {
            if !reader.has(&id, name) {
                continue;
            }
            let vol: Array3<u8> = reader.get_u8(&id, name)?.into_dimensionality::<Ix3>()?;
            let spacing = reader.case_attr_f64s(&id, "spacing")?;
            let t = check_temporal_validity(&vol.view(), [spacing[1], spacing[2]])?;
            seqs += 1;
            temporal_valid += usize::from(t.valid);
            for a in &t.attributes {
                let e = flagged_by.entry(format!("{:?}", a.attribute)).or_default();
                e.0 += usize::from(!a.flagged.is_empty());
                e.1 += a.flagged.len();
            }
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
        println!("{name}: {temporal_valid}/{seqs} sequences temporally valid");
        for (a, (s, f)) in flagged_by {
            println!("  {a:32} flags {s} sequences ({f} frames)");
        }
    }
    Ok(())
}
