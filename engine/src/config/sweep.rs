//! Sweep expansion for `-m/--multirun`: each sweep override (`a=1,2`, `choice(..)`, `range(..)`,
//! `group=glob(..)`) becomes a list of plain overrides, combined as a Cartesian product (Hydra's
//! basic sweeper: the first override varies slowest) or zipped (equal lengths, element-wise).
//! Also Hydra's `override_dirname` for job directories.

use super::compose::parse_toml;
use super::defaults::Defaults;
use super::error::{ConfigError, ConfigErrors};
use super::overrides::{Num, Override, Sweep, parse_override};
use super::sources::ConfigSources;
use super::value::{render_float, split_top_level};

/// How several sweeps combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SweepMode {
    /// Every combination (Hydra's default).
    #[default]
    Product,
    /// The i-th value of every sweep together; all sweeps must have the same length.
    Zip,
}

/// More jobs than this is almost certainly a mistake.
pub const MAX_JOBS: usize = 10_000;

/// Expand sweep overrides into jobs; each job is a list of plain override strings (in the
/// order given, alias keys kept as written). Without any sweep there is one job.
pub fn expand_sweep(
    sources: &ConfigSources,
    pipeline: &str,
    overrides: &[String],
    mode: SweepMode,
) -> Result<Vec<Vec<String>>, ConfigErrors> {
    let (file, _) = sources.pipeline_file(pipeline)?;
    let mut errors = Vec::new();
    let mut ptable = parse_toml(&file)?;
    let defaults = Defaults::from_pipeline(ptable.remove("defaults"), &file.display, &mut errors);
    let mut slots: Vec<Slot> = Vec::new();
    for text in overrides {
        match parse_override(text) {
            Err(e) => errors.push(e),
            Ok(o) => match o.sweep() {
                None => slots.push(Slot {
                    key: o.key().into(),
                    text: text.clone(),
                    values: vec![text.clone()],
                    swept: false,
                }),
                Some(sweep) => match expand_one(&o, sweep, text, sources, &defaults) {
                    Ok(values) => slots.push(Slot {
                        key: o.key().into(),
                        text: text.clone(),
                        values,
                        swept: true,
                    }),
                    Err(e) => errors.push(e),
                },
            },
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    match mode {
        SweepMode::Product => product(&slots),
        SweepMode::Zip => zip(&slots),
    }
    .map_err(ConfigErrors::from)
}

/// One override of the command line and the plain overrides it expands to.
struct Slot {
    key: String,
    text: String,
    values: Vec<String>,
    swept: bool,
}

fn product(slots: &[Slot]) -> Result<Vec<Vec<String>>, ConfigError> {
    let total = slots.iter().try_fold(1usize, |n, s| {
        n.checked_mul(s.values.len()).filter(|&n| n <= MAX_JOBS)
    });
    if total.is_none() {
        return Err(too_many(slots));
    }
    let mut jobs: Vec<Vec<String>> = vec![Vec::new()];
    for Slot { values, .. } in slots {
        jobs = jobs
            .into_iter()
            .flat_map(|job| {
                values.iter().map(move |v| {
                    let mut j = job.clone();
                    j.push(v.clone());
                    j
                })
            })
            .collect();
    }
    Ok(jobs)
}

fn zip(slots: &[Slot]) -> Result<Vec<Vec<String>>, ConfigError> {
    let swept: Vec<(String, usize)> = slots
        .iter()
        .filter(|s| s.swept)
        .map(|s| (s.key.clone(), s.values.len()))
        .collect();
    let n = swept.first().map_or(1, |s| s.1);
    if swept.iter().any(|s| s.1 != n) {
        return Err(ConfigError::ZipLength { lengths: swept });
    }
    Ok((0..n)
        .map(|i| {
            slots
                .iter()
                .map(|s| s.values[if s.swept { i } else { 0 }].clone())
                .collect()
        })
        .collect())
}

fn too_many(slots: &[Slot]) -> ConfigError {
    ConfigError::BadSweep {
        text: slots
            .iter()
            .filter(|s| s.swept)
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        reason: format!("it expands to more than {MAX_JOBS} jobs; sweep fewer values or use --zip"),
    }
}

fn expand_one(
    o: &Override,
    sweep: &Sweep,
    text: &str,
    sources: &ConfigSources,
    defaults: &Defaults,
) -> Result<Vec<String>, ConfigError> {
    let bad = |reason: String| ConfigError::BadSweep {
        text: text.to_string(),
        reason,
    };
    let head = format!("{}{}=", o.prefix(), o.key());
    let raw = text.split_once('=').map_or("", |(_, v)| v);
    let items: Vec<String> = match sweep {
        Sweep::List(_) => split_top_level(raw)
            .unwrap_or_default()
            .into_iter()
            .map(str::to_string)
            .collect(),
        Sweep::Choice(_) => {
            let inner = raw
                .strip_prefix("choice(")
                .and_then(|r| r.strip_suffix(')'))
                .unwrap_or(raw);
            split_top_level(inner)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_string())
                .collect()
        }
        Sweep::Range { start, stop, step } => range_values(*start, *stop, *step).map_err(bad)?,
        Sweep::Glob { include, exclude } => {
            let group = o.key().split('@').next().unwrap_or_default();
            let groups = sources.groups();
            let is_group =
                defaults.entries.iter().any(|e| e.group == group) || groups.contains_key(group);
            if !is_group || o.key().contains('.') {
                return Err(bad(format!(
                    "glob() selects options of a config group and '{}' is not one; groups: {}",
                    o.key(),
                    groups.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            let options = groups.get(group).cloned().unwrap_or_default();
            let picked: Vec<String> = options
                .iter()
                .filter(|opt| {
                    include.iter().any(|p| glob_match(p, opt))
                        && !exclude.iter().any(|p| glob_match(p, opt))
                })
                .cloned()
                .collect();
            if picked.is_empty() {
                return Err(bad(format!(
                    "it matches no option of group '{group}'; options: {}",
                    options.join(", ")
                )));
            }
            picked
        }
    };
    Ok(items.into_iter().map(|v| format!("{head}{v}")).collect())
}

/// Hydra's `range`: stop excluded; integers stay integers. Float steps are computed as
/// `start + i * step` and rounded to 13 significant digits so `range(0,1,0.1)` shows `0.3`.
pub(super) fn range_values(start: Num, stop: Num, step: Num) -> Result<Vec<String>, String> {
    let values: Vec<String> = match (start, stop, step) {
        (Num::Int(a), Num::Int(b), Num::Int(s)) => {
            let (a, b, s) = (i128::from(a), i128::from(b), i128::from(s));
            let n = if s > 0 {
                (b - a + s - 1).div_euclid(s)
            } else {
                (a - b - s - 1).div_euclid(-s)
            };
            if n > MAX_JOBS as i128 {
                return Err(format!("it has more than {MAX_JOBS} values"));
            }
            (0..n.max(0)).map(|i| (a + i * s).to_string()).collect()
        }
        _ => {
            let (a, b, s) = (start.as_f64(), stop.as_f64(), step.as_f64());
            let n = ((b - a) / s).ceil();
            if !n.is_finite() || n > MAX_JOBS as f64 {
                return Err(format!("it has more than {MAX_JOBS} values"));
            }
            let n = if n > 0.0 { n as usize } else { 0 };
            (0..n)
                .map(|i| {
                    let x = a + i as f64 * s;
                    let rounded: f64 = format!("{x:.12e}").parse().unwrap_or(x);
                    render_float(rounded)
                })
                .collect()
        }
    };
    if values.is_empty() {
        return Err(
            "the range is empty: with a positive step, stop must be above start (stop is excluded)"
                .into(),
        );
    }
    Ok(values)
}

/// Shell-style `*` and `?` matching of a whole option name.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Hydra's `override_dirname`: the job's overrides sorted and joined by `,`, made safe for a
/// file name (other characters become `_`; names over 200 bytes are cut and end in a hash).
pub fn override_dirname(job_overrides: &[String]) -> String {
    let mut sorted: Vec<&str> = job_overrides.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let joined = sorted.join(",");
    let safe: String = joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=,+~@-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.len() <= 200 {
        return safe;
    }
    let hash = blake3::hash(joined.as_bytes()).to_hex();
    format!("{}_{}", &safe[..180], &hash[..16])
}

/// Whether any override is a sweep (parse errors count as "no": compose reports them).
pub fn has_sweep(overrides: &[String]) -> bool {
    overrides
        .iter()
        .any(|t| parse_override(t).is_ok_and(|o| o.sweep().is_some()))
}

#[cfg(test)]
#[path = "sweep_tests.rs"]
mod tests;
