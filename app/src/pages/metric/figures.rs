//! What the current setting would have done on this history: the anomaly
//! and alert counts, precision / recall / F1 / delay / false alerts per week
//! against the labels, and the list of would-be alerts (clicking one points
//! the chart at it).

use detect::eval::{score, tuning, DEFAULT_TOLERANCE};
use leptos::prelude::*;

use super::help::Help;
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

/// One figure: its name with a "what is this", and its value.
#[component]
fn Figure<V>(
    name: &'static str,
    testid: &'static str,
    value: V,
    children: Children,
) -> impl IntoView
where
    V: Fn() -> String + Send + Sync + 'static,
{
    view! {
        <div>
            <dt>{name} <Help what=name>{children()}</Help></dt>
            <dd><output data-testid=testid>{value}</output></dd>
        </div>
    }
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
    let neutral = lab.labels.with_value(|labels| {
        labels
            .iter()
            .filter(|l| l.role == crate::api::LabelRole::Neutral)
            .count()
    });
    view! {
        <section class="figures" aria-label="What this setting would have done">
            <dl>
                <Figure name="Anomalies" testid="anomaly-count" value=f(|f| f.anomalies.to_string())>
                    "15-minute buckets the detector judges outside what it expects. A run of them is one alert."
                </Figure>
                <Figure name="Alerts" testid="alert-count" value=f(|f| f.alerts.len().to_string())>
                    "Runs of anomalous buckets: one alert each, as a person would be told."
                </Figure>
                <Figure name="Alerts / week" testid="per-week" value=f(|f| format!("{:.1}", f.per_week))>
                    "Alerts divided by the weeks of history loaded."
                </Figure>
                <Figure name="Precision" testid="precision" value=f(|f| ratio(f.precision))>
                    "Of the alerts, the share on a labelled incident, from 0 to 1; – when there is no alert to judge."
                </Figure>
                <Figure name="Recall" testid="recall" value=f(|f| ratio(f.recall))>
                    "Of the incidents to find, the share with an alert, from 0 to 1; – when no incident of this series is labelled."
                </Figure>
                <Figure name="F1" testid="f1" value=f(|f| ratio(f.f1))>
                    "Precision and recall in one number (their harmonic mean), from 0 to 1: 0 when nothing is caught, – when either is –."
                </Figure>
                <Figure name="Median delay" testid="delay" value=f(|f| f.delay.map_or("–".into(), |m| format!("{m:.0} min")))>
                    "Minutes from an incident's start to its first alert, the median over the incidents caught; – when none is caught."
                </Figure>
                <Figure name="False alerts / week" testid="false-per-week" value=f(|f| f.false_per_week.map_or("–".into(), |v| format!("{v:.1}")))>
                    "Alerts away from any labelled span, per week of history."
                </Figure>
                <Figure name="Incidents caught" testid="caught" value=f(|f| format!("{} of {}", f.found, f.incidents))>
                    "Labelled incidents of this series (“to find”) with at least one alert. A slice's own incidents are neutral on the whole metric: shaded, not scored."
                </Figure>
            </dl>
            {(neutral > 0).then(|| view! {
                <p class="hint" data-testid="neutral-note">
                    {format!(
                        "{neutral} more labelled span{} neutral here (a slice's incident, or marked neutral): shaded on the chart, not counted in “Incidents caught”.",
                        if neutral == 1 { " is" } else { "s are" }
                    )}
                </p>
            })}
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
