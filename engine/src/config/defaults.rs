//! The `[defaults]` list (which option of each config group, and under which package) and the
//! `[aliases]` table of a pipeline, with group switches from the experiment and the command line.

use std::collections::BTreeMap;

use toml::Value;

use super::compose::option_of;
use super::error::{ConfigError, nearest};
use super::overrides::Override;
use super::provenance::Source;
use super::sources::ConfigSources;
use super::value::{is_dotted_key, is_ident};

/// One defaults entry: `group = "option"` or `"group@package" = "option"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// As written: `data` or `data@target`.
    pub key: String,
    pub group: String,
    /// Dotted path the option's table is placed under.
    pub package: String,
    pub option: String,
    /// Who chose this option (pipeline file, experiment file, command line).
    pub source: Source,
}

/// The defaults list of one composition.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub entries: Vec<Entry>,
    /// `defaults.experiment` of the pipeline.
    pub experiment: Option<(String, Source)>,
}

fn entry_source(file: &str) -> Source {
    Source::File(file.to_string())
}

impl Entry {
    /// `data@target` -> group `data`, package `target`; `data` -> both `data`.
    pub fn new(key: &str, option: String, source: Source) -> Entry {
        let (group, package) = match key.split_once('@') {
            Some((g, p)) => (g.to_string(), p.to_string()),
            None => (key.to_string(), key.to_string()),
        };
        Entry {
            key: key.to_string(),
            group,
            package,
            option,
            source,
        }
    }
}

fn check_entry_key(key: &str) -> Result<(), String> {
    let ok = match key.split_once('@') {
        Some((g, p)) => is_ident(g) && is_dotted_key(p),
        None => is_ident(key),
    };
    if ok {
        Ok(())
    } else {
        Err("write group = \"option\" or \"group@package\" = \"option\" with plain names".into())
    }
}

impl Defaults {
    pub fn from_pipeline(
        value: Option<Value>,
        file: &str,
        errors: &mut Vec<ConfigError>,
    ) -> Defaults {
        let mut out = Defaults::default();
        let bad = |key: &str, reason: String| ConfigError::BadTable {
            table: "defaults".into(),
            path: file.into(),
            key: key.into(),
            reason,
        };
        let table = match value {
            None => return out,
            Some(Value::Table(t)) => t,
            Some(other) => {
                errors.push(bad(
                    "defaults",
                    format!(
                        "[defaults] must be a table, not {}",
                        super::value::type_name(&other)
                    ),
                ));
                return out;
            }
        };
        for (key, v) in table {
            let Some(option) = v.as_str().filter(|s| !s.is_empty()) else {
                errors.push(bad(
                    &key,
                    "the value must be the name of an option (a non-empty string)".into(),
                ));
                continue;
            };
            if key == "experiment" {
                out.experiment = Some((option.to_string(), entry_source(file)));
            } else if let Err(reason) = check_entry_key(&key) {
                errors.push(bad(&key, reason));
            } else {
                out.entries
                    .push(Entry::new(&key, option.to_string(), entry_source(file)));
            }
        }
        out
    }

    /// Whether override `o` selects a config group rather than a value.
    pub fn is_group_key(&self, o: &Override, sources: &ConfigSources) -> bool {
        let key = o.key();
        if key.contains('@') {
            return true;
        }
        if !is_ident(key) {
            return false;
        }
        self.entries.iter().any(|e| e.group == key)
            || (matches!(o, Override::Add { .. } | Override::AddOrSet { .. })
                && sources.groups().contains_key(key))
    }

    /// Indices of the entries an override or experiment key names.
    fn matching(&self, key: &str) -> Vec<usize> {
        let by_group = !key.contains('@');
        (0..self.entries.len())
            .filter(|&i| {
                if by_group {
                    self.entries[i].group == key
                } else {
                    self.entries[i].key == key
                }
            })
            .collect()
    }

    /// Apply a command-line group override (`data=x`, `data@target=x`, `+model=y`, `~data`).
    pub fn switch(
        &mut self,
        o: &Override,
        text: &str,
        sources: &ConfigSources,
        pipeline: &str,
    ) -> Result<(), ConfigError> {
        let key = o.key();
        let option = option_of(o, text)?;
        let source = Source::CommandLine(text.to_string());
        let hits = self.matching(key);
        if hits.len() > 1 {
            return Err(ConfigError::AmbiguousGroup {
                group: key.to_string(),
                origin: source.to_string(),
                pipeline: pipeline.to_string(),
                entries: hits.iter().map(|&i| self.entries[i].key.clone()).collect(),
            });
        }
        let hit = hits.first().copied();
        match (o, hit, option) {
            (Override::Add { .. }, Some(i), Some(option)) => Err(ConfigError::KeyExists {
                key: key.to_string(),
                text: text.to_string(),
                value: option,
                existing: self.entries[i].source.to_string(),
            }),
            (Override::Add { .. } | Override::AddOrSet { .. }, None, Some(option)) => {
                let entry = Entry::new(key, option, source);
                let groups = sources.groups();
                if !groups.contains_key(&entry.group) {
                    return Err(ConfigError::UnknownGroup {
                        suggestion: nearest(&entry.group, groups.keys().map(String::as_str)),
                        group: entry.group,
                        origin: text.to_string(),
                        available: groups.into_keys().collect(),
                    });
                }
                self.entries.push(entry);
                Ok(())
            }
            (_, Some(i), Some(option)) => {
                self.entries[i].option = option;
                self.entries[i].source = source;
                Ok(())
            }
            (Override::Delete { value, .. }, Some(i), None) => {
                let current = &self.entries[i].option;
                match value {
                    Some(v) if v.as_str() != Some(current.as_str()) => {
                        Err(ConfigError::DeleteMismatch {
                            key: key.to_string(),
                            origin: source.to_string(),
                            actual: format!("\"{current}\""),
                            expected: super::value::render_value(v),
                        })
                    }
                    _ => {
                        self.entries.remove(i);
                        Ok(())
                    }
                }
            }
            (_, None, option) => {
                let keys: Vec<&str> = self.entries.iter().map(|e| e.key.as_str()).collect();
                match option {
                    None => Err(ConfigError::DeleteMissing {
                        key: key.to_string(),
                        origin: source.to_string(),
                        suggestion: nearest(key, keys),
                    }),
                    Some(option) => Err(ConfigError::UnknownKey {
                        key: key.to_string(),
                        origin: source.to_string(),
                        value: option,
                        suggestion: nearest(key, keys),
                        hint: Some(format!(
                            "The defaults of {pipeline} are: {}.",
                            self.describe()
                        )),
                    }),
                }
            }
            (_, Some(_), None) => Ok(()),
        }
    }

    /// The experiment's own `[defaults]`: switch existing entries or add new groups.
    pub fn apply_experiment(
        &mut self,
        table: Option<Value>,
        file: &str,
        sources: &ConfigSources,
        errors: &mut Vec<ConfigError>,
    ) {
        let bad = |key: &str, reason: String| ConfigError::BadTable {
            table: "defaults".into(),
            path: file.into(),
            key: key.into(),
            reason,
        };
        let table = match table {
            None => return,
            Some(Value::Table(t)) => t,
            Some(_) => return errors.push(bad("defaults", "[defaults] must be a table".into())),
        };
        for (key, v) in table {
            let Some(option) = v.as_str().filter(|s| !s.is_empty()).map(str::to_string) else {
                errors.push(bad(
                    &key,
                    "the value must be the name of an option (a non-empty string)".into(),
                ));
                continue;
            };
            if key == "experiment" {
                errors.push(bad(
                    &key,
                    "an experiment cannot choose another experiment".into(),
                ));
                continue;
            }
            if let Err(reason) = check_entry_key(&key) {
                errors.push(bad(&key, reason));
                continue;
            }
            let hits = self.matching(&key);
            match hits.as_slice() {
                [i] => {
                    self.entries[*i].option = option;
                    self.entries[*i].source = entry_source(file);
                }
                [] => {
                    let entry = Entry::new(&key, option, entry_source(file));
                    let groups = sources.groups();
                    if groups.contains_key(&entry.group) {
                        self.entries.push(entry);
                    } else {
                        errors.push(ConfigError::UnknownGroup {
                            suggestion: nearest(&entry.group, groups.keys().map(String::as_str)),
                            group: entry.group,
                            origin: file.to_string(),
                            available: groups.into_keys().collect(),
                        });
                    }
                }
                many => errors.push(ConfigError::AmbiguousGroup {
                    group: key.clone(),
                    origin: file.to_string(),
                    pipeline: "the pipeline".into(),
                    entries: many.iter().map(|&i| self.entries[i].key.clone()).collect(),
                }),
            }
        }
    }

    fn describe(&self) -> String {
        if self.entries.is_empty() {
            return "(none)".into();
        }
        self.entries
            .iter()
            .map(|e| format!("{}={}", e.key, e.option))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `[aliases]`: short command-line names for one or several dotted paths.
#[derive(Debug, Clone, Default)]
pub struct Aliases {
    map: BTreeMap<String, Vec<String>>,
}

impl Aliases {
    pub fn from_pipeline(
        value: Option<&Value>,
        file: &str,
        defaults: &Defaults,
        errors: &mut Vec<ConfigError>,
    ) -> Aliases {
        let mut out = Aliases::default();
        let bad = |key: &str, reason: &str| ConfigError::BadTable {
            table: "aliases".into(),
            path: file.into(),
            key: key.into(),
            reason: reason.into(),
        };
        let Some(value) = value else { return out };
        let Some(table) = value.as_table() else {
            errors.push(bad(
                "aliases",
                "[aliases] must be a table of name = \"dotted.path\"",
            ));
            return out;
        };
        for (name, v) in table {
            let targets: Option<Vec<String>> = match v {
                Value::String(s) => Some(vec![s.clone()]),
                Value::Array(a) if !a.is_empty() => {
                    a.iter().map(|x| x.as_str().map(str::to_string)).collect()
                }
                _ => None,
            };
            let Some(targets) = targets.filter(|t| t.iter().all(|p| is_dotted_key(p))) else {
                errors.push(bad(
                    name,
                    "the value must be a dotted key path or a non-empty list of them",
                ));
                continue;
            };
            if !is_dotted_key(name) {
                errors.push(bad(
                    name,
                    "an alias name must be a plain name or a dotted path of plain names (letters, digits, '_', '-')",
                ));
            } else if defaults.entries.iter().any(|e| &e.group == name) || name == "experiment" {
                errors.push(bad(
                    name,
                    "this name is also a config group of the pipeline; rename the alias",
                ));
            } else {
                out.map.insert(name.clone(), targets);
            }
        }
        out
    }

    /// The longest alias that is `key` or a prefix of it ending at a dot (`tta` matches
    /// `tta.enabled`; a dotted alias `source.path` matches only itself and below, so
    /// `source.cases` still names the `source` table), with the rest of the key.
    fn lookup<'k>(&self, key: &'k str) -> Option<(&Vec<String>, &'k str)> {
        let mut head = key;
        loop {
            if let Some(targets) = self.map.get(head) {
                let rest = key[head.len()..].trim_start_matches('.');
                return Some((targets, rest));
            }
            head = &head[..head.rfind('.')?];
        }
    }

    /// Whether `key` starts with an alias.
    pub fn contains(&self, key: &str) -> bool {
        self.lookup(key).is_some()
    }

    /// The override with its alias replaced by the target path(s); unchanged when no alias applies.
    pub fn expand(&self, o: &Override) -> Vec<Override> {
        match self.lookup(o.key()) {
            None => vec![o.clone()],
            Some((targets, rest)) => targets
                .iter()
                .map(|t| {
                    o.with_key(if rest.is_empty() {
                        t.clone()
                    } else {
                        format!("{t}.{rest}")
                    })
                })
                .collect(),
        }
    }
}
