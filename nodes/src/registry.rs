//! The static registry of rl4seg's node kinds: one `enum` with one variant per kind, dispatched
//! by `match`. Each kind lives in its own module under `kinds/` and provides `INFO` (a
//! `KindInfo`), a strict serde `Config` type and `run`.

use engine::node::{resolve_typed, typed};
use engine::{ConfigIssue, KindInfo, Metrics, NodeContext, NodeError, Registry};

use crate::kinds;

/// Declares the kinds once: the enum, its `INFO` table and the three dispatching functions.
macro_rules! kinds {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// Every node kind rl4seg knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind { $($variant),* }

        /// `KindInfo` of every kind, in `rl4seg list` order.
        pub static KINDS: &[KindInfo] = &[$(kinds::$module::INFO),*];

        impl Kind {
            pub fn from_name(name: &str) -> Option<Kind> {
                $(if name == kinds::$module::INFO.name { return Some(Kind::$variant); })*
                None
            }
            fn resolve(self, raw: toml::Table) -> Result<toml::Table, Vec<ConfigIssue>> {
                match self { $(Kind::$variant => resolve_typed::<kinds::$module::Config>(raw)),* }
            }
            fn schema(self) -> serde_json::Value {
                match self {
                    $(Kind::$variant => serde_json::to_value(schemars::schema_for!(kinds::$module::Config))
                        .unwrap_or(serde_json::Value::Null)),*
                }
            }
            fn run(self, config: &toml::Table, ctx: &NodeContext) -> Result<Metrics, NodeError> {
                match self { $(Kind::$variant => kinds::$module::run(&typed(config)?, ctx)),* }
            }
        }
    };
}

kinds! {
    Simulate => simulate,
    Load => load,
    DropLabels => drop_labels,
    TrainSupervised => train_supervised,
    Checkpoint => checkpoint,
    Predict => predict,
    Evaluate => evaluate,
    EvaluateNifti => evaluate_nifti,
    Export => export,
    ExportData => export_data,
    AnatomicalFilter => anatomical_filter,
    Distort => distort,
    LandmarkSamples => landmark_samples,
    Report => report,
    TrainCorrector => train_corrector,
    TrainReward => train_reward,
    Ppo => ppo,
    RewardCheckpoint => reward_checkpoint,
}

/// The registry handed to the engine.
pub struct Rl4segRegistry;

pub static REGISTRY: Rl4segRegistry = Rl4segRegistry;

fn unknown(kind: &str) -> NodeError {
    NodeError::internal(format!("unknown node kind `{kind}` reached the registry"))
}

impl Registry for Rl4segRegistry {
    fn kinds(&self) -> &'static [KindInfo] {
        KINDS
    }

    fn resolve(&self, kind: &str, raw: toml::Table) -> Result<toml::Table, Vec<ConfigIssue>> {
        match Kind::from_name(kind) {
            Some(k) => k.resolve(raw),
            None => Err(vec![ConfigIssue {
                path: String::new(),
                message: format!("unknown node kind `{kind}`"),
            }]),
        }
    }

    fn schema(&self, kind: &str) -> serde_json::Value {
        Kind::from_name(kind)
            .map(Kind::schema)
            .unwrap_or(serde_json::Value::Null)
    }

    fn run(
        &self,
        kind: &str,
        config: &toml::Table,
        ctx: &NodeContext,
    ) -> Result<Metrics, NodeError> {
        let kind = Kind::from_name(kind).ok_or_else(|| unknown(kind))?;
        // Every kind may use rayon (the simulator, metrics, the CPU backend), and its global pool
        // can be sized only once per process: size it before the first node of a run, whatever
        // its kind, so that `runtime.threads` holds for all of them.
        models::device::init_threads(ctx.runtime.threads)
            .map_err(|e| NodeError::user(e.to_string()))?;
        kind.run(config, ctx)
    }

    fn external_fingerprint(
        &self,
        kind: &str,
        config: &toml::Table,
    ) -> Result<Option<String>, NodeError> {
        crate::fingerprint::of_kind(kind, config)
    }
}
