//! The experiment page's two charts as inline SVG, laid out by the metric
//! chart's scales ([`Axes`]: round ticks, time labels that fit): each
//! group's running value overlaid, and the effect with its confidence band.
//!
//! The SVG covers only the plot area and stretches to the page's width
//! (strokes do not scale); the axis labels are HTML beside and under it, so
//! they stay legible on a phone. Ticks are laid out for a narrow plot, so
//! they never crowd at 375 px.

use detect::Point;
use leptos::prelude::*;

use crate::api::{EffectPoint, GroupSeries};
use crate::components::chart::scale::{Axes, Plot};
use crate::format::{percent, Digits, Quantity};

/// The canvas the ticks are laid out for: a phone's plot width.
const PLOT: Plot = Plot {
    width: 420.0,
    height: 220.0,
};

/// One drawn line: `points` for a polyline per unbroken run of values.
struct Line {
    segments: Vec<String>,
    class: String,
}

/// Each group's running values, control dashed, one colour per group.
pub fn group_chart(times: &[i64], groups: &[GroupSeries], ratio: bool) -> AnyView {
    let points: Vec<Point> = groups
        .iter()
        .flat_map(|g| g.values.iter())
        .map(|v| point(*v, None))
        .collect();
    let quantity = Quantity::Ratio { share: ratio };
    let Some(axes) = axes(times, &points, quantity) else {
        return ().into_any();
    };
    let lines: Vec<Line> = groups
        .iter()
        .enumerate()
        .map(|(index, g)| Line {
            segments: segments(&axes, times, &g.values),
            class: format!(
                "exp-line series-{}{}",
                index % 6,
                if g.control { " control" } else { "" }
            ),
        })
        .collect();
    let legend = groups
        .iter()
        .enumerate()
        .map(|(index, g)| {
            let class = format!(
                "key exp-key series-{}{}",
                index % 6,
                if g.control { " control" } else { "" }
            );
            let text = if g.control {
                format!("{} (control)", g.group)
            } else {
                g.group.clone()
            };
            view! { <span class=class>{text}</span> }
        })
        .collect_view();
    let y_label = move |v: f64, text: String| {
        if ratio {
            percent(v, Digits::Short)
                .trim_start_matches('+')
                .to_string()
        } else {
            text
        }
    };
    view! {
        {frame(&axes, lines, None, y_label)}
        <div class="legend">{legend}</div>
    }
    .into_any()
}

/// The relative effect over time: its confidence sequence shaded, the line,
/// zero, and the minimum effect either side of it (dotted).
pub fn effect_chart(times: &[i64], effects: &[Option<EffectPoint>], min_effect: f64) -> AnyView {
    // Drawn as treatment / control (1 + effect): positive, so the chart's
    // scales (which bound values at zero) fit it; labelled as the effect.
    let shifted = |v: f64| 1.0 + v;
    let mut points: Vec<Point> = effects
        .iter()
        .map(|e| match e {
            Some(e) => Point {
                lower: Some(shifted(e.low)),
                upper: Some(shifted(e.high)),
                ..point(Some(shifted(e.relative)), None)
            },
            None => point(None, None),
        })
        .collect();
    points.push(point(Some(1.0 + min_effect), None));
    points.push(point(Some(1.0 - min_effect), None));
    let quantity = Quantity::Ratio { share: false };
    let Some(axes) = axes(times, &points, quantity) else {
        return ().into_any();
    };
    let values: Vec<Option<f64>> = effects
        .iter()
        .map(|e| e.map(|e| shifted(e.relative)))
        .collect();
    let band = band_polygon(&axes, times, effects);
    let mut lines = vec![Line {
        segments: segments(&axes, times, &values),
        class: "exp-line exp-effect".into(),
    }];
    for (level, class) in [
        (1.0, "exp-zero"),
        (1.0 + min_effect, "exp-min"),
        (1.0 - min_effect, "exp-min"),
    ] {
        if level > axes.y.0 && level < axes.y.1 {
            let y = axes.y_px(level);
            lines.push(Line {
                segments: vec![format!(
                    "{:.1},{y:.1} {:.1},{y:.1}",
                    PLOT.left(),
                    PLOT.right()
                )],
                class: format!("exp-line {class}"),
            });
        }
    }
    frame(&axes, lines, band, |v, _| {
        percent(v - 1.0, Digits::Short).replace("+0%", "0%")
    })
    .into_any()
}

/// The plot area with its lines, an optional band, and the axis labels
/// (`y_label` writes a tick from its value and the default text).
fn frame(
    axes: &Axes,
    lines: Vec<Line>,
    band: Option<String>,
    y_label: impl Fn(f64, String) -> String,
) -> impl IntoView {
    let (left, width) = (PLOT.left(), PLOT.right() - PLOT.left());
    // The SVG stretches this box to the plot's CSS box both ways, so the HTML
    // labels are placed in percent of it: in pixels of the canvas they drifted
    // from their grid lines by the vertical stretch (220 / 191).
    let height = PLOT.bottom() + 1.0;
    let view_box = format!("{left:.1} 0 {width:.1} {height:.1}");
    let x_labels = axes
        .x_ticks
        .iter()
        .map(|t| {
            let at = (t.px - left) / width * 100.0;
            // A label centred on a tick near either edge would be cut by the
            // plot's edge ("07 D" at 375 px): those end, or start, at their tick.
            let class = match at {
                at if at > 88.0 => "tick tick-x tick-end",
                at if at < 12.0 => "tick tick-x tick-start",
                _ => "tick tick-x",
            };
            view! { <span class=class style=format!("left: {at:.2}%")>{t.text.clone()}</span> }
        })
        .collect_view();
    let y_labels = axes
        .y_ticks
        .iter()
        .map(|t| {
            let text = y_label(t.at, t.text.clone());
            let at = t.px / height * 100.0;
            view! { <span class="tick tick-y" style=format!("top: {at:.2}%")>{text}</span> }
        })
        .collect_view();
    let grid = axes
        .y_ticks
        .iter()
        .map(|t| {
            let y = t.px;
            view! { <line class="exp-grid" x1=left x2=PLOT.right() y1=y y2=y vector-effect="non-scaling-stroke"/> }
        })
        .collect_view();
    let drawn = lines
        .into_iter()
        .flat_map(|line| {
            let class = line.class;
            line.segments.into_iter().map(move |points| {
                view! { <polyline class=class.clone() points=points vector-effect="non-scaling-stroke"/> }
            })
        })
        .collect_view();
    view! {
        <div class="exp-plot">
            <div class="exp-y" aria-hidden="true">{y_labels}</div>
            <svg viewBox=view_box preserveAspectRatio="none" role="img" aria-label="chart">
                {grid}
                {band.map(|points| view! { <polygon class="exp-band" points=points/> })}
                {drawn}
            </svg>
            <div class="exp-x" aria-hidden="true">{x_labels}</div>
        </div>
    }
}

fn point(value: Option<f64>, band: Option<(f64, f64)>) -> Point {
    Point {
        value,
        lower: band.map(|b| b.0),
        upper: band.map(|b| b.1),
        ..Point::default()
    }
}

/// Axes over the checkpoints' times; `None` without a value to draw.
fn axes(times: &[i64], points: &[Point], quantity: Quantity) -> Option<Axes> {
    let (&first, &last) = (times.first()?, times.last()?);
    points
        .iter()
        .any(|p| p.value.is_some_and(f64::is_finite))
        .then(|| {
            // A single checkpoint still gets a visible span.
            Axes::new(PLOT, (first.min(last - 900), last), points, quantity)
        })
}

/// `points` attributes of each unbroken run of values (a lone value is a
/// short flat stroke, so it shows).
fn segments(axes: &Axes, times: &[i64], values: &[Option<f64>]) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for (t, v) in times.iter().zip(values) {
        match v.filter(|v| v.is_finite()) {
            Some(v) => run.push((axes.x_px(*t), axes.y_px(v))),
            None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs.into_iter()
        .map(|run| {
            let mut run = run;
            if run.len() == 1 {
                run.push((run[0].0 - 2.0, run[0].1));
            }
            run.iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The confidence sequence as one polygon over the checkpoints that have it
/// (its edges clipped to the plot).
fn band_polygon(axes: &Axes, times: &[i64], effects: &[Option<EffectPoint>]) -> Option<String> {
    let clip = |v: f64| axes.y_px((1.0 + v).clamp(axes.y.0, axes.y.1));
    let edges: Vec<(f64, f64, f64)> = times
        .iter()
        .zip(effects)
        .filter_map(|(t, e)| e.map(|e| (axes.x_px(*t), clip(e.high), clip(e.low))))
        .filter(|(_, a, b)| a.is_finite() && b.is_finite())
        .collect();
    if edges.is_empty() {
        return None;
    }
    let top = edges.iter().map(|(x, high, _)| format!("{x:.1},{high:.1}"));
    let bottom = edges
        .iter()
        .rev()
        .map(|(x, _, low)| format!("{x:.1},{low:.1}"));
    Some(top.chain(bottom).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_gaps_and_the_band_follows_the_effects() {
        let times = [900, 1800, 2700, 3600];
        let axes = Axes::new(
            PLOT,
            (900, 3600),
            &[point(Some(0.5), None), point(Some(1.5), None)],
            Quantity::Ratio { share: false },
        );
        let runs = segments(&axes, &times, &[Some(1.0), None, Some(1.2), Some(0.8)]);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            runs[0].split(' ').count(),
            2,
            "a lone value is drawn as a stroke"
        );
        assert_eq!(runs[1].split(' ').count(), 2);
        let effect = |relative: f64| {
            Some(EffectPoint {
                relative,
                low: relative - 0.1,
                high: relative + 0.1,
            })
        };
        let band = band_polygon(&axes, &times, &[None, effect(0.0), effect(-0.1), None]).unwrap();
        assert_eq!(band.split(' ').count(), 4);
        assert!(band_polygon(&axes, &times, &[None; 4]).is_none());
        assert!(super::axes(&times, &[point(None, None)], Quantity::Count).is_none());
    }
}
