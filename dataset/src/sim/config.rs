//! The simulator's user-facing configuration: `SimConfig` (what to make: how many cases, frame
//! counts, raster size, views) around a `SimDomain` (how the images look), the `Interval` type
//! in which every domain parameter is written (`[lo, hi]`, drawn uniformly per case), the closed
//! sets `View` and `PixelAspect`, and `SimConfig::validate`, which reports every problem at once.

use std::borrow::Cow;

use rand::Rng;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::SimError;
use super::domain::SimDomain;

/// A closed range `[lo, hi]` of a real parameter; each case draws one value uniformly from it.
/// Write a fixed value as `[v, v]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "[f64; 2]", into = "[f64; 2]")]
pub struct Interval {
    lo: f64,
    hi: f64,
}

impl Interval {
    /// Builds `[lo, hi]`; fails when a bound is not finite or `lo > hi`.
    pub fn new(lo: f64, hi: f64) -> Result<Self, String> {
        if !lo.is_finite() || !hi.is_finite() {
            return Err(format!(
                "interval [{lo}, {hi}] has a bound that is not a finite number; write two numbers [lo, hi]"
            ));
        }
        if lo > hi {
            return Err(format!(
                "interval [{lo}, {hi}] has lo > hi; write it as [{hi}, {lo}]"
            ));
        }
        Ok(Interval { lo, hi })
    }

    /// Built-in defaults only (no check; a test round-trips every default through `new`).
    pub(crate) const fn from_const(lo: f64, hi: f64) -> Self {
        Interval { lo, hi }
    }

    /// A degenerate interval `[v, v]` (always drawn as `v`).
    pub fn fixed(v: f64) -> Result<Self, String> {
        Self::new(v, v)
    }

    /// Lower bound.
    pub fn lo(&self) -> f64 {
        self.lo
    }

    /// Upper bound.
    pub fn hi(&self) -> f64 {
        self.hi
    }

    /// Middle of the interval.
    pub fn mid(&self) -> f64 {
        0.5 * (self.lo + self.hi)
    }

    /// One uniform draw. Always consumes exactly one value from `rng`, so the streams of the
    /// other parameters do not depend on whether this interval is degenerate.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = rng.random();
        self.lo + u * (self.hi - self.lo)
    }

    /// Appends a problem when the interval leaves the hard limits `[min, max]` of `key`.
    pub(crate) fn check_within(&self, key: &str, min: f64, max: f64, problems: &mut Vec<String>) {
        if self.lo < min || self.hi > max {
            problems.push(format!(
                "`{key}` = [{}, {}] leaves the range the simulator supports, [{min}, {max}]; choose values inside it",
                self.lo, self.hi
            ));
        }
    }
}

impl TryFrom<[f64; 2]> for Interval {
    type Error = String;
    fn try_from([lo, hi]: [f64; 2]) -> Result<Self, String> {
        Interval::new(lo, hi)
    }
}

impl From<Interval> for [f64; 2] {
    fn from(i: Interval) -> Self {
        [i.lo, i.hi]
    }
}

impl JsonSchema for Interval {
    fn schema_name() -> Cow<'static, str> {
        "Interval".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A range [lo, hi] with lo <= hi; each case draws one value uniformly from it. Write a fixed value as [v, v].",
            "type": "array",
            "items": { "type": "number" },
            "minItems": 2,
            "maxItems": 2
        })
    }
}

/// Apical view of a simulated sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Apical 2-chamber: LV with the LA below it, no right heart.
    A2c,
    /// Apical 4-chamber: LV on the image right, RV beside it on the left, both atria below.
    A4c,
}

impl View {
    /// The name stored in `Case::view` (`a2c` / `a4c`).
    pub fn as_str(&self) -> &'static str {
        match self {
            View::A2c => "a2c",
            View::A4c => "a4c",
        }
    }
}

/// How the lateral pixel spacing `dx` is chosen; the depth spacing is always `depth / height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PixelAspect {
    /// Square pixels (`dx = dy`): the image spans `width * dy` mm laterally, centred on the
    /// probe; the lower corners of a wide fan may be cut, as on many scan-converted exports.
    Square,
    /// `dx` chosen so that the whole fan fits the image width (`dx = 2 depth sin(sector/2) / width`).
    FitSector,
}

/// The data-source table of the `simulate` node kind: which cases to make and how they look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Domain name: case ids are `<name>_<index:04>` and every case's `domain` is this name.
    pub name: String,
    /// Number of sequences to make.
    pub cases: usize,
    /// Frame count range `[lo, hi]` (inclusive), drawn per case; real clips have 20-60 frames.
    pub frames: [usize; 2],
    /// Image height in pixels (depth rows; the probe is at the top).
    pub height: usize,
    /// Image width in pixels (lateral columns).
    pub width: usize,
    /// Views to make; case `i` gets `views[i % views.len()]`.
    pub views: Vec<View>,
    /// How the lateral pixel spacing is chosen.
    pub pixel_aspect: PixelAspect,
    /// Every anatomy, motion and image-formation parameter of the domain.
    pub domain: SimDomain,
}

impl Default for SimConfig {
    /// The `source` preset (`configs/data/source.toml`): good image quality, like CAMUS.
    fn default() -> Self {
        SimConfig {
            name: "source".to_string(),
            cases: 100,
            frames: [24, 40],
            height: 128,
            width: 128,
            views: vec![View::A2c, View::A4c],
            pixel_aspect: PixelAspect::Square,
            domain: SimDomain::default(),
        }
    }
}

/// Smallest raster edge the anatomy can be drawn on recognisably.
const MIN_EDGE: usize = 16;
/// Largest raster edge and frame count accepted (beyond this memory use explodes).
const MAX_EDGE: usize = 2048;
const MAX_FRAMES: usize = 1000;

impl SimConfig {
    /// Checks everything deserialisation cannot: sizes, frame range, views, the hard limits of
    /// every domain parameter and the geometric consistency of the heart with the fan. All
    /// problems are reported together, each naming the key and how to fix it.
    pub fn validate(&self) -> Result<(), SimError> {
        let mut problems = Vec::new();
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            problems.push(format!(
                "`name` = {:?} must be a non-empty identifier of letters, digits, `_` or `-` (it becomes part of case ids)",
                self.name
            ));
        }
        for (key, v) in [("height", self.height), ("width", self.width)] {
            if !(MIN_EDGE..=MAX_EDGE).contains(&v) {
                problems.push(format!(
                    "`{key}` = {v} must lie in [{MIN_EDGE}, {MAX_EDGE}] pixels"
                ));
            }
        }
        let [f0, f1] = self.frames;
        if f0 == 0 || f0 > f1 || f1 > MAX_FRAMES {
            problems.push(format!(
                "`frames` = [{f0}, {f1}] must be [lo, hi] with 1 <= lo <= hi <= {MAX_FRAMES} (real clips have 20-60 frames)"
            ));
        }
        if self.views.is_empty() {
            problems.push("`views` is empty; list at least one of \"a2c\", \"a4c\"".to_string());
        }
        self.domain.check(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SimError::Invalid { problems })
        }
    }

    /// The view of case `index`.
    pub fn view_of(&self, index: usize) -> View {
        match self.views.len() {
            0 => View::A4c,
            n => self.views[index % n],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_rejects_reversed_and_nan() {
        assert!(Interval::new(2.0, 1.0).is_err());
        assert!(Interval::new(f64::NAN, 1.0).is_err());
        assert!(Interval::new(1.0, f64::INFINITY).is_err());
        let i = Interval::new(1.0, 3.0).expect("valid interval");
        assert_eq!((i.lo(), i.hi(), i.mid()), (1.0, 3.0, 2.0));
    }

    #[test]
    fn interval_draws_stay_inside_and_consume_one_value() {
        use rand::SeedableRng;
        let i = Interval::new(-2.0, 5.0).expect("valid interval");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..1000 {
            let v = i.draw(&mut rng);
            assert!((-2.0..=5.0).contains(&v));
        }
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut b = a.clone();
        Interval::fixed(3.0).expect("valid").draw(&mut a);
        i.draw(&mut b);
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }

    #[test]
    fn interval_serde_is_a_pair_and_reports_reversal() {
        let i: Interval = serde_json::from_str("[0.5, 0.7]").expect("pair parses");
        assert_eq!(serde_json::to_string(&i).expect("serialises"), "[0.5,0.7]");
        let err = serde_json::from_str::<Interval>("[0.7, 0.5]").expect_err("reversed pair");
        assert!(err.to_string().contains("lo > hi"), "{err}");
    }

    #[test]
    fn default_is_valid_and_bad_sizes_are_all_reported() {
        SimConfig::default()
            .validate()
            .expect("default config is valid");
        let cfg = SimConfig {
            height: 4,
            frames: [10, 5],
            views: vec![],
            name: "a b".into(),
            ..SimConfig::default()
        };
        let SimError::Invalid { problems } = cfg.validate().expect_err("four problems");
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("`height`")));
        assert!(problems.iter().any(|p| p.contains("`frames`")));
        assert!(problems.iter().any(|p| p.contains("`views`")));
        assert!(problems.iter().any(|p| p.contains("`name`")));
    }

    #[test]
    fn views_cycle_by_index() {
        let cfg = SimConfig::default();
        assert_eq!(cfg.view_of(0), View::A2c);
        assert_eq!(cfg.view_of(3), View::A4c);
        assert_eq!(View::A4c.as_str(), "a4c");
    }

    #[test]
    fn json_schema_documents_every_field() {
        let schema =
            serde_json::to_value(schemars::schema_for!(SimConfig)).expect("schema serialises");
        let text = schema.to_string();
        for needle in [
            "Ejection fraction",
            "Sector opening angle",
            "\"a4c\"",
            "\"fit_sector\"",
            "minItems",
        ] {
            assert!(text.contains(needle), "schema lacks {needle}");
        }
        assert_eq!(
            schema["additionalProperties"],
            serde_json::json!(false),
            "closed config"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let mut v = serde_json::to_value(SimConfig::default()).expect("serialises");
        v["colour"] = serde_json::json!(1);
        let err = serde_json::from_value::<SimConfig>(v).expect_err("unknown key");
        assert!(err.to_string().contains("colour"), "{err}");
    }
}
