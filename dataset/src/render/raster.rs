//! Pixel work shared by the GIF and PNG writers: an RGB canvas, gray mapping of intensities,
//! label overlays (filled with alpha, or contours), a heat colour map, and nearest-neighbour
//! integer upscaling. No files here.

use ndarray::ArrayView2;

/// Overlay colours (RGB): LV cavity red, myocardium blue; distinct for colour-blind viewers too.
pub const LV_COLOUR: [u8; 3] = [255, 64, 64];
pub const MYO_COLOUR: [u8; 3] = [64, 160, 255];

/// How labels are drawn over the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlayStyle {
    /// Filled regions blended with the image (the original's `save_as_gif`, alpha 0.4).
    #[default]
    Fill,
    /// One-pixel outlines (before upscaling), opaque: the LV boundary (endocardium) in the LV
    /// colour and the myocardium's outer boundary (epicardium) in the myocardium colour.
    Contour,
}

/// An RGB image, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<[u8; 3]>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, fill: [u8; 3]) -> Self {
        Canvas {
            width,
            height,
            pixels: vec![fill; width * height],
        }
    }

    /// Copy `other` with its top-left corner at `(x, y)`, clipped to this canvas.
    pub fn blit(&mut self, other: &Canvas, x: usize, y: usize) {
        for row in 0..other.height.min(self.height.saturating_sub(y)) {
            let n = other.width.min(self.width.saturating_sub(x));
            let dst = (y + row) * self.width + x;
            let src = row * other.width;
            self.pixels[dst..dst + n].copy_from_slice(&other.pixels[src..src + n]);
        }
    }

    /// Nearest-neighbour upscaling by an integer factor (>= 1).
    pub fn upscale(&self, factor: usize) -> Canvas {
        let factor = factor.max(1);
        if factor == 1 {
            return self.clone();
        }
        let (w, h) = (self.width * factor, self.height * factor);
        let mut pixels = Vec::with_capacity(w * h);
        for y in 0..h {
            let row = &self.pixels[(y / factor) * self.width..(y / factor + 1) * self.width];
            for x in 0..w {
                pixels.push(row[x / factor]);
            }
        }
        Canvas {
            width: w,
            height: h,
            pixels,
        }
    }

    /// Flat `RGBRGB...` bytes.
    pub fn to_rgb_bytes(&self) -> Vec<u8> {
        self.pixels.iter().flatten().copied().collect()
    }
}

/// Finite `(min, max)` of values, `(0, 1)` if there are none.
pub fn finite_range<'a>(values: impl IntoIterator<Item = &'a f32>) -> (f32, f32) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) }
}

/// Gray canvas of a frame `[H, W]`, intensities mapped linearly from `range` to 0..=255
/// (non-finite values black; a flat range maps to black).
pub fn gray(frame: ArrayView2<f32>, (lo, hi): (f32, f32)) -> Canvas {
    let (h, w) = frame.dim();
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    let pixels = frame
        .iter()
        .map(|&v| {
            let g = if v.is_finite() {
                ((v - lo) * scale).round().clamp(0.0, 255.0) as u8
            } else {
                0
            };
            [g, g, g]
        })
        .collect();
    Canvas {
        width: w,
        height: h,
        pixels,
    }
}

fn label_colour(label: u8) -> Option<[u8; 3]> {
    match label {
        echo::LV => Some(LV_COLOUR),
        echo::MYO => Some(MYO_COLOUR),
        _ => None,
    }
}

fn blend(base: [u8; 3], over: [u8; 3], alpha: f32) -> [u8; 3] {
    let mix = |b: u8, o: u8| (f32::from(b) * (1.0 - alpha) + f32::from(o) * alpha).round() as u8;
    [
        mix(base[0], over[0]),
        mix(base[1], over[1]),
        mix(base[2], over[2]),
    ]
}

/// Draw labels `[H, W]` (same shape as the canvas) over it.
pub fn overlay(canvas: &mut Canvas, labels: ArrayView2<u8>, style: OverlayStyle, alpha: f32) {
    let (h, w) = labels.dim();
    let alpha = alpha.clamp(0.0, 1.0);
    for y in 0..h.min(canvas.height) {
        for x in 0..w.min(canvas.width) {
            let l = labels[[y, x]];
            let Some(colour) = label_colour(l) else {
                continue;
            };
            let px = &mut canvas.pixels[y * canvas.width + x];
            match style {
                OverlayStyle::Fill => *px = blend(*px, colour, alpha),
                OverlayStyle::Contour => {
                    // LV: its whole boundary (endocardium). MYO: only where it meets the
                    // background (epicardium), so the LV/MYO border is drawn once, in red.
                    let edge = |dy: isize, dx: isize| {
                        let (ny, nx) = (y as isize + dy, x as isize + dx);
                        if ny < 0 || nx < 0 || ny >= h as isize || nx >= w as isize {
                            return true;
                        }
                        let n = labels[[ny as usize, nx as usize]];
                        if l == echo::MYO {
                            n == echo::BG
                        } else {
                            n != l
                        }
                    };
                    if edge(-1, 0) || edge(1, 0) || edge(0, -1) || edge(0, 1) {
                        *px = colour;
                    }
                }
            }
        }
    }
}

/// "inferno"-like colour map control points (matplotlib's inferno sampled at 9 points).
const HEAT: [[u8; 3]; 9] = [
    [0, 0, 4],
    [31, 12, 72],
    [85, 15, 109],
    [136, 34, 106],
    [186, 54, 85],
    [227, 89, 51],
    [249, 140, 10],
    [249, 201, 50],
    [252, 255, 164],
];

/// Colour of a value in [0, 1] (clamped; non-finite is the low end).
pub fn heat_colour(v: f32) -> [u8; 3] {
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = v * (HEAT.len() - 1) as f32;
    let i = (pos.floor() as usize).min(HEAT.len() - 2);
    let f = pos - i as f32;
    let (a, b) = (HEAT[i], HEAT[i + 1]);
    [0, 1, 2].map(|c| (f32::from(a[c]) * (1.0 - f) + f32::from(b[c]) * f).round() as u8)
}

/// Heat-map canvas of a frame `[H, W]` of values in [0, 1].
pub fn heat(frame: ArrayView2<f32>) -> Canvas {
    let (h, w) = frame.dim();
    Canvas {
        width: w,
        height: h,
        pixels: frame.iter().map(|&v| heat_colour(v)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn gray_maps_the_range_to_0_255() {
        let c = gray(array![[0.0, 0.5], [1.0, f32::NAN]].view(), (0.0, 1.0));
        assert_eq!(c.pixels, vec![[0; 3], [128; 3], [255; 3], [0; 3]]);
        assert_eq!(finite_range(&[f32::NAN, 2.0, -1.0]), (-1.0, 2.0));
    }

    #[test]
    fn fill_blends_and_contour_outlines() {
        let labels = array![[0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1], [2, 2, 2, 2]];
        let mut fill = Canvas::new(4, 4, [0; 3]);
        overlay(&mut fill, labels.view(), OverlayStyle::Fill, 0.5);
        assert_eq!(fill.pixels[0], [0; 3]);
        assert_eq!(fill.pixels[1], [128, 32, 32]);
        let mut contour = Canvas::new(4, 4, [0; 3]);
        overlay(&mut contour, labels.view(), OverlayStyle::Contour, 0.4);
        // (1, 2) is inside the LV block: all four neighbours are LV.
        assert_eq!(contour.pixels[4 + 2], [0; 3]);
        assert_eq!(contour.pixels[1], LV_COLOUR);
        // MYO (3, 0) touches the background above it; MYO (3, 2) only touches LV and the border.
        assert_eq!(contour.pixels[12], MYO_COLOUR);
        let inner = array![[1, 1, 1], [2, 2, 2], [2, 2, 2], [1, 1, 1]];
        let mut c = Canvas::new(3, 4, [0; 3]);
        overlay(&mut c, inner.view(), OverlayStyle::Contour, 0.4);
        assert_eq!(
            c.pixels[3 + 1],
            [0; 3],
            "MYO next to LV only is not outlined"
        );
    }

    #[test]
    fn upscale_and_blit() {
        let mut c = Canvas::new(2, 1, [0; 3]);
        c.pixels[1] = [9; 3];
        let up = c.upscale(2);
        assert_eq!((up.width, up.height), (4, 2));
        assert_eq!(up.pixels[2], [9; 3]);
        assert_eq!(up.pixels[4 + 1], [0; 3]);
        let mut big = Canvas::new(3, 3, [1; 3]);
        big.blit(&up, 2, 2);
        assert_eq!(big.pixels[8], [0; 3]);
        assert_eq!(big.pixels[0], [1; 3]);
    }

    #[test]
    fn heat_colours_span_the_map() {
        assert_eq!(heat_colour(0.0), HEAT[0]);
        assert_eq!(heat_colour(1.0), HEAT[8]);
        assert_eq!(heat_colour(f32::NAN), HEAT[0]);
        assert_eq!(heat_colour(2.0), HEAT[8]);
    }
}
