//! Plotters drawing onto an HTML canvas (browser only).

use detect::{Detection, Point, Series};
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

const VALUE_COLOR: RGBColor = RGBColor(31, 87, 153);
const BAND_COLOR: RGBColor = RGBColor(140, 180, 220);
const ANOMALY_COLOR: RGBColor = RGBColor(200, 30, 30);
const GRID_COLOR: RGBColor = RGBColor(232, 232, 232);

/// Draws value line, band and anomaly markers; gaps break lines and band.
pub fn draw(
    canvas: &HtmlCanvasElement,
    series: &Series,
    detection: &Detection,
) -> Result<(), String> {
    let points: Vec<Point> = detection.points().collect();
    let points = points.as_slice();
    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| "canvas has no 2d context".to_string())?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    if series.is_empty() {
        return Ok(());
    }

    let x_range = series.timestamp(0)..series.timestamp(series.len() - 1) + series.step;
    let y_range = value_range(points);
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(6)
        .light_line_style(GRID_COLOR)
        .x_label_formatter(&|t| format_time(*t))
        .y_label_formatter(&|v| format_value(*v))
        .draw()
        .map_err(|e| e.to_string())?;

    let at = |i: usize| series.timestamp(i);
    for run in runs(points, |p| p.lower.zip(p.upper)) {
        let mut outline: Vec<(i64, f64)> = run.iter().map(|&(i, (_, up))| (at(i), up)).collect();
        outline.extend(run.iter().rev().map(|&(i, (low, _))| (at(i), low)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                BAND_COLOR.mix(0.35).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }
    for run in runs(points, |p| p.value) {
        chart
            .draw_series(LineSeries::new(
                run.into_iter().map(|(i, v)| (at(i), v)),
                VALUE_COLOR.stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
    }
    // Triangles, not just red dots: the shape carries the meaning for colour-blind readers.
    let anomalies = points.iter().enumerate().filter_map(|(i, p)| {
        p.value
            .filter(|_| p.is_anomaly)
            .map(|v| TriangleMarker::new((at(i), v), 6, ANOMALY_COLOR.filled()))
    });
    chart.draw_series(anomalies).map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Maximal runs of consecutive points for which `pick` yields a value.
fn runs<T: Copy>(points: &[Point], pick: impl Fn(&Point) -> Option<T>) -> Vec<Vec<(usize, T)>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    for (i, point) in points.iter().enumerate() {
        match pick(point) {
            Some(v) => current.push((i, v)),
            None if !current.is_empty() => all.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// Y range fitted to the values, widened for the band by at most half the
/// values' span: one wild band edge must not flatten the whole series.
fn value_range(points: &[Point]) -> std::ops::Range<f64> {
    let (low, high) = extent(points.iter().filter_map(|p| p.value));
    if !low.is_finite() {
        return 0.0..1.0;
    }
    let span = (high - low).max(high.abs() * 0.01).max(1e-9);
    let (band_low, band_high) = extent(points.iter().flat_map(|p| [p.lower, p.upper]).flatten());
    let low = low.min(band_low.max(low - span * 0.5));
    let high = high.max(band_high.min(high + span * 0.5));
    (low - span * 0.03)..(high + span * 0.03)
}

/// (min, max) of finite values; (inf, -inf) when there are none.
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
}

fn format_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%d %b %H:%M").to_string())
        .unwrap_or_default()
}

fn format_value(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.abs() >= 10.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
