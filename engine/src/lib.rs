//! The pipeline engine: config composition, override grammar, sweeps, DAG planning,
//! content-addressed cache, executor and CLI. Knows nothing of burn, echo or medical images.

pub mod conditional;
pub mod node;
pub mod spec;
pub use node::{
    ConfigIssue, KindInfo, Metrics, NodeContext, NodeError, Port, Registry, RuntimeKnobs,
};
pub mod cache;
pub mod cli;
pub mod config;
pub mod exec;
pub mod launcher;
pub mod logging;
pub mod plan;
pub mod rundir;
pub mod schema_gen;
pub mod spec_parse;
pub mod sweep_run;
pub mod toy;
