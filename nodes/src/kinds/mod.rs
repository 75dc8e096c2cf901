//! One module per node kind. Each provides `INFO: KindInfo`, a strict `Config` (serde +
//! JsonSchema, `deny_unknown_fields`) and `run(&Config, &NodeContext) -> Result<Metrics, NodeError>`.

pub mod anatomical_filter;
pub mod checkpoint;
pub mod distort;
pub mod drop_labels;
pub mod evaluate;
pub mod evaluate_nifti;
pub mod export;
pub mod export_data;
pub mod landmark_samples;
pub mod load;
pub mod ppo;
pub mod predict;
pub mod preview;
pub mod report;
pub mod reward_checkpoint;
pub mod simulate;
pub mod train_corrector;
pub mod train_reward;
pub mod train_supervised;
