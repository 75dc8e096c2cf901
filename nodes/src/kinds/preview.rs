//! Pictures of a data set for people: a montage PNG of the first frame of a few cases (image and
//! labels side by side) and an animated GIF per case. Used by `simulate` and `load`.

use std::path::Path;

use dataset::render::{Paint, RenderOptions, Tile, gif_overlay, png_montage};
use echo::Case;
use engine::NodeError;
use ndarray::Axis;

use crate::user_err;

/// Write `montage.png` (two tiles per case: plain and with labels) and `<id>.gif` for the first
/// `n` cases into `dir`.
pub fn write(dir: &Path, cases: &[Case], n: usize) -> Result<(), NodeError> {
    let shown = &cases[..n.min(cases.len())];
    if shown.is_empty() {
        return Ok(());
    }
    let opts = RenderOptions::default();
    let mut tiles = Vec::new();
    for case in shown {
        let frame = case.image.index_axis(Axis(0), 0);
        tiles.push(Tile {
            image: frame,
            labels: None,
            title: Some(format!("{} {}", case.id, case.view)),
            paint: Paint::Gray,
        });
        if let Some(label) = &case.label {
            tiles.push(Tile {
                image: frame,
                labels: Some(label.index_axis(Axis(0), 0)),
                title: Some("labels".into()),
                paint: Paint::Gray,
            });
        }
    }
    let cols = if shown[0].label.is_some() {
        4
    } else {
        4.min(tiles.len())
    };
    png_montage(&dir.join("montage.png"), &tiles, cols, &opts).map_err(user_err)?;
    for case in shown {
        gif_overlay(
            &dir.join(format!("{}.gif", case.id)),
            &case.image,
            case.label.as_ref(),
            None,
            &opts,
        )
        .map_err(user_err)?;
    }
    Ok(())
}
