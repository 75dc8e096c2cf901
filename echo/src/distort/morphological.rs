//! Erosion and dilation of one structure by k pixels (3×3 square element, k iterations, so
//! chessboard distance k). Eroded pixels take the label of the nearest pixel outside the
//! structure (an eroded LV becomes myocardium at the wall and background at the open base; an
//! eroded myocardium gives its inner layer to the LV and its outer layer to the background);
//! dilated pixels take the structure's label (the epicardium grows as myocardium).

use ndarray::{Array2, Array3, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::common::{
    Choice, Structure, check_probability, check_range, pick_frames, refill_from_outside,
    uniform_usize,
};
use crate::Result;
use crate::morph::{Border, StructuringElement, dilate, erode};

/// Erode, dilate, or pick one of the two at random for each distorted sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErodeDilateMode {
    Erode,
    Dilate,
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ErodeDilateConfig {
    pub enabled: bool,
    /// The structure eroded or dilated, or a list to draw one from per sequence.
    pub structure: Choice<Structure>,
    pub mode: ErodeDilateMode,
    /// Pixels eroded or dilated, drawn uniformly in `[min, max]` per sequence.
    pub pixels: [usize; 2],
    /// Probability that a frame is distorted (at least one frame always is).
    pub frame_probability: f64,
}

impl Default for ErodeDilateConfig {
    fn default() -> Self {
        ErodeDilateConfig {
            enabled: true,
            structure: Choice::One(Structure::Lv),
            mode: ErodeDilateMode::Random,
            pixels: [1, 3],
            frame_probability: 1.0,
        }
    }
}

impl ErodeDilateConfig {
    pub fn validate(&self) -> Result<()> {
        self.structure.validate("erode_dilate.structure")?;
        check_range(self.pixels, "erode_dilate.pixels")?;
        check_probability(self.frame_probability, "erode_dilate.frame_probability")
    }
}

/// Erodes (`erode = true`) or dilates `structure` in one frame by `pixels`.
pub fn erode_dilate_frame(
    frame: ArrayView2<u8>,
    structure: Structure,
    erode_it: bool,
    pixels: usize,
) -> Array2<u8> {
    let mask = structure.mask(frame);
    let mut out = frame.to_owned();
    if erode_it {
        // The image edge is not a boundary of the structure: treat outside as foreground.
        let kept = erode(
            &mask.view(),
            StructuringElement::Square,
            pixels,
            Border::Foreground,
        );
        // Labels of the nearest pixel outside the whole structure, used where it was eroded.
        let mut outside = out.clone();
        refill_from_outside(&mut outside, &mask);
        ndarray::Zip::from(&mut out)
            .and(&outside)
            .and(&mask)
            .and(&kept)
            .for_each(|o, &n, &m, &k| {
                if m && !k {
                    *o = n;
                }
            });
    } else {
        let grown = dilate(
            &mask.view(),
            StructuringElement::Square,
            pixels,
            Border::Background,
        );
        let label = structure.grow_label();
        ndarray::Zip::from(&mut out)
            .and(&grown)
            .and(&mask)
            .for_each(|o, &g, &m| {
                if g && !m {
                    *o = label;
                }
            });
    }
    out
}

/// Erodes or dilates the configured structure in randomly chosen frames.
pub fn erode_dilate<R: Rng + ?Sized>(
    labels: &Array3<u8>,
    cfg: &ErodeDilateConfig,
    rng: &mut R,
) -> Result<Array3<u8>> {
    cfg.validate()?;
    let structure = cfg.structure.draw(rng, "erode_dilate.structure")?;
    let erode_it = match cfg.mode {
        ErodeDilateMode::Erode => true,
        ErodeDilateMode::Dilate => false,
        ErodeDilateMode::Random => rng.random::<bool>(),
    };
    let pixels = uniform_usize(rng, cfg.pixels);
    let mut out = labels.clone();
    for t in pick_frames(labels.dim().0, cfg.frame_probability, rng) {
        let new = erode_dilate_frame(labels.index_axis(Axis(0), t), structure, erode_it, pixels);
        out.index_axis_mut(Axis(0), t).assign(&new);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LV;
    use ndarray::Array2;

    fn square_in_ring() -> Array2<u8> {
        Array2::from_shape_fn((11, 11), |(r, c)| {
            let d = (r as i32 - 5).abs().max((c as i32 - 5).abs());
            if d <= 2 {
                LV
            } else if d <= 4 {
                2
            } else {
                0
            }
        })
    }

    #[test]
    fn erosion_by_one_turns_the_lv_rim_into_myocardium() {
        let f = square_in_ring();
        let out = erode_dilate_frame(f.view(), Structure::Lv, true, 1);
        assert_eq!(out.iter().filter(|&&v| v == LV).count(), 9, "5x5 -> 3x3");
        assert_eq!(
            out.iter().filter(|&&v| v == 0).count(),
            f.iter().filter(|&&v| v == 0).count()
        );
    }

    #[test]
    fn dilation_of_the_epicardium_grows_myocardium_into_background() {
        let f = square_in_ring();
        let out = erode_dilate_frame(f.view(), Structure::Epi, false, 1);
        assert_eq!(out.iter().filter(|&&v| v != 0).count(), 121, "9x9 -> 11x11");
        assert_eq!(
            out.iter().filter(|&&v| v == LV).count(),
            25,
            "the LV is untouched"
        );
    }
}
