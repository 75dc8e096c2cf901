//! Turns a composed tree ([`Composed`]) into the typed [`PipelineSpec`]: `seed`, `[runtime]`
//! (strict, via serde), `[nodes.<id>]` (`kind`, `inputs` parsed into [`InputRef`], the rest kept as
//! the node's raw config for `Registry::resolve`) and `[repeat.<name>]`. Every error names the
//! full key path and where its value came from; all problems are reported together.
//! Cross-references (input targets, repeat members) are checked by the planner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::config::Source;
use crate::config::{
    Composed, ConfigError, ConfigErrors, EnvLookup, Provenance, TOP_LEVEL, nearest, render_value,
};
use crate::spec::{InputRef, NodeSpec, PipelineSpec, RepeatSpec, RuntimeConfig};

/// Parse a composed job; `RL4SEG_CACHE` sets the cache dir when the config names none.
pub fn parse(composed: &Composed) -> Result<PipelineSpec, ConfigErrors> {
    parse_with_env(composed, &|var| std::env::var(var).ok())
}

/// [`parse`] with the environment given.
pub fn parse_with_env(
    composed: &Composed,
    env: EnvLookup<'_>,
) -> Result<PipelineSpec, ConfigErrors> {
    let prov = &composed.provenance;
    let mut errors = Vec::new();
    let mut spec = PipelineSpec {
        name: composed.pipeline.clone(),
        seed: 0,
        runtime: RuntimeConfig::default(),
        nodes: Vec::new(),
        repeat: Vec::new(),
    };
    let mut cache_dir_given = false;
    for (key, value) in &composed.tree {
        match key.as_str() {
            "defaults" | "aliases" => {}
            "seed" => match value {
                Value::Integer(i) if *i >= 0 => spec.seed = i.unsigned_abs(),
                other => errors.push(type_error(
                    prov,
                    "seed",
                    format!("must be an integer >= 0, got {}", render_value(other)),
                )),
            },
            "runtime" => {
                // The engine's default layer does not count as given: `RL4SEG_CACHE` still applies.
                cache_dir_given = value.get("cache_dir").is_some()
                    && prov.get("runtime.cache_dir") != Some(&Source::Default);
                if let Some(runtime) = typed::<RuntimeConfig>(value, "runtime", prov, &mut errors) {
                    spec.runtime = runtime;
                }
            }
            "nodes" => spec.nodes = parse_nodes(value, prov, &mut errors),
            "repeat" => spec.repeat = parse_repeat(value, prov, &mut errors),
            other => errors.push(ConfigError::UnknownField {
                key: other.to_string(),
                origin: prov.origin(other),
                suggestion: nearest(other, TOP_LEVEL),
                allowed: TOP_LEVEL.iter().map(|s| s.to_string()).collect(),
            }),
        }
    }
    if !cache_dir_given && let Some(dir) = env("RL4SEG_CACHE").filter(|d| !d.is_empty()) {
        spec.runtime.cache_dir = PathBuf::from(dir);
    }
    ConfigErrors(errors).into_result()?;
    // Conditional nodes (`when`) and alternative inputs (`a|b`).
    crate::conditional::apply(&mut spec, &composed.tree).map_err(|problems| {
        ConfigErrors(
            problems
                .into_iter()
                .map(|reason| ConfigError::BadTable {
                    table: "nodes".into(),
                    path: composed.pipeline.clone(),
                    key: "when".into(),
                    reason,
                })
                .collect(),
        )
    })?;
    Ok(spec)
}

fn type_error(prov: &Provenance, key: &str, reason: String) -> ConfigError {
    ConfigError::Type {
        key: key.to_string(),
        origin: prov.origin(key),
        reason,
    }
}

/// Deserialize a strict config table: unknown keys (with the nearest valid one) first, then
/// serde's type errors at their full path.
fn typed<T: DeserializeOwned + JsonSchema>(
    value: &Value,
    path: &str,
    prov: &Provenance,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    let Some(table) = value.as_table() else {
        errors.push(type_error(
            prov,
            path,
            format!("must be a table ([{path}]), got {}", render_value(value)),
        ));
        return None;
    };
    let schema = schemars::schema_for!(T);
    let allowed: Vec<String> = schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut unknown = false;
    for key in table.keys().filter(|k| !allowed.contains(k)) {
        let full = format!("{path}.{key}");
        errors.push(ConfigError::UnknownField {
            origin: prov.origin(&full),
            suggestion: nearest(key, allowed.iter().map(String::as_str))
                .map(|s| format!("{path}.{s}")),
            key: full,
            allowed: allowed.clone(),
        });
        unknown = true;
    }
    if unknown {
        return None;
    }
    match serde_path_to_error::deserialize::<_, T>(Value::Table(table.clone())) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() {
                path.to_string()
            } else {
                format!("{path}.{inner}")
            };
            errors.push(type_error(
                prov,
                &full,
                e.inner().message().trim().to_string(),
            ));
            None
        }
    }
}

fn is_node_id(s: &str) -> bool {
    crate::config::is_ident(s)
}

fn parse_nodes(value: &Value, prov: &Provenance, errors: &mut Vec<ConfigError>) -> Vec<NodeSpec> {
    let Some(table) = value.as_table() else {
        errors.push(type_error(
            prov,
            "nodes",
            "must be a table of [nodes.<id>] tables".into(),
        ));
        return Vec::new();
    };
    let mut nodes = Vec::new();
    for (id, v) in table {
        let path = format!("nodes.{id}");
        if !is_node_id(id) {
            errors.push(type_error(
                prov,
                &path,
                "a node id must be a plain name (letters, digits, '_', '-'), so that instances like id@2 stay unambiguous"
                    .into(),
            ));
            continue;
        }
        let Some(t) = v.as_table() else {
            errors.push(type_error(
                prov,
                &path,
                format!(
                    "a node must be a table with a `kind`, got {}",
                    render_value(v)
                ),
            ));
            continue;
        };
        let mut config: Table = t.clone();
        let kind = match config.remove("kind") {
            Some(Value::String(k)) if !k.is_empty() => Some(k),
            None => {
                errors.push(type_error(
                    prov,
                    &path,
                    "has no `kind`; add kind = \"<node kind>\" (see `rl4seg list`)".into(),
                ));
                None
            }
            Some(other) => {
                errors.push(type_error(
                    prov,
                    &format!("{path}.kind"),
                    format!("must be a node kind name, got {}", render_value(&other)),
                ));
                None
            }
        };
        let inputs = parse_inputs(config.remove("inputs"), &path, prov, errors);
        if let (Some(kind), Some(inputs)) = (kind, inputs) {
            nodes.push(NodeSpec {
                id: id.clone(),
                kind,
                inputs,
                config,
            });
        }
    }
    nodes
}

fn parse_inputs(
    value: Option<Value>,
    node: &str,
    prov: &Provenance,
    errors: &mut Vec<ConfigError>,
) -> Option<BTreeMap<String, InputRef>> {
    let path = format!("{node}.inputs");
    let table = match value {
        None => return Some(BTreeMap::new()),
        Some(Value::Table(t)) => t,
        Some(other) => {
            errors.push(type_error(
                prov,
                &path,
                format!(
                    "must be a table like {{ port = \"node\" }}, got {}",
                    render_value(&other)
                ),
            ));
            return None;
        }
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (port, r) in table {
        let key = format!("{path}.{port}");
        match r
            .as_str()
            .ok_or_else(|| format!("must be a node reference string, got {}", render_value(&r)))
            .and_then(parse_input_ref)
        {
            Ok(r) => {
                out.insert(port, r);
            }
            Err(reason) => {
                errors.push(type_error(prov, &key, reason));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `"a|b"` or `"a|"`: node ids separated by `|`, the last one possibly empty.
fn is_alternatives(s: &str) -> bool {
    let choices: Vec<&str> = s.split('|').map(str::trim).collect();
    let (last, first) = choices.split_last().unwrap_or((&"", &[]));
    !first.is_empty()
        && first.iter().all(|n| is_node_id(n))
        && (last.is_empty() || is_node_id(last))
}

/// `"id"`, `"id@prev"`, `"id@prev|other"`, `"id@prev|a|b|"` (iteration 1 reads the first
/// active of `a`, `b`, or nothing).
pub fn parse_input_ref(s: &str) -> Result<InputRef, String> {
    let usage = "write \"node\", \"node@prev\" or \"node@prev|first_node\" (alternatives: \"a|b\", \"node@prev|a|b|\")";
    let (node, suffix) = match s.split_once('@') {
        Some((n, rest)) => (n, Some(rest)),
        None => (s, None),
    };
    // `a|b`: the first of these nodes kept by its `when`; `a|`: `a` or nothing (see
    // `crate::conditional`).
    if suffix.is_none() && node.contains('|') {
        return if is_alternatives(node) {
            Ok(InputRef::Node(node.to_string()))
        } else {
            Err(format!(
                "'{s}': alternatives must be node ids separated by '|'; {usage}"
            ))
        };
    }
    if !is_node_id(node) {
        return Err(format!("'{s}' does not start with a node id; {usage}"));
    }
    match suffix {
        None => Ok(InputRef::Node(node.to_string())),
        Some("prev") => Ok(InputRef::Prev {
            node: node.to_string(),
            first: None,
        }),
        Some(rest) => match rest.strip_prefix("prev|") {
            Some(first) if is_node_id(first) || is_alternatives(first) => Ok(InputRef::Prev {
                node: node.to_string(),
                first: Some(first.to_string()),
            }),
            _ => Err(format!(
                "'{s}': after '@' only 'prev' or 'prev|<node>' is allowed; {usage}"
            )),
        },
    }
}

fn parse_repeat(
    value: &Value,
    prov: &Provenance,
    errors: &mut Vec<ConfigError>,
) -> Vec<RepeatSpec> {
    let Some(table) = value.as_table() else {
        errors.push(type_error(
            prov,
            "repeat",
            "must be a table of [repeat.<name>] tables".into(),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, v) in table {
        let path = format!("repeat.{name}");
        let Some(mut block) = typed::<RepeatSpec>(v, &path, prov, errors) else {
            continue;
        };
        block.name = name.clone();
        let mut ok = true;
        if block.iterations < 1 {
            errors.push(type_error(
                prov,
                &format!("{path}.iterations"),
                "must be at least 1".into(),
            ));
            ok = false;
        }
        let mut seen = BTreeSet::new();
        for id in &block.nodes {
            if !is_node_id(id) || !seen.insert(id) {
                errors.push(type_error(
                    prov,
                    &format!("{path}.nodes"),
                    format!("'{id}' is not a node id or is listed twice; list each node of the block once"),
                ));
                ok = false;
            }
        }
        if block.nodes.is_empty() {
            errors.push(type_error(
                prov,
                &format!("{path}.nodes"),
                "is empty; list the node ids of the block".into(),
            ));
            ok = false;
        }
        if ok {
            out.push(block);
        }
    }
    out
}

#[cfg(test)]
#[path = "spec_parse_tests.rs"]
mod tests;
