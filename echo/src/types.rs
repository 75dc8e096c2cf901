//! The in-memory data model shared by the simulator, I/O, preprocessing and metrics.
//!
//! A sequence is `[T, H, W]`: T frames, H depth rows (apex at the top), W lateral columns.
//! Labels: 0 background, 1 LV cavity, 2 myocardium. NIfTI's `[X=lateral, Y=depth, T]` layout
//! exists only inside `io::nifti`.

use ndarray::Array3;

/// Label values.
pub const BG: u8 = 0;
pub const LV: u8 = 1;
pub const MYO: u8 = 2;
pub const NUM_CLASSES: usize = 3;

/// Geometry needed to write results back exactly where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Spacing `[dt, dy, dx]`: frames (1 for a frame step), depth mm, lateral mm.
    pub spacing: [f64; 3],
    /// Full NIfTI affine (voxel `[X, Y, T, 1]` -> world), row-major 4x4.
    pub affine: [[f64; 4]; 4],
    /// Shape `[T, H, W]` of the original file (before resampling and crop/pad).
    pub original_shape: [usize; 3],
    /// Spacing `[dt, dy, dx]` of the original file.
    pub original_spacing: [f64; 3],
}

impl Geometry {
    /// Geometry of an array that was never resampled: affine = diag(dx, dy, dt) in NIfTI axis order.
    pub fn identity(shape: [usize; 3], spacing: [f64; 3]) -> Self {
        let [dt, dy, dx] = spacing;
        let affine = [
            [dx, 0.0, 0.0, 0.0],
            [0.0, dy, 0.0, 0.0],
            [0.0, 0.0, dt, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        Geometry {
            spacing,
            affine,
            original_shape: shape,
            original_spacing: spacing,
        }
    }
}

/// One echocardiography sequence with optional labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Case id (file stem without `.nii[.gz]` and `_0000`, or the simulator's `<domain>_<index>`).
    pub id: String,
    /// Intensities `[T, H, W]`, finite, normally in [0, 1].
    pub image: Array3<f32>,
    /// Labels `[T, H, W]` with values in {0, 1, 2}.
    pub label: Option<Array3<u8>>,
    pub geometry: Geometry,
    /// Domain name (`source`, `target_scanner`, ... or `user`).
    pub domain: String,
    /// View (`a2c`, `a4c`, or empty when unknown).
    pub view: String,
}
