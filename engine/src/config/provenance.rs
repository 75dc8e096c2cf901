//! Where each value of a composed config came from. A [`Provenance`] maps dotted key paths
//! (tables and leaves) to a [`Source`]; errors anywhere downstream cite it.

use std::collections::BTreeMap;
use std::fmt;

/// The origin of one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A config file, as shown to the user (`configs/data/source.toml`, `./pipelines/x.toml`).
    File(String),
    /// A command-line override, with its original text (`tta=false`).
    CommandLine(String),
    /// An environment variable read by `${env:VAR}`.
    Env(String),
    /// A typed default filled in after composition.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{p}"),
            Source::CommandLine(t) => write!(f, "command line: {t}"),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Default => write!(f, "default value"),
        }
    }
}

/// Dotted key path -> source, for every table and leaf of a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    map: BTreeMap<String, Source>,
}

impl Provenance {
    pub fn new() -> Self {
        Self::default()
    }

    /// Source of `path`, or of its nearest recorded ancestor table.
    pub fn source_of(&self, path: &str) -> Option<&Source> {
        let mut p = path;
        loop {
            if let Some(s) = self.map.get(p) {
                return Some(s);
            }
            p = &p[..p.rfind('.')?];
        }
    }

    /// [`Self::source_of`] rendered for a message; "unknown origin" when nothing is recorded.
    pub fn origin(&self, path: &str) -> String {
        self.source_of(path)
            .map_or_else(|| "unknown origin".to_string(), Source::to_string)
    }

    /// Record the source of one path (e.g. [`Source::Default`] for a value filled in later).
    pub fn set(&mut self, path: impl Into<String>, source: Source) {
        self.map.insert(path.into(), source);
    }

    /// Exact entry (no ancestor lookup).
    pub fn get(&self, path: &str) -> Option<&Source> {
        self.map.get(path)
    }

    /// Forget `path` and everything below it.
    pub fn remove_subtree(&mut self, path: &str) {
        self.map.remove(path);
        let prefix = format!("{path}.");
        let doomed: Vec<String> = self
            .map
            .range(prefix.clone()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for k in doomed {
            self.map.remove(&k);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Source)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl fmt::Display for Provenance {
    /// One `path <- source` line per entry, sorted by path (for snapshots and `--info`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.map {
            writeln!(f, "{k} <- {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_of_falls_back_to_ancestor() {
        let mut p = Provenance::new();
        p.set("nodes.a", Source::File("p.toml".into()));
        p.set("nodes.a.x", Source::CommandLine("nodes.a.x=1".into()));
        assert_eq!(
            p.source_of("nodes.a.x"),
            Some(&Source::CommandLine("nodes.a.x=1".into()))
        );
        assert_eq!(
            p.source_of("nodes.a.y.z"),
            Some(&Source::File("p.toml".into()))
        );
        assert_eq!(p.source_of("other"), None);
        assert_eq!(p.origin("other"), "unknown origin");
    }

    #[test]
    fn remove_subtree_keeps_siblings_with_shared_prefix() {
        let mut p = Provenance::new();
        for k in ["a", "a.b", "a.b.c", "a.bc", "ab"] {
            p.set(k, Source::Default);
        }
        p.remove_subtree("a.b");
        let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "a.bc", "ab"]);
    }
}
