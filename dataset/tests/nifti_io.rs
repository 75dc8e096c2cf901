//! NIfTI reading and writing: exact round trips, agreement with nibabel (fixtures written once by
//! `fixtures/gen_fixtures.py`), and one clear error per kind of bad input.

use std::path::{Path, PathBuf};

use dataset::nifti::{affine::affine_to_qform, read_image, read_labels, write_float, write_labels};
use echo::Geometry;
use ndarray::{Array3, Array4};
use nifti::NiftiHeader;
use nifti::writer::WriterOptions;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn nib_header() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("nib_header.json")).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn json_f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Header values are float32 in the file. serde_json's default float parser may be 1 ulp off
/// in f64, so values from the JSON are compared after rounding to f32 (exact for stored data).
fn json_f32s(v: &serde_json::Value) -> Vec<f32> {
    json_f64s(v).iter().map(|x| *x as f32).collect()
}

fn json_affine(v: &serde_json::Value) -> [[f32; 4]; 4] {
    let rows: Vec<Vec<f32>> = v.as_array().expect("rows").iter().map(json_f32s).collect();
    std::array::from_fn(|i| std::array::from_fn(|j| rows[i][j]))
}

fn json_affine_f64(v: &serde_json::Value) -> [[f64; 4]; 4] {
    let rows: Vec<Vec<f64>> = v.as_array().expect("rows").iter().map(json_f64s).collect();
    std::array::from_fn(|i| std::array::from_fn(|j| rows[i][j]))
}

fn f32_affine(a: &[[f64; 4]; 4]) -> [[f32; 4]; 4] {
    a.map(|row| row.map(|v| v as f32))
}

/// A sheared, translated affine whose entries are exact in f32.
fn sheared_geometry(shape: [usize; 3]) -> Geometry {
    let affine = [
        [0.25, 0.125, 0.0, -10.5],
        [0.0, 0.5, 0.0, 4.0],
        [0.0, 0.0, 1.0, 2.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    Geometry {
        spacing: [1.0, 0.5, 0.25],
        affine,
        original_shape: shape,
        original_spacing: [1.0, 0.5, 0.25],
    }
}

#[test]
fn reads_the_nibabel_image_exactly() {
    let (data, geometry) = read_image(&fixture("nib_image.nii.gz")).expect("fixture reads");
    assert_eq!(data.dim(), (3, 4, 5), "[T, H=Y, W=X]");
    for ((t, y, x), v) in data.indexed_iter() {
        assert_eq!(
            *v,
            (x + 10 * y + 100 * t) as f32 + 0.25,
            "voxel x={x} y={y} t={t}"
        );
    }
    let header = nib_header();
    assert_eq!(f32_affine(&geometry.affine), json_affine(&header["affine"]));
    let pixdim = json_f32s(&header["pixdim"]);
    assert_eq!(
        geometry.spacing.map(|v| v as f32),
        [pixdim[3], pixdim[2], pixdim[1]]
    );
    assert_eq!(geometry.original_shape, [3, 4, 5]);
}

#[test]
fn reads_nibabel_labels() {
    let (labels, geometry) = read_labels(&fixture("nib_labels.nii")).expect("fixture reads");
    for ((t, y, x), v) in labels.indexed_iter() {
        assert_eq!(usize::from(*v), (x + y + t) % 3);
    }
    assert_eq!(
        f32_affine(&geometry.affine),
        json_affine(&nib_header()["affine"])
    );
}

#[test]
fn our_header_matches_nibabels_for_the_same_data_and_affine() {
    let (data, geometry) = read_image(&fixture("nib_image.nii.gz")).expect("fixture reads");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("ours.nii.gz");
    write_float(&out, &data, &geometry).expect("write");
    let ours = NiftiHeader::from_file(&out).expect("our header parses");
    let nib = nib_header();
    let ints = |k: &str| {
        json_f64s(&nib[k])
            .iter()
            .map(|v| *v as i64)
            .collect::<Vec<_>>()
    };
    let f = |k: &str| nib[k].as_f64().expect("number");
    assert_eq!(
        ours.dim.iter().map(|&d| i64::from(d)).collect::<Vec<_>>(),
        ints("dim")
    );
    assert_eq!(i64::from(ours.datatype), f("datatype") as i64);
    assert_eq!(i64::from(ours.bitpix), f("bitpix") as i64);
    assert_eq!(i64::from(ours.xyzt_units), f("xyzt_units") as i64);
    assert_eq!(i64::from(ours.qform_code), f("qform_code") as i64);
    assert_eq!(i64::from(ours.sform_code), f("sform_code") as i64);
    assert_eq!(
        ours.pixdim[..4].to_vec(),
        json_f32s(&nib["pixdim"])[..4].to_vec(),
        "pixdim"
    );
    for (ours, key) in [
        (ours.quatern_b, "quatern_b"),
        (ours.quatern_c, "quatern_c"),
        (ours.quatern_d, "quatern_d"),
    ] {
        assert!(
            (f64::from(ours) - f(key)).abs() < 1e-6,
            "{key}: ours {ours} vs nibabel {}",
            f(key)
        );
    }
    for (ours, key) in [
        (ours.quatern_x, "qoffset_x"),
        (ours.quatern_y, "qoffset_y"),
        (ours.quatern_z, "qoffset_z"),
    ] {
        assert_eq!(ours, f(key) as f32, "{key}");
    }
    for (ours, key) in [
        (ours.srow_x, "srow_x"),
        (ours.srow_y, "srow_y"),
        (ours.srow_z, "srow_z"),
    ] {
        assert_eq!(ours.to_vec(), json_f32s(&nib[key]), "{key}");
    }
}

#[test]
fn qform_parameters_agree_with_nibabel_on_random_affines() {
    let nib = nib_header();
    for (i, case) in nib["qform_cases"]
        .as_array()
        .expect("cases")
        .iter()
        .enumerate()
    {
        let affine = json_affine_f64(&case["affine"]);
        let q = affine_to_qform(&affine).expect("non-singular");
        let expected = json_f64s(&case["quatern"]);
        for k in 0..3 {
            assert!(
                (q.quatern[k] - expected[k]).abs() < 1e-6,
                "case {i}: {:?} vs {expected:?}",
                q.quatern
            );
        }
        let pixdim = json_f64s(&case["pixdim"]);
        assert_eq!(q.qfac, pixdim[0], "case {i} qfac");
        for k in 0..3 {
            assert!(
                (q.zooms[k] - pixdim[k + 1]).abs() < 1e-6,
                "case {i} zoom {k}"
            );
        }
        let offset: Vec<f32> = q.offset.iter().map(|o| *o as f32).collect();
        assert_eq!(
            offset,
            json_f32s(&case["qoffset"]),
            "case {i}: qoffset stored as float32"
        );
    }
}

#[test]
fn round_trips_keep_data_and_geometry_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shape = [3, 5, 4];
    let geometry = sheared_geometry(shape);
    let image = Array3::from_shape_fn((3, 5, 4), |(t, y, x)| {
        (t * 100 + y * 10 + x) as f32 * 0.5 - 3.0
    });
    let labels = Array3::from_shape_fn((3, 5, 4), |(t, y, x)| ((t + 2 * y + x) % 3) as u8);
    for ext in ["nii", "nii.gz"] {
        let img_path = dir.path().join(format!("img.{ext}"));
        write_float(&img_path, &image, &geometry).expect("write image");
        let (back, g) = read_image(&img_path).expect("read image");
        assert_eq!(back, image);
        assert_eq!(g, geometry);
        let lab_path = dir.path().join(format!("lab.{ext}"));
        write_labels(&lab_path, &labels, &geometry).expect("write labels");
        let (back, g) = read_labels(&lab_path).expect("read labels");
        assert_eq!(back, labels);
        assert_eq!(g, geometry);
        let header = NiftiHeader::from_file(&lab_path).expect("header");
        assert_eq!(header.datatype, 2, "uint8");
        assert_eq!(header.qform_code, 0, "a sheared affine has no exact qform");
        assert_eq!(header.sform_code, 2);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 4, "no temporary files left: {names:?}");
}

#[test]
fn a_trailing_singleton_dimension_is_squeezed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("four.nii");
    let data = Array4::from_shape_fn((4, 3, 2, 1), |(x, y, t, _)| (x + y + t) as f32);
    WriterOptions::new(&path)
        .write_nifti(&data)
        .expect("write 4D");
    let (image, geometry) = read_image(&path).expect("reads");
    assert_eq!(image.dim(), (2, 3, 4));
    assert_eq!(image[[1, 2, 3]], 6.0);
    assert_eq!(geometry.spacing, [1.0, 1.0, 1.0]);
}

fn expect_error(result: Result<impl std::fmt::Debug, echo::Error>, path: &Path, needle: &str) {
    let message = result.expect_err("must fail").to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "names the file: {message}"
    );
    assert!(message.contains(needle), "says `{needle}`: {message}");
}

#[test]
fn bad_inputs_give_one_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.nii.gz");
    expect_error(read_image(&missing), &missing, "cannot read");

    let text = dir.path().join("notes.nii");
    std::fs::write(&text, "this is not an image".repeat(30)).expect("write");
    expect_error(read_image(&text), &text, "not a NIfTI-1 file");

    let fake_gz = dir.path().join("fake.nii.gz");
    std::fs::write(&fake_gz, [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]).expect("write");
    expect_error(read_image(&fake_gz), &fake_gz, "gzip");

    let good = std::fs::read(fixture("nib_labels.nii")).expect("fixture");
    let truncated = dir.path().join("truncated.nii");
    std::fs::write(&truncated, &good[..good.len() - 10]).expect("write");
    expect_error(read_labels(&truncated), &truncated, "truncated");

    let gz = std::fs::read(fixture("nib_image.nii.gz")).expect("fixture");
    let truncated_gz = dir.path().join("truncated.nii.gz");
    std::fs::write(&truncated_gz, &gz[..gz.len() / 2]).expect("write");
    expect_error(read_image(&truncated_gz), &truncated_gz, "gzip");

    let flat = dir.path().join("flat.nii");
    WriterOptions::new(&flat)
        .write_nifti(&ndarray::Array2::<f32>::zeros((4, 3)))
        .expect("write 2D");
    expect_error(read_image(&flat), &flat, "2D+time");

    let nan = dir.path().join("nan.nii.gz");
    let mut data = Array3::<f32>::zeros((2, 3, 4));
    data[[1, 2, 3]] = f32::NAN;
    write_float(&nan, &data, &Geometry::identity([2, 3, 4], [1.0, 0.3, 0.3])).expect("write");
    expect_error(read_image(&nan), &nan, "not finite");

    let outside = dir.path().join("outside.nii.gz");
    let mut data = Array3::<f32>::zeros((2, 3, 4));
    data[[0, 1, 1]] = 3.0;
    write_float(
        &outside,
        &data,
        &Geometry::identity([2, 3, 4], [1.0, 0.3, 0.3]),
    )
    .expect("write");
    expect_error(read_labels(&outside), &outside, "label value 3");
    data[[0, 1, 1]] = 1.5;
    write_float(
        &outside,
        &data,
        &Geometry::identity([2, 3, 4], [1.0, 0.3, 0.3]),
    )
    .expect("write");
    expect_error(read_labels(&outside), &outside, "label value 1.5");

    let zero = dir.path().join("zero.nii");
    let header = NiftiHeader {
        pixdim: [1.0, 0.0, 0.3, 1.0, 1.0, 1.0, 1.0, 1.0],
        sform_code: 0,
        qform_code: 0,
        ..NiftiHeader::default()
    };
    WriterOptions::new(&zero)
        .reference_header(&header)
        .write_nifti(&Array3::<f32>::zeros((4, 3, 2)))
        .expect("write");
    expect_error(read_image(&zero), &zero, "must be a positive number");
}

#[test]
fn writing_rejects_bad_labels_geometry_and_extensions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geometry = Geometry::identity([1, 2, 2], [1.0, 0.3, 0.3]);
    let path = dir.path().join("bad.nii.gz");
    let labels = Array3::from_elem((1, 2, 2), 7u8);
    assert!(
        write_labels(&path, &labels, &geometry)
            .expect_err("7 is no label")
            .to_string()
            .contains("outside")
    );
    let zero = Geometry::identity([1, 2, 2], [1.0, 0.0, 0.3]);
    assert!(write_labels(&path, &Array3::zeros((1, 2, 2)), &zero).is_err());
    let png = dir.path().join("labels.png");
    assert!(
        write_labels(&png, &Array3::zeros((1, 2, 2)), &geometry)
            .expect_err("not nifti")
            .to_string()
            .contains(".nii")
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        0,
        "nothing written"
    );
}
