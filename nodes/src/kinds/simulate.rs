//! `simulate`: the embedded synthetic data set (issue #3 section 1). Runs `dataset::sim` for
//! every case in parallel, assigns splits, and writes a `sequences` artifact plus a montage PNG
//! and a few GIFs for people to look at.

use dataset::sim::{SimConfig, try_simulate};
use engine::{KindInfo, Metrics, NodeContext, NodeError};

use crate::splits::Splits;
use crate::{seqs, user_err};

pub static INFO: KindInfo = KindInfo {
    name: "simulate",
    doc: "synthetic apical 2/4-chamber echo sequences with exact labels, from a domain preset",
    version: 1,
    inputs: &[],
    output: seqs::SEQUENCES,
    cacheable: true,
};

/// Cases drawn in the montage PNG and written as GIFs.
const PREVIEW: usize = 4;

/// `[nodes.<id>]` of kind `simulate`: exactly a `configs/data/*.toml` preset (`SimConfig`).
/// Cases are split train/val/test by `Splits::default()` (70/10/20), deterministically.
pub type Config = SimConfig;

pub fn run(cfg: &Config, ctx: &NodeContext) -> Result<Metrics, NodeError> {
    let cases = try_simulate(cfg, ctx.seed).map_err(user_err)?;
    let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let splits = Splits::default().assign(&ids, ctx.seed);
    let n = seqs::write(ctx, cfg, cases.iter().zip(splits.iter().copied()))?;
    crate::kinds::preview::write(&ctx.files_dir()?, &cases, PREVIEW)?;
    let frames: usize = cases.iter().map(|c| c.image.dim().0).sum();
    let mut m = Metrics::new();
    m.insert("cases".into(), n as f64);
    m.insert("mean_frames".into(), frames as f64 / n.max(1) as f64);
    Ok(m)
}
