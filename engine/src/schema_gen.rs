//! JSON Schemas for editors: one for the pipeline file (`pipeline`: seed, defaults, aliases,
//! runtime, repeat blocks, and `nodes.<id>` tables whose `kind` selects that kind's config
//! schema) and one per node kind (`node.<kind>`). [`generate`] is what `schema --write` writes
//! and what a freshness test compares against the committed `schemas/` folder.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::node::Registry;
use crate::spec::{RepeatSpec, RuntimeConfig};

/// Schema name -> schema (`pipeline`, `node.<kind>` for each kind).
pub fn generate(registry: &dyn Registry) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut defs = Map::new();
    let mut variants = Vec::new();
    for k in registry.kinds() {
        let schema = registry.schema(k.name);
        out.insert(format!("node.{}", k.name), schema.clone());
        let mut node = hoist(schema, k.name, &mut defs);
        let props = node.entry("properties").or_insert_with(|| json!({}));
        if let Value::Object(props) = props {
            // Any value may be an interpolation (`"${group.key}"`), resolved before typing.
            for prop in props.values_mut() {
                *prop = json!({ "anyOf": [prop.take(), interpolation()] });
            }
            props.insert(
                "kind".into(),
                json!({ "const": k.name, "description": k.doc }),
            );
            let ports: Map<String, Value> = k
                .inputs
                .iter()
                .map(|p| (p.name.to_string(), json!({ "type": "string", "description": format!("node id (accepts {})", p.accepts.join(", ")) })))
                .collect();
            props.insert(
                "inputs".into(),
                json!({ "type": "object", "properties": ports, "additionalProperties": false }),
            );
        }
        let required = node.entry("required").or_insert_with(|| json!([]));
        if let Value::Array(req) = required {
            req.push(json!("kind"));
        }
        node.insert("additionalProperties".into(), json!(false));
        node.remove("$schema");
        node.remove("title");
        defs.insert(format!("node.{}", k.name), Value::Object(node));
    }
    for k in registry.kinds() {
        variants.push(json!({ "$ref": format!("#/$defs/node.{}", k.name) }));
    }
    let runtime = hoist(
        serde_json::to_value(schemars::schema_for!(RuntimeConfig)).unwrap_or(Value::Null),
        "runtime",
        &mut defs,
    );
    defs.insert("runtime".into(), Value::Object(runtime));
    let repeat = hoist(
        serde_json::to_value(schemars::schema_for!(RepeatSpec)).unwrap_or(Value::Null),
        "repeat",
        &mut defs,
    );
    defs.insert("repeat".into(), Value::Object(repeat));
    let pipeline = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "pipeline",
        "description": "A pipeline file: `pipelines/<name>.toml`.",
        "type": "object",
        "properties": {
            "seed": { "type": "integer", "minimum": 0, "description": "Global seed; each node's seed derives from (seed, node id, iteration)." },
            "defaults": { "type": "object", "additionalProperties": { "type": "string" }, "description": "Config group -> option." },
            "aliases": { "type": "object", "additionalProperties": { "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] } },
            "runtime": { "$ref": "#/$defs/runtime" },
            "repeat": { "type": "object", "additionalProperties": { "$ref": "#/$defs/repeat" } },
            "nodes": { "type": "object", "additionalProperties": { "anyOf": [{ "oneOf": variants }, interpolation()] } }
        },
        "$defs": defs
    });
    out.insert("pipeline".into(), pipeline);
    out
}

fn interpolation() -> Value {
    json!({ "type": "string", "pattern": "\\$\\{[^}]+\\}", "description": "interpolation, e.g. \"${group.key}\"" })
}

/// Moves a schema's `$defs` into `defs` under `<prefix>.<name>` and rewrites its references.
fn hoist(schema: Value, prefix: &str, defs: &mut Map<String, Value>) -> Map<String, Value> {
    let mut schema = schema;
    rewrite_refs(&mut schema, prefix);
    let Value::Object(mut obj) = schema else {
        return Map::new();
    };
    if let Some(Value::Object(inner)) = obj.remove("$defs") {
        for (name, def) in inner {
            defs.insert(format!("{prefix}.{name}"), def);
        }
    }
    obj.remove("$schema");
    obj
}

fn rewrite_refs(v: &mut Value, prefix: &str) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "$ref"
                    && let Value::String(r) = child
                    && let Some(name) = r.strip_prefix("#/$defs/")
                {
                    *r = format!("#/$defs/{prefix}.{name}");
                } else {
                    rewrite_refs(child, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rewrite_refs(c, prefix)),
        _ => {}
    }
}

/// Writes `<dir>/<name>.json` for every schema; returns how many.
pub fn write(schemas: &BTreeMap<String, Value>, dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    for (name, schema) in schemas {
        let text = serde_json::to_string_pretty(schema).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{name}.json")), text + "\n")?;
    }
    Ok(schemas.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::{KINDS, TOY};

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    match (k.as_str(), c) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => refs(c, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }

    #[test]
    fn every_kind_has_a_schema_and_every_reference_resolves() {
        let all = generate(&TOY);
        assert_eq!(all.len(), KINDS.len() + 1);
        let pipeline = &all["pipeline"];
        let mut found = Vec::new();
        refs(pipeline, &mut found);
        assert!(
            found.iter().any(|r| r == "#/$defs/scale.ScaleOp"),
            "{found:?}"
        );
        for r in found {
            let name = r.strip_prefix("#/$defs/").expect("local reference");
            assert!(pipeline["$defs"].get(name).is_some(), "dangling {r}");
        }
        let scale = &pipeline["$defs"]["node.scale"];
        assert_eq!(scale["properties"]["kind"]["const"], "scale");
        assert_eq!(scale["additionalProperties"], false);
        assert!(
            scale["properties"]["inputs"]["properties"]
                .get("x")
                .is_some()
        );
    }
}
