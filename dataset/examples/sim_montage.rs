//! Look at the simulator's output: a montage PNG (one row per domain preset; first frames of a
//! few cases, then the same frames with the LV (red) and myocardium (green) contours) and one
//! animated GIF per domain (image | contours).
//!
//! `cargo run --release -p dataset --example sim_montage -- [OUT_DIR] [CASES_PER_DOMAIN] [SEED]`
//! (defaults: `docs/img`, 3, 7). Writes `OUT_DIR/sim_montage.png` and `OUT_DIR/sim_<domain>.gif`.

use std::error::Error;
use std::path::PathBuf;

use dataset::sim::{SimConfig, simulate_case};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgb, RgbImage, RgbaImage};
use ndarray::{ArrayView2, Axis};

const PRESETS: [&str; 3] = [
    include_str!("../../configs/data/source.toml"),
    include_str!("../../configs/data/target_lowq.toml"),
    include_str!("../../configs/data/target_scanner.toml"),
];
const GAP: u32 = 4;

fn preset(text: &str) -> Result<SimConfig, Box<dyn Error>> {
    let mut table: toml::Table = toml::from_str(text)?;
    table.remove("kind");
    let cfg: SimConfig = toml::Value::Table(table).try_into()?;
    cfg.validate()?;
    Ok(cfg)
}

/// Grey frame as RGB, with label contours drawn when `labels` is given.
fn panel(image: ArrayView2<f32>, labels: Option<ArrayView2<u8>>) -> RgbImage {
    let (h, w) = image.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (i, j) = (y as usize, x as usize);
        let g = (image[[i, j]].clamp(0.0, 1.0) * 255.0).round() as u8;
        if let Some(l) = labels {
            let v = l[[i, j]];
            let differs = |a: usize, b: usize| l[[a, b]] != v;
            let edge = (i > 0 && differs(i - 1, j))
                || (i + 1 < h && differs(i + 1, j))
                || (j > 0 && differs(i, j - 1))
                || (j + 1 < w && differs(i, j + 1));
            if edge && v == 1 {
                return Rgb([255, 40, 40]);
            }
            if edge
                && v == 2
                && [
                    (i.wrapping_sub(1), j),
                    (i + 1, j),
                    (i, j.wrapping_sub(1)),
                    (i, j + 1),
                ]
                .iter()
                .any(|&(a, b)| a < h && b < w && l[[a, b]] == 0)
            {
                return Rgb([40, 255, 40]);
            }
        }
        Rgb([g, g, g])
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("docs/img"));
    let per_domain: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3);
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);
    std::fs::create_dir_all(&out)?;
    let mut rows: Vec<Vec<RgbImage>> = Vec::new();
    for text in PRESETS {
        let cfg = preset(text)?;
        let cases: Vec<_> = (0..per_domain)
            .map(|i| simulate_case(&cfg, seed, i))
            .collect();
        let mut row: Vec<RgbImage> = cases
            .iter()
            .map(|c| panel(c.image.index_axis(Axis(0), 0), None))
            .collect();
        for c in &cases {
            let labels = c.label.as_ref().map(|l| l.index_axis(Axis(0), 0));
            row.push(panel(c.image.index_axis(Axis(0), 0), labels));
        }
        rows.push(row);
        // Animated GIF of the first 4-chamber case: image | contours.
        if let Some(case) = cases.iter().find(|c| c.view == "a4c").or(cases.first()) {
            let path = out.join(format!("sim_{}.gif", cfg.name));
            let mut encoder = GifEncoder::new_with_speed(std::fs::File::create(&path)?, 10);
            encoder.set_repeat(Repeat::Infinite)?;
            let (t, h, w) = case.image.dim();
            for k in 0..t {
                let frame = case.image.index_axis(Axis(0), k);
                let labels = case.label.as_ref().map(|l| l.index_axis(Axis(0), k));
                let (a, b) = (panel(frame, None), panel(frame, labels));
                let mut canvas = RgbaImage::new(2 * w as u32 + GAP, h as u32);
                for (x, y, p) in a.enumerate_pixels() {
                    canvas.put_pixel(x, y, image::Rgba([p[0], p[1], p[2], 255]));
                }
                for (x, y, p) in b.enumerate_pixels() {
                    canvas.put_pixel(x + w as u32 + GAP, y, image::Rgba([p[0], p[1], p[2], 255]));
                }
                encoder.encode_frame(Frame::from_parts(
                    canvas,
                    0,
                    0,
                    Delay::from_numer_denom_ms(50, 1),
                ))?;
            }
            println!("wrote {} ({t} frames, {})", path.display(), case.id);
        }
    }
    let (pw, ph) = rows[0][0].dimensions();
    let cols = rows[0].len() as u32;
    let width = cols * pw + (cols - 1) * GAP + 3 * GAP;
    let height = rows.len() as u32 * (ph + GAP) - GAP;
    let mut montage = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    for (r, row) in rows.iter().enumerate() {
        for (c, p) in row.iter().enumerate() {
            let extra = if c >= per_domain { 3 * GAP } else { 0 };
            let (x0, y0) = (c as u32 * (pw + GAP) + extra, r as u32 * (ph + GAP));
            for (x, y, px) in p.enumerate_pixels() {
                montage.put_pixel(x0 + x, y0 + y, *px);
            }
        }
    }
    let path = out.join("sim_montage.png");
    montage.save(&path)?;
    println!(
        "wrote {} ({width}x{height}; rows: source, target_lowq, target_scanner)",
        path.display()
    );
    Ok(())
}
