//! The pipeline engine: config composition, override grammar, sweeps, DAG planning,
//! content-addressed cache, executor and CLI. Knows nothing of burn, echo or medical images.

pub mod node;
pub mod spec;
pub use node::{ConfigIssue, KindInfo, Metrics, NodeContext, NodeError, Port, Registry, RuntimeKnobs};
pub mod launcher;
