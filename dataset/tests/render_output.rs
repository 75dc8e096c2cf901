//! GIF/PNG rendering: decoded outputs have the promised size, frame count, timing and overlay
//! colours; bad shapes are errors. `write_doc_examples` (ignored) regenerates `docs/img/`.

use std::path::Path;

use dataset::render::{
    OverlayStyle, Paint, Panel, RenderOptions, Series, Tile, gif_overlay, line_plot, line_plots,
    png_frame, png_montage, reliability_diagram,
};
use ndarray::{Array3, Axis};

/// A small echo-like sequence: a fan of speckle, an LV ellipse (1) in a myocardial ring (2)
/// that contracts over time, and a heat map that is high on the boundary.
fn sequence(t: usize, h: usize, w: usize) -> (Array3<f32>, Array3<u8>, Array3<f32>) {
    let mut labels = Array3::<u8>::zeros((t, h, w));
    let mut image = Array3::<f32>::zeros((t, h, w));
    let mut heat = Array3::<f32>::zeros((t, h, w));
    let mut state = 12345u64;
    for ((ti, y, x), v) in image.indexed_iter_mut() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let speckle = (state >> 40) as f32 / (1u64 << 24) as f32;
        let (fy, fx) = (y as f32 / h as f32, x as f32 / w as f32 - 0.5);
        let in_fan = fx.abs() < fy * 0.7;
        let squeeze = 1.0 - 0.25 * (std::f32::consts::PI * ti as f32 / t as f32).sin();
        let (cy, cx, ry, rx) = (0.5, 0.0, 0.3, 0.12 * squeeze);
        let r = (((fy - cy) / ry).powi(2) + ((fx - cx) / rx).powi(2)).sqrt();
        let label = if r < 1.0 {
            1
        } else if r < 1.45 {
            2
        } else {
            0
        };
        labels[[ti, y, x]] = if in_fan { label } else { 0 };
        let tissue = match label {
            1 => 0.1,
            2 => 0.8,
            _ => 0.4,
        };
        *v = if in_fan {
            tissue * (0.5 + speckle)
        } else {
            0.0
        };
        heat[[ti, y, x]] = (-((r - 1.0).abs() * 6.0)).exp();
    }
    (image, labels, heat)
}

fn decode_gif(path: &Path) -> Vec<(u16, u16, u16, Vec<u8>)> {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts
        .read_info(std::fs::File::open(path).expect("open"))
        .expect("gif header");
    let mut frames = Vec::new();
    while let Some(f) = dec.read_next_frame().expect("frame") {
        frames.push((f.width, f.height, f.delay, f.buffer.to_vec()));
    }
    frames
}

fn is_reddish(p: &[u8]) -> bool {
    p[0] > p[1] + 40 && p[0] > p[2] + 40
}

#[test]
fn gif_has_every_frame_at_100_ms_with_overlay_and_heat_panel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (image, labels, heat) = sequence(5, 24, 20);
    let path = dir.path().join("seq.gif");
    let opts = RenderOptions {
        scale: 2,
        ..RenderOptions::default()
    };
    gif_overlay(&path, &image, Some(&labels), Some(&heat), &opts).expect("gif");
    let frames = decode_gif(&path);
    assert_eq!(frames.len(), 5);
    let width = 2 * 20 * 2 + 4;
    for (w, h, delay, rgba) in &frames {
        assert_eq!((*w as usize, *h as usize, *delay), (width, 48, 10));
        let at = |y: usize, x: usize| &rgba[(y * width + x) * 4..(y * width + x) * 4 + 3];
        assert!(
            is_reddish(at(24, 20)),
            "LV centre is tinted red: {:?}",
            at(24, 20)
        );
        assert!(
            at(2, 1).iter().all(|&c| c < 8),
            "outside the fan is black: {:?}",
            at(2, 1)
        );
    }
    let no_heat = dir.path().join("plain.gif");
    gif_overlay(
        &no_heat,
        &image,
        None,
        None,
        &RenderOptions { scale: 1, ..opts },
    )
    .expect("gif");
    assert_eq!(decode_gif(&no_heat)[0].0, 20);
}

#[test]
fn mismatched_shapes_and_options_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (image, _, _) = sequence(2, 8, 8);
    let labels = Array3::<u8>::zeros((2, 8, 7));
    let path = dir.path().join("x.gif");
    let err = gif_overlay(
        &path,
        &image,
        Some(&labels),
        None,
        &RenderOptions::default(),
    )
    .expect_err("shape")
    .to_string();
    assert!(
        err.contains("x.gif") && err.contains("labels shape"),
        "{err}"
    );
    let bad = RenderOptions {
        scale: 0,
        ..RenderOptions::default()
    };
    assert!(gif_overlay(&path, &image, None, None, &bad).is_err());
    assert!(png_montage(&dir.path().join("m.png"), &[], 3, &RenderOptions::default()).is_err());
    assert!(line_plot(&dir.path().join("l.png"), "t", "x", "y", &[]).is_err());
    assert!(reliability_diagram(&dir.path().join("r.png"), &[(1.5, 0.5, 3)], 0.1).is_err());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        0,
        "nothing written on error"
    );
}

#[test]
fn montage_places_tiles_in_a_grid_with_titles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (image, labels, _) = sequence(4, 24, 20);
    let tiles: Vec<Tile> = (0..4)
        .map(|t| Tile {
            image: image.index_axis(Axis(0), t),
            labels: (t % 2 == 0).then(|| labels.index_axis(Axis(0), t)),
            title: Some(format!("frame {t}")),
            paint: Paint::Gray,
        })
        .collect();
    let path = dir.path().join("m.png");
    let opts = RenderOptions {
        scale: 3,
        ..RenderOptions::default()
    };
    png_montage(&path, &tiles, 3, &opts).expect("montage");
    let img = image::open(&path).expect("png").to_rgb8();
    // 3 columns of 60 px + 4 gaps; 2 rows of (72 px + 18 px title) + 3 gaps.
    assert_eq!(img.dimensions(), (3 * 60 + 16, 2 * 90 + 12));
    let white_in_title = (4..64)
        .flat_map(|x| (4..22).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c > 150))
        .count();
    assert!(white_in_title > 10, "title text drawn");
    let centre = img.get_pixel(4 + 30, 4 + 18 + 36).0;
    assert!(is_reddish(&centre), "tile 0 has the LV overlay: {centre:?}");
    let centre = img.get_pixel(4 + 64 + 30, 4 + 18 + 36).0;
    assert!(!is_reddish(&centre), "tile 1 has no labels: {centre:?}");

    // A heat tile is coloured on the fixed [0, 1] scale, not stretched like a gray image.
    let half = ndarray::Array2::<f32>::from_elem((4, 4), 0.5);
    let heat_tiles = [Paint::Heat, Paint::Gray].map(|paint| Tile {
        image: half.view(),
        labels: None,
        title: None,
        paint,
    });
    let heat_path = dir.path().join("h.png");
    let one = RenderOptions {
        scale: 1,
        ..RenderOptions::default()
    };
    png_montage(&heat_path, &heat_tiles, 2, &one).expect("montage");
    let img = image::open(&heat_path).expect("png").to_rgb8();
    assert_eq!(
        img.get_pixel(4 + 1, 4 + 1).0,
        dataset::render::raster::heat_colour(0.5),
        "heat tile"
    );
    assert_ne!(
        img.get_pixel(4 + 4 + 4 + 1, 4 + 1).0,
        img.get_pixel(5, 5).0,
        "gray tile"
    );

    let frame = dir.path().join("f.png");
    let contour = RenderOptions {
        scale: 1,
        style: OverlayStyle::Contour,
        ..RenderOptions::default()
    };
    png_frame(
        &frame,
        image.index_axis(Axis(0), 0),
        Some(labels.index_axis(Axis(0), 0)),
        &contour,
    )
    .expect("frame");
    assert_eq!(
        image::open(&frame).expect("png").to_rgb8().dimensions(),
        (20 + 8, 24 + 8)
    );
}

#[test]
fn plots_are_800_by_500_pngs_with_the_series_drawn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("loss.png");
    let series = vec![
        Series {
            name: "train".into(),
            points: (0..30)
                .map(|i| (i as f64, 1.0 / (1.0 + i as f64)))
                .collect(),
        },
        Series {
            name: "val".into(),
            points: (0..30)
                .map(|i| (i as f64, 1.2 / (1.0 + 0.8 * i as f64)))
                .collect(),
        },
    ];
    line_plot(&path, "Loss", "epoch", "loss", &series).expect("plot");
    let img = image::open(&path).expect("png").to_rgb8();
    assert_eq!(img.dimensions(), (800, 500));
    let blue = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
    assert!(blue > 200, "first series drawn in blue ({blue} px)");

    let bins: Vec<(f64, f64, usize)> = (0..20)
        .map(|i| {
            (
                (i as f64 + 0.5) / 20.0,
                ((i as f64 + 0.5) / 20.0).powf(1.3),
                if i < 3 { 0 } else { 10 },
            )
        })
        .collect();
    let rel = dir.path().join("rel.png");
    reliability_diagram(&rel, &bins, 0.0421).expect("diagram");
    assert_eq!(
        image::open(&rel).expect("png").to_rgb8().dimensions(),
        (800, 500)
    );

    // Under-confident bins (accuracy above confidence): the gap lies over the accuracy bar and
    // still shows in the legend's pink, not blended with the bar's blue.
    let under: Vec<(f64, f64, usize)> = (0..10)
        .map(|i| ((i as f64 + 0.5) / 10.0 * 0.8, 0.9, 10))
        .collect();
    reliability_diagram(&rel, &under, 0.3).expect("diagram");
    let img = image::open(&rel).expect("png").to_rgb8();
    let pink = img.pixels().filter(|p| p.0 == [243, 190, 190]).count();
    assert!(pink > 10_000, "gap drawn in pink over the bars ({pink} px)");
}

#[test]
fn side_by_side_panels_widen_the_plot_and_an_empty_panel_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fractions = vec![Series {
        name: "dice".into(),
        points: (0..7).map(|i| (i as f64, 0.8 + 0.01 * i as f64)).collect(),
    }];
    let distances = vec![Series {
        name: "hd".into(),
        points: (0..7).map(|i| (i as f64, 11.0 - i as f64)).collect(),
    }];
    let panel = |y_label, series| Panel {
        x_label: "row",
        y_label,
        series,
    };
    let path = dir.path().join("two.png");
    line_plots(
        &path,
        "t",
        &[panel("fraction", &fractions), panel("mm", &distances)],
    )
    .expect("plot");
    let img = image::open(&path).expect("png").to_rgb8();
    assert_eq!(img.dimensions(), (1200, 500));
    // Each panel draws its first series in the first colour: on both sides of the split.
    let blue_at = |range: std::ops::Range<u32>| {
        img.enumerate_pixels()
            .filter(|(x, _, p)| range.contains(x) && p.0 == [31, 119, 180])
            .count()
    };
    assert!(blue_at(0..800) > 100 && blue_at(800..1200) > 100);

    let e = line_plots(
        &dir.path().join("bad.png"),
        "t",
        &[panel("fraction", &fractions), panel("mm", &[])],
    )
    .expect_err("an empty panel")
    .to_string();
    assert!(e.contains("'mm'"), "{e}");
    assert!(!dir.path().join("bad.png").exists());
    assert!(line_plots(&dir.path().join("none.png"), "t", &[]).is_err());
}

/// Regenerate the committed examples in `docs/img/`.
#[test]
#[ignore = "writes docs/img; run by hand after changing the renderer"]
fn write_doc_examples() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/img");
    std::fs::create_dir_all(&out).expect("mkdir");
    let (image, labels, heat) = sequence(8, 64, 64);
    gif_overlay(
        &out.join("example_overlay.gif"),
        &image,
        Some(&labels),
        Some(&heat),
        &RenderOptions::default(),
    )
    .expect("gif");
    let tiles: Vec<Tile> = (0..4)
        .map(|t| Tile {
            image: image.index_axis(Axis(0), 2 * t),
            labels: Some(labels.index_axis(Axis(0), 2 * t)),
            title: Some(format!("frame {}", 2 * t)),
            paint: Paint::Gray,
        })
        .collect();
    png_montage(
        &out.join("example_montage.png"),
        &tiles,
        4,
        &RenderOptions::default(),
    )
    .expect("montage");
    let series = vec![
        Series {
            name: "train loss".into(),
            points: (0..50)
                .map(|i| (i as f64, 0.9 * (-(i as f64) / 12.0).exp() + 0.05))
                .collect(),
        },
        Series {
            name: "val loss".into(),
            points: (0..50)
                .map(|i| (i as f64, 0.95 * (-(i as f64) / 15.0).exp() + 0.09))
                .collect(),
        },
    ];
    line_plot(
        &out.join("example_line_plot.png"),
        "Supervised pre-training",
        "epoch",
        "cross-entropy",
        &series,
    )
    .expect("plot");
    let bins: Vec<(f64, f64, usize)> = (0..20)
        .map(|i| {
            let c = (i as f64 + 0.5) / 20.0;
            (c, c.powf(1.4), if i < 4 { 0 } else { 50 + 10 * i })
        })
        .collect();
    reliability_diagram(&out.join("example_reliability.png"), &bins, 0.0612).expect("diagram");
}
