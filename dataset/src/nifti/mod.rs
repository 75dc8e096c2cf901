//! NIfTI-1 sequences on disk (`.nii`, `.nii.gz`). Files are `[X=lateral, Y=depth, T]` as in the
//! original (method.md 1.1); in memory they are `[T, H=depth, W=lateral]`, and this module is the
//! only place that converts. Reading validates what the rest of the program relies on (a NIfTI-1
//! file, not truncated, 2D+t, finite intensities, positive spacing, labels in {0, 1, 2}) and
//! returns one error naming the file. Writing keeps the **full** geometry: sform and qform from
//! the affine, pixdim from the spacing, spatial unit mm (method.md 12.13: the original kept only
//! the spacing; we keep all). Writes are atomic (temporary file in the same folder + rename).

pub mod affine;
mod header;

use std::io::Read;
use std::path::{Path, PathBuf};

use ::nifti::writer::WriterOptions;
use ::nifti::{InMemNiftiVolume, IntoNdArray, NiftiHeader, NiftiType};
use echo::{Error, Geometry, Result};
use ndarray::{Array3, ArrayD, Axis, Ix3};

use header::{dims_xyt, geometry_of, header_for};

/// Read an image sequence: intensities `[T, H, W]` as f32 and its geometry.
pub fn read_image(path: &Path) -> Result<(Array3<f32>, Geometry)> {
    let (volume, geometry) = read_volume(path)?;
    let data: ArrayD<f32> = volume
        .into_ndarray::<f32>()
        .map_err(|e| nifti_error(path, e))?;
    let data = to_thw(path, data)?;
    if let Some((idx, v)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::file(
            path,
            format!(
                "intensity {v} at frame {}, row {}, column {} is not finite; fix or mask the \
                 NaN/inf voxels before using this image",
                idx.0, idx.1, idx.2
            ),
        ));
    }
    Ok((data, geometry))
}

/// Read a label sequence `[T, H, W]`; every value must be an integer in {0, 1, 2}.
pub fn read_labels(path: &Path) -> Result<(Array3<u8>, Geometry)> {
    let (volume, geometry) = read_volume(path)?;
    let data: ArrayD<f64> = volume
        .into_ndarray::<f64>()
        .map_err(|e| nifti_error(path, e))?;
    let data = to_thw(path, data)?;
    if let Some((idx, v)) = data
        .indexed_iter()
        .find(|(_, v)| !matches!(**v, 0.0 | 1.0 | 2.0))
    {
        return Err(Error::file(
            path,
            format!(
                "label value {v} at frame {}, row {}, column {} is not one of 0 (background), \
                 1 (LV cavity), 2 (myocardium); is this an image rather than a segmentation?",
                idx.0, idx.1, idx.2
            ),
        ));
    }
    Ok((data.mapv(|v| v as u8), geometry))
}

/// Write labels `[T, H, W]` (values in {0, 1, 2}) as uint8 with the full geometry.
pub fn write_labels(path: &Path, labels: &Array3<u8>, geometry: &Geometry) -> Result<()> {
    if let Some((idx, v)) = labels.indexed_iter().find(|(_, v)| **v > 2) {
        return Err(Error::invalid(
            format!("labels for {}", path.display()),
            format!("value {v} at {idx:?} is outside {{0, 1, 2}}"),
        ));
    }
    // [T, H, W] -> [X=W, Y=H, T]; the crate writes it in Fortran order.
    write(path, shape_of(labels), geometry, |o| {
        o.write_nifti(&labels.view().reversed_axes())
    })
}

/// Write a float map `[T, H, W]` (e.g. a reward / confidence map) as float32 with the full geometry.
pub fn write_float(path: &Path, data: &Array3<f32>, geometry: &Geometry) -> Result<()> {
    write(path, shape_of(data), geometry, |o| {
        o.write_nifti(&data.view().reversed_axes())
    })
}

/// Whether `path` names a NIfTI file by its extension (`.nii` or `.nii.gz`, any case).
pub fn is_nifti_path(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase());
    name.is_some_and(|n| n.ends_with(".nii") || n.ends_with(".nii.gz"))
}

fn nifti_error(path: &Path, e: ::nifti::NiftiError) -> Error {
    Error::file(path, format!("cannot decode NIfTI voxel data: {e}"))
}

/// Read, decompress and validate the header; return the volume (scaling fixed) and geometry.
fn read_volume(path: &Path) -> Result<(InMemNiftiVolume, Geometry)> {
    let raw =
        std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read file: {e}")))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                Error::file(
                    path,
                    format!("corrupt or truncated gzip stream ({e}); re-export the file"),
                )
            })?;
        out
    } else {
        raw
    };
    let sizeof_hdr = bytes.get(..4).map(|b| [b[0], b[1], b[2], b[3]]);
    if sizeof_hdr == Some(540i32.to_le_bytes()) || sizeof_hdr == Some(540i32.to_be_bytes()) {
        return Err(Error::file(
            path,
            "NIfTI-2 is not supported; save it as NIfTI-1 (e.g. nibabel.Nifti1Image)",
        ));
    }
    if bytes.len() < 348 {
        return Err(Error::file(
            path,
            format!(
                "not a NIfTI-1 file: {} bytes, shorter than the 348-byte header",
                bytes.len()
            ),
        ));
    }
    let mut header = NiftiHeader::from_reader(&bytes[..]).map_err(|e| {
        Error::file(
            path,
            format!("not a NIfTI-1 file ({e}); expected a .nii or .nii.gz image"),
        )
    })?;
    if &header.magic != b"n+1\0" {
        return Err(Error::file(
            path,
            "is a header-only NIfTI (.hdr/.img pair); only single-file .nii / .nii.gz is supported",
        ));
    }
    let dims = dims_xyt(path, &header)?;
    let datatype = header
        .data_type()
        .map_err(|e| Error::file(path, format!("unsupported NIfTI datatype code: {e}")))?;
    if matches!(
        datatype,
        NiftiType::Rgb24 | NiftiType::Rgba32 | NiftiType::Complex64 | NiftiType::Complex128
    ) || header.bitpix as usize != datatype.size_of() * 8
    {
        return Err(Error::file(
            path,
            format!(
                "unsupported voxel type {datatype:?} (bitpix {}); expected a scalar integer or float type",
                header.bitpix
            ),
        ));
    }
    let offset = header.vox_offset;
    if !(offset.is_finite() && offset >= 348.0) {
        return Err(Error::file(
            path,
            format!("invalid vox_offset {offset} in the header"),
        ));
    }
    let offset = offset as usize;
    let n_bytes = dims.iter().product::<usize>() * datatype.size_of();
    let available = bytes.len().saturating_sub(offset);
    if available < n_bytes {
        return Err(Error::file(
            path,
            format!(
                "truncated: the header announces {}x{}x{} voxels ({n_bytes} bytes) but only \
                 {available} bytes follow the header; re-export or re-download the file",
                dims[0], dims[1], dims[2]
            ),
        ));
    }
    // NIfTI: a zero or non-finite scl_slope means "no scaling" (nibabel writes NaN).
    if !header.scl_slope.is_finite() || !header.scl_inter.is_finite() {
        header.scl_slope = 0.0;
        header.scl_inter = 0.0;
    }
    let geometry = geometry_of(path, &header, dims)?;
    let volume = InMemNiftiVolume::from_raw_data(&header, bytes[offset..offset + n_bytes].to_vec())
        .map_err(|e| nifti_error(path, e))?;
    Ok((volume, geometry))
}

/// `[X, Y, T(, 1)]` (Fortran order from the crate) -> standard-layout `[T, Y, X]`.
fn to_thw<T: Clone>(path: &Path, data: ArrayD<T>) -> Result<Array3<T>> {
    let data = if data.ndim() == 4 {
        data.index_axis_move(Axis(3), 0)
    } else {
        data
    };
    let data = data
        .into_dimensionality::<Ix3>()
        .map_err(|e| Error::file(path, format!("unexpected array rank after decoding: {e}")))?;
    Ok(data.reversed_axes().as_standard_layout().into_owned())
}

fn write<F>(path: &Path, shape: [usize; 3], geometry: &Geometry, write_xyt: F) -> Result<()>
where
    F: FnOnce(WriterOptions<'_>) -> ::nifti::Result<()>,
{
    if !is_nifti_path(path) {
        return Err(Error::file(
            path,
            "unsupported extension for a NIfTI output; use .nii or .nii.gz",
        ));
    }
    let header = header_for(path, shape, geometry)?;
    let tmp = temp_path(path);
    let result = write_xyt(WriterOptions::new(&tmp).reference_header(&header))
        .map_err(|e| Error::file(path, format!("cannot write NIfTI: {e}")))
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|e| {
                Error::file(
                    path,
                    format!("cannot move the finished file into place: {e}"),
                )
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn shape_of<T>(data: &Array3<T>) -> [usize; 3] {
    let s = data.shape();
    [s[0], s[1], s[2]]
}

/// `<dir>/.<stem>_<pid>_<n>_tmp.nii[.gz]`: same folder (rename is atomic), same extension (the
/// crate picks compression from it), unique per process and call, and no other dot (the crate
/// rewrites everything after the last dot of the stem).
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = if name.to_ascii_lowercase().ends_with(".gz") {
        "nii.gz"
    } else {
        "nii"
    };
    let stem = name.split('.').next().unwrap_or("out");
    path.with_file_name(format!(".{stem}_{}_{n}_tmp.{ext}", std::process::id()))
}
