//! `list` (pipelines, config groups with their options, node kinds with docs and ports) and
//! `schema` (print or write the JSON Schemas from [`crate::schema_gen`]).

use std::fmt::Write as _;
use std::path::Path;

use super::{AppInfo, CliError, Global};

pub fn list(app: AppInfo, g: &Global) -> Result<(), CliError> {
    let sources = super::job::sources(app, g)?;
    print!(
        "{}",
        render_list(app, &sources.pipelines(), &sources.groups())
    );
    Ok(())
}

pub fn render_list(
    app: AppInfo,
    pipelines: &[String],
    groups: &std::collections::BTreeMap<String, Vec<String>>,
) -> String {
    let mut out = String::from("pipelines:\n");
    if pipelines.is_empty() {
        out.push_str("  (none)\n");
    }
    for p in pipelines {
        let _ = writeln!(out, "  {p}");
    }
    out.push_str("\nconfig groups:\n");
    if groups.is_empty() {
        out.push_str("  (none)\n");
    }
    let width = groups.keys().map(|g| g.len()).max().unwrap_or(0);
    for (group, options) in groups {
        let _ = writeln!(out, "  {group:<width$}  {}", options.join(", "));
    }
    out.push_str("\nnode kinds:\n");
    let kinds = app.registry.kinds();
    let width = kinds.iter().map(|k| k.name.len()).max().unwrap_or(0);
    for k in kinds {
        let inputs = if k.inputs.is_empty() {
            "-".to_string()
        } else {
            k.inputs
                .iter()
                .map(|p| {
                    format!(
                        "{}{} ({})",
                        p.name,
                        if p.optional { "?" } else { "" },
                        p.accepts.join("|")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cached = if k.cacheable { "" } else { ", not cached" };
        let _ = writeln!(out, "  {:<width$}  {}", k.name, k.doc);
        let _ = writeln!(
            out,
            "  {:<width$}  inputs: {inputs}; output: {}{cached}",
            "", k.output
        );
    }
    out
}

pub fn schema(app: AppInfo, write: bool, dir: &Path) -> Result<(), CliError> {
    let schemas = crate::schema_gen::generate(app.registry);
    if !write {
        let all = serde_json::Value::Object(schemas.into_iter().collect());
        println!(
            "{}",
            serde_json::to_string_pretty(&all).map_err(CliError::internal)?
        );
        return Ok(());
    }
    let written = crate::schema_gen::write(&schemas, dir).map_err(CliError::internal)?;
    eprintln!("wrote {written} schema files to {}", dir.display());
    Ok(())
}
