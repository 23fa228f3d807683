//! The report's charts, drawn as SVG text with plotters (text is left to the browser).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::RGBColor;
use twin_models::line::StationState;

/// A colour.
pub type RGB = RGBColor;

/// Chart width and height, pixels.
pub const SIZE: (u32, u32) = (880, 320);

/// Series colours, in order (colour-blind-safe "Tableau 10").
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

/// The colour of a speed-step span in a Gantt row.
pub const SPEED_STEP: RGBColor = RGBColor(0x1f, 0x3a, 0x93);

/// The colour of a station state, as in the viewer's legend.
pub fn state_colour(state: &str) -> RGBColor {
    match StationState::from_name(state) {
        Some(s) => {
            let [r, g, b] = s.rgb();
            RGBColor(r, g, b)
        }
        None => RGBColor(0x90, 0x90, 0x90),
    }
}

/// `#rrggbb` of a colour, for HTML legends.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// An axis tick: whole numbers with thousands separators, small ones with at most three
/// decimals.
pub fn tick(v: f64) -> String {
    if v.abs() >= 1000.0 {
        let whole = format!("{:.0}", v.abs());
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if v < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.to_string() }
    }
}

/// The smallest and largest of `values` (infinite when there are none).
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    })
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Axes with descriptions, readable ticks and a light grid.
fn numeric_mesh(chart: &mut Chart<'_, '_>, x_desc: &str, y_desc: &str) -> Drawn {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;
    Ok(())
}

/// A numeric x axis and one band per label down the y axis (first label on top).
fn category_mesh(chart: &mut Chart<'_, '_>, x_desc: &str, labels: &[String]) -> Drawn {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|v| tick(*v))
        .y_labels(labels.len() * 2 + 1)
        .y_label_formatter(&|y: &f64| {
            // Labels sit at band centres (k + 0.5); other ticks stay blank.
            let k = (*y - 0.5).round();
            if (y - 0.5 - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < labels.len() {
                labels[labels.len() - 1 - k as usize].clone()
            } else {
                String::new()
            }
        })
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .draw()?;
    Ok(())
}

/// A titled chart on `root` over `x` × `y`, with `y_area` pixels for the y labels.
fn chart_on<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    y_area: u32,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    Ok(ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)?)
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

fn svg(
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Drawn,
) -> String {
    let mut out = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(root)
    };
    match result {
        Ok(()) => out,
        Err(e) => format!("<p class=\"note\">This chart could not be drawn: {e}</p>"),
    }
}

/// A range around `lo..hi` with some room, never empty.
fn padded(lo: f64, hi: f64, from_zero: bool) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if from_zero && lo > 0.0 {
        lo = 0.0;
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let d = hi.abs().max(1.0) * 0.1;
        lo -= d;
        hi += d;
    }
    let pad = (hi - lo) * 0.05;
    (if from_zero && lo >= 0.0 { lo } else { lo - pad })..(hi + pad)
}

/// A named series of points.
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points (x, y).
    pub points: Vec<(f64, f64)>,
}

/// Lines over a shared x axis.
pub fn line_chart(title: &str, x_desc: &str, y_desc: &str, series: &[Series]) -> String {
    let (x0, x1) = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    let (y0, y1) = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    svg(SIZE, |root| {
        root.fill(&WHITE)?;
        let mut chart = chart_on(
            &root,
            title,
            70,
            padded(x0, x1, false),
            padded(y0, y1, true),
        )?;
        numeric_mesh(&mut chart, x_desc, y_desc)?;
        for (i, s) in series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                });
        }
        if series.len() > 1 || series.first().is_some_and(|s| !s.name.is_empty()) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(0xcc, 0xcc, 0xcc))
                .draw()?;
        }
        root.present()?;
        Ok(())
    })
}

/// Horizontal bars split into parts: one bar per row, parts in `parts` order and colour.
pub fn stacked_bars(
    title: &str,
    x_desc: &str,
    rows: &[(String, Vec<f64>)],
    parts: &[(String, RGBColor)],
) -> String {
    let total = rows
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let n = rows.len().max(1);
    let height = (70 + 34 * n as u32).max(160);
    svg((SIZE.0, height), |root| {
        root.fill(&WHITE)?;
        let mut chart = chart_on(&root, title, 130, 0.0..total, 0.0..n as f64)?;
        let labels: Vec<String> = rows.iter().map(|(l, _)| l.clone()).collect();
        category_mesh(&mut chart, x_desc, &labels)?;
        for (r, (_, values)) in rows.iter().enumerate() {
            let y = (n - 1 - r) as f64;
            let mut x = 0.0;
            for (k, v) in values.iter().enumerate() {
                let c = parts.get(k).map_or(PALETTE[k % PALETTE.len()], |p| p.1);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x, y + 0.15), (x + v, y + 0.85)],
                    c.filled(),
                )))?;
                x += v;
            }
        }
        root.present()?;
        Ok(())
    })
}

/// One row of a Gantt chart: a label and its spans (start, end, state), hours.
pub struct GanttRow {
    /// Row label.
    pub label: String,
    /// Spans, hours.
    pub spans: Vec<(f64, f64, String)>,
}

/// Spans per row over `0..horizon_h`, coloured by state, over a light "working" band.
pub fn gantt(title: &str, rows: &[GanttRow], horizon_h: f64) -> String {
    let n = rows.len().max(1);
    let height = (70 + 28 * n as u32).max(160);
    svg((SIZE.0, height), |root| {
        root.fill(&WHITE)?;
        let mut chart = chart_on(&root, title, 160, 0.0..horizon_h.max(1e-9), 0.0..n as f64)?;
        let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        category_mesh(&mut chart, "hours", &labels)?;
        let band = RGBColor(0xe8, 0xf5, 0xe9);
        for (r, row) in rows.iter().enumerate() {
            let y = (n - 1 - r) as f64;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.2), (horizon_h, y + 0.8)],
                band.filled(),
            )))?;
            chart.draw_series(row.spans.iter().map(|(a, b, s)| {
                // A stop shorter than a pixel still shows; a speed step set by a level
                // switch is a narrow band through the middle of the row.
                let b = b.max(a + horizon_h / 1500.0);
                if s.starts_with("speed ") {
                    Rectangle::new([(*a, y + 0.42), (b, y + 0.58)], SPEED_STEP.filled())
                } else {
                    Rectangle::new([(*a, y + 0.2), (b, y + 0.8)], state_colour(s).filled())
                }
            }))?;
        }
        root.present()?;
        Ok(())
    })
}

/// A point of a response curve.
pub struct CurvePoint {
    /// Parameter value.
    pub x: f64,
    /// Mean.
    pub mean: f64,
    /// 95% CI half-width.
    pub half: f64,
}

/// A response curve: each series' means joined by lines, with CI error bars; series `i`
/// has colour `PALETTE[i]` (the caller draws the legend once for all curves).
pub fn response_curve(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<CurvePoint>)],
) -> String {
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let (x0, x1) = extent(all().map(|p| p.x));
    let (y0, y1) = extent(all().flat_map(|p| [p.mean - p.half, p.mean + p.half]));
    svg(SIZE, |root| {
        root.fill(&WHITE)?;
        let mut chart = chart_on(
            &root,
            title,
            80,
            padded(x0, x1, false),
            padded(y0, y1, false),
        )?;
        numeric_mesh(&mut chart, x_desc, y_desc)?;
        for (i, (name, points)) in series.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|p| (p.x, p.mean)),
                    c.stroke_width(2),
                ))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                });
            chart.draw_series(points.iter().map(|p| {
                ErrorBar::new_vertical(
                    p.x,
                    p.mean - p.half,
                    p.mean,
                    p.mean + p.half,
                    c.stroke_width(2),
                    10,
                )
            }))?;
            chart.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.x, p.mean), 3, c.filled())),
            )?;
        }
        root.present()?;
        Ok(())
    })
}

/// A station in a line diagram.
pub struct DiagramStation {
    /// Its name.
    pub name: String,
    /// (column, place across), from `twin_models::line::diagram::places`.
    pub place: (usize, f32),
    /// Shares of its time per state, with their colours, in order.
    pub shares: Vec<(f64, RGBColor)>,
}

/// A buffer in a line diagram: indices of the stations feeding it, those it feeds, and
/// those sending rejects back to it.
pub struct DiagramLink {
    /// Its name.
    pub name: String,
    pub from: Vec<usize>,
    pub to: Vec<usize>,
    pub rework_from: Vec<usize>,
}

/// A line drawn as engineers draw it: each station a box with its name and a bar of its
/// time per state, each buffer an arrow (through one junction where it joins several
/// stations) named at its middle, rework loops dashed back to their buffer.
pub fn line_diagram(title: &str, stations: &[DiagramStation], links: &[DiagramLink]) -> String {
    const COL: i32 = 175;
    const ROW: i32 = 78;
    const W: i32 = 130;
    const H: i32 = 46;
    let columns = stations.iter().map(|s| s.place.0 + 1).max().unwrap_or(1) as i32;
    let half_rows = stations
        .iter()
        .map(|s| s.place.1.abs())
        .fold(0.0f32, f32::max);
    let width = (40 + columns * COL).max(300) as u32;
    let height = (90.0 + (2.0 * half_rows + 1.0) * ROW as f32) as u32;
    let mid = 50 + (half_rows * ROW as f32) as i32 + ROW / 2;
    let at = |s: &DiagramStation| {
        let x = 20 + s.place.0 as i32 * COL;
        let y = mid + (s.place.1 * ROW as f32).round() as i32;
        (x, y)
    };
    svg((width, height), |root| {
        root.fill(&WHITE)?;
        root.draw(&Text::new(title, (12, 10), ("sans-serif", 18)))?;
        let ink = RGBColor(0x55, 0x55, 0x55);
        let font = ("sans-serif", 12).into_font();
        for link in links {
            let outs: Vec<(i32, i32)> = link
                .from
                .iter()
                .map(|&s| {
                    let (x, y) = at(&stations[s]);
                    (x + W, y)
                })
                .collect();
            let ins: Vec<(i32, i32)> = link
                .to
                .iter()
                .map(|&s| {
                    let (x, y) = at(&stations[s]);
                    (x, y)
                })
                .collect();
            let all: Vec<(i32, i32)> = outs.iter().chain(&ins).copied().collect();
            let n = all.len().max(1) as i32;
            let junction = (
                all.iter().map(|p| p.0).sum::<i32>() / n,
                all.iter().map(|p| p.1).sum::<i32>() / n,
            );
            for &p in &outs {
                root.draw(&PathElement::new(vec![p, junction], ink.stroke_width(2)))?;
            }
            for &p in &ins {
                root.draw(&PathElement::new(vec![junction, p], ink.stroke_width(2)))?;
                // An arrowhead into the station.
                root.draw(&Polygon::new(
                    vec![p, (p.0 - 8, p.1 - 5), (p.0 - 8, p.1 + 5)],
                    ink.filled(),
                ))?;
            }
            root.draw(&Text::new(
                link.name.clone(),
                (junction.0 - 20, junction.1 - 16),
                font.clone().color(&ink),
            ))?;
            for &s in &link.rework_from {
                let (x, y) = at(&stations[s]);
                let start = (x + W / 2, y + H / 2);
                let low = y.max(junction.1) + H;
                let path = vec![start, (start.0, low), (junction.0, low), junction];
                root.draw(&PathElement::new(
                    path,
                    RGBColor(0xe1, 0x57, 0x59).stroke_width(1),
                ))?;
                root.draw(&Text::new(
                    "rework",
                    ((start.0 + junction.0) / 2 - 18, low + 2),
                    font.clone().color(&RGBColor(0xe1, 0x57, 0x59)),
                ))?;
            }
        }
        for s in stations {
            let (x, y) = at(s);
            root.draw(&Rectangle::new(
                [(x, y - H / 2), (x + W, y + H / 2)],
                WHITE.filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y - H / 2), (x + W, y + H / 2)],
                ink.stroke_width(1),
            ))?;
            root.draw(&Text::new(
                s.name.clone(),
                (x + 6, y - H / 2 + 5),
                font.clone(),
            ))?;
            // Its time per state, left to right.
            let (bar_x, bar_w) = (x + 6, W - 12);
            let mut left = bar_x;
            let total: f64 = s.shares.iter().map(|p| p.0).sum::<f64>().max(1e-12);
            for (share, colour) in &s.shares {
                let w = (share / total * bar_w as f64).round() as i32;
                if w > 0 {
                    root.draw(&Rectangle::new(
                        [
                            (left, y + 4),
                            ((left + w).min(bar_x + bar_w), y + H / 2 - 6),
                        ],
                        colour.filled(),
                    ))?;
                }
                left += w;
            }
        }
        root.present()?;
        Ok(())
    })
}
