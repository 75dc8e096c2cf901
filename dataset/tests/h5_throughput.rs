//! Throughput of HDF5 artifacts at the size the issue names: 100 cases of 32x128x128 (image f32
//! and label u8), gzip level 1 and uncompressed. Ignored by default (it writes ~260 MB); run
//! with `cargo test --release -p dataset --test h5_throughput -- --ignored --nocapture`.

use std::time::Instant;

use dataset::h5::{ArtifactReader, ArtifactWriter};
use echo::{Case, Geometry};
use ndarray::Array3;

/// Echo-like content: smooth structure plus 8-bit speckle (values are k/255 as after `/255`).
fn case(i: usize) -> Case {
    let (t, h, w) = (32, 128, 128);
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ i as u64;
    let image = Array3::from_shape_fn((t, h, w), |(a, y, x)| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let smooth =
            0.5 + 0.4 * ((x as f32 / 9.0 + a as f32 / 5.0).sin() * (y as f32 / 13.0).cos());
        let speckle = (state % 64) as f32 / 255.0;
        ((smooth * 191.0).round() / 255.0 + speckle).min(1.0)
    });
    let label = Array3::from_shape_fn((t, h, w), |(_, y, x)| {
        let r = ((y as f32 - 64.0).powi(2) + (x as f32 - 64.0).powi(2)).sqrt();
        if r < 20.0 {
            1
        } else if r < 28.0 {
            2
        } else {
            0
        }
    });
    let geometry = Geometry::identity([t, h, w], [1.0, 0.37, 0.37]);
    Case {
        id: format!("case{i:03}"),
        image,
        label: Some(label),
        geometry,
        domain: "source".into(),
        view: "a4c".into(),
    }
}

#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn write_and_read_100_cases() {
    let cases: Vec<Case> = (0..100).map(case).collect();
    let megabytes = cases.iter().map(|c| c.image.len() * 5).sum::<usize>() as f64 / 1e6;
    let dir = tempfile::tempdir().expect("tempdir");
    for level in [Some(1), None] {
        let path = dir.path().join(format!("bench-{level:?}.h5"));
        let start = Instant::now();
        let mut w = ArtifactWriter::create(&path, "dataset", "k", "")
            .expect("create")
            .gzip(level)
            .expect("level");
        for c in &cases {
            w.write_case(c).expect("write");
        }
        w.finish().expect("finish");
        let write_s = start.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path).expect("meta").len() as f64 / 1e6;

        let start = Instant::now();
        let r = ArtifactReader::open(&path).expect("open");
        for c in &cases {
            let back = r.read_case(&c.id).expect("read");
            assert_eq!(back.image.dim(), c.image.dim());
        }
        let read_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let frame = r.read_frame::<f32>("case050", "image", 17).expect("frame");
        let frame_ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(
            frame,
            cases[50].image.index_axis(ndarray::Axis(0), 17).into_dyn()
        );
        let start = Instant::now();
        let one = r.read_case("case099").expect("one case");
        let case_ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(one, cases[99]);
        println!(
            "gzip {level:?}: {megabytes:.0} MB in memory, file {size:.1} MB; write {write_s:.2} s ({:.0} MB/s), \
             read all {read_s:.2} s ({:.0} MB/s), one case {case_ms:.1} ms, one frame {frame_ms:.2} ms",
            megabytes / write_s,
            megabytes / read_s
        );
    }
}
