//! Conditional nodes: `when = "<key>"` / `when = "!<key>"` in a node table keeps the node only if
//! the composed config's value at `<key>` is truthy (non-empty string, non-zero number, `true`,
//! non-empty array or table) / falsy, and `when = true|false` is a plain switch (off by
//! default in a pipeline, on with `nodes.<id>.when=true`); an input reference `"a|b"` reads the first of `a`, `b` that
//! is kept, and `"a|"` reads `a` if it is kept and leaves the (optional) port unconnected if
//! not (`"x@prev|a|"` does the same for iteration 1 of a repeat block). Nodes that only fed removed nodes are removed too, so a pipeline can offer "train a
//! policy, or load `ckpt_path` if one is given" without running the training when it is not
//! needed. `keep = true` marks a node whose own outputs are wanted (pictures, a data set) so it
//! stays when the only nodes it feeds are removed (`rl4seg run simulate` without `output_path`).
//! Applied to the typed spec before planning; `when` and `keep` never reach a node's config.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::{InputRef, PipelineSpec};

/// Truthiness of a config value.
fn truthy(v: &toml::Value) -> bool {
    match v {
        toml::Value::String(s) => !s.is_empty(),
        toml::Value::Integer(i) => *i != 0,
        toml::Value::Float(f) => *f != 0.0,
        toml::Value::Boolean(b) => *b,
        toml::Value::Datetime(_) => true,
        toml::Value::Array(a) => !a.is_empty(),
        toml::Value::Table(t) => !t.is_empty(),
    }
}

fn lookup<'a>(tree: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut cur = tree.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_table()?.get(p)?;
    }
    Some(cur)
}

/// Evaluate `when`, resolve `a|b` references, prune. `tree` is the composed config (for the
/// `when` keys). Errors name the node and say how to fix it.
pub fn apply(spec: &mut PipelineSpec, tree: &toml::Table) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut active = BTreeSet::new();
    let mut wanted = BTreeSet::new();
    for node in &mut spec.nodes {
        match node.config.remove("keep") {
            None | Some(toml::Value::Boolean(false)) => {}
            Some(toml::Value::Boolean(true)) => {
                wanted.insert(node.id.clone());
            }
            Some(other) => errors.push(format!(
                "node `{}`: keep = {other} must be true or false",
                node.id
            )),
        }
        let keep = match node.config.remove("when") {
            None => true,
            // A literal switch, for a node the pipeline leaves off (`nodes.<id>.when=true`).
            Some(toml::Value::Boolean(b)) => b,
            Some(toml::Value::String(cond)) => {
                let (negate, key) = match cond.strip_prefix('!') {
                    Some(k) => (true, k.trim()),
                    None => (false, cond.trim()),
                };
                match lookup(tree, key) {
                    Some(v) => truthy(v) != negate,
                    None => {
                        errors.push(format!(
                            "node `{}`: when = {cond:?} names no config key; write true or false, or a dotted key of the composed config (see `rl4seg show`)",
                            node.id
                        ));
                        true
                    }
                }
            }
            Some(other) => {
                errors.push(format!(
                    "node `{}`: when = {other} must be true, false, a string \"<key>\" or \"!<key>\"",
                    node.id
                ));
                true
            }
        };
        if keep {
            active.insert(node.id.clone());
        }
    }
    // Resolve alternatives among the active nodes.
    for node in spec.nodes.iter_mut().filter(|n| active.contains(&n.id)) {
        let mut unconnected = Vec::new();
        for (port, r) in node.inputs.iter_mut() {
            let (target, in_prev) = match r {
                InputRef::Node(t) => (t, false),
                InputRef::Prev { first: Some(f), .. } => (f, true),
                InputRef::Prev { first: None, .. } => continue,
            };
            if !target.contains('|') {
                continue;
            }
            let choices: Vec<&str> = target.split('|').map(str::trim).collect();
            match choices.iter().find(|c| active.contains(**c)) {
                Some(c) => *target = (*c).to_string(),
                // A trailing empty alternative (`"a|"`): leave the port unconnected (for
                // `"x@prev|a|"`, at iteration 1 only).
                None if choices.last() == Some(&"") => unconnected.push((port.clone(), in_prev)),
                None => errors.push(format!(
                    "node `{}`: input `{port}` = {target:?}: none of these nodes is active (check their `when`, or end the list with `|` to leave an optional port unconnected)",
                    node.id
                )),
            }
        }
        for (port, in_prev) in unconnected {
            if in_prev {
                if let Some(InputRef::Prev { first, .. }) = node.inputs.get_mut(&port) {
                    *first = None;
                }
            } else {
                node.inputs.remove(&port);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Keep active nodes that are wanted: sinks of the original graph, or inputs of kept nodes.
    let mut consumers: BTreeMap<&str, usize> = BTreeMap::new();
    for node in &spec.nodes {
        for r in node.inputs.values() {
            if let InputRef::Node(t) = r {
                for t in t.split('|') {
                    *consumers.entry(t.trim()).or_default() += 1;
                }
            }
        }
    }
    let originally_sink: BTreeSet<String> = spec
        .nodes
        .iter()
        .filter(|n| !consumers.contains_key(n.id.as_str()))
        .map(|n| n.id.clone())
        .collect();
    let mut keep: BTreeSet<String> = active
        .iter()
        .filter(|id| originally_sink.contains(*id) || wanted.contains(*id))
        .cloned()
        .collect();
    let by_id: BTreeMap<String, Vec<String>> = spec
        .nodes
        .iter()
        .map(|n| {
            let deps = n
                .inputs
                .values()
                .flat_map(|r| match r {
                    InputRef::Node(t) => vec![t.clone()],
                    InputRef::Prev { node, first } => {
                        std::iter::once(node.clone()).chain(first.clone()).collect()
                    }
                })
                .collect();
            (n.id.clone(), deps)
        })
        .collect();
    let mut stack: Vec<String> = keep.iter().cloned().collect();
    while let Some(id) = stack.pop() {
        for dep in by_id.get(&id).into_iter().flatten() {
            if active.contains(dep) && keep.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    // Repeat blocks keep their nodes while any instance is wanted.
    for block in &spec.repeat {
        if block.nodes.iter().any(|n| keep.contains(n)) {
            for n in &block.nodes {
                if active.contains(n) && keep.insert(n.clone()) {
                    stack.push(n.clone());
                }
            }
        }
    }
    while let Some(id) = stack.pop() {
        for dep in by_id.get(&id).into_iter().flatten() {
            if active.contains(dep) && keep.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    spec.nodes.retain(|n| keep.contains(&n.id));
    for block in &mut spec.repeat {
        block.nodes.retain(|n| keep.contains(n));
    }
    spec.repeat.retain(|b| !b.nodes.is_empty());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{NodeSpec, RuntimeConfig};

    #[test]
    fn a_kept_node_stays_when_the_node_it_feeds_is_removed() {
        let mut s = spec(vec![
            node("data", &[], None),
            node("export", &[("data", "data")], Some("x")),
        ]);
        s.nodes[0]
            .config
            .insert("keep".into(), toml::Value::Boolean(true));
        let off: toml::Table = toml::from_str("x = false").expect("toml");
        let mut pruned = s.clone();
        pruned.nodes[0].config.remove("keep");
        apply(&mut pruned, &off).expect("valid");
        assert!(
            ids(&pruned).is_empty(),
            "without keep, data only fed export"
        );
        apply(&mut s, &off).expect("valid");
        assert_eq!(ids(&s), ["data"]);
        assert!(!s.nodes[0].config.contains_key("keep"));

        let mut bad = spec(vec![node("a", &[], None)]);
        bad.nodes[0]
            .config
            .insert("keep".into(), toml::Value::String("yes".into()));
        let err = apply(&mut bad, &off).expect_err("bad keep");
        assert!(
            err[0].contains("keep = \"yes\" must be true or false"),
            "{err:?}"
        );
    }

    fn node(id: &str, inputs: &[(&str, &str)], when: Option<&str>) -> NodeSpec {
        let mut config = toml::Table::new();
        if let Some(w) = when {
            config.insert("when".into(), toml::Value::String(w.into()));
        }
        NodeSpec {
            id: id.into(),
            kind: "k".into(),
            inputs: inputs
                .iter()
                .map(|(p, t)| (p.to_string(), InputRef::Node(t.to_string())))
                .collect(),
            config,
        }
    }

    fn spec(nodes: Vec<NodeSpec>) -> PipelineSpec {
        PipelineSpec {
            name: "p".into(),
            seed: 0,
            runtime: RuntimeConfig::default(),
            nodes,
            repeat: vec![],
        }
    }

    fn ids(s: &PipelineSpec) -> Vec<&str> {
        s.nodes.iter().map(|n| n.id.as_str()).collect()
    }

    fn tree(ckpt: &str) -> toml::Table {
        toml::from_str(&format!("[nodes.file]\npath = {ckpt:?}")).expect("toml")
    }

    fn pipeline() -> PipelineSpec {
        spec(vec![
            node("data", &[], None),
            node("train", &[("data", "data")], Some("!nodes.file.path")),
            node("file", &[], Some("nodes.file.path")),
            node("predict", &[("policy", "file|train")], None),
        ])
    }

    #[test]
    fn a_given_checkpoint_prunes_training_and_its_data() {
        let mut s = pipeline();
        apply(&mut s, &tree("/x.safetensors")).expect("valid");
        assert_eq!(ids(&s), ["file", "predict"]);
        assert_eq!(s.nodes[1].inputs["policy"], InputRef::Node("file".into()));
        assert!(s.nodes.iter().all(|n| !n.config.contains_key("when")));
    }

    #[test]
    fn no_checkpoint_trains() {
        let mut s = pipeline();
        apply(&mut s, &tree("")).expect("valid");
        assert_eq!(ids(&s), ["data", "train", "predict"]);
        assert_eq!(s.nodes[2].inputs["policy"], InputRef::Node("train".into()));
    }

    #[test]
    fn a_prev_reference_takes_its_first_iteration_node_from_the_active_alternatives() {
        let prev = |first: &str| InputRef::Prev {
            node: "step".into(),
            first: Some(first.into()),
        };
        let make = || {
            let mut step = node("step", &[], None);
            step.inputs.insert("previous".into(), prev("anchor|"));
            spec(vec![node("anchor", &[], Some("x")), step])
        };
        let on: toml::Table = toml::from_str("x = true").expect("toml");
        let mut s = make();
        apply(&mut s, &on).expect("valid");
        assert_eq!(ids(&s), ["anchor", "step"]);
        assert_eq!(s.nodes[1].inputs["previous"], prev("anchor"));

        let off: toml::Table = toml::from_str("x = false").expect("toml");
        let mut s = make();
        apply(&mut s, &off).expect("valid");
        assert_eq!(ids(&s), ["step"]);
        assert_eq!(
            s.nodes[0].inputs["previous"],
            InputRef::Prev {
                node: "step".into(),
                first: None
            }
        );
    }

    #[test]
    fn a_literal_when_switches_a_node() {
        for (when, kept) in [(false, vec!["b"]), (true, vec!["a", "b"])] {
            let mut a = node("a", &[], None);
            a.config.insert("when".into(), toml::Value::Boolean(when));
            let mut s = spec(vec![a, node("b", &[("x", "a|")], None)]);
            apply(&mut s, &toml::Table::new()).expect("valid");
            assert_eq!(ids(&s), kept, "when = {when}");
        }
    }

    #[test]
    fn bad_when_key_is_reported() {
        let mut s = spec(vec![node("a", &[], Some("nodes.nope"))]);
        let err = apply(&mut s, &toml::Table::new()).expect_err("unknown key");
        assert!(err[0].contains("names no config key"), "{err:?}");
    }

    #[test]
    fn no_active_alternative_is_reported() {
        let mut s = spec(vec![
            node("a", &[], Some("x")),
            node("b", &[("i", "a|a")], None),
        ]);
        let t: toml::Table = toml::from_str("x = false").expect("toml");
        let err = apply(&mut s, &t).expect_err("none active");
        assert!(err[0].contains("none of these nodes is active"), "{err:?}");
    }

    #[test]
    fn a_trailing_bar_leaves_an_optional_port_unconnected() {
        let mut s = spec(vec![
            node("a", &[], Some("x")),
            node("b", &[("i", "a|")], None),
        ]);
        let off: toml::Table = toml::from_str("x = false").expect("toml");
        apply(&mut s, &off).expect("valid");
        assert_eq!(ids(&s), ["b"]);
        assert!(s.nodes[0].inputs.is_empty());

        let mut s = spec(vec![
            node("a", &[], Some("x")),
            node("b", &[("i", "a|")], None),
        ]);
        let on: toml::Table = toml::from_str("x = true").expect("toml");
        apply(&mut s, &on).expect("valid");
        assert_eq!(ids(&s), ["a", "b"]);
        assert_eq!(s.nodes[1].inputs["i"], InputRef::Node("a".into()));
    }
}
