//! The pipeline engine: config composition, override grammar, sweeps, DAG planning,
//! content-addressed cache, executor and CLI. Knows nothing of burn, echo or medical images.

pub mod conditional;
pub mod node;
pub mod spec;
pub use node::{ConfigIssue, KindInfo, Metrics, NodeContext, NodeError, Port, Registry, RuntimeKnobs};
pub mod plan;
pub mod toy;
pub mod config;
pub mod spec_parse;
pub mod cache;
pub mod logging;
pub mod exec;
pub mod rundir;
pub mod cli;
pub mod schema_gen;
pub mod sweep_run;
pub mod launcher;
