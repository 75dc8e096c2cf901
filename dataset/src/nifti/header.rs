//! The NIfTI-1 header as this crate reads and writes it: `dim` to `[X, Y, T]`, header to
//! [`Geometry`] (sform, else qform, else pixdim; spatial unit mm), and [`Geometry`] to a header
//! with sform, qform, pixdim and units set (method.md 1.1, 12.13).

use std::path::Path;

use ::nifti::NiftiHeader;
use echo::{Error, Geometry, Result};

use super::affine::{affine_to_qform, qform_affine};

/// `xyzt_units` we write: spatial mm (2) | time seconds (8), as SimpleITK writes it. For a
/// 3-dim `[X, Y, T]` file NIfTI treats the third axis as spatial, so the time bits carry nothing.
const XYZT_UNITS_MM_SEC: u8 = 2 | 8;
const NIFTI_UNITS_MM: u8 = 2;
/// `sform_code` / `qform_code` "aligned to another file" (what nibabel writes by default).
const XFORM_ALIGNED: i16 = 2;

/// `[X, Y, T]` from `dim`, accepting a trailing singleton 4th dimension.
pub(super) fn dims_xyt(path: &Path, header: &NiftiHeader) -> Result<[usize; 3]> {
    let dim = header.dim.map(|d| d as i16);
    let rank = dim[0];
    let shape: Vec<i16> = dim[1..=(rank.clamp(0, 7) as usize)].to_vec();
    if shape.iter().any(|&d| d < 1) {
        return Err(Error::file(
            path,
            format!("invalid dimensions {shape:?} in the header (each must be >= 1)"),
        ));
    }
    match rank {
        3 => {}
        4 if shape[3] == 1 => {}
        0..=2 => {
            return Err(Error::file(
                path,
                format!(
                    "is a {rank}D image {shape:?}; a 2D+time sequence [X=lateral, Y=depth, T] is \
                     required (save single frames with a third axis of length 1)"
                ),
            ));
        }
        _ => {
            return Err(Error::file(
                path,
                format!(
                    "has {rank} dimensions {shape:?}; a 2D+time sequence [X=lateral, Y=depth, T] \
                     is required (only a trailing 4th dimension of length 1 is accepted)"
                ),
            ));
        }
    }
    Ok([shape[0] as usize, shape[1] as usize, shape[2] as usize])
}

pub(super) fn geometry_of(
    path: &Path,
    header: &NiftiHeader,
    [x, y, t]: [usize; 3],
) -> Result<Geometry> {
    let unit = header.xyzt_units & 0x07;
    if unit != 0 && unit != NIFTI_UNITS_MM {
        let name = match unit {
            1 => "meter",
            3 => "micron",
            _ => "an unknown unit",
        };
        return Err(Error::file(
            path,
            format!(
                "spatial unit is {name} (xyzt_units = {}); only mm is supported, rescale the file",
                header.xyzt_units
            ),
        ));
    }
    let pixdim = [header.pixdim[1], header.pixdim[2], header.pixdim[3]].map(f64::from);
    if let Some((axis, v)) = ["X (lateral)", "Y (depth)", "T (time)"]
        .iter()
        .zip(pixdim)
        .find(|(_, v)| !(v.is_finite() && *v > 0.0))
    {
        return Err(Error::file(
            path,
            format!("spacing {v} along {axis} (pixdim) must be a positive number; fix the header"),
        ));
    }
    let affine = if header.sform_code > 0 {
        let mut a = [[0.0; 4]; 4];
        for (row, srow) in a
            .iter_mut()
            .zip([header.srow_x, header.srow_y, header.srow_z])
        {
            *row = srow.map(f64::from);
        }
        a[3] = [0.0, 0.0, 0.0, 1.0];
        a
    } else if header.qform_code > 0 {
        let q = [header.quatern_b, header.quatern_c, header.quatern_d].map(f64::from);
        let o = [header.quatern_x, header.quatern_y, header.quatern_z].map(f64::from);
        qform_affine(q, o, f64::from(header.pixdim[0]), pixdim)
    } else {
        // No orientation in the file: voxel sizes only, origin 0 (as ITK reads it).
        Geometry::identity([t, y, x], [pixdim[2], pixdim[1], pixdim[0]]).affine
    };
    if affine.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::file(
            path,
            "the affine (sform/qform) contains NaN or inf; fix the header",
        ));
    }
    let spacing = [pixdim[2], pixdim[1], pixdim[0]];
    Ok(Geometry {
        spacing,
        affine,
        original_shape: [t, y, x],
        original_spacing: spacing,
    })
}

/// The header we write for an array of `shape` `[T, H, W]` with `geometry`.
pub(super) fn header_for(
    path: &Path,
    shape: [usize; 3],
    geometry: &Geometry,
) -> Result<NiftiHeader> {
    let what = || format!("geometry for {}", path.display());
    let [t, h, w] = shape;
    if [t, h, w].iter().any(|&d| d == 0 || d > i16::MAX as usize) {
        return Err(Error::invalid(
            what(),
            format!("shape [T={t}, H={h}, W={w}] must be within 1..=32767 per axis"),
        ));
    }
    let [dt, dy, dx] = geometry.spacing;
    if [dt, dy, dx].iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(Error::invalid(
            what(),
            format!("spacing {:?} must be positive numbers", geometry.spacing),
        ));
    }
    let a = geometry.affine;
    let q = affine_to_qform(&a).ok_or_else(|| {
        Error::invalid(
            what(),
            format!("affine {a:?} is singular or not finite; it cannot orient voxels"),
        )
    })?;
    let mut header = NiftiHeader {
        pixdim: [
            q.qfac as f32,
            dx as f32,
            dy as f32,
            dt as f32,
            1.0,
            1.0,
            1.0,
            1.0,
        ],
        xyzt_units: XYZT_UNITS_MM_SEC,
        sform_code: XFORM_ALIGNED,
        // A sheared affine has no exact qform: keep the nearest rigid one but mark it unused.
        qform_code: if q.exact { XFORM_ALIGNED } else { 0 },
        quatern_b: q.quatern[0] as f32,
        quatern_c: q.quatern[1] as f32,
        quatern_d: q.quatern[2] as f32,
        quatern_x: q.offset[0] as f32,
        quatern_y: q.offset[1] as f32,
        quatern_z: q.offset[2] as f32,
        srow_x: a[0].map(|v| v as f32),
        srow_y: a[1].map(|v| v as f32),
        srow_z: a[2].map(|v| v as f32),
        ..NiftiHeader::default()
    };
    header
        .set_description_str("rl4seg")
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(header)
}
