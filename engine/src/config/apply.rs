//! Layer 4 of composition and the checks after interpolation: applying one value override
//! (`key=v`, `+key=v`, `++key=v`, `~key[=v]`) to the tree with its provenance, the closedness
//! rule for group packages, the top-level key check, and the final provenance map that follows
//! interpolations back to the file a value was written in.

use std::collections::{BTreeMap, BTreeSet};

use toml::{Table, Value};

use super::error::{ConfigError, nearest};
use super::interp::Redirect;
use super::overrides::{Override, OverrideValue};
use super::provenance::{Provenance, Source};
use super::tree::{self, all_paths, join, leaf_paths, record};
use super::value::{render_value, render_value_bare, type_name};

/// Top-level keys a pipeline may hold besides its group packages.
pub const TOP_LEVEL: [&str; 6] = ["defaults", "aliases", "seed", "runtime", "nodes", "repeat"];

enum Probe<'t> {
    Exists(&'t Value),
    Missing,
    /// `parent` exists but is not a table.
    Blocked {
        parent: String,
        value: &'t Value,
    },
}

fn probe<'t>(tree: &'t Table, key: &str) -> Probe<'t> {
    let segs: Vec<&str> = key.split('.').collect();
    let mut cur = tree;
    let mut walked = String::new();
    for (i, seg) in segs.iter().enumerate() {
        walked = join(&walked, seg);
        match cur.get(*seg) {
            None => return Probe::Missing,
            Some(v) if i + 1 == segs.len() => return Probe::Exists(v),
            Some(Value::Table(t)) => cur = t,
            Some(value) => {
                return Probe::Blocked {
                    parent: walked,
                    value,
                };
            }
        }
    }
    Probe::Missing
}

/// Apply one (alias-expanded, non-sweep) value override; `text` is what the user typed.
pub fn apply_override(
    tree: &mut Table,
    prov: &mut Provenance,
    o: &Override,
    text: &str,
) -> Result<(), ConfigError> {
    let source = Source::CommandLine(text.to_string());
    let origin = source.to_string();
    let key = o.key();
    let value = match o {
        Override::Set {
            value: OverrideValue::Value(v),
            ..
        }
        | Override::Add {
            value: OverrideValue::Value(v),
            ..
        }
        | Override::AddOrSet {
            value: OverrideValue::Value(v),
            ..
        } => Some(v.clone()),
        Override::Delete { .. } => None,
        _ => {
            return Err(ConfigError::Malformed {
                text: text.into(),
                reason: "a sweep cannot be applied here".into(),
            });
        }
    };
    let shown = value.as_ref().map(render_value_bare).unwrap_or_default();
    let blocked = |parent: String, v: &Value| ConfigError::NotATable {
        key: key.to_string(),
        origin: origin.clone(),
        what: type_name(v).to_string(),
        hint: interpolation_hint(&parent, v, key),
        parent,
    };
    match (o, probe(tree, key)) {
        (Override::Set { .. }, Probe::Missing) => {
            let mut paths = Vec::new();
            all_paths(tree, "", &mut paths);
            return Err(ConfigError::UnknownKey {
                key: key.to_string(),
                origin,
                value: shown,
                suggestion: nearest(key, paths.iter().map(String::as_str)),
                hint: None,
            });
        }
        (Override::Add { .. }, Probe::Exists(_)) => {
            return Err(ConfigError::KeyExists {
                key: key.to_string(),
                text: text.to_string(),
                value: shown,
                existing: prov.origin(key),
            });
        }
        (Override::Delete { .. }, Probe::Missing | Probe::Blocked { .. }) => {
            let mut paths = Vec::new();
            all_paths(tree, "", &mut paths);
            return Err(ConfigError::DeleteMissing {
                key: key.to_string(),
                origin,
                suggestion: nearest(key, paths.iter().map(String::as_str)),
            });
        }
        (
            Override::Delete {
                value: Some(expected),
                ..
            },
            Probe::Exists(actual),
        ) if actual != expected => {
            return Err(ConfigError::DeleteMismatch {
                key: key.to_string(),
                origin,
                actual: render_value(actual),
                expected: render_value(expected),
            });
        }
        (_, Probe::Blocked { parent, value }) => return Err(blocked(parent, value)),
        _ => {}
    }
    prov.remove_subtree(key);
    match value {
        Some(v) => {
            record(key, &v, &source, prov);
            tree::place(tree, key, v);
            // Tables created on the way by `+a.b.c=v` come from this override too.
            let mut p = key;
            while let Some((parent, _)) = p.rsplit_once('.') {
                if prov.get(parent).is_none() {
                    prov.set(parent, source.clone());
                }
                p = parent;
            }
        }
        None => {
            remove(tree, key);
        }
    }
    Ok(())
}

fn remove(tree: &mut Table, key: &str) -> Option<Value> {
    match key.split_once('.') {
        None => tree.remove(key),
        Some((head, rest)) => match tree.get_mut(head) {
            Some(Value::Table(t)) => remove(t, rest),
            _ => None,
        },
    }
}

/// `nodes.source.path=x` when `nodes.source = "${source}"`: point at `source.path`.
fn interpolation_hint(parent: &str, v: &Value, key: &str) -> Option<String> {
    let target = v.as_str()?.strip_prefix("${")?.strip_suffix('}')?;
    if !super::value::is_dotted_key(target) {
        return None;
    }
    let rest = key.strip_prefix(parent)?.strip_prefix('.')?;
    Some(format!(
        "'{parent}' is the interpolation \"${{{target}}}\", so set {target}.{rest} instead"
    ))
}

/// Unknown top-level keys and group-package leaves no interpolation read (the closedness rule).
/// `raw` is the tree before interpolation, `packages` the top-level keys of group packages.
pub fn check_closed(
    raw: &Table,
    resolved: &Table,
    packages: &BTreeSet<String>,
    reads: &BTreeSet<String>,
    prov: &Provenance,
) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let allowed: Vec<String> = TOP_LEVEL
        .iter()
        .map(|s| s.to_string())
        .chain(packages.iter().cloned())
        .collect();
    for key in resolved.keys() {
        if !allowed.contains(key) {
            errors.push(ConfigError::UnknownField {
                key: key.clone(),
                origin: prov.origin(key),
                suggestion: nearest(key, allowed.iter().map(String::as_str)),
                allowed: allowed.clone(),
            });
        }
    }
    let is_read = |leaf: &str| {
        let mut p = leaf;
        loop {
            if reads.contains(p) {
                return true;
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
        let below = format!("{leaf}.");
        reads
            .range(below.clone()..)
            .next()
            .is_some_and(|r| r.starts_with(&below))
    };
    for package in packages {
        let mut leaves = Vec::new();
        match raw.get(package) {
            Some(Value::Table(t)) if !t.is_empty() => leaf_paths(t, package, &mut leaves),
            Some(_) => leaves.push(package.clone()),
            None => {}
        }
        let (used, unused): (Vec<String>, Vec<String>) =
            leaves.into_iter().partition(|l| is_read(l));
        for leaf in unused {
            errors.push(ConfigError::Unused {
                origin: prov.origin(&leaf),
                suggestion: nearest(&leaf, used.iter().map(String::as_str)),
                key: leaf,
            });
        }
    }
    errors
}

/// Source of every path of `tree`, following interpolations back to where values were written.
pub fn final_provenance(
    tree: &Table,
    raw: &Provenance,
    redirects: &BTreeMap<String, Redirect>,
) -> Provenance {
    let mut paths = Vec::new();
    all_paths(tree, "", &mut paths);
    let mut out = Provenance::new();
    for path in paths {
        if let Some(source) = follow(&path, raw, redirects) {
            out.set(path, source);
        }
    }
    out
}

fn follow(path: &str, raw: &Provenance, redirects: &BTreeMap<String, Redirect>) -> Option<Source> {
    let mut p = path.to_string();
    // Each hop moves to a distinct interpolation target; cycles were rejected during resolution.
    for _ in 0..=redirects.len() {
        let hop = prefixes(&p).find_map(|pre| redirects.get(pre).map(|r| (pre.len(), r)));
        match hop {
            Some((n, Redirect::Path(target))) => p = format!("{target}{}", &p[n..]),
            Some((_, Redirect::Env(var))) => return Some(Source::Env(var.clone())),
            None => return raw.source_of(&p).cloned(),
        }
    }
    raw.source_of(&p).cloned()
}

/// `a.b.c`, `a.b`, `a`: longest first.
fn prefixes(p: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(p), |q| q.rfind('.').map(|i| &q[..i]))
}
