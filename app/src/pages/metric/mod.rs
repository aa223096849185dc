//! `/metric/:name`: the backtest lab. One metric's last month with its
//! labelled incidents; pick a detector and its parameters and everything
//! reruns in the browser through `detect`: the chart, the would-be alerts and
//! their scores against the labels, a parameter heatmap, an alert-budget
//! solver and a replay of what the live check would have sent. Labels can be
//! marked, and the tuned detector applied to the live checks, with the
//! operator token. `?at=UNIX` (the link in alerts) opens the day around it.

mod budget;
mod controls;
mod figures;
mod heatmap;
mod labels;
mod replay;
mod settings;
mod slices;
mod state;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{fetch_metric_history, MetricHistory, HISTORY_DAYS};
use crate::components::chart::{DetectionChart, Shade};
use crate::components::operator::{OperatorTokenField, ReadOnlyNotice};
use crate::pages::not_found::MetricLinks;
use state::Lab;

#[component]
pub fn MetricPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let query = use_query_map();
    let at = move || query.read().get("at").and_then(|at| at.parse::<i64>().ok());
    let slice = move || query.read().get("slice").filter(|s| !s.is_empty());
    // `?detector=iqr` opens the lab with that detector's defaults.
    let detector = move || query.read().get("detector").filter(|s| !s.is_empty());
    #[cfg(feature = "ssr")]
    answer_status(
        &params.with_untracked(|p| p.get("name").unwrap_or_default()),
        query
            .with_untracked(|q| q.get("slice"))
            .filter(|s| !s.is_empty())
            .as_deref(),
    );
    let history = Resource::new(
        move || (name(), slice()),
        |(name, slice)| fetch_metric_history(name, HISTORY_DAYS, slice),
    );
    let reload = Callback::new(move |()| history.refetch());

    view! {
        // The metric's ID: known before its history arrives, so the server's
        // <title> and the browser's agree.
        <Title text=name/>
        <Suspense fallback=|| view! { <p class="loading">"Loading history…"</p> }>
            {move || Suspend::new(async move {
                match history.await {
                    Ok(history) => {
                        view! { <BacktestLab history at=at() detector=detector() reload/> }.into_any()
                    }
                    // An unknown metric or slice: say why, then link to what exists.
                    Err(error) => view! {
                        <p class="error" role="alert">{crate::api::error_text(&error)}</p>
                        <MetricLinks/>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

/// On the server, answers an unknown metric with 404 and a slice the metric
/// is not cut by with 400, before the page streams: the history's own error
/// (shown in the page) arrives after the response head has gone out.
#[cfg(feature = "ssr")]
fn answer_status(name: &str, slice: Option<&str>) {
    use crate::api::{backend, find_metric, metric_slice, set_status, Refusal};
    let Ok(backend) = backend::from_context() else {
        return;
    };
    let metrics = backend.metrics();
    let refusal = match find_metric(&metrics, name) {
        Err(_) => Some(Refusal::NotFound),
        Ok(metric) => slice
            .filter(|text| metric_slice(metric, text).is_err())
            .map(|_| Refusal::BadRequest),
    };
    if let Some(refusal) = refusal {
        set_status(refusal.status());
    }
}

/// The page once the history is here. The server renders the default
/// detector's figures; the browser recomputes on every change.
#[component]
fn BacktestLab(
    history: MetricHistory,
    at: Option<i64>,
    detector: Option<String>,
    reload: Callback<()>,
) -> impl IntoView {
    let lab = match Lab::new(&history, detector.as_deref()) {
        Ok(lab) => lab,
        Err(error) => {
            return view! { <p class="error" role="alert">{error}</p> <MetricLinks/> }.into_any();
        }
    };
    let shades = StoredValue::new(lab.labels.with_value(|labels| {
        labels
            .iter()
            .map(|l| Shade {
                span: l.span,
                role: l.role,
            })
            .collect::<Vec<_>>()
    }));
    let token = RwSignal::new(String::new());
    if let Some(at) = at {
        lab.show_day_around(at);
    }
    let days = (lab.len() as i64 * lab.step()) as f64 / 86_400.0;
    let label_count = lab.labels.with_value(Vec::len);

    view! {
        <section class="metric-page">
            <h1>{history.title.clone()}</h1>
            <p class="subtitle">
                <code>{history.name.clone()}</code>
                {format!(" · {days:.0} days of 15-minute buckets · {label_count} labelled incidents")}
            </p>
            <div class="lab">
                <form class="controls" aria-label="Detector and parameters" on:submit=|ev| ev.prevent_default()>
                    <controls::DetectorControls lab/>
                </form>
                <div class="lab-main">
                    <DetectionChart
                        case=lab.case
                        detection=lab.detection
                        shades
                        view=lab.view
                        cursor=lab.cursor
                        focus=lab.focus
                        quantity=lab.quantity
                    />
                    <figures::FiguresPanel lab/>
                </div>
            </div>
            <div class="lab-tools">
                <heatmap::Heatmap lab/>
                <budget::BudgetPanel lab/>
                <replay::ReplayPanel lab/>
            </div>
            <slices::SliceMultiples metric=history.name.clone() current=history.slice.clone()/>
            <ReadOnlyNotice/>
            <div class="lab-tools lab-changes">
                <OperatorTokenField token hint="needed to mark labels and to apply settings"/>
                <labels::LabelsPanel lab metric=history.name.clone() labels=history.labels.clone() token reload/>
                <settings::ApplyPanel lab metric=history.name.clone() slice=history.slice.clone() token/>
            </div>
        </section>
    }
    .into_any()
}
