//! OmegaConf-style interpolation, resolved once all layers are merged. A string that is exactly
//! `"${a.b}"` becomes the value at `a.b` (any type, resolved recursively); `${a.b}` inside a longer
//! string becomes its scalar rendering; `${env:VAR}` / `${env:VAR,default}` (also Hydra's
//! `${oc.env:...}`) read the environment, and an exact one is parsed like a command-line value.
//! `\${` is a literal `${`. Records every path read (for the closedness rule) and where each
//! interpolated value came from (for provenance).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use toml::{Table, Value};

use super::error::{ConfigError, nearest};
use super::provenance::Provenance;
use super::tree::{all_paths, join};
use super::value::{parse_value, type_name};

/// Reads an environment variable.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where an interpolated value at some path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    Path(String),
    Env(String),
}

/// Result of resolving a tree.
#[derive(Debug)]
pub struct Resolved {
    pub tree: Table,
    /// Every path read by an interpolation.
    pub reads: BTreeSet<String>,
    /// Path holding an exact interpolation -> its origin.
    pub redirects: BTreeMap<String, Redirect>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(String),
    Ref(String),
    Env {
        var: String,
        default: Option<String>,
    },
}

/// Split a string into literal text and `${...}` pieces.
fn pieces(s: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('\\') {
            lit.push_str(&rest[..i - 1]);
            lit.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        lit.push_str(&rest[..i]);
        let body_start = &rest[i + 2..];
        let end = body_start
            .find('}')
            .ok_or_else(|| format!("'${{' in \"{s}\" has no closing '}}'"))?;
        let body = body_start[..end].trim();
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(parse_body(body, s)?);
        rest = &body_start[end + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

fn parse_body(body: &str, whole: &str) -> Result<Piece, String> {
    if body.contains("${") {
        return Err(format!(
            "nested interpolation in \"{whole}\" is not supported; use one level"
        ));
    }
    if let Some(spec) = body
        .strip_prefix("env:")
        .or_else(|| body.strip_prefix("oc.env:"))
    {
        let (var, default) = match spec.split_once(',') {
            Some((v, d)) => (v.trim(), Some(d.trim().to_string())),
            None => (spec.trim(), None),
        };
        if var.is_empty() {
            return Err(format!(
                "'${{{body}}}' names no variable; write ${{env:VAR}} or ${{env:VAR,default}}"
            ));
        }
        return Ok(Piece::Env {
            var: var.to_string(),
            default,
        });
    }
    if body.starts_with('.') {
        return Err(format!(
            "relative interpolation '${{{body}}}' is not supported; write the full key path"
        ));
    }
    if let Some((resolver, _)) = body.split_once(':') {
        return Err(format!(
            "unknown resolver '{resolver}' in '${{{body}}}'; supported: ${{key.path}}, ${{env:VAR[,default]}}"
        ));
    }
    if !super::value::is_dotted_key(body) {
        return Err(format!(
            "'${{{body}}}' is not a key path; write ${{a.b}} with dotted names"
        ));
    }
    Ok(Piece::Ref(body.to_string()))
}

/// Resolve every interpolation in `raw`. All problems are collected.
pub fn resolve(
    raw: &Table,
    prov: &Provenance,
    env: EnvLookup<'_>,
) -> Result<Resolved, Vec<ConfigError>> {
    let mut r = Resolver::new(raw, prov, env);
    let mut tree = Table::new();
    for (k, v) in raw {
        if let Ok(value) = r.resolve_at(k, v) {
            tree.insert(k.clone(), value);
        }
    }
    if r.errors.is_empty() {
        Ok(Resolved {
            tree,
            reads: r.reads,
            redirects: r.redirects,
        })
    } else {
        Err(r.errors)
    }
}

struct Resolver<'a> {
    raw: &'a Table,
    prov: &'a Provenance,
    env: EnvLookup<'a>,
    memo: HashMap<String, Value>,
    failed: HashSet<String>,
    stack: Vec<String>,
    reads: BTreeSet<String>,
    redirects: BTreeMap<String, Redirect>,
    errors: Vec<ConfigError>,
}

/// A reported failure (the error is already in `Resolver::errors`).
struct Failed;

impl<'a> Resolver<'a> {
    fn new(raw: &'a Table, prov: &'a Provenance, env: EnvLookup<'a>) -> Self {
        Resolver {
            raw,
            prov,
            env,
            memo: HashMap::new(),
            failed: HashSet::new(),
            stack: Vec::new(),
            reads: BTreeSet::new(),
            redirects: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    fn fail(&mut self, key: &str, reason: String) -> Failed {
        let origin = self.prov.origin(key);
        self.errors.push(ConfigError::Interpolation {
            key: key.to_string(),
            origin,
            reason,
        });
        Failed
    }

    /// Resolved value of the raw value `raw` found at `path`.
    fn resolve_at(&mut self, path: &str, raw: &Value) -> Result<Value, Failed> {
        let needs_work = match raw {
            Value::String(s) => s.contains("${"),
            Value::Table(_) | Value::Array(_) => true,
            _ => false,
        };
        if !needs_work {
            return Ok(raw.clone());
        }
        if let Some(v) = self.memo.get(path) {
            return Ok(v.clone());
        }
        if self.failed.contains(path) {
            return Err(Failed);
        }
        if let Some(pos) = self.stack.iter().position(|p| p == path) {
            let mut chain: Vec<String> = self.stack[pos..].to_vec();
            chain.push(path.to_string());
            let origins = self.stack[pos..]
                .iter()
                .map(|p| format!("{p} from {}", self.prov.origin(p)))
                .collect();
            self.errors.push(ConfigError::Cycle { chain, origins });
            for p in &self.stack[pos..] {
                self.failed.insert(p.clone());
            }
            return Err(Failed);
        }
        self.stack.push(path.to_string());
        let result = match raw {
            Value::String(s) => self.resolve_string(path, s, true),
            Value::Table(t) => {
                let mut out = Table::new();
                let mut ok = true;
                for (k, v) in t {
                    match self.resolve_at(&join(path, k), v) {
                        Ok(v) => {
                            out.insert(k.clone(), v);
                        }
                        Err(Failed) => ok = false,
                    }
                }
                if ok {
                    Ok(Value::Table(out))
                } else {
                    Err(Failed)
                }
            }
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                let mut ok = true;
                for v in a {
                    match self.resolve_element(path, v) {
                        Ok(v) => out.push(v),
                        Err(Failed) => ok = false,
                    }
                }
                if ok {
                    Ok(Value::Array(out))
                } else {
                    Err(Failed)
                }
            }
            other => Ok(other.clone()),
        };
        self.stack.pop();
        match &result {
            Ok(v) => {
                self.memo.insert(path.to_string(), v.clone());
            }
            Err(Failed) => {
                self.failed.insert(path.to_string());
            }
        }
        result
    }

    /// Array elements are resolved in place (no memo, no redirect: the array is one leaf).
    fn resolve_element(&mut self, path: &str, v: &Value) -> Result<Value, Failed> {
        match v {
            Value::String(s) if s.contains("${") => self.resolve_string(path, s, false),
            Value::Array(a) => a
                .iter()
                .map(|x| self.resolve_element(path, x))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Table(t) => {
                let mut out = Table::new();
                for (k, x) in t {
                    out.insert(k.clone(), self.resolve_element(path, x)?);
                }
                Ok(Value::Table(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// `redirect`: record where an exact interpolation's value came from (not for array elements).
    fn resolve_string(&mut self, path: &str, s: &str, redirect: bool) -> Result<Value, Failed> {
        let parts = pieces(s).map_err(|reason| self.fail(path, reason))?;
        match parts.as_slice() {
            [Piece::Ref(target)] => {
                let v = self.lookup(path, target)?;
                if redirect {
                    self.redirects
                        .insert(path.to_string(), Redirect::Path(target.clone()));
                }
                Ok(v)
            }
            [Piece::Env { var, default }] => {
                let text = self.env_value(path, var, default.as_deref())?;
                if redirect {
                    self.redirects
                        .insert(path.to_string(), Redirect::Env(var.clone()));
                }
                Ok(parse_value(&text).unwrap_or(Value::String(text)))
            }
            _ => {
                let mut out = String::new();
                for piece in &parts {
                    match piece {
                        Piece::Lit(l) => out.push_str(l),
                        Piece::Env { var, default } => {
                            out.push_str(&self.env_value(path, var, default.as_deref())?)
                        }
                        Piece::Ref(target) => match self.lookup(path, target)? {
                            Value::String(x) => out.push_str(&x),
                            v @ (Value::Table(_) | Value::Array(_)) => {
                                return Err(self.fail(
                                    path,
                                    format!(
                                        "'${{{target}}}' is {} and cannot be embedded in the string \"{s}\"; \
                                         make the whole string \"${{{target}}}\" or point at a scalar",
                                        type_name(&v)
                                    ),
                                ));
                            }
                            other => out.push_str(&super::value::render_value(&other)),
                        },
                    }
                }
                Ok(Value::String(out))
            }
        }
    }

    fn env_value(
        &mut self,
        path: &str,
        var: &str,
        default: Option<&str>,
    ) -> Result<String, Failed> {
        match ((self.env)(var), default) {
            (Some(v), _) => Ok(v),
            (None, Some(d)) => Ok(d.to_string()),
            (None, None) => Err(self.fail(
                path,
                format!("environment variable {var} is not set; set it, or give a default: ${{env:{var},default}}"),
            )),
        }
    }

    /// The resolved value at `target`, read from the key at `from`.
    fn lookup(&mut self, from: &str, target: &str) -> Result<Value, Failed> {
        let segs: Vec<&str> = target.split('.').collect();
        let mut prefix = String::new();
        let mut raw_cur: Option<&'a Table> = Some(self.raw);
        let mut resolved_cur: Option<Value> = None;
        for (i, seg) in segs.iter().enumerate() {
            prefix = join(&prefix, seg);
            let last = i + 1 == segs.len();
            if let Some(table) = raw_cur {
                let Some(child) = table.get(*seg) else {
                    return Err(self.missing(from, target, &prefix));
                };
                if last {
                    let v = self.resolve_at(&prefix, child)?;
                    self.reads.insert(target.to_string());
                    return Ok(v);
                }
                match child {
                    Value::Table(t) => raw_cur = Some(t),
                    Value::String(s) if s.contains("${") => {
                        raw_cur = None;
                        resolved_cur = Some(self.resolve_at(&prefix, child)?);
                        self.reads.insert(prefix.clone());
                    }
                    _ => return Err(self.missing(from, target, &prefix)),
                }
            } else {
                let next = resolved_cur
                    .as_ref()
                    .and_then(Value::as_table)
                    .and_then(|t| t.get(*seg))
                    .cloned();
                match next {
                    Some(v) if last => {
                        self.reads.insert(target.to_string());
                        return Ok(v);
                    }
                    Some(v) => resolved_cur = Some(v),
                    None => return Err(self.missing(from, target, &prefix)),
                }
            }
        }
        Err(self.missing(from, target, target))
    }

    fn missing(&mut self, from: &str, target: &str, at: &str) -> Failed {
        let mut paths = Vec::new();
        all_paths(self.raw, "", &mut paths);
        let suggestion = nearest(target, paths.iter().map(String::as_str));
        let detail = if at == target {
            String::new()
        } else {
            format!(" ('{at}' is missing or not a table)")
        };
        let dym = suggestion
            .map(|s| format!("; did you mean '{s}'?"))
            .unwrap_or_default();
        self.fail(from, format!("interpolation '${{{target}}}' refers to '{target}', which does not exist{detail}{dym}"))
    }
}

#[cfg(test)]
#[path = "interp_tests.rs"]
mod tests;
