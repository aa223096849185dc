//! Plotters drawing onto an HTML canvas (browser only).

use detect::{Detection, Point, Series};
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::scale::{band, Axes, MARGIN, X_LABELS, Y_LABELS};
use super::{Frame, Shade};
use crate::api::LabelRole;
use crate::format::Quantity;

const VALUE_COLOR: RGBColor = RGBColor(31, 87, 153);
/// The band: a light blue fill between edges in Okabe-Ito blue (5:1 on white).
const BAND_COLOR: RGBColor = RGBColor(140, 180, 220);
const BAND_EDGE_COLOR: RGBColor = RGBColor(0, 114, 178);
const ANOMALY_COLOR: RGBColor = RGBColor(200, 30, 30);
const GRID_COLOR: RGBColor = RGBColor(232, 232, 232);
const AXIS_COLOR: RGBColor = RGBColor(150, 150, 150);
const LABEL_COLOR: RGBColor = RGBColor(240, 160, 40);
const NEUTRAL_COLOR: RGBColor = RGBColor(170, 170, 170);
/// False alarms: Okabe-Ito reddish purple (3.7:1 on white), hatched, so they
/// differ from the band in hue and in pattern for colour-blind readers too.
const FALSE_ALARM_COLOR: RGBColor = RGBColor(204, 121, 167);
const CURSOR_COLOR: RGBColor = RGBColor(60, 60, 60);
/// CSS pixels between two hatch lines.
const HATCH_PX: f64 = 7.0;

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

/// Draws the grid at `axes`' ticks, labels, band, value line and anomaly
/// markers over `frame.view`; gaps break lines and band; with a replay cursor
/// only the buckets up to it. The tick labels are HTML over the canvas.
pub fn draw(
    canvas: &HtmlCanvasElement,
    series: &Series,
    detection: &Detection,
    shades: &[Shade],
    frame: Frame,
    axes: &Axes,
    quantity: Quantity,
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
    let visible: Vec<Point> = (from..shown_to).map(|i| detection.point(i)).collect();

    let (y_low, y_high) = axes.y;
    let mut chart = ChartBuilder::on(&root)
        .margin(px(MARGIN))
        .x_label_area_size(px(X_LABELS))
        .y_label_area_size(px(Y_LABELS))
        .build_cartesian_2d(axes.x.0..axes.x.1, y_low..y_high)
        .map_err(|e| e.to_string())?;
    let thin = ratio.round().max(1.0) as u32;
    let grid = axes
        .x_ticks
        .iter()
        .map(|t| vec![(t.at, y_low), (t.at, y_high)])
        .chain(
            axes.y_ticks
                .iter()
                .map(|t| vec![(axes.x.0, t.at), (axes.x.1, t.at)]),
        )
        .map(|line| PathElement::new(line, GRID_COLOR.stroke_width(thin)));
    chart.draw_series(grid).map_err(|e| e.to_string())?;
    let frame_line = vec![(axes.x.0, y_high), (axes.x.0, y_low), (axes.x.1, y_low)];
    chart
        .draw_series(std::iter::once(PathElement::new(
            frame_line,
            AXIS_COLOR.stroke_width(thin),
        )))
        .map_err(|e| e.to_string())?;

    let at = |i: usize| series.timestamp(i);
    let shown = shades
        .iter()
        .filter(|s| s.span.start < to && s.span.end > from);
    for s in shown {
        let color = match s.role {
            LabelRole::Incident => LABEL_COLOR.mix(0.25),
            LabelRole::Neutral => NEUTRAL_COLOR.mix(0.18),
            LabelRole::FalseAlarm => FALSE_ALARM_COLOR.mix(0.15),
        };
        let (a, b) = (s.span.start.max(from), s.span.end.min(to));
        let corners = [(at(a), y_low), (at(b - 1) + series.step, y_high)];
        chart
            .draw_series(std::iter::once(Rectangle::new(corners, color.filled())))
            .map_err(|e| e.to_string())?;
        if s.role == LabelRole::FalseAlarm {
            let (x0, y1) = chart.backend_coord(&corners[0]);
            let (x1, y0) = chart.backend_coord(&corners[1]);
            hatch(&root, (x0, y0, x1, y1), px(HATCH_PX).max(2), thin)?;
        }
    }

    for run in runs(&visible, from, |p| band(p, quantity)) {
        let mut outline: Vec<(i64, f64)> = run.iter().map(|&(i, (_, up))| (at(i), up)).collect();
        outline.extend(run.iter().rev().map(|&(i, (low, _))| (at(i), low)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                BAND_COLOR.mix(0.35).filled(),
            )))
            .map_err(|e| e.to_string())?;
        for upper in [false, true] {
            chart
                .draw_series(LineSeries::new(
                    run.iter()
                        .map(|&(i, (low, high))| (at(i), if upper { high } else { low })),
                    BAND_EDGE_COLOR.mix(0.8).stroke_width(thin),
                ))
                .map_err(|e| e.to_string())?;
        }
    }
    for run in runs(&visible, from, |p| p.value) {
        chart
            .draw_series(LineSeries::new(
                run.into_iter().map(|(i, v)| (at(i), v)),
                VALUE_COLOR.stroke_width(thin),
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
                CURSOR_COLOR.stroke_width(thin),
            )))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Diagonal lines `gap` device pixels apart across the rectangle
/// `(left, top, right, bottom)`: the false alarms' pattern.
fn hatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    (left, top, right, bottom): (i32, i32, i32, i32),
    gap: i32,
    width: u32,
) -> Result<(), String> {
    let height = bottom - top;
    // Each line rises to the right at 45°: (c + s, bottom - s) for s in 0..=height.
    let lines = (left - height..right)
        .step_by(gap as usize)
        .filter_map(|c| {
            let (s0, s1) = ((left - c).max(0), (right - c).min(height));
            (s0 < s1).then(|| vec![(c + s0, bottom - s0), (c + s1, bottom - s1)])
        });
    for line in lines {
        root.draw(&PathElement::new(
            line,
            FALSE_ALARM_COLOR.stroke_width(width),
        ))
        .map_err(|e| e.to_string())?;
    }
    Ok(())
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
