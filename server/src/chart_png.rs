//! The alert chart: a PNG of the last hours of a metric with its normal band,
//! yesterday's values and the anomalous point, for Telegram.
//!
//! Drawn with plotters into an RGB buffer and encoded with `png`. Text uses
//! DejaVu Sans shipped in `server/assets/fonts` (no system font lookup), so the
//! output is the same on every machine.

use std::ops::Range;
use std::sync::OnceLock;

use chrono::DateTime;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::metrics::model::BUCKET_SECONDS;

/// Output size in pixels.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 540;

static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// The registered font's family name (see [`register_font`]).
pub(crate) const FAMILY: &str = "sans-serif";

/// The colour of a metric's line (the morning report's charts draw alike).
pub(crate) const VALUE: RGBColor = RGBColor(31, 119, 180);
const BAND: RGBColor = RGBColor(31, 119, 180);
const YESTERDAY: RGBColor = RGBColor(150, 150, 150);
const ANOMALY: RGBColor = RGBColor(214, 39, 40);
pub(crate) const GRID: RGBColor = RGBColor(235, 235, 235);

/// What to draw. All series are indexed like `values`: point `i` is the bucket
/// starting at `start + i * step`; shorter series are padded with gaps.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartInput {
    /// Metric and slice, e.g. "Feed views · os = iOS".
    pub title: String,
    /// Start of the first bucket (unix seconds).
    pub start: i64,
    /// Bucket width in seconds (15 minutes for vigil's metrics).
    pub step: i64,
    pub values: Vec<Option<f64>>,
    pub lower: Vec<Option<f64>>,
    pub upper: Vec<Option<f64>>,
    /// The same buckets one day earlier.
    pub yesterday: Vec<Option<f64>>,
    /// Index of the anomalous point, if any.
    pub marked: Option<usize>,
    /// Axis labels are in UTC plus this many minutes.
    pub utc_offset_minutes: i32,
}

impl Default for ChartInput {
    fn default() -> Self {
        Self {
            title: String::new(),
            start: 0,
            step: BUCKET_SECONDS,
            values: Vec::new(),
            lower: Vec::new(),
            upper: Vec::new(),
            yesterday: Vec::new(),
            marked: None,
            utc_offset_minutes: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart font: {0}")]
    Font(String),
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the chart PNG: {0}")]
    Encode(String),
}

/// Makes the bundled font the one plotters draws [`FAMILY`] with.
pub(crate) fn register_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError::Font(
            "DejaVuSans.ttf could not be parsed".into(),
        ))
    }
}

/// A finite value, or a gap.
fn at(series: &[Option<f64>], i: usize) -> Option<f64> {
    series.get(i).copied().flatten().filter(|v| v.is_finite())
}

/// Maximal runs of consecutive present points: gaps break lines.
fn runs(n: usize, get: impl Fn(usize) -> Option<(f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for i in 0..n {
        match get(i) {
            Some(p) => current.push(p),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Y range covering every drawn value, padded; a sane default when empty or flat.
fn y_range(input: &ChartInput, n: usize) -> Option<Range<f64>> {
    let all = (0..n).flat_map(|i| {
        [
            at(&input.values, i),
            at(&input.lower, i),
            at(&input.upper, i),
            at(&input.yesterday, i),
        ]
    });
    let (lo, hi) = all
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    let span = hi - lo;
    let pad = if span > 0.0 && span.is_finite() {
        span * 0.08
    } else {
        (lo.abs() * 0.1).max(1.0)
    };
    let (lo, hi) = (lo - pad, hi + pad);
    (lo.is_finite() && hi.is_finite() && lo < hi).then_some(lo..hi)
}

/// `+03:00`-style label of the axis' zone.
fn zone_label(utc_offset_minutes: i32) -> String {
    if utc_offset_minutes == 0 {
        return "UTC".into();
    }
    let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
    let m = utc_offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// Renders the chart as PNG bytes. Bad input (NaN, empty, mismatched lengths)
/// draws what it can; only font, drawing or encoding failures are errors.
pub fn render_png(input: &ChartInput) -> Result<Vec<u8>, ChartError> {
    register_font()?;
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    // plotters may assert on odd geometry; a chart must never take the caller down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| draw(input, &mut rgb)))
        .map_err(|_| ChartError::Draw("plotters panicked".into()))??;
    encode(&rgb)
}

fn draw(input: &ChartInput, rgb: &mut [u8]) -> Result<(), ChartError> {
    let err = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
    let n = input.values.len();
    let step = if input.step > 0 {
        input.step
    } else {
        BUCKET_SECONDS
    };
    let offset = i64::from(input.utc_offset_minutes.clamp(-24 * 60, 24 * 60)) * 60;
    // x is local time in hours since the epoch, so axis ticks land on whole hours.
    let hours = |secs: f64| secs / 3600.0;
    let x_of =
        |i: usize| hours(input.start.saturating_add(offset) as f64 + (i as f64) * (step as f64));
    let x_range = if n > 1 {
        x_of(0)..x_of(n - 1)
    } else {
        // Zero or one point: a window of a few buckets around it.
        x_of(0) - hours(2.0 * step as f64)..x_of(0) + hours(2.0 * step as f64)
    };
    let y = y_range(input, n);
    let has_data = y.is_some();
    let y = y.unwrap_or(0.0..1.0);
    let zone = zone_label(input.utc_offset_minutes);

    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = if input.title.is_empty() {
        "vigil".to_string()
    } else {
        input.title.chars().take(90).collect()
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, 24).into_font())
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range.clone(), y.clone())
        .map_err(|e| err(&e))?;

    let time_label = |x: &f64| {
        DateTime::from_timestamp((*x * 3600.0).round() as i64, 0)
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default()
    };
    let value_label = |v: &f64| app::format::number(Some(*v), app::format::Digits::Exact);
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID.mix(0.0))
        .x_labels(9)
        .y_labels(6)
        .x_label_formatter(&time_label)
        .y_label_formatter(&value_label)
        .x_desc(format!("time ({zone})"))
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(|e| err(&e))?;

    if !has_data {
        let center = ((x_range.start + x_range.end) / 2.0, (y.start + y.end) / 2.0);
        chart
            .draw_series(std::iter::once(Text::new(
                "no data",
                center,
                (FAMILY, 28).into_font().color(&YESTERDAY).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                ),
            )))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
        return Ok(());
    }

    // The band: one filled polygon per run where both bounds exist.
    let mut labelled = false;
    let band: Vec<Vec<(f64, f64, f64)>> = {
        let mut out = Vec::new();
        let mut current = Vec::new();
        for i in 0..n {
            match (at(&input.lower, i), at(&input.upper, i)) {
                (Some(lo), Some(hi)) => current.push((x_of(i), lo.min(hi), lo.max(hi))),
                _ if !current.is_empty() => out.push(std::mem::take(&mut current)),
                _ => {}
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    };
    for run in &band {
        let mut outline: Vec<(f64, f64)> = run.iter().map(|&(x, _, hi)| (x, hi)).collect();
        outline.extend(run.iter().rev().map(|&(x, lo, _)| (x, lo)));
        let series = chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                BAND.mix(0.15).filled(),
            )))
            .map_err(|e| err(&e))?;
        if !labelled {
            series.label("normal band").legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], BAND.mix(0.25).filled())
            });
            labelled = true;
        }
        for bound in [1usize, 2] {
            let edge = run
                .iter()
                .map(|p| (p.0, if bound == 1 { p.1 } else { p.2 }));
            chart
                .draw_series(LineSeries::new(edge, BAND.mix(0.35).stroke_width(1)))
                .map_err(|e| err(&e))?;
        }
    }

    // Yesterday, faint; then today's values on top.
    let lines = [
        (
            &input.yesterday,
            YESTERDAY.mix(0.8).stroke_width(2),
            "yesterday",
        ),
        (&input.values, VALUE.stroke_width(2), "value"),
    ];
    for (series_values, style, name) in lines {
        let mut labelled = false;
        for run in runs(n, |i| at(series_values, i).map(|v| (x_of(i), v))) {
            let drawn = if run.len() == 1 {
                chart
                    .draw_series(run.iter().map(|&p| Circle::new(p, 2, style.filled())))
                    .map_err(|e| err(&e))?
            } else {
                chart
                    .draw_series(LineSeries::new(run, style))
                    .map_err(|e| err(&e))?
            };
            if !labelled {
                drawn
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
                labelled = true;
            }
        }
    }

    // The anomaly: a filled red dot in a ring.
    if let Some(i) = input.marked.filter(|&i| i < n) {
        if let Some(v) = at(&input.values, i) {
            let p = (x_of(i), v);
            chart
                .draw_series([
                    Circle::new(p, 10, ANOMALY.stroke_width(2)),
                    Circle::new(p, 5, ANOMALY.filled()),
                ])
                .map_err(|e| err(&e))?
                .label("anomaly")
                .legend(|(x, y)| Circle::new((x + 8, y), 5, ANOMALY.filled()));
        }
    }

    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font((FAMILY, 14))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

fn encode(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    encode_rgb(rgb, WIDTH, HEIGHT)
}

/// PNG bytes of a `width` x `height` RGB buffer.
pub(crate) fn encode_rgb(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder
        .write_header()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ChartError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a PNG and returns (width, height, RGB pixels).
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn has_colour(rgb: &[u8], colour: RGBColor) -> bool {
        rgb.chunks(3).any(|p| p == [colour.0, colour.1, colour.2])
    }

    /// A day of a daily-cycle metric with a drop near the end.
    pub(crate) fn example() -> ChartInput {
        let n = 96;
        let base = |i: usize| 1000.0 + 400.0 * ((i as f64) / 96.0 * std::f64::consts::TAU).sin();
        let mut values: Vec<Option<f64>> = (0..n)
            .map(|i| Some(base(i) + (i % 7) as f64 * 9.0))
            .collect();
        values[40] = None;
        values[41] = None;
        values[93] = Some(base(93) * 0.55);
        ChartInput {
            title: "Feed views · os = iOS".into(),
            start: 1_763_900_100 - 95 * BUCKET_SECONDS,
            step: BUCKET_SECONDS,
            lower: (0..n).map(|i| Some(base(i) * 0.85)).collect(),
            upper: (0..n).map(|i| Some(base(i) * 1.15)).collect(),
            yesterday: (0..n).map(|i| Some(base(i) * 1.03)).collect(),
            values,
            marked: Some(93),
            utc_offset_minutes: 180,
        }
    }

    #[test]
    fn renders_a_chart() {
        let png = render_png(&example()).unwrap();
        let (w, h, rgb) = decode(&png);
        assert_eq!((w, h), (WIDTH, HEIGHT));
        assert!(has_colour(&rgb, ANOMALY), "anomaly marker drawn");
        assert!(has_colour(&rgb, VALUE), "value line drawn");
        if let Ok(path) = std::env::var("VIGIL_CHART_EXAMPLE") {
            std::fs::write(path, &png).unwrap();
        }
    }

    #[test]
    fn survives_bad_input() {
        let mut nan = example();
        nan.values = vec![Some(f64::NAN), Some(f64::INFINITY), None, Some(3.0)];
        nan.lower = vec![Some(f64::NEG_INFINITY)];
        nan.marked = Some(1000);
        nan.step = 0;
        let flat = ChartInput {
            values: vec![Some(5.0); 10],
            marked: Some(0),
            ..Default::default()
        };
        let single = ChartInput {
            values: vec![Some(1e300)],
            upper: vec![Some(-1e300)],
            marked: Some(0),
            utc_offset_minutes: i32::MIN,
            start: i64::MAX,
            ..Default::default()
        };
        let inputs = [
            ChartInput::default(),
            ChartInput {
                values: vec![None; 96],
                title: "x".repeat(500),
                ..Default::default()
            },
            nan,
            flat,
            single,
        ];
        for input in inputs {
            let png = render_png(&input).unwrap();
            let (w, h, _) = decode(&png);
            assert_eq!((w, h), (WIDTH, HEIGHT));
        }
    }

    #[test]
    fn labels_the_zone() {
        assert_eq!(zone_label(0), "UTC");
        assert_eq!(zone_label(180), "UTC+03:00");
        assert_eq!(zone_label(-330), "UTC-05:30");
    }
}
