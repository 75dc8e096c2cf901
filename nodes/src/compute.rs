//! Compute plumbing shared by the model nodes: the device chosen once from `runtime.device`
//! (with the thread pool sized from `runtime.threads`), and progress bars that follow
//! `runtime.progress` and vanish when stderr is not a terminal.

use engine::{NodeContext, NodeError};
use indicatif::{ProgressBar, ProgressStyle};
use models::Device;

/// The burn device of this run.
pub fn device(ctx: &NodeContext) -> Result<Device, NodeError> {
    models::device::init_threads(ctx.runtime.threads)
        .map_err(|e| NodeError::user(e.to_string()))?;
    models::device::select(&ctx.runtime.device).map_err(|e| NodeError::user(e.to_string()))
}

/// A progress bar of `len` steps labelled `<node id>: <what>`, hidden unless progress is on.
pub fn bar(ctx: &NodeContext, len: u64, what: &str) -> ProgressBar {
    if !ctx.runtime.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{prefix} {bar:30.cyan/blue} {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(format!("{}: {what}", ctx.node_id));
    bar
}

/// Map a models-crate error to a node error. Shape, config and checkpoint problems come from
/// the user's data or files; everything else is ours.
pub fn model_err(e: impl std::fmt::Display) -> NodeError {
    NodeError::user(e.to_string())
}
