//! The report's chart: one PNG with a small panel per metric, the last 7
//! days as a line with a dot per day, drawn like the alert charts (same
//! font, colours and number format, see [`crate::chart_png`]).

use plotters::prelude::*;

use super::Report;
use crate::chart_png::{encode_rgb, register_font, ChartError, FAMILY, GRID, VALUE};

/// Width of the image, in pixels (as wide as an alert chart).
pub const WIDTH: u32 = 960;
/// Panels per row.
const COLUMNS: usize = 3;
/// Height of one row of panels, and of the title above them.
const ROW_HEIGHT: u32 = 230;
const TITLE_HEIGHT: u32 = 44;

/// Renders the report's small multiples as PNG bytes. A metric without data
/// gets an empty panel; only font, drawing or encoding failures are errors.
pub fn render_png(report: &Report) -> Result<Vec<u8>, ChartError> {
    register_font()?;
    let rows = report.metrics.len().div_ceil(COLUMNS).max(1);
    let height = TITLE_HEIGHT + ROW_HEIGHT * rows as u32;
    let mut rgb = vec![255u8; (WIDTH * height * 3) as usize];
    // plotters may assert on odd geometry; a chart must never take the caller down.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        draw(report, &mut rgb, height, rows)
    }))
    .map_err(|_| ChartError::Draw("plotters panicked".into()))??;
    encode_rgb(&rgb, WIDTH, height)
}

fn draw(report: &Report, rgb: &mut [u8], height: u32, rows: usize) -> Result<(), ChartError> {
    let err = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let title = format!("Last 7 days to {}", report.day.long());
    let (top, panels) = root.split_vertically(TITLE_HEIGHT);
    top.titled(&title, (FAMILY, 22).into_font())
        .map_err(|e| err(&e))?;
    let first = report.day.plus(-6);
    let day_label = |x: &f64| {
        let day = first.plus(x.round() as i64);
        day.date.format("%a %d").to_string()
    };
    for (metric, area) in report
        .metrics
        .iter()
        .zip(panels.split_evenly((rows, COLUMNS)))
    {
        let points: Vec<(f64, f64)> = metric
            .last_week()
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, if metric.ratio { v * 100.0 } else { v })))
            .collect();
        let (lo, hi) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.1), hi.max(p.1))
            });
        let y = if lo.is_finite() {
            let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.02).max(1e-9);
            (lo - pad)..(hi + pad)
        } else {
            0.0..1.0
        };
        let caption = if metric.ratio {
            format!("{}, %", metric.title)
        } else {
            metric.title.clone()
        };
        let mut chart = ChartBuilder::on(&area)
            .caption(caption.chars().take(40).collect::<String>(), (FAMILY, 15))
            .margin(8)
            .x_label_area_size(22)
            .y_label_area_size(54)
            .build_cartesian_2d(-0.3f64..6.3f64, y)
            .map_err(|e| err(&e))?;
        let value_label = |v: &f64| app::format::number(Some(*v), app::format::Digits::Short);
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID.mix(0.0))
            .x_labels(7)
            .y_labels(4)
            .x_label_formatter(&day_label)
            .y_label_formatter(&value_label)
            .label_style((FAMILY, 11))
            .draw()
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(points.clone(), VALUE.stroke_width(2)))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, VALUE.filled())))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::report::{LocalDay, MetricDays};

    #[test]
    fn one_panel_per_metric_in_rows_of_three() {
        let day = LocalDay::new(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(), 0);
        let metric = |name: &str, values: [Option<f64>; 8]| MetricDays {
            name: name.into(),
            title: name.into(),
            ratio: false,
            values,
        };
        let mut values = [Some(10.0); 8];
        values[3] = None;
        values[5] = Some(f64::NAN).filter(|v| v.is_finite());
        let report = Report {
            day,
            late: false,
            metrics: (0..4)
                .map(|i| metric(&format!("m{i}"), if i == 2 { [None; 8] } else { values }))
                .collect(),
            alerts: Vec::new(),
            more_alerts: 0,
            experiments: Vec::new(),
        };
        let png = render_png(&report).expect("renders");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().expect("a PNG");
        let info = reader.info();
        assert_eq!(
            (info.width, info.height),
            (WIDTH, TITLE_HEIGHT + 2 * ROW_HEIGHT)
        );
        let mut reader = reader;
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut buf).expect("decodes");
        assert!(
            buf.chunks(3).any(|p| p == [VALUE.0, VALUE.1, VALUE.2]),
            "the lines are drawn in the alert charts' colour"
        );
    }
}
