//! PNG plots with axes, ticks, axis labels, a title and a legend, drawn by plotters' bitmap
//! backend with DejaVu Sans embedded (`assets/DejaVuSans.ttf`, Bitstream Vera licence beside it)
//! so text renders the same everywhere with no system fonts. Also draws montage titles.

use std::path::Path;
use std::sync::OnceLock;

use echo::{Error, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::write_png;

/// A named curve of `(x, y)` points (non-finite points are skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (800, 500);
/// Tableau 10: distinguishable line colours.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Register the embedded font once.
fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(
                FONT,
                FontStyle::Normal,
                include_bytes!("../../assets/DejaVuSans.ttf"),
            )
            .map_err(|_| "the embedded DejaVu Sans font cannot be parsed".to_string())
        })
        .clone()
}

fn draw_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::file(path, format!("cannot draw the plot: {e}"))
}

/// Tick label: integers without decimals, tiny or huge values in scientific notation, others
/// with up to 4 decimals.
fn tick(v: &f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() < 1e-3 || v.abs() >= 1e9 {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The house style of a chart's grid, ticks and axis labels.
fn draw_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_label: &str,
    y_label: &str,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
}

/// `[lo, hi]` padded by 5 % (or by 1 when flat) so that curves do not touch the frame.
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let pad = if hi > lo { 0.05 * (hi - lo) } else { 1.0 };
    (lo - pad)..(hi + pad)
}

/// Line plot of one or more series (loss curves, per-iteration metrics), 800x500 PNG.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<()> {
    line_plots(
        path,
        title,
        &[Panel {
            x_label,
            y_label,
            series,
        }],
    )
}

/// One panel of [`line_plots`]: its axis labels and curves (they share the panel's y axis).
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: &'a [Series],
}

/// Side-by-side line plots under one title (e.g. fractions in [0, 1] beside a distance in mm,
/// which one y axis would flatten), 800x500 for one panel and 400 px wider per further panel.
/// A panel without finite points is an error; so is no panel.
pub fn line_plots(path: &Path, title: &str, panels: &[Panel<'_>]) -> Result<()> {
    if panels.is_empty() {
        return Err(Error::invalid(
            format!("plot {}", path.display()),
            "no panel to draw",
        ));
    }
    let size = (SIZE.0 + 400 * (panels.len() as u32 - 1), SIZE.1);
    ensure_font().map_err(|e| draw_error(path, e))?;
    let mut buf = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
        let root = root
            .titled(title, (FONT, 22))
            .map_err(|e| draw_error(path, e))?;
        // The first panel keeps 800 px of width, every further one 400.
        let mut areas = Vec::with_capacity(panels.len());
        let mut rest = root.clone();
        for k in 0..panels.len() - 1 {
            let first = if k == 0 { SIZE.0 as i32 } else { 400 };
            let (left, right) = rest.split_horizontally(first);
            areas.push(left);
            rest = right;
        }
        areas.push(rest);
        for (area, panel) in areas.iter().zip(panels) {
            draw_panel(area, panel).map_err(|e| match e {
                PanelError::Empty => Error::invalid(
                    format!("plot {}", path.display()),
                    format!("no finite points to draw in the '{}' panel", panel.y_label),
                ),
                PanelError::Draw(e) => draw_error(path, e),
            })?;
        }
        root.present().map_err(|e| draw_error(path, e))?;
    }
    write_png(path, buf, size.0, size.1)
}

enum PanelError {
    Empty,
    Draw(String),
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel<'_>,
) -> std::result::Result<(), PanelError> {
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| PanelError::Draw(e.to_string());
    let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
    let all: Vec<(f64, f64)> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().copied().filter(finite))
        .collect();
    if all.is_empty() {
        return Err(PanelError::Empty);
    }
    let (x0, x1) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (y0, y1) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (xs, ys) = (padded(x0, x1), padded(y0, y1));
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(xs.clone(), ys.clone())
        .map_err(fail)?;
    draw_mesh(&mut chart, panel.x_label, panel.y_label).map_err(fail)?;
    for (i, s) in panel.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<(f64, f64)> = s.points.iter().copied().filter(finite).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(fail)?
            .label(s.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2))
            });
        if points.len() <= 40 {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(fail)?;
        }
    }
    // Unit-square coordinates of the points, for the legend's placement.
    let unit: Vec<(f64, f64)> = all
        .iter()
        .map(|&(x, y)| {
            (
                (x - xs.start) / (xs.end - xs.start),
                (y - ys.start) / (ys.end - ys.start),
            )
        })
        .collect();
    let names = panel.series.iter().map(|s| s.name.chars().count());
    let box_w = (0.08 + 0.012 * names.max().unwrap_or(0) as f64).min(0.6);
    let box_h = (0.06 * panel.series.len() as f64 + 0.03).min(0.9);
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .position(legend_position(&unit, box_w, box_h))
        .draw()
        .map_err(fail)?;
    Ok(())
}

/// Where the legend hides the fewest points: of the four corners and the middles of the right and
/// left edges (preferred in that order on ties), the place whose `w x h` box (fractions of the
/// plotting area) covers the fewest of `unit` (the points in unit-square coordinates, y up).
fn legend_position(unit: &[(f64, f64)], w: f64, h: f64) -> SeriesLabelPosition {
    let candidates = [
        (SeriesLabelPosition::UpperRight, (1.0 - w, 1.0 - h)),
        (SeriesLabelPosition::UpperLeft, (0.0, 1.0 - h)),
        (SeriesLabelPosition::LowerRight, (1.0 - w, 0.0)),
        (SeriesLabelPosition::LowerLeft, (0.0, 0.0)),
        (SeriesLabelPosition::MiddleRight, (1.0 - w, 0.5 - h / 2.0)),
        (SeriesLabelPosition::MiddleLeft, (0.0, 0.5 - h / 2.0)),
    ];
    let covered = |(x0, y0): (f64, f64)| {
        unit.iter()
            .filter(|&&(x, y)| x >= x0 && x <= x0 + w && y >= y0 && y <= y0 + h)
            .count()
    };
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for (position, corner) in candidates {
        let n = covered(corner);
        if n < best.0 {
            best = (n, position);
        }
    }
    best.1
}

/// Reliability diagram: per confidence bin `(mean confidence, accuracy, count)` over equal-width
/// bins of [0, 1] (bin `i` of `n` spans `[i/n, (i+1)/n]`), accuracy bars, the gap to perfect
/// calibration, the diagonal, and the ECE in the title. Empty bins (count 0) are not drawn.
pub fn reliability_diagram(path: &Path, bins: &[(f64, f64, usize)], ece: f64) -> Result<()> {
    let what = || format!("reliability diagram {}", path.display());
    if bins.is_empty() {
        return Err(Error::invalid(what(), "no bins"));
    }
    let unit = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
    if let Some((i, b)) = bins
        .iter()
        .enumerate()
        .find(|(_, b)| !(unit(b.0) && unit(b.1)))
    {
        return Err(Error::invalid(
            what(),
            format!("bin {i} = {b:?}: confidence and accuracy must be in [0, 1]"),
        ));
    }
    if !ece.is_finite() {
        return Err(Error::invalid(what(), format!("ECE {ece} is not finite")));
    }
    ensure_font().map_err(|e| draw_error(path, e))?;
    let n = bins.len() as f64;
    let mut buf = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Reliability diagram (ECE = {ece:.4})"), (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(|e| draw_error(path, e))?;
        draw_mesh(&mut chart, "Confidence", "Accuracy").map_err(|e| draw_error(path, e))?;
        let used: Vec<(f64, f64, f64, f64)> = bins
            .iter()
            .enumerate()
            .filter(|(_, b)| b.2 > 0)
            .map(|(i, &(conf, acc, _))| (i as f64 / n, (i as f64 + 1.0) / n, conf, acc))
            .collect();
        let bar = RGBColor(31, 119, 180);
        // The gap is an opaque strip in the middle half of its bin: over an under-confident
        // bin's bar it shows in the legend's pink (not a purple blend of red and blue) and the
        // bar stays visible up to its accuracy on both sides.
        let gap = RGBColor(243, 190, 190);
        chart
            .draw_series(used.iter().map(|&(lo, hi, _, acc)| {
                Rectangle::new([(lo, 0.0), (hi, acc)], bar.mix(0.75).filled())
            }))
            .map_err(|e| draw_error(path, e))?
            .label("accuracy")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 20, y + 6)], bar.mix(0.75).filled())
            });
        chart
            .draw_series(used.iter().map(|&(lo, hi, _, acc)| {
                Rectangle::new([(lo, 0.0), (hi, acc)], WHITE.stroke_width(1))
            }))
            .map_err(|e| draw_error(path, e))?;
        chart
            .draw_series(used.iter().map(|&(lo, hi, conf, acc)| {
                let quarter = (hi - lo) / 4.0;
                Rectangle::new(
                    [(lo + quarter, acc.min(conf)), (hi - quarter, acc.max(conf))],
                    gap.filled(),
                )
            }))
            .map_err(|e| draw_error(path, e))?
            .label("gap to confidence")
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], gap.filled()));
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                8,
                5,
                BLACK.stroke_width(1),
            ))
            .map_err(|e| draw_error(path, e))?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1)));
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| draw_error(path, e))?;
        root.present().map_err(|e| draw_error(path, e))?;
    }
    write_png(path, buf, SIZE.0, SIZE.1)
}

/// Draw white titles centred at the top of montage cells `(text, x0, y0, cell width)`.
pub(super) fn draw_titles(
    rgb: &mut [u8],
    size: (u32, u32),
    titles: &[(String, usize, usize, usize)],
) -> std::result::Result<(), String> {
    ensure_font()?;
    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    let style = TextStyle::from((FONT, 14).into_font())
        .color(&WHITE)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (text, x0, y0, cell_w) in titles {
        let at = ((x0 + cell_w / 2) as i32, (*y0 + 1) as i32);
        root.draw(&Text::new(text.as_str(), at, style.clone()))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_goes_where_it_hides_the_fewest_points() {
        // Curves along the top (fractions near 1) and the bottom (near 0): the middle is free.
        let mut unit: Vec<(f64, f64)> = (0..7).map(|i| (i as f64 / 6.0, 0.95)).collect();
        unit.extend((0..7).map(|i| (i as f64 / 6.0, 0.05)));
        let p = legend_position(&unit, 0.3, 0.4);
        assert!(matches!(p, SeriesLabelPosition::MiddleRight), "{p:?}");
        // A decaying loss curve leaves the upper right free (the usual place).
        let loss: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64 / 49.0, (-(i as f64) / 8.0).exp()))
            .collect();
        let p = legend_position(&loss, 0.3, 0.2);
        assert!(matches!(p, SeriesLabelPosition::UpperRight), "{p:?}");
        // A rising curve: not the upper right, not the lower left.
        let rising: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64 / 49.0, i as f64 / 49.0))
            .collect();
        let p = legend_position(&rising, 0.3, 0.2);
        assert!(matches!(p, SeriesLabelPosition::UpperLeft), "{p:?}");
    }
}
