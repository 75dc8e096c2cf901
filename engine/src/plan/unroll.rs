//! Unrolling a validated pipeline into node instances: repeat blocks become chains
//! `id@1..id@N` (`InputRef` semantics in `spec.rs`), references are resolved to instance ids,
//! instances are put in a stable topological order (file order, a block unrolled iteration by
//! iteration at the place of its first node) and each gets its seed and cache key.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use super::key::{KeyInput, cache_key, node_seed};
use super::validate::Checked;
use super::{PlanError, PlannedNode};
use crate::spec::{InputRef, PipelineSpec};

struct Instance {
    spec_index: usize,
    iteration: Option<u32>,
    id: String,
    /// Port -> upstream instance id.
    inputs: BTreeMap<String, String>,
}

fn instance_id(node: &str, iteration: Option<u32>) -> String {
    match iteration {
        Some(i) => format!("{node}@{i}"),
        None => node.to_string(),
    }
}

/// Instance id that node `target` resolves to when read from a node in block `from_block` at
/// iteration `iteration`: same iteration inside the same block, last iteration from outside.
fn resolve_ref(
    spec: &PipelineSpec,
    c: &Checked<'_>,
    target: &str,
    from_block: Option<usize>,
    iteration: Option<u32>,
) -> String {
    match c.block_of.get(target) {
        Some(&b) if Some(b) == from_block => instance_id(target, iteration),
        Some(&b) => instance_id(target, Some(spec.repeat[b].iterations)),
        None => target.to_string(),
    }
}

/// Unrolls, orders and keys every instance. Only called when validation found no error.
pub(super) fn unroll(
    spec: &PipelineSpec,
    c: &Checked<'_>,
) -> Result<Vec<PlannedNode>, Box<PlanError>> {
    let mut instances = Vec::new();
    for (i, n) in spec.nodes.iter().enumerate() {
        let block = c.block_of.get(n.id.as_str()).copied();
        let iterations: Vec<Option<u32>> = match block {
            Some(b) => (1..=spec.repeat[b].iterations).map(Some).collect(),
            None => vec![None],
        };
        for iteration in iterations {
            let mut inputs = BTreeMap::new();
            for (port, r) in &n.inputs {
                let upstream = match r {
                    InputRef::Node(t) => Some(resolve_ref(spec, c, t, block, iteration)),
                    InputRef::Prev { node: t, first } => match iteration {
                        Some(it) if it > 1 => Some(instance_id(t, Some(it - 1))),
                        _ => first.as_ref().map(|f| resolve_ref(spec, c, f, None, None)),
                    },
                };
                if let Some(u) = upstream {
                    inputs.insert(port.clone(), u);
                }
            }
            instances.push(Instance {
                spec_index: i,
                iteration,
                id: instance_id(&n.id, iteration),
                inputs,
            });
        }
    }
    let order = topological(spec, c, &instances)?;

    let mut keys: HashMap<&str, String> = HashMap::with_capacity(instances.len());
    let mut planned = Vec::with_capacity(instances.len());
    for ix in order {
        let inst = &instances[ix];
        let n = &spec.nodes[inst.spec_index];
        let (Some(kind), Some(config)) = (
            c.kinds[inst.spec_index],
            c.configs[inst.spec_index].as_ref(),
        ) else {
            return Err(internal(&inst.id, "planned without a kind or config"));
        };
        let mut input_keys = BTreeMap::new();
        for (port, up) in &inst.inputs {
            let key = keys
                .get(up.as_str())
                .ok_or_else(|| internal(&inst.id, "input planned after its reader"))?;
            input_keys.insert(port.clone(), key.clone());
        }
        let seed = node_seed(spec.seed, &n.id, inst.iteration);
        let key = cache_key(&KeyInput {
            kind: kind.name,
            kind_version: kind.version,
            config,
            iteration: inst.iteration,
            seed,
            inputs: &input_keys,
            external: c.external[inst.spec_index].as_deref(),
        });
        keys.insert(inst.id.as_str(), key.clone());
        planned.push(PlannedNode {
            id: inst.id.clone(),
            node: n.id.clone(),
            kind: kind.name.to_string(),
            kind_version: kind.version,
            output: kind.output.to_string(),
            cacheable: kind.cacheable,
            iteration: inst.iteration,
            block: c
                .block_of
                .get(n.id.as_str())
                .map(|&b| spec.repeat[b].name.clone()),
            seed,
            config: config.clone(),
            inputs: inst.inputs.clone(),
            input_keys,
            key,
        });
    }
    Ok(planned)
}

fn internal(id: &str, what: &str) -> Box<PlanError> {
    // Validation guarantees these cannot happen; report rather than panic if they ever do.
    Box::new(PlanError::Internal {
        node: id.to_string(),
        message: format!("internal planner error: {what}; this is a bug"),
    })
}

/// Kahn's algorithm. Among ready instances, file order decides, a repeat block counting as one
/// unit placed at its first node, unrolled iteration by iteration.
fn topological(
    spec: &PipelineSpec,
    c: &Checked<'_>,
    instances: &[Instance],
) -> Result<Vec<usize>, Box<PlanError>> {
    let mut block_pos: HashMap<usize, usize> = HashMap::new();
    for (i, n) in spec.nodes.iter().enumerate() {
        if let Some(&b) = c.block_of.get(n.id.as_str()) {
            block_pos.entry(b).or_insert(i);
        }
    }
    let position = |x: &Instance| {
        c.block_of
            .get(spec.nodes[x.spec_index].id.as_str())
            .and_then(|b| block_pos.get(b).copied())
            .unwrap_or(x.spec_index)
    };
    let by_id: HashMap<&str, usize> = instances
        .iter()
        .enumerate()
        .map(|(i, x)| (x.id.as_str(), i))
        .collect();
    let mut indegree = vec![0usize; instances.len()];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); instances.len()];
    for (i, inst) in instances.iter().enumerate() {
        for up in inst.inputs.values() {
            let u = *by_id
                .get(up.as_str())
                .ok_or_else(|| internal(&inst.id, "input instance missing"))?;
            indegree[i] += 1;
            readers[u].push(i);
        }
    }
    let prio = |i: usize| {
        Reverse((
            position(&instances[i]),
            instances[i].iteration.unwrap_or(0),
            instances[i].spec_index,
            i,
        ))
    };
    let mut ready: BinaryHeap<_> = (0..instances.len())
        .filter(|&i| indegree[i] == 0)
        .map(prio)
        .collect();
    let mut order = Vec::with_capacity(instances.len());
    while let Some(Reverse((_, _, _, i))) = ready.pop() {
        order.push(i);
        for &r in &readers[i] {
            indegree[r] -= 1;
            if indegree[r] == 0 {
                ready.push(prio(r));
            }
        }
    }
    if order.len() != instances.len() {
        return Err(internal(
            "(graph)",
            "unrolled graph has a cycle the validation missed",
        ));
    }
    Ok(order)
}
