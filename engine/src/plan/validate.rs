//! Whole-graph validation before anything runs: kinds, node configs (through
//! `Registry::resolve`), repeat blocks, ports, references, port types and cycles. Every problem
//! is collected (never stop at the first) and named in the user's terms.

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};

use super::errors::{PlanError, nearest};
use crate::node::{KindInfo, Registry};
use crate::spec::{InputRef, PipelineSpec};

/// Looks up where a dotted config path came from (a file, the command line), for messages.
pub type SourceLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What validation learned about the pipeline, used to unroll it.
pub(super) struct Checked<'a> {
    /// Per `spec.nodes` index: the kind (None when unknown).
    pub kinds: Vec<Option<&'static KindInfo>>,
    /// Per `spec.nodes` index: the canonical config (None when it did not resolve).
    pub configs: Vec<Option<toml::Table>>,
    /// Per `spec.nodes` index: `Registry::external_fingerprint` of the canonical config.
    pub external: Vec<Option<String>>,
    /// Node id -> index in `spec.nodes`.
    pub index: HashMap<&'a str, usize>,
    /// Node id -> index in `spec.repeat`.
    pub block_of: HashMap<&'a str, usize>,
}

pub(super) fn validate<'a>(
    spec: &'a PipelineSpec,
    registry: &dyn Registry,
    sources: SourceLookup<'_>,
) -> (Checked<'a>, Vec<PlanError>) {
    let mut errors = Vec::new();
    let index: HashMap<&str, usize> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let node_source = |id: &str, path: &str| {
        let full = if path.is_empty() {
            format!("nodes.{id}")
        } else {
            format!("nodes.{id}.{path}")
        };
        sources(&full)
            .or_else(|| sources(&format!("nodes.{id}.kind")))
            .or_else(|| sources(&format!("nodes.{id}")))
    };

    // Kinds and node configs.
    let mut kinds = Vec::with_capacity(spec.nodes.len());
    let mut configs = Vec::with_capacity(spec.nodes.len());
    let mut external = Vec::with_capacity(spec.nodes.len());
    for n in &spec.nodes {
        let kind = registry.kind(&n.kind);
        if kind.is_none() {
            errors.push(PlanError::UnknownKind {
                node: n.id.clone(),
                kind: n.kind.clone(),
                suggestion: nearest(&n.kind, registry.kinds().iter().map(|k| k.name)),
                origin: node_source(&n.id, "kind"),
            });
        }
        let config = kind.and_then(|k| match registry.resolve(k.name, n.config.clone()) {
            Ok(c) => Some(c),
            Err(issues) => {
                for issue in issues {
                    errors.push(PlanError::NodeConfig {
                        node: n.id.clone(),
                        kind: n.kind.clone(),
                        origin: node_source(&n.id, &issue.path),
                        path: issue.path,
                        message: super::errors::clean_message(&issue.message),
                    });
                }
                None
            }
        });
        let fingerprint = match (kind, &config) {
            (Some(k), Some(c)) => match registry.external_fingerprint(k.name, c) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(PlanError::External {
                        node: n.id.clone(),
                        kind: n.kind.clone(),
                        message: e.to_string(),
                        origin: node_source(&n.id, ""),
                    });
                    None
                }
            },
            _ => None,
        };
        kinds.push(kind);
        configs.push(config);
        external.push(fingerprint);
    }

    // Repeat blocks.
    let mut block_of: HashMap<&str, usize> = HashMap::new();
    for (b, block) in spec.repeat.iter().enumerate() {
        if block.iterations == 0 {
            errors.push(PlanError::RepeatZero {
                block: block.name.clone(),
            });
        }
        if block.nodes.is_empty() {
            errors.push(PlanError::RepeatEmpty {
                block: block.name.clone(),
            });
        }
        for id in &block.nodes {
            if !index.contains_key(id.as_str()) {
                errors.push(PlanError::RepeatUnknownNode {
                    block: block.name.clone(),
                    node: id.clone(),
                    suggestion: nearest(id, index.keys().copied()),
                });
            } else if let Some(&first) = block_of.get(id.as_str()) {
                if first != b {
                    errors.push(PlanError::RepeatTwice {
                        node: id.clone(),
                        first: spec.repeat[first].name.clone(),
                        second: block.name.clone(),
                    });
                }
            } else {
                block_of.insert(id.as_str(), b);
            }
        }
    }

    let checked = Checked {
        kinds,
        configs,
        external,
        index,
        block_of,
    };
    check_ports(spec, &checked, &node_source, &mut errors);
    if let Some(cycle_errors) = find_cycles(spec, &checked) {
        errors.extend(cycle_errors);
    }
    (checked, errors)
}

fn check_ports(
    spec: &PipelineSpec,
    c: &Checked<'_>,
    node_source: &dyn Fn(&str, &str) -> Option<String>,
    errors: &mut Vec<PlanError>,
) {
    for (i, n) in spec.nodes.iter().enumerate() {
        let Some(kind) = c.kinds[i] else { continue };
        let src = |port: &str| node_source(&n.id, &format!("inputs.{port}"));
        for port in kind.inputs {
            if !port.optional && !n.inputs.contains_key(port.name) {
                errors.push(PlanError::MissingInput {
                    node: n.id.clone(),
                    kind: n.kind.clone(),
                    port: port.name.into(),
                    origin: node_source(&n.id, ""),
                });
            }
        }
        for (port_name, reference) in &n.inputs {
            let Some(port) = kind.inputs.iter().find(|p| p.name == port_name) else {
                errors.push(PlanError::UnknownPort {
                    node: n.id.clone(),
                    kind: n.kind.clone(),
                    port: port_name.clone(),
                    suggestion: nearest(port_name, kind.inputs.iter().map(|p| p.name)),
                    valid: kind.inputs.iter().map(|p| p.name.to_string()).collect(),
                    origin: src(port_name),
                });
                continue;
            };
            // Every node this port may read, checked for existence and output type.
            let mut targets: Vec<&str> = Vec::new();
            match reference {
                InputRef::Node(t) => targets.push(t),
                InputRef::Prev { node: t, first } => {
                    let my_block = c.block_of.get(n.id.as_str()).copied();
                    match my_block {
                        None => errors.push(PlanError::PrevOutsideBlock {
                            node: n.id.clone(),
                            port: port_name.clone(),
                            target: t.clone(),
                            origin: src(port_name),
                        }),
                        Some(b)
                            if c.index.contains_key(t.as_str())
                                && c.block_of.get(t.as_str()) != Some(&b) =>
                        {
                            errors.push(PlanError::PrevNotInBlock {
                                node: n.id.clone(),
                                port: port_name.clone(),
                                target: t.clone(),
                                block: spec.repeat[b].name.clone(),
                                origin: src(port_name),
                            })
                        }
                        Some(b) => {
                            if let Some(f) = first {
                                if c.block_of.get(f.as_str()) == Some(&b) {
                                    errors.push(PlanError::PrevFirstInBlock {
                                        node: n.id.clone(),
                                        port: port_name.clone(),
                                        target: t.clone(),
                                        first: f.clone(),
                                        block: spec.repeat[b].name.clone(),
                                        origin: src(port_name),
                                    });
                                }
                            } else if !port.optional {
                                errors.push(PlanError::PrevNeedsFirst {
                                    node: n.id.clone(),
                                    kind: n.kind.clone(),
                                    port: port_name.clone(),
                                    target: t.clone(),
                                    origin: src(port_name),
                                });
                            }
                        }
                    }
                    targets.push(t);
                    if let Some(f) = first {
                        targets.push(f);
                    }
                }
            }
            for t in targets {
                let Some(&ti) = c.index.get(t) else {
                    errors.push(PlanError::DanglingInput {
                        node: n.id.clone(),
                        port: port_name.clone(),
                        target: t.to_string(),
                        suggestion: nearest(t, c.index.keys().copied()),
                        origin: src(port_name),
                    });
                    continue;
                };
                if let Some(up) = c.kinds[ti]
                    && !port.accepts.contains(&up.output)
                {
                    errors.push(PlanError::PortType {
                        node: n.id.clone(),
                        kind: n.kind.clone(),
                        port: port_name.clone(),
                        accepts: port.accepts.iter().map(|s| s.to_string()).collect(),
                        upstream: t.to_string(),
                        upstream_kind: up.name.to_string(),
                        produces: up.output.to_string(),
                        origin: src(port_name),
                    });
                }
            }
        }
    }
}

/// Edges upstream -> downstream of the declared graph (`@prev` edges point to an earlier
/// iteration and cannot close a cycle, so they are left out; their first-iteration node is in).
pub(super) fn declared_edges<'s>(
    spec: &'s PipelineSpec,
) -> impl Iterator<Item = (usize, &'s str)> + 's {
    spec.nodes.iter().enumerate().flat_map(|(i, n)| {
        n.inputs.values().filter_map(move |r| match r {
            InputRef::Node(t) => Some((i, t.as_str())),
            InputRef::Prev { first: Some(f), .. } => Some((i, f.as_str())),
            InputRef::Prev { first: None, .. } => None,
        })
    })
}

fn find_cycles(spec: &PipelineSpec, c: &Checked<'_>) -> Option<Vec<PlanError>> {
    let mut g: DiGraph<usize, ()> = DiGraph::with_capacity(spec.nodes.len(), spec.nodes.len());
    let ix: Vec<NodeIndex> = (0..spec.nodes.len()).map(|i| g.add_node(i)).collect();
    for (down, up) in declared_edges(spec) {
        if let Some(&u) = c.index.get(up) {
            g.update_edge(ix[u], ix[down], ());
        }
    }
    if !petgraph::algo::is_cyclic_directed(&g) {
        return None;
    }
    let mut sccs: Vec<Vec<NodeIndex>> = petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
        .collect();
    for scc in &mut sccs {
        scc.sort();
    }
    sccs.sort();
    let errors = sccs
        .iter()
        .map(|scc| PlanError::Cycle {
            path: cycle_path(&g, scc)
                .into_iter()
                .map(|i| spec.nodes[i].id.clone())
                .collect(),
        })
        .collect();
    Some(errors)
}

/// Shortest cycle through the first (file order) member of a strongly connected component,
/// as node indices, starting and ending with that member.
fn cycle_path(g: &DiGraph<usize, ()>, scc: &[NodeIndex]) -> Vec<usize> {
    let start = scc[0];
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let neighbours = |n: NodeIndex| {
        let mut v: Vec<NodeIndex> = g.neighbors(n).filter(|m| scc.contains(m)).collect();
        v.sort();
        v
    };
    while let Some(n) = queue.pop_front() {
        for m in neighbours(n) {
            if m == start {
                let mut path = vec![g[start]];
                let mut cur = n;
                let mut back = vec![];
                while cur != start {
                    back.push(g[cur]);
                    cur = parent[&cur];
                }
                path.extend(back.into_iter().rev());
                path.push(g[start]);
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![g[start], g[start]]
}
