//! Intensity checks and normalisation of a whole sequence (method.md 1.1 and 1.4 step 1):
//! divide by the sequence maximum, or the original data module's "divide by 255 when the
//! maximum is above 1" rule for integer-valued data.

use ndarray::{Array3, ArrayView3};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How intensities are brought to [0, 1] before CLAHE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntensityNorm {
    /// `img / max(img)` over the whole sequence (method.md 1.4 step 1, inference).
    Max,
    /// `img / 255` when `int(max(img)) > 1`, else unchanged (method.md 1.1, data module).
    Div255IfAboveOne,
    /// Leave the intensities as they are (data already normalised offline).
    None,
}

/// Fails with `Error::Invalid` naming the first non-finite voxel, or an empty array.
pub fn check_finite(image: ArrayView3<f32>, what: &str) -> Result<()> {
    let [t, h, w] = dims(image.dim());
    if t == 0 || h == 0 || w == 0 {
        return Err(Error::invalid(
            what,
            format!(
                "sequence shape [T={t}, H={h}, W={w}] is empty; a sequence needs at least one frame of at least 1x1 pixels"
            ),
        ));
    }
    if let Some(((ti, hi, wi), v)) = image.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::invalid(
            what,
            format!(
                "intensity {v} at frame {ti}, row {hi}, column {wi} is not finite; \
                 remove NaN/inf values from the image before preprocessing"
            ),
        ));
    }
    Ok(())
}

/// Fails with `Error::Invalid` when a label is outside {0, 1, 2}.
pub fn check_labels(label: ArrayView3<u8>, what: &str) -> Result<()> {
    if let Some(((ti, hi, wi), v)) = label.indexed_iter().find(|(_, v)| **v > crate::MYO) {
        return Err(Error::invalid(
            what,
            format!(
                "label {v} at frame {ti}, row {hi}, column {wi} is outside 0-2 \
                 (0 background, 1 LV cavity, 2 myocardium); remap the label file"
            ),
        ));
    }
    Ok(())
}

/// Applies `norm` to a finite sequence (call [`check_finite`] first).
pub fn normalise(image: &Array3<f32>, norm: IntensityNorm, what: &str) -> Result<Array3<f32>> {
    let max = image.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    match norm {
        IntensityNorm::None => Ok(image.clone()),
        IntensityNorm::Max => {
            if max <= 0.0 {
                return Err(Error::invalid(
                    what,
                    format!(
                        "maximum intensity is {max}: a sequence with no positive intensity cannot be \
                         divided by its maximum; check the file, or use intensity normalisation `none`"
                    ),
                ));
            }
            Ok(image.mapv(|v| v / max))
        }
        // method.md 1.1: `if int(img.max()) > 1: img /= 255`.
        IntensityNorm::Div255IfAboveOne => {
            if max.trunc() > 1.0 {
                Ok(image.mapv(|v| v / 255.0))
            } else {
                Ok(image.clone())
            }
        }
    }
}

pub(crate) fn dims((t, h, w): (usize, usize, usize)) -> [usize; 3] {
    [t, h, w]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn max_normalisation_divides_by_the_sequence_maximum() {
        let mut img = Array3::<f32>::zeros((2, 2, 2));
        img[[1, 1, 1]] = 4.0;
        img[[0, 0, 0]] = 2.0;
        let out = normalise(&img, IntensityNorm::Max, "img").expect("positive max");
        assert_eq!(out[[1, 1, 1]], 1.0);
        assert_eq!(out[[0, 0, 0]], 0.5);
    }

    #[test]
    fn div255_rule_only_applies_above_one() {
        let img = Array3::<f32>::from_elem((1, 2, 2), 1.5);
        let out = normalise(&img, IntensityNorm::Div255IfAboveOne, "img").expect("finite");
        assert_eq!(out, img, "int(1.5) = 1 is not > 1");
        let img = Array3::<f32>::from_elem((1, 2, 2), 255.0);
        let out = normalise(&img, IntensityNorm::Div255IfAboveOne, "img").expect("finite");
        assert!(out.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn non_finite_and_empty_and_zero_max_are_reported() {
        let mut img = Array3::<f32>::zeros((2, 3, 3));
        img[[1, 2, 0]] = f32::NAN;
        let err = check_finite(img.view(), "case7")
            .expect_err("NaN")
            .to_string();
        assert!(
            err.contains("case7") && err.contains("frame 1, row 2, column 0"),
            "{err}"
        );
        let err = check_finite(Array3::<f32>::zeros((0, 3, 3)).view(), "e").expect_err("empty");
        assert!(err.to_string().contains("empty"));
        let err = normalise(&Array3::zeros((1, 2, 2)), IntensityNorm::Max, "z").expect_err("zero");
        assert!(err.to_string().contains("no positive intensity"));
    }

    #[test]
    fn labels_outside_range_are_reported() {
        let mut lab = Array3::<u8>::zeros((1, 2, 2));
        assert!(check_labels(lab.view(), "l").is_ok());
        lab[[0, 1, 1]] = 3;
        let err = check_labels(lab.view(), "l").expect_err("3").to_string();
        assert!(
            err.contains("label 3") && err.contains("outside 0-2"),
            "{err}"
        );
    }
}
