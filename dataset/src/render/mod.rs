//! Pictures for people: an animated GIF of a sequence with the segmentation overlaid and an
//! optional uncertainty heat map beside it (the original's `save_as_gif`: gray image, labels at
//! alpha 0.4, 100 ms per frame; method.md 7.1 step 8), PNG montages of frames, and PNG plots
//! (line plots, reliability diagrams) drawn with plotters and an embedded DejaVu Sans font.
//! Every file is written atomically (temporary file + rename).

mod plot;
pub mod raster;

pub use plot::{Panel, Series, line_plot, line_plots, reliability_diagram};
pub use raster::OverlayStyle;

use std::path::{Path, PathBuf};

use echo::{Error, Result};
use ndarray::{Array3, ArrayView2, Axis};

use raster::{Canvas, finite_range, gray, heat, overlay};

/// How a frame is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    /// Integer nearest-neighbour upscaling (1 = native size).
    pub scale: u32,
    /// Opacity of filled label overlays.
    pub alpha: f32,
    pub style: OverlayStyle,
    /// GIF frame duration (the original: 100 ms). GIF stores hundredths of a second.
    pub frame_ms: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            scale: 2,
            alpha: 0.4,
            style: OverlayStyle::Fill,
            frame_ms: 100,
        }
    }
}

/// How a tile's values are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paint {
    /// Gray levels over the tile's own intensity range (an image).
    #[default]
    Gray,
    /// The heat colour map of values in [0, 1] (an uncertainty or error map), fixed range.
    Heat,
}

/// One panel of a montage: a frame `[H, W]`, optional labels of the same shape, optional title.
#[derive(Debug, Clone)]
pub struct Tile<'a> {
    pub image: ArrayView2<'a, f32>,
    pub labels: Option<ArrayView2<'a, u8>>,
    pub title: Option<String>,
    pub paint: Paint,
}

/// Gap between panels, in pixels of the output.
const GAP: usize = 4;
/// Height of a tile's title band, in pixels of the output.
const TITLE_BAND: usize = 18;

fn check_options(what: &str, opts: &RenderOptions) -> Result<()> {
    if opts.scale == 0 || opts.scale > 64 {
        return Err(Error::invalid(
            what,
            format!("scale {} must be in 1..=64", opts.scale),
        ));
    }
    if !(0.0..=1.0).contains(&opts.alpha) {
        return Err(Error::invalid(
            what,
            format!("alpha {} must be in [0, 1]", opts.alpha),
        ));
    }
    Ok(())
}

/// Animated GIF of a sequence `[T, H, W]` (gray, intensity range of the whole sequence), with
/// labels overlaid and, if given, a heat map of `heat` (values in [0, 1], e.g. uncertainty) as a
/// second panel on the right. Loops forever.
pub fn gif_overlay(
    path: &Path,
    image: &Array3<f32>,
    labels: Option<&Array3<u8>>,
    heat_map: Option<&Array3<f32>>,
    opts: &RenderOptions,
) -> Result<()> {
    let what = format!("GIF {}", path.display());
    check_options(&what, opts)?;
    let (t, h, w) = image.dim();
    if t == 0 || h == 0 || w == 0 {
        return Err(Error::invalid(
            what,
            format!("image shape {:?} is empty", image.shape()),
        ));
    }
    for (name, shape) in [
        ("labels", labels.map(|l| l.shape())),
        ("heat map", heat_map.map(|m| m.shape())),
    ] {
        if let Some(shape) = shape.filter(|s| *s != image.shape()) {
            return Err(Error::invalid(
                what,
                format!(
                    "{name} shape {shape:?} differs from image shape {:?}",
                    image.shape()
                ),
            ));
        }
    }
    let scale = opts.scale as usize;
    let panels = if heat_map.is_some() { 2 } else { 1 };
    let (fw, fh) = (panels * w * scale + (panels - 1) * GAP, h * scale);
    if fw > usize::from(u16::MAX) || fh > usize::from(u16::MAX) {
        return Err(Error::invalid(
            what,
            format!("{fw}x{fh} pixels exceeds the GIF limit of 65535"),
        ));
    }
    let range = finite_range(image.iter());
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, fw as u16, fh as u16, &[])
            .map_err(|e| Error::file(path, format!("cannot start GIF: {e}")))?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(|e| Error::file(path, format!("cannot write GIF: {e}")))?;
        for ti in 0..t {
            let mut panel = gray(image.index_axis(Axis(0), ti), range);
            if let Some(l) = labels {
                overlay(
                    &mut panel,
                    l.index_axis(Axis(0), ti),
                    opts.style,
                    opts.alpha,
                );
            }
            let mut frame = Canvas::new(fw, fh, [0; 3]);
            frame.blit(&panel.upscale(scale), 0, 0);
            if let Some(m) = heat_map {
                frame.blit(
                    &heat(m.index_axis(Axis(0), ti)).upscale(scale),
                    w * scale + GAP,
                    0,
                );
            }
            let mut gif_frame =
                gif::Frame::from_rgb_speed(fw as u16, fh as u16, &frame.to_rgb_bytes(), 10);
            gif_frame.delay = (opts.frame_ms / 10).clamp(1, u32::from(u16::MAX)) as u16;
            encoder
                .write_frame(&gif_frame)
                .map_err(|e| Error::file(path, format!("cannot write GIF frame: {e}")))?;
        }
    }
    write_atomic(path, &bytes)
}

/// PNG of one frame `[H, W]` with optional labels.
pub fn png_frame(
    path: &Path,
    image: ArrayView2<f32>,
    labels: Option<ArrayView2<u8>>,
    opts: &RenderOptions,
) -> Result<()> {
    png_montage(
        path,
        &[Tile {
            image,
            labels,
            title: None,
            paint: Paint::Gray,
        }],
        1,
        opts,
    )
}

/// PNG grid of tiles, `cols` per row, each tile gray (its own intensity range) or a heat map
/// ([`Paint`]) with its labels overlaid and its title above it. Tiles of different sizes are centred in equal cells.
pub fn png_montage(path: &Path, tiles: &[Tile], cols: usize, opts: &RenderOptions) -> Result<()> {
    let what = format!("PNG {}", path.display());
    check_options(&what, opts)?;
    if tiles.is_empty() || cols == 0 {
        return Err(Error::invalid(
            what,
            "needs at least one tile and one column",
        ));
    }
    for (i, tile) in tiles.iter().enumerate() {
        if tile.image.is_empty() {
            return Err(Error::invalid(what, format!("tile {i} is empty")));
        }
        if let Some(l) = tile.labels.filter(|l| l.dim() != tile.image.dim()) {
            return Err(Error::invalid(
                what,
                format!(
                    "tile {i}: labels {:?} differ from image {:?}",
                    l.dim(),
                    tile.image.dim()
                ),
            ));
        }
    }
    let scale = opts.scale as usize;
    let cell_w = tiles.iter().map(|t| t.image.ncols()).max().unwrap_or(1) * scale;
    let cell_h = tiles.iter().map(|t| t.image.nrows()).max().unwrap_or(1) * scale;
    let band = if tiles.iter().any(|t| t.title.is_some()) {
        TITLE_BAND
    } else {
        0
    };
    let cols = cols.min(tiles.len());
    let rows = tiles.len().div_ceil(cols);
    let width = cols * cell_w + (cols + 1) * GAP;
    let height = rows * (cell_h + band) + (rows + 1) * GAP;
    if width * height > 1 << 28 {
        return Err(Error::invalid(
            what,
            format!("{width}x{height} pixels is too large; use a smaller scale"),
        ));
    }
    let mut canvas = Canvas::new(width, height, [0; 3]);
    let mut titles = Vec::new();
    for (i, tile) in tiles.iter().enumerate() {
        let mut panel = match tile.paint {
            Paint::Gray => gray(tile.image, finite_range(tile.image.iter())),
            Paint::Heat => heat(tile.image),
        };
        if let Some(l) = tile.labels {
            overlay(&mut panel, l, opts.style, opts.alpha);
        }
        let panel = panel.upscale(scale);
        let x0 = GAP + (i % cols) * (cell_w + GAP);
        let y0 = GAP + (i / cols) * (cell_h + band + GAP);
        canvas.blit(
            &panel,
            x0 + (cell_w - panel.width) / 2,
            y0 + band + (cell_h - panel.height) / 2,
        );
        if let Some(title) = &tile.title {
            titles.push((title.clone(), x0, y0, cell_w));
        }
    }
    let mut bytes = canvas.to_rgb_bytes();
    if !titles.is_empty() {
        plot::draw_titles(&mut bytes, (width as u32, height as u32), &titles)
            .map_err(|e| Error::file(path, format!("cannot draw titles: {e}")))?;
    }
    write_png(path, bytes, width as u32, height as u32)
}

/// Encode RGB bytes as PNG and write them atomically.
fn write_png(path: &Path, rgb: Vec<u8>, width: u32, height: u32) -> Result<()> {
    let img = image::RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| Error::Internal(format!("RGB buffer does not match {width}x{height}")))?;
    let mut bytes = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut bytes,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::Adaptive,
    );
    img.write_with_encoder(encoder)
        .map_err(|e| Error::file(path, format!("cannot encode PNG: {e}")))?;
    write_atomic(path, &bytes)
}

/// Write bytes to a temporary file beside `path`, then rename it into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::file(path, format!("cannot write file: {e}")));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
