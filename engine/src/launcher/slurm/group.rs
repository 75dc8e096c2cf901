//! From planned jobs to SLURM jobs: the node instances of every job of a run (one job, or every
//! point of a sweep) are deduplicated by cache key (a node shared by several sweep points is one
//! unit of work), units whose artifact is already cached are dropped, and the rest are grouped by
//! instance id: one SLURM job per instance, the sweep points of the same instance as one job array.
//! Edges become dependencies on the upstream groups: `aftercorr` when task `i` reads only task `i`
//! of an array of the same length, `afterok` otherwise. Groups are returned in an order where every
//! group comes after the groups it depends on. Pure data: nothing here touches SLURM or the disk.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SlurmError;
use crate::plan::{Plan, PlannedNode};

/// One job of a launch (a single run, or one point of a sweep) with its run directory.
#[derive(Debug, Clone)]
pub struct LaunchJob {
    /// 0-based job number (the sweep's `{job}`; 0 for a single run).
    pub index: usize,
    /// The job's own overrides (sweep point), for display.
    pub overrides: Vec<String>,
    /// Its run directory: `plan.json` is read from here, files and metrics go here.
    pub dir: PathBuf,
    pub plan: Plan,
}

/// One `run-node` call: instance `node` of job `job`, whose run directory is `dir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub job: usize,
    pub node: String,
    pub dir: PathBuf,
}

/// One unit of work (one array task): the first run computes the artifact, the others (the
/// same artifact in other sweep points) find it in the cache and link it into their run dirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub kind: String,
    pub key: String,
    pub cacheable: bool,
    pub runs: Vec<Run>,
}

impl Task {
    /// Sweep jobs this task serves.
    pub fn jobs(&self) -> Vec<usize> {
        let set: BTreeSet<usize> = self.runs.iter().map(|r| r.job).collect();
        set.into_iter().collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    /// Wait for every task of the upstream job to succeed.
    AfterOk,
    /// Task `i` waits for task `i` of the upstream array.
    AfterCorr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dep {
    /// Index of the upstream group (always smaller than the dependant's).
    pub group: usize,
    pub kind: DepKind,
}

/// One SLURM job: a plain job (one task) or a job array (several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Instance id (`double`, `step@2`).
    pub node: String,
    /// Declared node id (`step`), which selects `[runtime.slurm.nodes.<id>]`.
    pub declared: String,
    pub tasks: Vec<Task>,
    pub deps: Vec<Dep>,
}

impl Group {
    pub fn is_array(&self) -> bool {
        self.tasks.len() > 1
    }
}

/// A unit that is not submitted because its artifact is already in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedUnit {
    pub node: String,
    pub kind: String,
    pub key: String,
    pub runs: Vec<Run>,
}

/// What a launch submits (in submission order) and what it skips.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    pub groups: Vec<Group>,
    pub cached: Vec<CachedUnit>,
}

/// Identity of a unit: cacheable instances by (kind, key); the others run in every job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum UnitId {
    Key(String, String),
    PerJob(String, String, usize),
}

fn unit_id(n: &PlannedNode, job: usize) -> UnitId {
    if n.cacheable {
        UnitId::Key(n.kind.clone(), n.key.clone())
    } else {
        UnitId::PerJob(n.kind.clone(), n.key.clone(), job)
    }
}

struct Unit {
    first: PlannedNode,
    runs: Vec<Run>,
    inputs: Vec<UnitId>,
    done: bool,
}

/// Groups the instances of `jobs` into SLURM jobs; `is_done` says whether an instance's artifact
/// is already cached (it is asked once per distinct key, never for non-cacheable instances).
pub fn layout(
    jobs: &[LaunchJob],
    is_done: &dyn Fn(&PlannedNode) -> bool,
) -> Result<Layout, SlurmError> {
    check_uncacheable_sinks(jobs)?;
    let mut order: Vec<UnitId> = Vec::new();
    let mut units: HashMap<UnitId, Unit> = HashMap::new();
    for job in jobs {
        let ids: HashMap<&str, &PlannedNode> =
            job.plan.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        for n in &job.plan.nodes {
            let id = unit_id(n, job.index);
            let run = Run {
                job: job.index,
                node: n.id.clone(),
                dir: job.dir.clone(),
            };
            if let Some(u) = units.get_mut(&id) {
                u.runs.push(run);
                continue;
            }
            let inputs = n
                .inputs
                .values()
                .filter_map(|up| ids.get(up.as_str()).map(|u| unit_id(u, job.index)))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let done = n.cacheable && is_done(n);
            order.push(id.clone());
            units.insert(
                id,
                Unit {
                    first: n.clone(),
                    runs: vec![run],
                    inputs,
                    done,
                },
            );
        }
    }

    // Group the units to submit by instance id, in first-seen order.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<&str, usize> = HashMap::new();
    let mut place: HashMap<&UnitId, (usize, usize)> = HashMap::new();
    let mut cached = Vec::new();
    for id in &order {
        let Some(u) = units.get(id) else { continue };
        if u.done {
            cached.push(CachedUnit {
                node: u.first.id.clone(),
                kind: u.first.kind.clone(),
                key: u.first.key.clone(),
                runs: u.runs.clone(),
            });
            continue;
        }
        let g = *group_of.entry(u.first.id.as_str()).or_insert_with(|| {
            groups.push(Group {
                node: u.first.id.clone(),
                declared: u.first.node.clone(),
                tasks: Vec::new(),
                deps: Vec::new(),
            });
            groups.len() - 1
        });
        place.insert(id, (g, groups[g].tasks.len()));
        groups[g].tasks.push(Task {
            kind: u.first.kind.clone(),
            key: u.first.key.clone(),
            cacheable: u.first.cacheable,
            runs: u.runs.clone(),
        });
    }

    // Dependencies: upstream group -> (task here, task there) pairs.
    let mut needs: Vec<BTreeMap<usize, BTreeSet<(usize, usize)>>> =
        vec![BTreeMap::new(); groups.len()];
    for id in &order {
        let (Some(u), Some(&(g, t))) = (units.get(id), place.get(id)) else {
            continue;
        };
        for input in &u.inputs {
            if let Some(&(h, ht)) = place.get(input) {
                if h == g {
                    return Err(SlurmError::Grouping {
                        node: u.first.id.clone(),
                        detail: "an instance reads another instance of the same node in a different sweep point".into(),
                    });
                }
                needs[g].entry(h).or_default().insert((t, ht));
            }
        }
    }
    for (g, upstream) in needs.iter().enumerate() {
        for (&h, pairs) in upstream {
            let (n, m) = (groups[g].tasks.len(), groups[h].tasks.len());
            let diagonal = pairs.iter().all(|(a, b)| a == b);
            let kind = if n > 1 && n == m && diagonal {
                DepKind::AfterCorr
            } else {
                DepKind::AfterOk
            };
            groups[g].deps.push(Dep { group: h, kind });
        }
    }
    Ok(Layout {
        groups: topological(groups)?,
        cached,
    })
}

/// Non-cacheable instances keep their output only for the process that ran them, so on a
/// cluster nothing may read it.
fn check_uncacheable_sinks(jobs: &[LaunchJob]) -> Result<(), SlurmError> {
    for job in jobs {
        for n in job.plan.nodes.iter().filter(|n| !n.cacheable) {
            if let Some(reader) = job
                .plan
                .nodes
                .iter()
                .find(|r| r.inputs.values().any(|u| *u == n.id))
            {
                return Err(SlurmError::UncacheableInput {
                    node: n.id.clone(),
                    kind: n.kind.clone(),
                    reader: reader.id.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Orders groups so that each comes after its dependencies (first-seen order among the ready
/// ones) and renumbers the dependencies.
fn topological(groups: Vec<Group>) -> Result<Vec<Group>, SlurmError> {
    let n = groups.len();
    let mut placed: Vec<Option<usize>> = vec![None; n];
    let mut out_order = Vec::with_capacity(n);
    while out_order.len() < n {
        let next = (0..n).find(|&g| {
            placed[g].is_none() && groups[g].deps.iter().all(|d| placed[d.group].is_some())
        });
        let Some(g) = next else {
            let stuck = (0..n)
                .find(|&g| placed[g].is_none())
                .map(|g| groups[g].node.clone())
                .unwrap_or_default();
            return Err(SlurmError::Grouping {
                node: stuck,
                detail: "the sweep points order this node differently relative to others (their graphs differ), so one job per node would wait on itself".into(),
            });
        };
        placed[g] = Some(out_order.len());
        out_order.push(g);
    }
    let mut slots: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(n);
    for g in out_order {
        if let Some(mut group) = slots[g].take() {
            for d in &mut group.deps {
                d.group = placed[d.group].unwrap_or(d.group);
            }
            group.deps.sort_by_key(|d| d.group);
            out.push(group);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "group_tests.rs"]
pub(crate) mod tests;
