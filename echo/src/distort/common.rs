//! Helpers shared by the distortions: which structure a distortion acts on, one setting or a
//! list to draw from ([`Choice`]), magnitude ranges, random frame selection, nearest-label
//! refill, and smooth random displacement fields.

use std::collections::VecDeque;

use ndarray::{Array2, Array3, ArrayView2};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{BG, Error, LV, MYO, Result};

/// A setting written as one value (`structure = "lv"`) or as a list (`structure = ["lv", "epi"]`)
/// from which each distorted sequence draws one value uniformly. One value draws nothing from
/// the RNG, so a config that names one value gives the same samples as before lists existed.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Choice<T> {
    One(T),
    AnyOf(Vec<T>),
}

impl<T: Copy> Choice<T> {
    /// The value of this sequence; `None` for an empty list (which [`Choice::validate`] rejects).
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<T> {
        match self {
            Choice::One(v) => Some(*v),
            Choice::AnyOf(list) if list.len() <= 1 => list.first().copied(),
            Choice::AnyOf(list) => Some(list[rng.random_range(0..list.len())]),
        }
    }

    /// An empty list is an error naming the setting.
    pub fn validate(&self, name: &str) -> Result<()> {
        match self {
            Choice::AnyOf(list) if list.is_empty() => Err(Error::invalid(
                format!("distort.{name}"),
                "is an empty list; give one value or a list of at least one",
            )),
            _ => Ok(()),
        }
    }

    /// [`Choice::pick`] for a validated choice.
    pub(crate) fn draw<R: Rng + ?Sized>(&self, rng: &mut R, name: &str) -> Result<T> {
        self.validate(name)?;
        Ok(self.pick(rng).expect("validated: not empty"))
    }
}

/// Deserialises a string as one value and a sequence as a list, keeping the value type's own
/// error ("unknown variant `x`, expected one of ...") instead of serde's untagged "did not match
/// any variant".
impl<'de, T: DeserializeOwned> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ChoiceVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for ChoiceVisitor<T> {
            type Value = Choice<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("one value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Choice<T>, E> {
                let one: de::value::StrDeserializer<E> = v.into_deserializer();
                T::deserialize(one).map(Choice::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Choice<T>, A::Error> {
                let mut list = Vec::new();
                while let Some(v) = seq.next_element::<T>()? {
                    list.push(v);
                }
                if list.is_empty() {
                    return Err(de::Error::invalid_length(
                        0,
                        &"a list of at least one value",
                    ));
                }
                Ok(Choice::AnyOf(list))
            }
        }
        deserializer.deserialize_any(ChoiceVisitor(std::marker::PhantomData))
    }
}

/// The structure a distortion acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Structure {
    /// LV cavity (label 1).
    Lv,
    /// Myocardium (label 2).
    Myo,
    /// Epicardium = LV ∪ MYO.
    Epi,
}

impl Structure {
    pub fn contains(self, label: u8) -> bool {
        match self {
            Structure::Lv => label == LV,
            Structure::Myo => label == MYO,
            Structure::Epi => label == LV || label == MYO,
        }
    }

    pub fn mask(self, frame: ArrayView2<u8>) -> Array2<bool> {
        frame.mapv(|v| self.contains(v))
    }

    /// Label written where the structure grows (epicardium grows as myocardium).
    pub fn grow_label(self) -> u8 {
        match self {
            Structure::Lv => LV,
            Structure::Myo | Structure::Epi => MYO,
        }
    }

    /// "The other class": LV <-> MYO; the epicardium's other class is background.
    pub fn other_label(self) -> u8 {
        match self {
            Structure::Lv => MYO,
            Structure::Myo => LV,
            Structure::Epi => BG,
        }
    }
}

pub(crate) fn check_range<T: PartialOrd + Copy + std::fmt::Display>(
    range: [T; 2],
    name: &str,
) -> Result<()> {
    if range[0]
        .partial_cmp(&range[1])
        .is_none_or(|o| o == std::cmp::Ordering::Greater)
    {
        return Err(Error::invalid(
            format!("distort.{name}"),
            format!(
                "range [{}, {}] has min > max (or NaN); write it as [min, max]",
                range[0], range[1]
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_probability(p: f64, name: &str) -> Result<()> {
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::invalid(
            format!("distort.{name}"),
            format!("{p} is not a probability in [0, 1]"),
        ));
    }
    Ok(())
}

pub(crate) fn uniform_f32<R: Rng + ?Sized>(rng: &mut R, range: [f32; 2]) -> f32 {
    range[0] + (range[1] - range[0]) * rng.random::<f32>()
}

pub(crate) fn uniform_usize<R: Rng + ?Sized>(rng: &mut R, range: [usize; 2]) -> usize {
    if range[1] <= range[0] {
        range[0]
    } else {
        rng.random_range(range[0]..=range[1])
    }
}

/// Each frame is chosen with probability `p`; if none was, one frame is chosen at random, so a
/// distortion always touches at least one frame.
pub(crate) fn pick_frames<R: Rng + ?Sized>(t: usize, p: f64, rng: &mut R) -> Vec<usize> {
    let mut frames: Vec<usize> = (0..t).filter(|_| rng.random::<f64>() < p).collect();
    if frames.is_empty() && t > 0 {
        frames.push(rng.random_range(0..t));
    }
    frames
}

/// Gives every pixel of `region` the label of its nearest pixel outside `region` (breadth-first
/// over 8-neighbours, i.e. chessboard distance; ties resolved in scan order). Background when
/// there is no pixel outside the region.
pub(crate) fn refill_from_outside(frame: &mut Array2<u8>, region: &Array2<bool>) {
    let (h, w) = frame.dim();
    let mut done = region.mapv(|r| !r);
    let mut queue: VecDeque<(usize, usize)> = done
        .indexed_iter()
        .filter(|(_, d)| **d)
        .map(|(p, _)| p)
        .collect();
    while let Some((r, c)) = queue.pop_front() {
        let label = frame[[r, c]];
        for dr in -1isize..=1 {
            for dc in -1isize..=1 {
                let (nr, nc) = (r as isize + dr, c as isize + dc);
                if nr < 0 || nc < 0 || nr >= h as isize || nc >= w as isize {
                    continue;
                }
                let (nr, nc) = (nr as usize, nc as usize);
                if !done[[nr, nc]] {
                    done[[nr, nc]] = true;
                    frame[[nr, nc]] = label;
                    queue.push_back((nr, nc));
                }
            }
        }
    }
    frame.zip_mut_with(&done, |v, d| {
        if !d {
            *v = BG;
        }
    });
}

/// A smooth random displacement field `(dy, dx)` per pixel: Gaussian values on a coarse
/// `grid × grid` lattice, bilinearly interpolated, scaled so that the largest displacement has
/// length `amplitude` pixels.
pub fn displacement_field<R: Rng + ?Sized>(
    h: usize,
    w: usize,
    grid: usize,
    amplitude: f32,
    rng: &mut R,
) -> (Array2<f32>, Array2<f32>) {
    let g = grid.max(2);
    let coarse_y = Array2::<f32>::from_shape_fn((g, g), |_| rng.sample(StandardNormal));
    let coarse_x = Array2::<f32>::from_shape_fn((g, g), |_| rng.sample(StandardNormal));
    let up = |coarse: &Array2<f32>| {
        Array2::from_shape_fn((h, w), |(r, c)| {
            let y = if h > 1 {
                r as f32 / (h - 1) as f32 * (g - 1) as f32
            } else {
                0.0
            };
            let x = if w > 1 {
                c as f32 / (w - 1) as f32 * (g - 1) as f32
            } else {
                0.0
            };
            let (y0, x0) = (
                (y.floor() as usize).min(g - 2),
                (x.floor() as usize).min(g - 2),
            );
            let (fy, fx) = (y - y0 as f32, x - x0 as f32);
            coarse[[y0, x0]] * (1.0 - fy) * (1.0 - fx)
                + coarse[[y0, x0 + 1]] * (1.0 - fy) * fx
                + coarse[[y0 + 1, x0]] * fy * (1.0 - fx)
                + coarse[[y0 + 1, x0 + 1]] * fy * fx
        })
    };
    let (mut dy, mut dx) = (up(&coarse_y), up(&coarse_x));
    let max = dy
        .iter()
        .zip(dx.iter())
        .map(|(a, b)| (a * a + b * b).sqrt())
        .fold(0.0f32, f32::max);
    if max > 0.0 {
        let k = amplitude / max;
        dy.mapv_inplace(|v| v * k);
        dx.mapv_inplace(|v| v * k);
    }
    (dy, dx)
}

/// Backward warp of a mask: `out(p) = mask(round(p + d(p)))`, false outside the frame.
pub(crate) fn warp_mask(mask: &Array2<bool>, dy: &Array2<f32>, dx: &Array2<f32>) -> Array2<bool> {
    let (h, w) = mask.dim();
    Array2::from_shape_fn((h, w), |(r, c)| {
        let sr = (r as f32 + dy[[r, c]]).round();
        let sc = (c as f32 + dx[[r, c]]).round();
        sr >= 0.0
            && sc >= 0.0
            && (sr as usize) < h
            && (sc as usize) < w
            && mask[[sr as usize, sc as usize]]
    })
}

/// Pixels within `radius` of `(cy, cx)`.
pub(crate) fn disc(h: usize, w: usize, cy: f32, cx: f32, radius: f32) -> Array2<bool> {
    Array2::from_shape_fn((h, w), |(r, c)| {
        let (dy, dx) = (r as f32 - cy, c as f32 - cx);
        dy * dy + dx * dx <= radius * radius
    })
}

/// Picks a pixel uniformly among those where `ok` is true.
pub(crate) fn pick_pixel<R: Rng + ?Sized>(
    ok: &Array2<bool>,
    rng: &mut R,
) -> Option<(usize, usize)> {
    let n = ok.iter().filter(|&&v| v).count();
    if n == 0 {
        return None;
    }
    let k = rng.random_range(0..n);
    ok.indexed_iter()
        .filter(|(_, v)| **v)
        .nth(k)
        .map(|(p, _)| p)
}

pub(crate) fn frame_count(labels: &Array3<u8>) -> usize {
    labels.dim().0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn refill_takes_the_nearest_outside_label() {
        let mut f = Array2::from_shape_fn((1, 7), |(_, c)| {
            if c < 2 {
                2
            } else if c < 5 {
                1
            } else {
                0
            }
        });
        let region = Array2::from_shape_fn((1, 7), |(_, c)| (2..5).contains(&c));
        refill_from_outside(&mut f, &region);
        assert_eq!(
            f.row(0).to_vec(),
            vec![2, 2, 2, 2, 0, 0, 0],
            "col 3 ties; scan order gives the left neighbour"
        );
        let mut all = Array2::<u8>::from_elem((2, 2), 1);
        refill_from_outside(&mut all, &Array2::from_elem((2, 2), true));
        assert!(all.iter().all(|&v| v == BG));
    }

    #[test]
    fn displacement_field_has_the_requested_maximum_and_is_smooth() {
        let (dy, dx) = displacement_field(20, 30, 4, 3.0, &mut ChaCha8Rng::seed_from_u64(2));
        let max = dy
            .iter()
            .zip(dx.iter())
            .map(|(a, b)| (a * a + b * b).sqrt())
            .fold(0.0f32, f32::max);
        assert!((max - 3.0).abs() < 1e-4);
        let step = dy
            .windows((1, 2))
            .into_iter()
            .map(|w| (w[[0, 1]] - w[[0, 0]]).abs())
            .fold(0.0f32, f32::max);
        assert!(step < 1.0, "neighbouring displacements differ by {step}");
    }

    #[test]
    fn at_least_one_frame_is_picked() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for _ in 0..20 {
            assert!(!pick_frames(5, 0.0, &mut rng).is_empty());
        }
        assert_eq!(pick_frames(5, 1.0, &mut rng), vec![0, 1, 2, 3, 4]);
    }
}
