//! Multi-frame ultrasound DICOM input, as the original accepts it (method.md 1.4): the raw
//! `pixel_array` (no modality/VOI LUT), RGB averaged over the channels, frames as time. DICOM's
//! `[frames, rows, columns]` is already our `[T, H=depth, W=lateral]`. Spacing comes from
//! `PixelSpacing`, else `ImagerPixelSpacing`, else the first ultrasound region with physical
//! deltas in cm (× 10 to mm). Decoding is `dicom-pixeldata` (native, RLE, JPEG baseline and
//! lossless in pure Rust; JPEG 2000 / JPEG-LS are not built in and give a clear error).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_object::file::ReadPreamble;
use dicom_object::mem::InMemDicomObject;
use dicom_pixeldata::{
    ConvertOptions, ModalityLutOption, PhotometricInterpretationOption, PixelDecoder,
};
use echo::{Error, Geometry, Result};
use ndarray::{Array3, Axis};

/// `PhysicalUnitsX/YDirection` code for centimetres.
const UNITS_CM: u16 = 3;

/// Read a multi-frame ultrasound DICOM file: intensities `[T, H, W]` (raw stored values, RGB
/// averaged) and geometry with spacing `[1, dy, dx]` mm and affine `diag(dx, dy, 1)` in NIfTI
/// axis order.
pub fn read_dicom(path: &Path) -> Result<(Array3<f32>, Geometry)> {
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Auto)
        .open_file(path)
        .map_err(|e| Error::file(path, format!("not a readable DICOM file ({e})")))?;
    let frames = obj
        .get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.to_int::<i64>().ok())
        .unwrap_or(1);
    if frames < 2 {
        return Err(Error::file(
            path,
            format!("has {frames} frame; a multi-frame (2D+time) ultrasound sequence is required"),
        ));
    }
    let [dy, dx] = spacing_mm(path, &obj)?;
    let decoded = obj.decode_pixel_data().map_err(|e| {
        Error::file(path, format!("cannot decode the pixel data ({e}); the transfer syntax may need a codec that is not built in (JPEG 2000, JPEG-LS): convert to uncompressed or JPEG"))
    })?;
    let samples = decoded.samples_per_pixel();
    if samples != 1 && samples != 3 {
        return Err(Error::file(
            path,
            format!("has {samples} samples per pixel; only grayscale (1) or RGB (3) is supported"),
        ));
    }
    // Raw stored values like pydicom's `pixel_array`: no rescale, no VOI, no MONOCHROME1 inversion.
    let options = ConvertOptions::new()
        .with_modality_lut(ModalityLutOption::None)
        .with_photometric_interpretation(PhotometricInterpretationOption::Ignore);
    let pixels = decoded
        .to_ndarray_with_options::<f32>(&options)
        .map_err(|e| {
            Error::file(
                path,
                format!("cannot convert the pixel data to numbers ({e})"),
            )
        })?;
    // [N, R, C, S] -> [T, H, W], averaging RGB channels as the original does.
    let image = pixels
        .mean_axis(Axis(3))
        .ok_or_else(|| Error::file(path, "pixel data has zero samples per pixel"))?;
    let shape = image.shape();
    let shape = [shape[0], shape[1], shape[2]];
    if shape.contains(&0) {
        return Err(Error::file(
            path,
            format!("empty pixel data of shape {shape:?}"),
        ));
    }
    // method.md 1.4 writes `diag(sp[1], sp[0], 1, 0)`; the trailing 0 makes the affine singular,
    // so we use what it meant: diag(dx, dy, dt = 1 frame, 1).
    let geometry = Geometry::identity(shape, [1.0, dy, dx]);
    Ok((image, geometry))
}

/// `[dy (between rows), dx (between columns)]` in mm.
fn spacing_mm(path: &Path, obj: &InMemDicomObject) -> Result<[f64; 2]> {
    for tag in [tags::PIXEL_SPACING, tags::IMAGER_PIXEL_SPACING] {
        let values = obj
            .get(tag)
            .and_then(|e| e.to_multi_float64().ok())
            .unwrap_or_default();
        if let [row, col, ..] = values[..] {
            return checked(path, "PixelSpacing/ImagerPixelSpacing", [row, col]);
        }
    }
    let regions = obj
        .get(tags::SEQUENCE_OF_ULTRASOUND_REGIONS)
        .and_then(|e| e.items())
        .unwrap_or(&[]);
    // The original takes region 0 whatever its units; a Doppler/M-mode region first would give
    // nonsense, so we take the first region whose deltas are in cm (or unlabelled), as intended.
    for region in regions {
        let unit_ok = |tag| {
            region
                .get(tag)
                .and_then(|e| e.to_int::<u16>().ok())
                .is_none_or(|u| u == UNITS_CM)
        };
        let delta = |tag| region.get(tag).and_then(|e| e.to_float64().ok());
        if unit_ok(tags::PHYSICAL_UNITS_X_DIRECTION)
            && unit_ok(tags::PHYSICAL_UNITS_Y_DIRECTION)
            && let (Some(dx), Some(dy)) =
                (delta(tags::PHYSICAL_DELTA_X), delta(tags::PHYSICAL_DELTA_Y))
        {
            return checked(
                path,
                "SequenceOfUltrasoundRegions PhysicalDeltaX/Y",
                [dy * 10.0, dx * 10.0],
            );
        }
    }
    Err(Error::file(
        path,
        "has no spacing: none of PixelSpacing, ImagerPixelSpacing or an ultrasound region with \
         PhysicalDeltaX/Y in cm; add one of them or convert the file to NIfTI with its spacing",
    ))
}

fn checked(path: &Path, source: &str, [dy, dx]: [f64; 2]) -> Result<[f64; 2]> {
    if [dy, dx].iter().all(|v| v.is_finite() && *v > 0.0) {
        Ok([dy, dx])
    } else {
        Err(Error::file(
            path,
            format!("{source} gives spacing [{dy}, {dx}] mm; it must be positive"),
        ))
    }
}
