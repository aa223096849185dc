//! The chart's tooltip: the time, value, band and score of one bucket, with
//! a line over the chart at it. It slides along with the bucket but keeps
//! inside the chart: anchored by its left edge at the left of the plot, by
//! its right edge at the right, in proportion between.

use detect::eval::LabelledSeries;
use detect::Detection;
use leptos::prelude::*;

use super::scale::Axes;
use crate::format::{self, number, shown, time, Digits, Quantity, When};

/// What the tooltip says about one bucket.
#[derive(Clone, Debug, PartialEq)]
struct Told {
    /// CSS pixels from the canvas's left, and that as a share of its width.
    x: f64,
    share: f64,
    top: f64,
    height: f64,
    when: String,
    value: String,
    band: String,
    score: String,
    anomaly: bool,
}

#[component]
pub fn Tip(
    case: StoredValue<LabelledSeries>,
    detection: RwSignal<Detection>,
    axes: RwSignal<Option<Axes>>,
    hover: RwSignal<Option<usize>>,
    quantity: Quantity,
) -> impl IntoView {
    let told = move || {
        let i = hover.get()?;
        let point = detection.with(|d| d.get(i))?;
        let (start, step) = case.with_value(|c| (c.series.timestamp(i), c.series.step));
        axes.with(|axes| {
            let axes = axes.as_ref()?;
            if start < axes.x.0 || start >= axes.x.1 {
                return None;
            }
            let x = axes.x_px(start + step / 2);
            let plot = axes.plot;
            Some(Told {
                x,
                share: (x - plot.left()) / (plot.right() - plot.left()).max(1.0),
                top: plot.top(),
                height: plot.bottom() - plot.top(),
                when: time(start, When::Minute),
                value: point
                    .value
                    .map_or("missing".into(), |v| shown(Some(v), quantity)),
                band: match (point.lower, point.upper) {
                    (Some(_), Some(_)) => format::band(point.lower, point.upper, quantity),
                    _ => "no band yet".into(),
                },
                score: number(Some(point.score), Digits::Short),
                anomaly: point.is_anomaly,
            })
        })
    };
    move || {
        told().map(|t| {
            view! {
                <div class="chart-hover" style:left=format!("{:.1}px", t.x)
                    style:top=format!("{:.1}px", t.top) style:height=format!("{:.1}px", t.height)></div>
                <div
                    class="chart-tip"
                    role="status"
                    data-testid="chart-tip"
                    style:left=format!("{:.1}px", t.x)
                    style:transform=format!("translateX(-{:.1}%)", t.share.clamp(0.0, 1.0) * 100.0)
                >
                    <strong>{t.when}</strong>
                    <span>"value " <b data-testid="tip-value">{t.value}</b></span>
                    <span>"expected " <b data-testid="tip-band">{t.band}</b></span>
                    <span>"score " <b data-testid="tip-score">{t.score}</b>
                        {t.anomaly.then_some(" ▲ anomaly")}</span>
                </div>
            }
        })
    }
}
