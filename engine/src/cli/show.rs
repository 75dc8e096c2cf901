//! `show`: the resolved config as TOML, like Hydra's `--cfg job --resolve`: the composed tree
//! with `runtime` complete (every default set), and each node's table holding its kind, its
//! inputs and its canonical config from `Registry::resolve`. Also the body of `config.toml` in
//! run directories.

use super::CliError;
use crate::config::Composed;
use crate::node::Registry;
use crate::plan::{PlanError, PlanErrors};
use crate::spec::{InputRef, NodeSpec, PipelineSpec};

/// Renders the resolved config; node configs that do not resolve are user errors (all listed).
pub fn render(
    composed: &Composed,
    spec: &PipelineSpec,
    registry: &dyn Registry,
) -> Result<String, CliError> {
    let mut tree = composed.tree.clone();
    let mut errors = Vec::new();
    let mut nodes = Vec::new();
    for n in &spec.nodes {
        let source = |path: &str| {
            composed
                .provenance
                .source_of(&format!(
                    "nodes.{}{}{path}",
                    n.id,
                    if path.is_empty() { "" } else { "." }
                ))
                .map(|s| s.to_string())
        };
        if registry.kind(&n.kind).is_none() {
            errors.push(PlanError::UnknownKind {
                node: n.id.clone(),
                kind: n.kind.clone(),
                suggestion: crate::plan::errors::nearest(
                    &n.kind,
                    registry.kinds().iter().map(|k| k.name),
                ),
                origin: source("kind"),
            });
            continue;
        }
        match registry.resolve(&n.kind, n.config.clone()) {
            Ok(resolved) => nodes.push(render_node(n, resolved)?),
            Err(issues) => errors.extend(issues.into_iter().map(|i| PlanError::NodeConfig {
                node: n.id.clone(),
                kind: n.kind.clone(),
                origin: source(&i.path),
                path: i.path,
                message: crate::plan::errors::clean_message(&i.message),
            })),
        }
    }
    if !errors.is_empty() {
        return Err(CliError::user(PlanErrors(errors)));
    }
    let runtime = toml::Value::try_from(&spec.runtime)
        .map_err(|e| CliError::internal(format!("cannot render runtime: {e}")))?;
    tree.insert(
        "seed".into(),
        toml::Value::Integer(i64::try_from(spec.seed).unwrap_or(i64::MAX)),
    );
    tree.insert("runtime".into(), runtime);
    tree.remove("nodes");
    let repeat = tree.remove("repeat");
    // Order: seed, defaults, aliases, runtime, anything else; then nodes; then repeat blocks.
    let mut head = toml::Table::new();
    for key in ["seed", "defaults", "aliases", "runtime"] {
        if let Some(v) = tree.remove(key) {
            head.insert(key.into(), v);
        }
    }
    head.extend(tree);
    let mut out = to_toml(&head)?;
    for node in nodes {
        out.push('\n');
        out.push_str(&node);
    }
    if let Some(repeat) = repeat {
        out.push('\n');
        out.push_str(&to_toml(&toml::Table::from_iter([(
            "repeat".to_string(),
            repeat,
        )]))?);
    }
    Ok(out)
}

fn to_toml(t: &toml::Table) -> Result<String, CliError> {
    toml::to_string(t).map_err(|e| CliError::internal(format!("cannot render the config: {e}")))
}

/// `[nodes.<id>]` with `kind` and an inline `inputs` first, then the resolved config.
fn render_node(n: &NodeSpec, resolved: toml::Table) -> Result<String, CliError> {
    let wrapped = toml::Table::from_iter([(
        "nodes".to_string(),
        toml::Value::Table(toml::Table::from_iter([(
            n.id.clone(),
            toml::Value::Table(resolved),
        )])),
    )]);
    let body = to_toml(&wrapped)?;
    let mut lines = vec![format!("kind = {}", toml::Value::String(n.kind.clone()))];
    if !n.inputs.is_empty() {
        let refs: Vec<String> = n
            .inputs
            .iter()
            .map(|(port, r)| {
                let text = match r {
                    InputRef::Node(t) => t.clone(),
                    InputRef::Prev { node, first: None } => format!("{node}@prev"),
                    InputRef::Prev {
                        node,
                        first: Some(f),
                    } => format!("{node}@prev|{f}"),
                };
                format!("{} = {}", toml_key(port), toml::Value::String(text))
            })
            .collect();
        lines.push(format!("inputs = {{ {} }}", refs.join(", ")));
    }
    let (header, rest) = match body.split_once('\n') {
        Some((h, r)) if h.starts_with("[nodes.") => (h.to_string(), r.to_string()),
        _ => (
            format!("[nodes.{}]", toml_key(&n.id)),
            body.trim_start_matches("[nodes]\n").to_string(),
        ),
    };
    Ok(format!("{header}\n{}\n{rest}", lines.join("\n")))
}

/// A bare key if it is one, else a quoted key.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}
