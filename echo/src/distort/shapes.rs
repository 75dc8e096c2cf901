//! Shape distortions inside one frame: punched holes (discs inside a structure set to background
//! or the other class), detached blobs (small discs of LV or MYO in the background away from the
//! heart), and boundary shifts (the endocardial or epicardial boundary moved by a smooth random
//! displacement field).

use ndarray::{Array2, Array3, Axis, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::common::{
    Choice, Structure, check_probability, check_range, disc, displacement_field, pick_frames,
    pick_pixel, uniform_f32, uniform_usize, warp_mask,
};
use crate::morph::{distance_to, edt};
use crate::{BG, LV, MYO, Result};

/// What a punched hole is filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoleFill {
    Background,
    /// LV <-> MYO (background for the epicardium).
    OtherClass,
    /// Background or the other class, drawn per hole.
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HolesConfig {
    pub enabled: bool,
    /// The structure holed, or a list to draw one from per sequence.
    pub structure: Choice<Structure>,
    pub fill: HoleFill,
    /// Holes per distorted frame, `[min, max]`.
    pub count: [usize; 2],
    /// Hole radius in pixels, `[min, max]`.
    pub radius_px: [f32; 2],
    pub frame_probability: f64,
}

impl Default for HolesConfig {
    fn default() -> Self {
        HolesConfig {
            enabled: true,
            structure: Choice::One(Structure::Lv),
            fill: HoleFill::Random,
            count: [1, 2],
            radius_px: [1.5, 4.0],
            frame_probability: 0.3,
        }
    }
}

impl HolesConfig {
    pub fn validate(&self) -> Result<()> {
        self.structure.validate("holes.structure")?;
        check_range(self.count, "holes.count")?;
        check_range(self.radius_px, "holes.radius_px")?;
        check_probability(self.frame_probability, "holes.frame_probability")
    }
}

/// Punches holes in the configured structure. Centres are drawn where the structure extends at
/// least one radius plus a pixel in every direction (so the hole is a real hole), else anywhere
/// in the structure; a frame without the structure is left as it is.
pub fn punch_holes<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &HolesConfig,
    rng: &mut R,
) -> Result<Array3<u8>> {
    cfg.validate()?;
    let structure = cfg.structure.draw(rng, "holes.structure")?;
    let mut out = labels.clone();
    let (_, h, w) = labels.dim();
    for t in pick_frames(labels.dim().0, cfg.frame_probability, rng) {
        let mut frame = out.index_axis(Axis(0), t).to_owned();
        for _ in 0..uniform_usize(rng, cfg.count) {
            let radius = uniform_f32(rng, cfg.radius_px);
            let mask = structure.mask(frame.view());
            let depth = edt(&mask.view(), [1.0, 1.0]);
            let deep = depth.mapv(|d| d > f64::from(radius) + 1.0);
            let Some((cy, cx)) = pick_pixel(&deep, rng).or_else(|| pick_pixel(&mask, rng)) else {
                break;
            };
            let fill = match cfg.fill {
                HoleFill::Background => BG,
                HoleFill::OtherClass => structure.other_label(),
                HoleFill::Random => {
                    if rng.random::<bool>() {
                        BG
                    } else {
                        structure.other_label()
                    }
                }
            };
            let hole = disc(h, w, cy as f32, cx as f32, radius);
            Zip::from(&mut frame)
                .and(&hole)
                .and(&mask)
                .for_each(|v, &in_hole, &m| {
                    if in_hole && m {
                        *v = fill;
                    }
                });
        }
        out.index_axis_mut(Axis(0), t).assign(&frame);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BlobsConfig {
    pub enabled: bool,
    /// Label of the blobs: `lv` or `myo` (`epi` draws myocardium), or a list to draw one from
    /// per sequence.
    pub structure: Choice<Structure>,
    /// Blobs per distorted frame, `[min, max]`.
    pub count: [usize; 2],
    pub radius_px: [f32; 2],
    /// Smallest gap in pixels between a blob and the heart (LV ∪ MYO).
    pub min_distance_px: f32,
    pub frame_probability: f64,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            enabled: true,
            structure: Choice::One(Structure::Myo),
            count: [1, 1],
            radius_px: [2.0, 5.0],
            min_distance_px: 3.0,
            frame_probability: 0.3,
        }
    }
}

impl BlobsConfig {
    pub fn validate(&self) -> Result<()> {
        self.structure.validate("blobs.structure")?;
        check_range(self.count, "blobs.count")?;
        check_range(self.radius_px, "blobs.radius_px")?;
        check_range([0.0, self.min_distance_px], "blobs.min_distance_px")?;
        check_probability(self.frame_probability, "blobs.frame_probability")
    }
}

/// Draws detached blobs in the background, at least `min_distance_px` away from the heart; a
/// frame with no room for a blob is left as it is.
pub fn detached_blobs<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &BlobsConfig,
    rng: &mut R,
) -> Result<Array3<u8>> {
    cfg.validate()?;
    let mut out = labels.clone();
    let (_, h, w) = labels.dim();
    let label = cfg.structure.draw(rng, "blobs.structure")?.grow_label();
    for t in pick_frames(labels.dim().0, cfg.frame_probability, rng) {
        let mut frame = out.index_axis(Axis(0), t).to_owned();
        for _ in 0..uniform_usize(rng, cfg.count) {
            let radius = uniform_f32(rng, cfg.radius_px);
            let heart = frame.mapv(|v| v == LV || v == MYO);
            // Distance to the heart (infinite in an empty frame) and to the image edge.
            let gap = distance_to(&heart.view(), [1.0, 1.0]);
            let need = f64::from(radius + cfg.min_distance_px);
            let ok = Array2::from_shape_fn((h, w), |(r, c)| {
                let edge = r.min(c).min(h - 1 - r).min(w - 1 - c) as f64;
                gap[[r, c]] > need && edge >= f64::from(radius)
            });
            let Some((cy, cx)) = pick_pixel(&ok, rng) else {
                break;
            };
            let blob = disc(h, w, cy as f32, cx as f32, radius);
            Zip::from(&mut frame).and(&blob).for_each(|v, &b| {
                if b && *v == BG {
                    *v = label;
                }
            });
        }
        out.index_axis_mut(Axis(0), t).assign(&frame);
    }
    Ok(out)
}

/// Which boundary a boundary shift moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftedBoundary {
    /// LV/MYO boundary; the epicardium stays where it is.
    Endo,
    /// MYO/background boundary; the LV stays where it is.
    Epi,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BoundaryShiftConfig {
    pub enabled: bool,
    /// The boundary moved, or a list to draw one from per sequence.
    pub boundary: Choice<ShiftedBoundary>,
    /// Largest displacement in pixels, `[min, max]`.
    pub amplitude_px: [f32; 2],
    /// Control points per axis of the displacement field (more = wigglier).
    pub grid: usize,
    /// A new field for each distorted frame (temporal jitter) instead of one for the sequence.
    pub per_frame: bool,
    pub frame_probability: f64,
}

impl Default for BoundaryShiftConfig {
    fn default() -> Self {
        BoundaryShiftConfig {
            enabled: true,
            boundary: Choice::One(ShiftedBoundary::Endo),
            amplitude_px: [2.0, 5.0],
            grid: 4,
            per_frame: false,
            frame_probability: 1.0,
        }
    }
}

impl BoundaryShiftConfig {
    pub fn validate(&self) -> Result<()> {
        self.boundary.validate("boundary_shift.boundary")?;
        check_range(self.amplitude_px, "boundary_shift.amplitude_px")?;
        check_probability(self.frame_probability, "boundary_shift.frame_probability")
    }
}

/// Moves one boundary of a frame by the displacement field `(dy, dx)`.
pub(crate) fn shift_boundary_frame(
    frame: &Array2<u8>,
    boundary: ShiftedBoundary,
    dy: &Array2<f32>,
    dx: &Array2<f32>,
) -> Array2<u8> {
    let lv = frame.mapv(|v| v == LV);
    let epi = frame.mapv(|v| v == LV || v == MYO);
    match boundary {
        ShiftedBoundary::Endo => {
            let moved = warp_mask(&lv, dy, dx);
            Zip::from(frame)
                .and(&epi)
                .and(&moved)
                .map_collect(|&v, &e, &m| {
                    if !e {
                        v
                    } else if m {
                        LV
                    } else {
                        MYO
                    }
                })
        }
        ShiftedBoundary::Epi => {
            let moved = warp_mask(&epi, dy, dx);
            Zip::from(&lv).and(&moved).map_collect(|&l, &m| {
                if l {
                    LV
                } else if m {
                    MYO
                } else {
                    BG
                }
            })
        }
    }
}

/// Shifts the configured boundary by a smooth random displacement field.
pub fn boundary_shift<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &BoundaryShiftConfig,
    rng: &mut R,
) -> Result<Array3<u8>> {
    cfg.validate()?;
    let boundary = cfg.boundary.draw(rng, "boundary_shift.boundary")?;
    let (_, h, w) = labels.dim();
    let amplitude = uniform_f32(rng, cfg.amplitude_px);
    let mut field = displacement_field(h, w, cfg.grid, amplitude, rng);
    let mut out = labels.clone();
    for t in pick_frames(labels.dim().0, cfg.frame_probability, rng) {
        if cfg.per_frame {
            field = displacement_field(h, w, cfg.grid, amplitude, rng);
        }
        let frame = labels.index_axis(Axis(0), t).to_owned();
        out.index_axis_mut(Axis(0), t)
            .assign(&shift_boundary_frame(&frame, boundary, &field.0, &field.1));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn disc_frame() -> Array2<u8> {
        Array2::from_shape_fn((15, 15), |(r, c)| {
            let d = ((r as f32 - 7.0).powi(2) + (c as f32 - 7.0).powi(2)).sqrt();
            if d <= 4.0 {
                LV
            } else if d <= 6.0 {
                MYO
            } else {
                BG
            }
        })
    }

    #[test]
    fn zero_displacement_changes_nothing() {
        let f = disc_frame();
        let zero = Array2::<f32>::zeros((15, 15));
        for b in [ShiftedBoundary::Endo, ShiftedBoundary::Epi] {
            assert_eq!(shift_boundary_frame(&f, b, &zero, &zero), f);
        }
    }

    #[test]
    fn a_uniform_endo_shift_moves_the_lv_inside_the_epicardium() {
        let f = disc_frame();
        let dy = Array2::<f32>::zeros((15, 15));
        let dx = Array2::<f32>::from_elem((15, 15), -2.0); // read 2 px to the left: LV moves right
        let out = shift_boundary_frame(&f, ShiftedBoundary::Endo, &dy, &dx);
        assert_eq!(out[[7, 11]], LV, "LV reaches 2 px further right");
        assert_eq!(
            out[[7, 3]],
            MYO,
            "and leaves its left rim to the myocardium"
        );
        assert_eq!(out.mapv(|v| v != BG), f.mapv(|v| v != BG));
    }
}
