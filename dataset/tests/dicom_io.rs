//! DICOM input on files written by an independent writer (pydicom, `fixtures/gen_fixtures.py`):
//! grayscale with PixelSpacing, RGB with only ultrasound-region deltas (cm), and RLE-compressed
//! 16-bit with ImagerPixelSpacing.

use std::path::{Path, PathBuf};

use dataset::dicom::read_dicom;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn value(f: usize, r: usize, c: usize) -> f32 {
    (f * 50 + r * 10 + c) as f32
}

fn assert_spacing(got: [f64; 3], expected: [f64; 3]) {
    for k in 0..3 {
        assert!(
            (got[k] - expected[k]).abs() < 1e-12,
            "spacing {got:?} vs {expected:?}"
        );
    }
}

#[test]
fn grayscale_multiframe_with_pixel_spacing() {
    let (image, geometry) = read_dicom(&fixture("us_gray.dcm")).expect("reads");
    assert_eq!(image.dim(), (3, 4, 5), "[T=frames, H=rows, W=columns]");
    for ((f, r, c), v) in image.indexed_iter() {
        assert_eq!(*v, value(f, r, c));
    }
    // PixelSpacing = [row spacing 0.3 (depth), column spacing 0.25 (lateral)].
    assert_spacing(geometry.spacing, [1.0, 0.3, 0.25]);
    assert_eq!(geometry.affine[0][0], 0.25, "X = lateral = column spacing");
    assert_eq!(geometry.affine[1][1], 0.3, "Y = depth = row spacing");
    assert_eq!(geometry.affine[2][2], 1.0);
    assert_eq!(geometry.affine[3][3], 1.0);
    assert_eq!(geometry.original_shape, [3, 4, 5]);
}

#[test]
fn rgb_is_averaged_and_spacing_comes_from_the_ultrasound_region() {
    let (image, geometry) = read_dicom(&fixture("us_rgb.dcm")).expect("reads");
    assert_eq!(image.dim(), (2, 4, 5));
    for ((f, r, c), v) in image.indexed_iter() {
        assert_eq!(*v, value(f, r, c) + 3.0, "mean of (v, v+3, v+6)");
    }
    // PhysicalDeltaX = 0.04 cm (lateral), PhysicalDeltaY = 0.05 cm (depth), x10 to mm.
    assert_spacing(geometry.spacing, [1.0, 0.5, 0.4]);
}

#[test]
fn rle_compressed_16_bit_with_imager_pixel_spacing() {
    let (image, geometry) = read_dicom(&fixture("us_imager_rle.dcm")).expect("reads");
    assert_eq!(image.dim(), (2, 4, 5));
    for ((f, r, c), v) in image.indexed_iter() {
        assert_eq!(*v, value(f, r, c) * 100.0);
    }
    assert_spacing(geometry.spacing, [1.0, 0.2, 0.1]);
}

#[test]
fn bad_files_give_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.dcm");
    std::fs::write(&text, "not a dicom file at all".repeat(20)).expect("write");
    let message = read_dicom(&text).expect_err("not DICOM").to_string();
    assert!(
        message.contains("notes.dcm") && message.contains("not a readable DICOM"),
        "{message}"
    );

    let bytes = std::fs::read(fixture("us_gray.dcm")).expect("fixture");
    let cut = dir.path().join("cut.dcm");
    std::fs::write(&cut, &bytes[..bytes.len() - 30]).expect("write");
    let message = read_dicom(&cut).expect_err("truncated").to_string();
    assert!(message.contains("cut.dcm"), "{message}");

    let missing = dir.path().join("missing.dcm");
    assert!(
        read_dicom(&missing)
            .expect_err("missing")
            .to_string()
            .contains("missing.dcm")
    );
}
