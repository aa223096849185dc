//! What the current setting would have done on this history: the anomaly
//! and alert counts, precision / recall / F1 / delay / false alerts per week
//! against the labels, and the list of would-be alerts (clicking one points
//! the chart at it).

use detect::eval::{score, tuning, DEFAULT_TOLERANCE};
use leptos::prelude::*;

use super::state::Lab;
use crate::format::{amount, percent, time, Digits, When};

/// One would-be alert as listed.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertItem {
    /// First anomalous bucket.
    pub at: usize,
    pub time: i64,
    pub value: Option<f64>,
    pub deviation: Option<f64>,
    /// The kind of the label it overlaps, if any.
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Figures {
    pub anomalies: usize,
    pub alerts: Vec<AlertItem>,
    pub per_week: f64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Minutes.
    pub delay: Option<f64>,
    pub false_per_week: Option<f64>,
    pub incidents: usize,
    pub found: usize,
}

/// Scores the current detection against the labels.
pub fn figures(lab: Lab) -> Figures {
    lab.detection.with(|detection| {
        lab.case.with_value(|case| {
            if detection.len() != case.series.len() {
                return Figures::default();
            }
            let s = score(detection, case, DEFAULT_TOLERANCE);
            let events = tuning::alerts(detection);
            let alerts = lab.labels.with_value(|labels| {
                events
                    .iter()
                    .map(|e| {
                        let p = detection.point(e.start);
                        AlertItem {
                            at: e.start,
                            time: case.series.timestamp(e.start),
                            value: p.value,
                            deviation: p.deviation,
                            label: labels
                                .iter()
                                .find(|l| {
                                    let run = detect::eval::IncidentSpan::new(e.start, e.end);
                                    let near = detect::eval::IncidentSpan::new(
                                        l.span.start,
                                        l.span.end + DEFAULT_TOLERANCE,
                                    );
                                    run.overlaps(&near)
                                })
                                .map(|l| l.label.kind.clone()),
                        }
                    })
                    .collect()
            });
            Figures {
                anomalies: detection.anomaly_count(),
                per_week: tuning::per_week(events.len(), case.series.len(), case.series.step),
                alerts,
                precision: s.precision(),
                recall: s.recall(),
                f1: s.f1(),
                delay: s.delay_median().map(|d| d * case.series.step as f64 / 60.0),
                false_per_week: s.false_per_week(),
                incidents: s.incidents,
                found: s.found,
            }
        })
    })
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.2}"))
}

/// Alerts listed at most (the count says how many there are).
const LIST_LIMIT: usize = 200;

/// Scrolls the chart into view when it is off-screen (on a phone it is far
/// above the list whose click redrew it).
#[cfg(feature = "hydrate")]
fn reveal_chart() {
    let Some(chart) = document()
        .query_selector("[data-testid=\"metric-chart\"]")
        .ok()
        .flatten()
    else {
        return;
    };
    let rect = chart.get_bounding_client_rect();
    let height = window()
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(f64::INFINITY);
    if rect.top() < 0.0 || rect.bottom() > height {
        chart.scroll_into_view();
    }
}

#[component]
pub fn FiguresPanel(lab: Lab) -> impl IntoView {
    let figures = Memo::new(move |_| figures(lab));
    let f = move |pick: fn(&Figures) -> String| move || figures.with(pick);
    let focus = move |at: usize| {
        lab.focus_bucket(at);
        #[cfg(feature = "hydrate")]
        reveal_chart();
    };
    view! {
        <section class="figures" aria-label="What this setting would have done">
            <dl>
                <div><dt>"Anomalies"</dt><dd><output data-testid="anomaly-count">{f(|f| f.anomalies.to_string())}</output></dd></div>
                <div><dt>"Alerts"</dt><dd><output data-testid="alert-count">{f(|f| f.alerts.len().to_string())}</output></dd></div>
                <div><dt>"Alerts / week"</dt><dd><output data-testid="per-week">{f(|f| format!("{:.1}", f.per_week))}</output></dd></div>
                <div><dt>"Precision"</dt><dd><output data-testid="precision">{f(|f| ratio(f.precision))}</output></dd></div>
                <div><dt>"Recall"</dt><dd><output data-testid="recall">{f(|f| ratio(f.recall))}</output></dd></div>
                <div><dt>"F1"</dt><dd><output data-testid="f1">{f(|f| ratio(f.f1))}</output></dd></div>
                <div><dt>"Median delay"</dt><dd><output data-testid="delay">{f(|f| f.delay.map_or("–".into(), |m| format!("{m:.0} min")))}</output></dd></div>
                <div><dt>"False alerts / week"</dt><dd><output data-testid="false-per-week">{f(|f| f.false_per_week.map_or("–".into(), |v| format!("{v:.1}")))}</output></dd></div>
                <div><dt>"Incidents caught"</dt><dd><output data-testid="caught">{f(|f| format!("{} of {}", f.found, f.incidents))}</output></dd></div>
            </dl>
            <details class="alert-list">
                <summary>"Would-be alerts"</summary>
                <ol data-testid="alert-list">
                    {move || figures.with(|f| {
                        f.alerts.iter().rev().take(LIST_LIMIT).cloned().map(|item| {
                            let at = item.at;
                            let hit = item.label.is_some();
                            view! {
                                <li class:hit=hit>
                                    <button type="button" on:click=move |_| focus(at)>
                                        {time(item.time, When::Axis)} " · "
                                        {item.value.map(|v| amount(Some(v), lab.quantity, Digits::Short)).unwrap_or_default()} " · "
                                        {item.deviation.map(|d| percent(d, Digits::Short)).unwrap_or_default()}
                                        {item.label.map(|k| format!(" · labelled {k}"))}
                                    </button>
                                </li>
                            }
                        }).collect_view()
                    })}
                </ol>
            </details>
        </section>
    }
    .into_any()
}
