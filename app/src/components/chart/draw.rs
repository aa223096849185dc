//! Plotters drawing onto an HTML canvas (browser only).

use detect::{Detection, Point, Series};
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::{Frame, Shade};
use crate::api::LabelRole;
use crate::format::{number, time, Digits, When};

const VALUE_COLOR: RGBColor = RGBColor(31, 87, 153);
const BAND_COLOR: RGBColor = RGBColor(140, 180, 220);
const ANOMALY_COLOR: RGBColor = RGBColor(200, 30, 30);
const GRID_COLOR: RGBColor = RGBColor(232, 232, 232);
const LABEL_COLOR: RGBColor = RGBColor(240, 160, 40);
const NEUTRAL_COLOR: RGBColor = RGBColor(170, 170, 170);
const FALSE_ALARM_COLOR: RGBColor = RGBColor(90, 140, 220);
const CURSOR_COLOR: RGBColor = RGBColor(60, 60, 60);

/// Sizes the canvas's pixel buffer to its CSS box times the device pixel
/// ratio, so it fills its container at any width and stays crisp on HiDPI
/// screens. Returns the ratio, which scales text and marks.
fn fit(canvas: &HtmlCanvasElement) -> f64 {
    let ratio = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or(1.0);
    let (css_w, css_h) = (canvas.client_width(), canvas.client_height());
    if css_w > 0 && css_h > 0 {
        let (w, h) = (
            (f64::from(css_w) * ratio).round() as u32,
            (f64::from(css_h) * ratio).round() as u32,
        );
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
    }
    ratio
}

/// Draws labels, band, value line and anomaly markers over `frame.view`;
/// gaps break lines and band; with a replay cursor only the buckets up to it.
pub fn draw(
    canvas: &HtmlCanvasElement,
    series: &Series,
    detection: &Detection,
    shades: &[Shade],
    frame: Frame,
) -> Result<(), String> {
    let ratio = fit(canvas);
    let px = |v: f64| (v * ratio).round() as i32;
    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| "canvas has no 2d context".to_string())?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let len = series.len().min(detection.len());
    let (from, to) = (frame.view.0.min(len), frame.view.1.min(len));
    if from >= to {
        return root.present().map_err(|e| e.to_string());
    }
    let shown_to = frame.cursor.map_or(to, |c| (c + 1).clamp(from, to));
    let all: Vec<Point> = (from..to).map(|i| detection.point(i)).collect();
    let visible = &all[..shown_to - from];

    let x_range = series.timestamp(from)..series.timestamp(to - 1) + series.step;
    let y_range = value_range(&all);
    let (y_low, y_high) = (y_range.start, y_range.end);
    let font = ("sans-serif", 12.0 * ratio).into_font();
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0))
        .x_label_area_size(px(28.0))
        .y_label_area_size(px(56.0))
        .build_cartesian_2d(x_range, y_range)
        .map_err(|e| e.to_string())?;
    let x_labels = (canvas.client_width() / 120).clamp(2, 8) as usize;
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .y_labels(6)
        .label_style(font)
        .light_line_style(GRID_COLOR)
        .x_label_formatter(&|t| time(*t, When::Axis))
        .y_label_formatter(&|v| number(Some(*v), Digits::Short))
        .draw()
        .map_err(|e| e.to_string())?;

    let at = |i: usize| series.timestamp(i);
    let shaded = shades
        .iter()
        .filter(|s| s.span.start < to && s.span.end > from)
        .map(|s| {
            let color = match s.role {
                LabelRole::Incident => LABEL_COLOR.mix(0.25),
                LabelRole::Neutral => NEUTRAL_COLOR.mix(0.18),
                LabelRole::FalseAlarm => FALSE_ALARM_COLOR.mix(0.18),
            };
            let (a, b) = (s.span.start.max(from), s.span.end.min(to));
            Rectangle::new(
                [(at(a), y_low), (at(b - 1) + series.step, y_high)],
                color.filled(),
            )
        });
    chart.draw_series(shaded).map_err(|e| e.to_string())?;

    for run in runs(visible, from, |p| p.lower.zip(p.upper)) {
        let mut outline: Vec<(i64, f64)> = run.iter().map(|&(i, (_, up))| (at(i), up)).collect();
        outline.extend(run.iter().rev().map(|&(i, (low, _))| (at(i), low)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                BAND_COLOR.mix(0.35).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }
    for run in runs(visible, from, |p| p.value) {
        chart
            .draw_series(LineSeries::new(
                run.into_iter().map(|(i, v)| (at(i), v)),
                VALUE_COLOR.stroke_width(ratio.round().max(1.0) as u32),
            ))
            .map_err(|e| e.to_string())?;
    }
    // Triangles, not just red dots: the shape carries the meaning for colour-blind readers.
    let size = px(6.0);
    let anomalies = visible.iter().enumerate().filter_map(|(k, p)| {
        p.value
            .filter(|_| p.is_anomaly)
            .map(|v| TriangleMarker::new((at(from + k), v), size, ANOMALY_COLOR.filled()))
    });
    chart.draw_series(anomalies).map_err(|e| e.to_string())?;

    let marks = [frame.cursor, frame.focus]
        .into_iter()
        .flatten()
        .filter(|i| (from..to).contains(i));
    for i in marks {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(at(i), y_low), (at(i), y_high)],
                CURSOR_COLOR.stroke_width(ratio.round().max(1.0) as u32),
            )))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Maximal runs of consecutive points for which `pick` yields a value, as
/// (bucket index, value) with indices offset by `first`.
fn runs<T: Copy>(
    points: &[Point],
    first: usize,
    pick: impl Fn(&Point) -> Option<T>,
) -> Vec<Vec<(usize, T)>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    for (i, point) in points.iter().enumerate() {
        match pick(point) {
            Some(v) => current.push((first + i, v)),
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
