//! Composition of one job's config (Hydra semantics, TOML files), in this order:
//! 1. each `[defaults]` entry `group = "option"` (or `"group@package" = "option"`) of the
//!    pipeline: the option file placed under its package;
//! 2. the pipeline file itself (its `[defaults]` kept as the record of the final choices);
//! 3. `experiment=<name>` (or `defaults.experiment`), merged at the root; its own `[defaults]`
//!    switch groups before layer 1 is built;
//! 4. command-line value overrides, in order.
//!
//! Group switches: command line > experiment > pipeline. Then interpolation, the top-level and
//! closedness checks, and the group packages are dropped (they were consumed by interpolation).

use std::collections::{BTreeMap, BTreeSet};

use toml::{Table, Value};

use super::apply::{apply_override, check_closed, final_provenance};
use super::defaults::{Aliases, Defaults};
use super::error::{ConfigError, ConfigErrors};
use super::interp::{EnvLookup, resolve};
use super::overrides::{Override, OverrideValue, Sweep, parse_override};
use super::provenance::{Provenance, Source};
use super::sources::{ConfigFile, ConfigSources};
use super::tree::{merge, place};
use super::value::render_value_bare;

/// One composed job: the final tree (group packages consumed), with provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Composed {
    /// Pipeline name (file stem).
    pub pipeline: String,
    /// Final tree: `defaults`, `aliases`, `seed`, `runtime`, `nodes`, `repeat`.
    pub tree: Table,
    pub provenance: Provenance,
    /// Defaults entry (`data`, `data@target`, `experiment`) -> chosen option.
    pub choices: BTreeMap<String, String>,
    /// The command-line overrides as given.
    pub overrides: Vec<String>,
}

/// Compose `pipeline` (a name on the search path or a path to a `.toml` file) with `overrides`.
pub fn compose(
    sources: &ConfigSources,
    pipeline: &str,
    overrides: &[String],
) -> Result<Composed, ConfigErrors> {
    compose_with_env(sources, pipeline, overrides, &|var| std::env::var(var).ok())
}

/// [`compose`] with the environment given (for `${env:VAR}`).
pub fn compose_with_env(
    sources: &ConfigSources,
    pipeline: &str,
    overrides: &[String],
    env: EnvLookup<'_>,
) -> Result<Composed, ConfigErrors> {
    let (file, name) = sources.pipeline_file(pipeline)?;
    let mut ptable = parse_toml(&file)?;
    let psource = Source::File(file.display.clone());
    let mut errors = Vec::new();
    let mut defaults =
        Defaults::from_pipeline(ptable.remove("defaults"), &file.display, &mut errors);
    let aliases =
        Aliases::from_pipeline(ptable.get("aliases"), &file.display, &defaults, &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }

    // Parse and classify the command line; group switches wait for the experiment.
    let mut switches = Vec::new();
    let mut values: Vec<(Override, String)> = Vec::new();
    let mut experiment_cli: Option<(Option<String>, Source)> = None;
    for text in overrides {
        let o = match parse_override(text) {
            Ok(o) => o,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some(sweep) = o.sweep() {
            errors.push(sweep_error(text, &o, sweep));
            continue;
        }
        let source = Source::CommandLine(text.clone());
        if o.key() == "experiment" {
            experiment_cli = Some((
                option_of(&o, text).unwrap_or_else(|e| push(&mut errors, e)),
                source,
            ));
        } else if defaults.is_group_key(&o, sources) && !aliases.contains(o.key()) {
            switches.push((o, text.clone()));
        } else {
            values.extend(aliases.expand(&o).into_iter().map(|o| (o, text.clone())));
        }
    }

    // Layer 3's defaults first: the experiment may switch groups; the command line wins.
    let experiment = match experiment_cli {
        Some((choice, source)) => choice.map(|c| (c, source)),
        None => defaults.experiment.clone(),
    };
    let mut experiment_table = None;
    if let Some((option, source)) = &experiment {
        match load_option(sources, "experiment", option, source) {
            Ok((file, mut table)) => {
                let switches = table.remove("defaults");
                defaults.apply_experiment(switches, &file.display, sources, &mut errors);
                experiment_table = Some((table, Source::File(file.display)));
            }
            Err(e) => errors.push(e),
        }
    }
    for (o, text) in &switches {
        if let Err(e) = defaults.switch(o, text, sources, &name) {
            errors.push(e);
        }
    }

    // Layer 0: the engine's own defaults (`seed`, `[runtime]`), so that `runtime.threads=2` or
    // `seed=3` set an existing key like any other.
    let mut tree = Table::new();
    let mut prov = Provenance::new();
    merge(
        &mut tree,
        engine_defaults(),
        "",
        &Source::Default,
        &mut prov,
    );

    // Layer 1: the option files under their packages.
    for entry in &defaults.entries {
        match load_option(sources, &entry.group, &entry.option, &entry.source) {
            Ok((file, table)) => {
                let mut wrapped = Table::new();
                place(&mut wrapped, &entry.package, Value::Table(table));
                merge(
                    &mut tree,
                    wrapped,
                    "",
                    &Source::File(file.display),
                    &mut prov,
                );
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }

    // Layer 2: the record of choices (first, as in the files), then the pipeline itself.
    let mut record = Table::new();
    for entry in &defaults.entries {
        record.insert(entry.key.clone(), Value::String(entry.option.clone()));
        prov.set(format!("defaults.{}", entry.key), entry.source.clone());
    }
    if let Some((option, source)) = &experiment {
        record.insert("experiment".into(), Value::String(option.clone()));
        prov.set("defaults.experiment", source.clone());
    }
    if !record.is_empty() {
        tree.insert("defaults".into(), Value::Table(record));
        prov.set("defaults", psource.clone());
    }
    merge(&mut tree, ptable, "", &psource, &mut prov);

    // Layer 3: the experiment at the root (Hydra's `# @package _global_`).
    if let Some((table, source)) = experiment_table {
        merge(&mut tree, table, "", &source, &mut prov);
    }

    // Layer 4: command-line values, in order.
    for (o, text) in &values {
        if let Err(e) = apply_override(&mut tree, &mut prov, o, text) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }

    let resolved = resolve(&tree, &prov, env).map_err(ConfigErrors::from)?;
    let packages: BTreeSet<String> = defaults
        .entries
        .iter()
        .map(|e| e.package.split('.').next().unwrap_or_default().to_string())
        .collect();
    let problems = check_closed(&tree, &resolved.tree, &packages, &resolved.reads, &prov);
    if !problems.is_empty() {
        return Err(problems.into());
    }
    let mut final_tree = resolved.tree;
    for p in &packages {
        final_tree.remove(p);
    }
    let provenance = final_provenance(&final_tree, &prov, &resolved.redirects);
    let mut choices: BTreeMap<String, String> = defaults
        .entries
        .iter()
        .map(|e| (e.key.clone(), e.option.clone()))
        .collect();
    if let Some((option, _)) = experiment {
        choices.insert("experiment".into(), option);
    }
    Ok(Composed {
        pipeline: name,
        tree: final_tree,
        provenance,
        choices,
        overrides: overrides.to_vec(),
    })
}

fn push<T: Default>(errors: &mut Vec<ConfigError>, e: ConfigError) -> T {
    errors.push(e);
    T::default()
}

pub(super) fn parse_toml(file: &ConfigFile) -> Result<Table, ConfigError> {
    toml::from_str(&file.contents).map_err(|e| ConfigError::Toml {
        path: file.display.clone(),
        reason: e.to_string().trim().to_string(),
    })
}

/// Read `configs/<group>/<option>.toml`; an unknown option lists the available ones.
pub(super) fn load_option(
    sources: &ConfigSources,
    group: &str,
    option: &str,
    source: &Source,
) -> Result<(ConfigFile, Table), ConfigError> {
    match sources.find(&format!("configs/{group}/{option}.toml")) {
        Some(file) => {
            let file = file?;
            let table = parse_toml(&file)?;
            Ok((file, table))
        }
        None => {
            let available = sources.options(group);
            Err(ConfigError::UnknownOption {
                group: group.to_string(),
                option: option.to_string(),
                origin: source.to_string(),
                suggestion: super::error::nearest(option, available.iter().map(String::as_str)),
                available,
            })
        }
    }
}

/// The option named by a group override (`data=x`), or `None` for `~data`.
pub(super) fn option_of(o: &Override, text: &str) -> Result<Option<String>, ConfigError> {
    let value = match o {
        Override::Delete { .. } => return Ok(None),
        Override::Set { value, .. }
        | Override::Add { value, .. }
        | Override::AddOrSet { value, .. } => value,
    };
    match value {
        OverrideValue::Value(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        OverrideValue::Value(v @ (Value::Integer(_) | Value::Boolean(_))) => {
            Ok(Some(render_value_bare(v)))
        }
        _ => Err(ConfigError::Malformed {
            text: text.to_string(),
            reason: format!(
                "'{}' selects a config group, so its value must be an option name",
                o.key()
            ),
        }),
    }
}

fn sweep_error(text: &str, o: &Override, sweep: &Sweep) -> ConfigError {
    let (prefix, key) = (o.prefix(), o.key());
    let raw = text.split_once('=').map_or("", |(_, v)| v);
    let quoted = format!("'{prefix}{key}=\"{}\"'", raw.replace('"', "\\\""));
    let items = match sweep {
        Sweep::List(_) => raw.to_string(),
        Sweep::Choice(_) => raw
            .strip_prefix("choice(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or(raw)
            .to_string(),
        Sweep::Range { start, stop, step } => super::sweep::range_values(*start, *stop, *step)
            .map(|v| v.join(","))
            .unwrap_or_default(),
        Sweep::Glob { .. } => "<option>".to_string(),
    };
    let listed = match sweep {
        Sweep::Glob { .. } => format!("{prefix}{key}=<one option>"),
        _ if items.is_empty() => quoted.clone(),
        _ => format!("{prefix}{key}=[{items}]"),
    };
    ConfigError::SweepWithoutMultirun {
        text: text.to_string(),
        quoted,
        listed,
    }
}

#[cfg(test)]
#[path = "compose_tests.rs"]
mod tests;

/// `seed = 0` and the default `[runtime]` table, the bottom layer of every composition.
fn engine_defaults() -> Table {
    let mut t = Table::new();
    t.insert("seed".into(), Value::Integer(0));
    if let Ok(runtime) = Table::try_from(crate::spec::RuntimeConfig::default()) {
        t.insert("runtime".into(), Value::Table(runtime));
    }
    t
}
