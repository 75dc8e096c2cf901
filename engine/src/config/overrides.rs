//! The command-line override grammar (Hydra's): `key=v`, `+key=v`, `++key=v`, `~key[=v]`,
//! `group=option`, `group@package=option`, and sweep values `a=1,2`, `range(..)`, `choice(..)`,
//! `glob(..)`. Parsing knows nothing of the config; whether `key` is a group is decided by
//! composition. [`Override::render`] gives text that parses back to the same override.

use std::fmt;

use toml::Value;

use super::error::ConfigError;
use super::value::{
    is_dotted_key, is_ident, parse_value, render_float, render_value, split_top_level,
};

/// One parsed override.
#[derive(Debug, Clone, PartialEq)]
pub enum Override {
    /// `key=value`: the key must exist (or name a config group).
    Set { key: String, value: OverrideValue },
    /// `+key=value`: the key must not exist yet.
    Add { key: String, value: OverrideValue },
    /// `++key=value`: add or set.
    AddOrSet { key: String, value: OverrideValue },
    /// `~key` or `~key=value` (delete only if the current value matches).
    Delete { key: String, value: Option<Value> },
}

/// The right-hand side of an override.
#[derive(Debug, Clone, PartialEq)]
pub enum OverrideValue {
    Value(Value),
    Sweep(Sweep),
}

/// A sweep over several values (legal only with `-m/--multirun`).
#[derive(Debug, Clone, PartialEq)]
pub enum Sweep {
    /// `a=1,2,3` (at least two elements).
    List(Vec<Value>),
    /// `choice(x,y)`.
    Choice(Vec<Value>),
    /// `range(start, stop[, step])`, stop exclusive (Hydra). `range(stop)` starts at 0.
    Range { start: Num, stop: Num, step: Num },
    /// `glob(include, exclude=...)` over a config group's options.
    Glob {
        include: Vec<String>,
        exclude: Vec<String>,
    },
}

/// A number in `range(...)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
    fn render(self) -> String {
        match self {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => render_float(f),
        }
    }
}

impl Override {
    /// The dotted key (or `group@package`).
    pub fn key(&self) -> &str {
        match self {
            Override::Set { key, .. }
            | Override::Add { key, .. }
            | Override::AddOrSet { key, .. }
            | Override::Delete { key, .. } => key,
        }
    }

    /// The same override on another key (alias expansion).
    pub fn with_key(&self, key: String) -> Override {
        match self.clone() {
            Override::Set { value, .. } => Override::Set { key, value },
            Override::Add { value, .. } => Override::Add { key, value },
            Override::AddOrSet { value, .. } => Override::AddOrSet { key, value },
            Override::Delete { value, .. } => Override::Delete { key, value },
        }
    }

    /// The value, when it is a sweep.
    pub fn sweep(&self) -> Option<&Sweep> {
        match self {
            Override::Set {
                value: OverrideValue::Sweep(s),
                ..
            }
            | Override::Add {
                value: OverrideValue::Sweep(s),
                ..
            }
            | Override::AddOrSet {
                value: OverrideValue::Sweep(s),
                ..
            } => Some(s),
            _ => None,
        }
    }

    /// `""`, `"+"`, `"++"` or `"~"`.
    pub fn prefix(&self) -> &'static str {
        match self {
            Override::Set { .. } => "",
            Override::Add { .. } => "+",
            Override::AddOrSet { .. } => "++",
            Override::Delete { .. } => "~",
        }
    }

    /// Text that [`parse_override`] reads back to `self`.
    pub fn render(&self) -> String {
        let rhs = match self {
            Override::Set { value, .. }
            | Override::Add { value, .. }
            | Override::AddOrSet { value, .. } => Some(render_override_value(value)),
            Override::Delete { value, .. } => value.as_ref().map(render_value),
        };
        match rhs {
            Some(v) => format!("{}{}={v}", self.prefix(), self.key()),
            None => format!("{}{}", self.prefix(), self.key()),
        }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

fn render_override_value(v: &OverrideValue) -> String {
    let list = |vs: &[Value]| vs.iter().map(render_value).collect::<Vec<_>>().join(",");
    let names = |vs: &[String]| match vs {
        [one] => one.clone(),
        _ => format!("[{}]", vs.join(",")),
    };
    match v {
        OverrideValue::Value(v) => render_value(v),
        OverrideValue::Sweep(Sweep::List(vs)) => list(vs),
        OverrideValue::Sweep(Sweep::Choice(vs)) => format!("choice({})", list(vs)),
        OverrideValue::Sweep(Sweep::Range { start, stop, step }) => {
            format!(
                "range({},{},{})",
                start.render(),
                stop.render(),
                step.render()
            )
        }
        OverrideValue::Sweep(Sweep::Glob { include, exclude }) if exclude.is_empty() => {
            format!("glob({})", names(include))
        }
        OverrideValue::Sweep(Sweep::Glob { include, exclude }) => {
            format!("glob({},exclude={})", names(include), names(exclude))
        }
    }
}

/// Parse one override. Errors are [`ConfigError::Malformed`] and say how to write it.
pub fn parse_override(s: &str) -> Result<Override, ConfigError> {
    let bad = |reason: String| ConfigError::Malformed {
        text: s.to_string(),
        reason,
    };
    let (prefix, rest) = if let Some(r) = s.strip_prefix("++") {
        ("++", r)
    } else if let Some(r) = s.strip_prefix('+') {
        ("+", r)
    } else if let Some(r) = s.strip_prefix('~') {
        ("~", r)
    } else {
        ("", s)
    };
    let (key, raw) = match rest.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (rest, None),
    };
    check_key(key).map_err(bad)?;
    if prefix == "~" {
        let value = raw.map(parse_value).transpose().map_err(bad)?;
        return Ok(Override::Delete {
            key: key.to_string(),
            value,
        });
    }
    let raw = raw.ok_or_else(|| {
        bad(format!(
            "missing '=': write {prefix}{key}=<value> (or ~{key} to delete the key)"
        ))
    })?;
    let value = parse_override_value(raw).map_err(bad)?;
    let key = key.to_string();
    Ok(match prefix {
        "+" => Override::Add { key, value },
        "++" => Override::AddOrSet { key, value },
        _ => Override::Set { key, value },
    })
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty; write key=value, +key=value, ++key=value or ~key".into());
    }
    let (path, package) = match key.split_once('@') {
        Some((g, p)) => (g, Some(p)),
        None => (key, None),
    };
    let shape = "keys are dotted names like nodes.predict.tta (letters, digits, '_', '-'; \
                 not starting with a digit), or group@package to switch a retargeted config group";
    if !is_dotted_key(path) {
        return Err(format!("'{key}' is not a valid key: {shape}"));
    }
    if let Some(p) = package
        && (!is_ident(path) || !is_dotted_key(p))
    {
        return Err(format!("'{key}' is not a valid group@package: {shape}"));
    }
    Ok(())
}

/// The value part of an override: a sweep function, a top-level comma list, or one value.
pub fn parse_override_value(raw: &str) -> Result<OverrideValue, String> {
    for (name, f) in [
        ("range(", parse_range as fn(&str) -> _),
        ("choice(", parse_choice),
        ("glob(", parse_glob),
    ] {
        if let Some(inner) = raw.strip_prefix(name) {
            let inner = inner
                .strip_suffix(')')
                .ok_or_else(|| format!("'{raw}' is missing its closing ')'"))?;
            return f(inner).map(OverrideValue::Sweep);
        }
    }
    match split_top_level(raw) {
        Some(parts) if parts.len() > 1 => {
            let values = parts
                .into_iter()
                .map(parse_value)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(OverrideValue::Sweep(Sweep::List(values)))
        }
        _ => parse_value(raw).map(OverrideValue::Value),
    }
}

/// Arguments of a sweep function: positional and `name=value`, split at top-level commas.
fn args(inner: &str) -> Result<Vec<(Option<&str>, &str)>, String> {
    let parts = split_top_level(inner)
        .ok_or_else(|| format!("unbalanced brackets or quotes in '({inner})'"))?;
    Ok(parts
        .into_iter()
        .map(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((n, v)) if is_ident(n.trim()) => (Some(n.trim()), v.trim()),
                _ => (None, p),
            }
        })
        .collect())
}

fn parse_range(inner: &str) -> Result<Sweep, String> {
    let usage =
        "write range(start, stop[, step]) with numbers, e.g. range(0,10,2) (stop is excluded)";
    let mut slots: [Option<Num>; 3] = [None; 3];
    let mut positional = 0;
    for (name, v) in args(inner)? {
        let idx = match name {
            None => {
                positional += 1;
                positional - 1
            }
            Some("start") => 0,
            Some("stop") => 1,
            Some("step") => 2,
            Some(n) => return Err(format!("range() has no argument '{n}'; {usage}")),
        };
        let num = match parse_value(v) {
            Ok(Value::Integer(i)) => Num::Int(i),
            Ok(Value::Float(f)) if f.is_finite() => Num::Float(f),
            _ => return Err(format!("'{v}' is not a finite number; {usage}")),
        };
        let slot = slots
            .get_mut(idx)
            .ok_or_else(|| format!("range() takes at most 3 arguments; {usage}"))?;
        *slot = Some(num);
    }
    let [start, stop, step] = match (positional, slots) {
        (1, [Some(stop), None, None]) => [Num::Int(0), stop, Num::Int(1)],
        (_, [start, Some(stop), step]) => [
            start.unwrap_or(Num::Int(0)),
            stop,
            step.unwrap_or(Num::Int(1)),
        ],
        _ => return Err(usage.to_string()),
    };
    if step.as_f64() == 0.0 {
        return Err(format!("range() step is 0; {usage}"));
    }
    Ok(Sweep::Range { start, stop, step })
}

fn parse_choice(inner: &str) -> Result<Sweep, String> {
    let mut values = Vec::new();
    for (name, v) in args(inner)? {
        if name.is_some() {
            return Err(
                "choice() takes values only, e.g. choice(a,b,c); quote a value that contains '='"
                    .into(),
            );
        }
        values.push(parse_value(v)?);
    }
    if inner.trim().is_empty() {
        return Err("choice() needs at least one value, e.g. choice(a,b)".into());
    }
    Ok(Sweep::Choice(values))
}

fn parse_glob(inner: &str) -> Result<Sweep, String> {
    let usage = "write glob(pattern) or glob([p1,p2], exclude=pattern), e.g. glob(target_*, exclude=target_b*)";
    let names = |v: &str| -> Result<Vec<String>, String> {
        let body = v
            .strip_prefix('[')
            .and_then(|b| b.strip_suffix(']'))
            .unwrap_or(v);
        let parts: Vec<String> = body.split(',').map(|p| p.trim().to_string()).collect();
        if parts.iter().any(|p| {
            p.is_empty()
                || p.chars()
                    .any(|c| !(c.is_ascii_alphanumeric() || "_-*?".contains(c)))
        }) {
            return Err(format!("'{v}' is not a pattern of option names; {usage}"));
        }
        Ok(parts)
    };
    let (mut include, mut exclude) = (None, None);
    for (name, v) in args(inner)? {
        match name {
            None | Some("include") if include.is_none() => include = Some(names(v)?),
            Some("exclude") if exclude.is_none() => exclude = Some(names(v)?),
            _ => return Err(usage.to_string()),
        }
    }
    let include = include.ok_or_else(|| usage.to_string())?;
    Ok(Sweep::Glob {
        include,
        exclude: exclude.unwrap_or_default(),
    })
}

#[cfg(test)]
#[path = "overrides_tests.rs"]
mod tests;
