//! Typed errors of the config layer. Each [`ConfigError`] displays as one message saying what is
//! wrong, where it came from (a file, the command line, an environment variable) and how to fix
//! it; [`ConfigErrors`] carries every problem found in one pass so that users fix them together.

use std::fmt;

/// One problem found while reading, composing, interpolating or parsing a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}. Check that the file exists and is readable")]
    Read { path: String, reason: String },

    #[error("{path} is not valid TOML: {reason}")]
    Toml { path: String, reason: String },

    #[error("config dir '{path}' (from {origin}) {problem}")]
    ConfigDir {
        path: String,
        origin: String,
        problem: String,
    },

    #[error(
        "unknown pipeline '{name}'{}; available: {}. Give a pipeline name or a path to a .toml file",
        paren_dym(suggestion),
        list_or_none(available)
    )]
    UnknownPipeline {
        name: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },

    #[error("malformed override '{text}': {reason}")]
    Malformed { text: String, reason: String },

    #[error(
        "'{text}' is a sweep, which needs -m/--multirun. To pass a literal instead, quote it ({quoted}) or make it a list ({listed})."
    )]
    SweepWithoutMultirun {
        text: String,
        quoted: String,
        listed: String,
    },

    #[error("bad sweep '{text}': {reason}")]
    BadSweep { text: String, reason: String },

    #[error("zipped sweep needs every swept key to have the same number of values, got {}; make the lists the same length or use the product sweep",
        lengths.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", "))]
    ZipLength { lengths: Vec<(String, usize)> },

    #[error("unknown key '{key}' ({origin}){}{} To add a new key use +{key}={value}",
        sentence_dym(suggestion), hint.as_deref().map(|h| format!(" {h}")).unwrap_or_default())]
    UnknownKey {
        key: String,
        origin: String,
        value: String,
        suggestion: Option<String>,
        hint: Option<String>,
    },

    #[error(
        "key '{key}' already exists (set by {existing}), so '{text}' cannot add it. Use {key}={value} to change it, or ++{key}={value} to add or set"
    )]
    KeyExists {
        key: String,
        text: String,
        value: String,
        existing: String,
    },

    #[error(
        "cannot delete '{key}' ({origin}): no such key{}",
        paren_dym(suggestion)
    )]
    DeleteMissing {
        key: String,
        origin: String,
        suggestion: Option<String>,
    },

    #[error(
        "cannot delete '{key}' ({origin}): its value is {actual}, not {expected}. Write ~{key} to delete whatever its value is"
    )]
    DeleteMismatch {
        key: String,
        origin: String,
        actual: String,
        expected: String,
    },

    #[error("cannot set '{key}' ({origin}): '{parent}' is {what}, not a table{}",
        hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    NotATable {
        key: String,
        origin: String,
        parent: String,
        what: String,
        hint: Option<String>,
    },

    #[error(
        "unknown option '{option}' for group '{group}' ({origin}){}; available: {}",
        paren_dym(suggestion),
        list_or_none(available)
    )]
    UnknownOption {
        group: String,
        option: String,
        origin: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },

    #[error(
        "unknown config group '{group}' ({origin}){}; groups: {}",
        paren_dym(suggestion),
        list_or_none(available)
    )]
    UnknownGroup {
        group: String,
        origin: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },

    #[error("group '{group}' appears several times in the defaults of {pipeline} ({origin}); name the one to switch: {}",
        entries.join(", "))]
    AmbiguousGroup {
        group: String,
        origin: String,
        pipeline: String,
        entries: Vec<String>,
    },

    #[error("bad [{table}] entry '{key}' in {path}: {reason}")]
    BadTable {
        table: String,
        path: String,
        key: String,
        reason: String,
    },

    #[error("{key} ({origin}): {reason}")]
    Interpolation {
        key: String,
        origin: String,
        reason: String,
    },

    #[error("interpolation cycle: {} ({}); set one of these keys to a plain value to break it",
        chain.join(" -> "), origins.join(", "))]
    Cycle {
        chain: Vec<String>,
        origins: Vec<String>,
    },

    #[error(
        "'{key}' (from {origin}) is not used by any node{}. Reference it from a node (\"${{{key}}}\") or remove it",
        paren_dym(suggestion)
    )]
    Unused {
        key: String,
        origin: String,
        suggestion: Option<String>,
    },

    #[error("unknown key '{key}' ({origin}){}; allowed here: {}", paren_dym(suggestion), allowed.join(", "))]
    UnknownField {
        key: String,
        origin: String,
        suggestion: Option<String>,
        allowed: Vec<String>,
    },

    #[error("'{key}' ({origin}): {reason}")]
    Type {
        key: String,
        origin: String,
        reason: String,
    },
}

/// Every problem found in one pass (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was collected, the collected errors otherwise.
    pub fn into_result(self) -> Result<(), ConfigErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(v: Vec<ConfigError>) -> Self {
        ConfigErrors(v)
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// ` (did you mean 'x'?)`, or nothing.
fn paren_dym(s: &Option<String>) -> String {
    s.as_deref()
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default()
}

/// `; did you mean 'x'?` or `.`, ending a sentence.
fn sentence_dym(s: &Option<String>) -> String {
    s.as_deref()
        .map_or_else(|| ".".to_string(), |s| format!("; did you mean '{s}'?"))
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_string()
    } else {
        v.join(", ")
    }
}

/// The candidate closest to `target`, if any is close enough to be a plausible typo.
pub fn nearest<'a, I>(target: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == target {
            continue;
        }
        let score = strsim::jaro_winkler(target, c);
        if score >= 0.75 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_picks_close_typo_and_ignores_unrelated() {
        let c = ["nodes.predict.tta", "nodes.predict.tto", "seed"];
        assert_eq!(
            nearest("nodes.predict.ttaa", c).as_deref(),
            Some("nodes.predict.tta")
        );
        assert_eq!(nearest("zzz", c), None);
    }

    #[test]
    fn errors_display_one_per_line() {
        let e = ConfigErrors(vec![
            ConfigError::Read {
                path: "a.toml".into(),
                reason: "gone".into(),
            },
            ConfigError::ZipLength {
                lengths: vec![("a".into(), 2), ("b".into(), 3)],
            },
        ]);
        let s = e.to_string();
        assert_eq!(s.lines().count(), 2);
        assert!(s.contains("a: 2, b: 3"), "{s}");
    }
}
