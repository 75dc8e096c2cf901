//! What `plan` prints: a text table (also written to `plan.txt` in run directories) and a
//! Graphviz `dot` graph. Both show each instance's kind, key prefix, cache status and inputs.

use std::fmt::Write as _;

use super::Plan;

/// Whether an instance will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A complete cache entry exists.
    Cached,
    /// Not in the cache: will be computed.
    ToRun,
    /// A non-cacheable kind: runs every time.
    Always,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Cached => "cached",
            Status::ToRun => "to run",
            Status::Always => "always",
        }
    }
}

/// The text table. `status[i]` belongs to `plan.nodes[i]`.
pub fn text(plan: &Plan, status: &[Status]) -> String {
    let count = |s: Status| status.iter().filter(|&&x| x == s).count();
    let mut out = format!(
        "pipeline {}: {} node{} ({} cached, {} to run{})\n",
        plan.pipeline,
        plan.nodes.len(),
        if plan.nodes.len() == 1 { "" } else { "s" },
        count(Status::Cached),
        count(Status::ToRun),
        match count(Status::Always) {
            0 => String::new(),
            n => format!(", {n} always run"),
        }
    );
    let rows: Vec<[String; 6]> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let inputs = if n.inputs.is_empty() {
                "-".to_string()
            } else {
                n.inputs
                    .iter()
                    .map(|(p, u)| format!("{p} <- {u}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let st = status.get(i).copied().unwrap_or(Status::ToRun);
            [
                (i + 1).to_string(),
                n.id.clone(),
                n.kind.clone(),
                n.short_key().to_string(),
                st.label().into(),
                inputs,
            ]
        })
        .collect();
    let header = ["#", "node", "kind", "key", "status", "inputs"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (c, (cell, w)) in r.iter().zip(widths).enumerate() {
            if c == 0 {
                let _ = write!(line, "{cell:>w$}");
            } else if c == r.len() - 1 {
                let _ = write!(line, "  {cell}");
            } else {
                let _ = write!(line, "  {cell:<w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz: cached instances filled green, instances to run white, always-run ones yellow;
/// edges labelled with the reading port.
pub fn dot(plan: &Plan, status: &[Status]) -> String {
    let mut out = format!(
        "digraph {} {{\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        quote(&plan.pipeline)
    );
    for (i, n) in plan.nodes.iter().enumerate() {
        let st = status.get(i).copied().unwrap_or(Status::ToRun);
        let fill = match st {
            Status::Cached => "#d8f0d8",
            Status::ToRun => "#ffffff",
            Status::Always => "#fff3c4",
        };
        let label = format!("{}\\n{}\\n{} ({})", n.id, n.kind, n.short_key(), st.label());
        let _ = writeln!(
            out,
            "  {} [label=\"{}\", style=filled, fillcolor=\"{fill}\"];",
            quote(&n.id),
            label.replace('"', "\\\"")
        );
    }
    for n in &plan.nodes {
        for (port, up) in &n.inputs {
            let _ = writeln!(
                out,
                "  {} -> {} [label={}];",
                quote(up),
                quote(&n.id),
                quote(port)
            );
        }
    }
    out.push_str("}\n");
    out
}
