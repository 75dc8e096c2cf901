//! HDF5 artifacts: round trip of cases, extra datasets, attributes, tables and blobs; frame
//! reads; chunk layout; the same bytes for the same content; and clear errors on files that are
//! not ours, truncated, of the wrong kind or newer than this build.

use std::path::Path;

use dataset::h5::{ArtifactReader, ArtifactWriter, FORMAT_VERSION, Table};
use echo::{Case, Geometry};
use ndarray::{Array3, Array4};

fn case(id: &str, with_label: bool) -> Case {
    let (t, h, w) = (4, 6, 5);
    let image = Array3::from_shape_fn((t, h, w), |(a, b, c)| (a * 100 + b * 10 + c) as f32 / 7.0);
    let label =
        with_label.then(|| Array3::from_shape_fn((t, h, w), |(a, b, c)| ((a + b + c) % 3) as u8));
    let mut geometry = Geometry::identity([8, 12, 10], [1.0, 0.3, 0.25]);
    geometry.spacing = [1.0, 0.37, 0.37];
    geometry.affine[0][3] = -12.5;
    geometry.affine[1][0] = 0.01;
    Case {
        id: id.into(),
        image,
        label,
        geometry,
        domain: "source".into(),
        view: "a4c".into(),
    }
}

fn write_sample(path: &Path) -> (Vec<Case>, Array4<f32>) {
    let cases = vec![case("p001", true), case("p002", false)];
    let probs = Array4::from_shape_fn((3, 4, 6, 5), |(c, t, y, x)| (c + t + y + x) as f32 / 20.0);
    let mut w = ArtifactWriter::create(
        path,
        "predictions",
        "abc123",
        "[node]\nkind = \"predict\"\n",
    )
    .expect("create");
    for c in &cases {
        w.write_case(c).expect("write case");
    }
    w.put_f32("p001", "probs", probs.view().into_dyn())
        .expect("probs");
    w.put_u8(
        "p001",
        "pred",
        cases[0].label.as_ref().expect("label").view().into_dyn(),
    )
    .expect("pred");
    w.set_case_attr_str("p001", "note", "checked")
        .expect("attr");
    w.set_case_attr_f64("p001", "dice", 0.875).expect("attr");
    w.set_attr_f64("elapsed_s", 1.5).expect("root attr");
    let table = Table {
        ids: vec!["p001".into(), "p002".into()],
        columns: vec![
            ("dice".into(), vec![0.9, 0.8]),
            ("hd".into(), vec![3.0, 4.5]),
        ],
    };
    w.put_table("metrics", &table).expect("table");
    w.put_blob("checkpoint", &[1, 2, 3, 250]).expect("blob");
    w.finish().expect("finish");
    (cases, probs)
}

#[test]
fn round_trip_keeps_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.h5");
    let (cases, probs) = write_sample(&path);
    let r = ArtifactReader::open(&path).expect("open");
    assert_eq!(r.kind(), "predictions");
    assert_eq!(r.format_version(), FORMAT_VERSION);
    assert_eq!(r.cache_key().expect("key"), "abc123");
    assert_eq!(
        r.node_config().expect("config"),
        "[node]\nkind = \"predict\"\n"
    );
    assert_eq!(r.attr_f64("elapsed_s").expect("attr"), 1.5);
    assert_eq!(r.case_ids().expect("ids"), vec!["p001", "p002"]);
    for c in &cases {
        assert_eq!(&r.read_case(&c.id).expect("case"), c);
    }
    assert_eq!(r.get_f32("p001", "probs").expect("probs"), probs.into_dyn());
    assert!(r.has("p001", "pred") && !r.has("p002", "pred") && !r.has("nope", "image"));
    assert_eq!(r.case_attr_str("p001", "note").expect("note"), "checked");
    assert_eq!(r.case_attr_f64s("p001", "dice").expect("dice"), vec![0.875]);
    let table = r.get_table("metrics").expect("table");
    assert_eq!(table.ids, vec!["p001", "p002"]);
    assert_eq!(table.column("hd"), Some(&[3.0, 4.5][..]));
    assert_eq!(r.table_names().expect("tables"), vec!["metrics"]);
    assert_eq!(r.get_blob("checkpoint").expect("blob"), vec![1, 2, 3, 250]);
    let mut names = r.dataset_names("p001").expect("names");
    names.sort();
    assert_eq!(names, vec!["image", "label", "pred", "probs"]);
}

/// design.md, Determinism: HDF5 stores creation and modification times (seconds) in every
/// group unless told not to, so two writes a second apart would differ in their bytes.
#[test]
fn the_same_content_written_twice_gives_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.h5"), dir.path().join("b.h5"));
    write_sample(&a);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_sample(&b);
    let (a, b) = (
        std::fs::read(&a).expect("read a"),
        std::fs::read(&b).expect("read b"),
    );
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(
        a.len() == b.len() && differ == 0,
        "{differ} of {} bytes differ (lengths {} and {})",
        a.len(),
        a.len(),
        b.len()
    );
}

#[test]
fn frames_are_read_alone_and_stored_one_per_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.h5");
    let (cases, probs) = write_sample(&path);
    let r = ArtifactReader::open(&path).expect("open");
    let frame = r.read_frame::<f32>("p001", "image", 2).expect("frame");
    assert_eq!(
        frame,
        cases[0].image.index_axis(ndarray::Axis(0), 2).into_dyn()
    );
    let pframe = r
        .read_frame::<f32>("p001", "probs", 3)
        .expect("probs frame");
    assert_eq!(pframe, probs.index_axis(ndarray::Axis(1), 3).into_dyn());
    let lframe = r.read_frame::<u8>("p001", "label", 0).expect("label frame");
    assert_eq!(lframe.shape(), &[6, 5]);
    assert!(
        r.read_frame::<f32>("p001", "image", 4)
            .expect_err("out of range")
            .to_string()
            .contains("4 frames")
    );

    let file = hdf5::File::open(&path).expect("h5");
    let image = file.dataset("cases/p001/image").expect("image");
    assert_eq!(image.chunk(), Some(vec![1, 6, 5]));
    assert!(
        image
            .filters()
            .iter()
            .any(|f| matches!(f, hdf5::filters::Filter::Deflate(1)))
    );
    assert_eq!(
        file.dataset("cases/p001/probs").expect("probs").chunk(),
        Some(vec![1, 1, 6, 5])
    );
}

#[test]
fn wrong_files_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.h5");
    write_sample(&path);

    let err = ArtifactReader::open_kind(&path, "dataset")
        .expect_err("kind")
        .to_string();
    assert!(
        err.contains("a.h5") && err.contains("`predictions`") && err.contains("`dataset`"),
        "{err}"
    );
    let r = ArtifactReader::open(&path).expect("open");
    let err = r.get_u8("p001", "image").expect_err("dtype").to_string();
    assert!(err.contains("not uint8"), "{err}");
    assert!(
        r.read_case("p999")
            .expect_err("missing")
            .to_string()
            .contains("no case `p999`")
    );
    assert!(
        r.get_f32("p001", "nothing")
            .expect_err("missing")
            .to_string()
            .contains("no dataset `nothing`")
    );
    drop(r);

    let text = dir.path().join("text.h5");
    std::fs::write(&text, "hello").expect("write");
    let err = ArtifactReader::open(&text)
        .expect_err("not hdf5")
        .to_string();
    assert!(
        err.contains("text.h5") && err.contains("not an HDF5 file"),
        "{err}"
    );

    let bytes = std::fs::read(&path).expect("read");
    for cut in [bytes.len() / 2, 2048, 600] {
        let truncated = dir.path().join(format!("cut{cut}.h5"));
        std::fs::write(&truncated, &bytes[..cut]).expect("write");
        let err = ArtifactReader::open(&truncated)
            .and_then(|r| r.read_case("p001"))
            .expect_err("truncated")
            .to_string();
        assert!(err.contains(&format!("cut{cut}.h5")), "{err}");
    }

    let newer = dir.path().join("newer.h5");
    let w = ArtifactWriter::create(&newer, "dataset", "k", "").expect("create");
    w.set_attr_i64("format_version", FORMAT_VERSION + 1)
        .expect("attr");
    w.finish().expect("finish");
    let err = ArtifactReader::open(&newer).expect_err("newer").to_string();
    assert!(err.contains("newer rl4seg"), "{err}");

    let nowhere = dir.path().join("missing/a.h5");
    let err = ArtifactWriter::create(&nowhere, "dataset", "k", "")
        .err()
        .expect("no such folder")
        .to_string();
    assert!(err.contains("missing/a.h5"), "{err}");

    let plain = dir.path().join("plain.h5");
    hdf5::File::create(&plain)
        .expect("create")
        .close()
        .expect("close");
    assert!(
        ArtifactReader::open(&plain)
            .expect_err("foreign")
            .to_string()
            .contains("not an rl4seg artifact")
    );
}

#[test]
fn an_unfinished_writer_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.h5");
    {
        let mut w = ArtifactWriter::create(&path, "dataset", "k", "").expect("create");
        w.write_case(&case("p001", true)).expect("write");
        assert!(
            w.put_f32(
                "p001",
                "image",
                Array3::<f32>::zeros((1, 1, 1)).view().into_dyn()
            )
            .is_err(),
            "written once"
        );
        assert!(
            w.put_f32(
                "a/b",
                "x",
                Array3::<f32>::zeros((1, 1, 1)).view().into_dyn()
            )
            .is_err(),
            "bad id"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn uncompressed_and_empty_datasets_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.h5");
    let mut w = ArtifactWriter::create(&path, "dataset", "k", "")
        .expect("create")
        .gzip(None)
        .expect("level");
    w.write_case(&case("p001", false)).expect("write");
    w.put_f32(
        "p001",
        "empty",
        Array3::<f32>::zeros((0, 3, 3)).view().into_dyn(),
    )
    .expect("empty");
    w.put_f32("p001", "scalar", ndarray::arr0(2.5f32).view().into_dyn())
        .expect("scalar");
    w.finish().expect("finish");
    let r = ArtifactReader::open(&path).expect("open");
    assert_eq!(
        r.get_f32("p001", "empty").expect("empty").shape(),
        &[0, 3, 3]
    );
    assert_eq!(r.get_f32("p001", "scalar").expect("scalar").sum(), 2.5);
    let file = hdf5::File::open(&path).expect("h5");
    assert!(
        file.dataset("cases/p001/image")
            .expect("image")
            .filters()
            .is_empty()
    );
    assert!(
        ArtifactWriter::create(&dir.path().join("b.h5"), "k", "k", "")
            .expect("create")
            .gzip(Some(12))
            .is_err()
    );
}
