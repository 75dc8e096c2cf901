//! Plan validation errors: every problem found in a pipeline graph, in the user's own names
//! (node ids, port names, kinds as written in the pipeline file), each saying what is wrong,
//! where it came from when known, and how to fix it. [`PlanErrors`] carries all of them so the
//! user sees every problem at once.

use std::fmt;

/// One problem in a pipeline graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("node `{node}`: unknown kind `{kind}`{}; {}`list` shows every kind", from(.origin), dym(.suggestion))]
    UnknownKind {
        node: String,
        kind: String,
        suggestion: Option<String>,
        origin: Option<String>,
    },

    #[error("node `{node}` ({kind}): required input `{port}` is not connected{}; add `inputs = {{ {port} = \"<node id>\" }}` to [nodes.{node}]", from(.origin))]
    MissingInput {
        node: String,
        kind: String,
        port: String,
        origin: Option<String>,
    },

    #[error("node `{node}` ({kind}): unknown input port `{port}`{}; {}valid ports: {}", from(.origin), dym(.suggestion), list_or_none(.valid))]
    UnknownPort {
        node: String,
        kind: String,
        port: String,
        suggestion: Option<String>,
        valid: Vec<String>,
        origin: Option<String>,
    },

    #[error("node `{node}`: input `{port}` reads `{target}`, which is not a node of this pipeline{}{}", from(.origin), did_you_mean(.suggestion))]
    DanglingInput {
        node: String,
        port: String,
        target: String,
        suggestion: Option<String>,
        origin: Option<String>,
    },

    #[error("node `{node}`: input `{port}` uses `{target}@prev`, but `{node}` is not in a repeat block{}; `@prev` only works inside [repeat.<name>] (list both nodes in its `nodes`), otherwise write `{target}`", from(.origin))]
    PrevOutsideBlock {
        node: String,
        port: String,
        target: String,
        origin: Option<String>,
    },

    #[error("node `{node}`: input `{port}` uses `{target}@prev`, but `{target}` is not in repeat block `{block}`{}; add it to repeat.{block}.nodes, or write `{target}` to read its final output", from(.origin))]
    PrevNotInBlock {
        node: String,
        port: String,
        target: String,
        block: String,
        origin: Option<String>,
    },

    #[error("node `{node}` ({kind}): input `{port}` = `{target}@prev` has nothing to read at iteration 1 and the port is required{}; give it a first value with `{target}@prev|<node outside the block>`", from(.origin))]
    PrevNeedsFirst {
        node: String,
        kind: String,
        port: String,
        target: String,
        origin: Option<String>,
    },

    #[error("node `{node}`: input `{port}` = `{target}@prev|{first}`: the first-iteration node `{first}` is in the same repeat block `{block}`{}; it must be a node outside the block", from(.origin))]
    PrevFirstInBlock {
        node: String,
        port: String,
        target: String,
        first: String,
        block: String,
        origin: Option<String>,
    },

    #[error("cycle in the pipeline graph: {}; break it by removing one of these inputs (for an iterative loop use a repeat block with `@prev`)", .path.join(" -> "))]
    Cycle { path: Vec<String> },

    #[error("node `{node}` ({kind}): input `{port}` accepts {}, but `{upstream}` ({upstream_kind}) produces `{produces}`{}", quoted_list(.accepts), from(.origin))]
    PortType {
        node: String,
        kind: String,
        port: String,
        accepts: Vec<String>,
        upstream: String,
        upstream_kind: String,
        produces: String,
        origin: Option<String>,
    },

    #[error("node `{node}` ({kind}): {}{message}{}", key_prefix(.node, .path), from(.origin))]
    NodeConfig {
        node: String,
        kind: String,
        path: String,
        message: String,
        origin: Option<String>,
    },

    #[error("node `{node}` ({kind}): {message}{}", from(.origin))]
    External {
        node: String,
        kind: String,
        message: String,
        origin: Option<String>,
    },

    #[error("node `{node}`: {message}")]
    Internal { node: String, message: String },

    #[error("repeat block `{block}`: lists `{node}`, which is not a node of this pipeline; {}add [nodes.{node}] or remove it from repeat.{block}.nodes", dym(.suggestion))]
    RepeatUnknownNode {
        block: String,
        node: String,
        suggestion: Option<String>,
    },

    #[error(
        "node `{node}` is listed in two repeat blocks (`{first}` and `{second}`); a node belongs to at most one block"
    )]
    RepeatTwice {
        node: String,
        first: String,
        second: String,
    },

    #[error(
        "repeat block `{block}`: iterations must be at least 1 (got 0); set repeat.{block}.iterations=1 or more"
    )]
    RepeatZero { block: String },

    #[error(
        "repeat block `{block}` lists no nodes; add node ids to repeat.{block}.nodes or remove the block"
    )]
    RepeatEmpty { block: String },
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn dym(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default()
}

fn from(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (from {s})"))
        .unwrap_or_default()
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none (this kind takes no inputs)".into()
    } else {
        v.join(", ")
    }
}

fn quoted_list(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn key_prefix(node: &str, path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("nodes.{node}.{path}: ")
    }
}

/// Every problem found while planning a pipeline, in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanErrors(pub Vec<PlanError>);

impl std::error::Error for PlanErrors {}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems in the pipeline graph:", many.len())?;
                for (i, e) in many.iter().enumerate() {
                    write!(f, "\n  {}. {e}", i + 1)?;
                }
                Ok(())
            }
        }
    }
}

/// A serde message without the `in `key`` line some deserializers append (the key is shown
/// separately), on one line.
pub fn clean_message(message: &str) -> String {
    message
        .lines()
        .filter(|l| !(l.starts_with("in `") && l.ends_with('`')))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The nearest candidate to `word` (Jaro-Winkler >= 0.8, or at most min(2, len/2) edits), if any.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(word, c);
        let close =
            score >= 0.8 || strsim::levenshtein(word, c) <= (word.chars().count() / 2).min(2);
        if close && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_rejects_unrelated_words() {
        assert_eq!(
            nearest("ad", ["add", "scale", "const"]).as_deref(),
            Some("add")
        );
        assert_eq!(
            nearest("scael", ["add", "scale", "const"]).as_deref(),
            Some("scale")
        );
        assert_eq!(nearest("zzzzzzzz", ["add", "scale"]), None);
        assert_eq!(
            nearest("b", ["a", "c"]),
            None,
            "one-letter names are not typos of each other"
        );
    }

    #[test]
    fn messages_lose_the_key_line_and_stay_on_one_line() {
        assert_eq!(
            clean_message("unknown variant `pow`, expected `mul` or `div`\nin `op`\n"),
            "unknown variant `pow`, expected `mul` or `div`"
        );
        assert_eq!(clean_message("a\nb"), "a b");
    }

    #[test]
    fn one_error_prints_alone_and_several_are_numbered() {
        let a = PlanError::RepeatZero {
            block: "loop".into(),
        };
        let b = PlanError::Cycle {
            path: vec!["a".into(), "b".into(), "a".into()],
        };
        assert_eq!(PlanErrors(vec![a.clone()]).to_string(), a.to_string());
        let both = PlanErrors(vec![a, b]).to_string();
        assert!(
            both.starts_with("2 problems in the pipeline graph:\n  1. repeat block `loop`"),
            "{both}"
        );
        assert!(
            both.contains("\n  2. cycle in the pipeline graph: a -> b -> a"),
            "{both}"
        );
    }
}
