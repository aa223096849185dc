//! `/metric/:name`: the backtest lab. One metric's last month with its
//! labelled incidents; pick a detector and its parameters and everything
//! reruns in the browser through `detect`: the chart, the would-be alerts and
//! their scores against the labels, a parameter heatmap, an alert-budget
//! solver and a replay of what the live check would have sent.

mod budget;
mod controls;
mod figures;
mod heatmap;
mod replay;
mod state;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{fetch_metric_history, MetricHistory, HISTORY_DAYS};
use crate::components::chart::{DetectionChart, Shade};
use state::Lab;

#[component]
pub fn MetricPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let history = Resource::new(name, |name| fetch_metric_history(name, HISTORY_DAYS));

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading history…"</p> }>
            {move || Suspend::new(async move {
                match history.await {
                    Ok(history) => view! { <BacktestLab history/> }.into_any(),
                    Err(error) => {
                        view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The page once the history is here. The server renders the default
/// detector's figures; the browser recomputes on every change.
#[component]
fn BacktestLab(history: MetricHistory) -> impl IntoView {
    let lab = match Lab::new(&history) {
        Ok(lab) => lab,
        Err(error) => {
            return view! { <p class="error" role="alert">{error}</p> }.into_any();
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
                    />
                    <figures::FiguresPanel lab/>
                </div>
            </div>
            <div class="lab-tools">
                <heatmap::Heatmap lab/>
                <budget::BudgetPanel lab/>
                <replay::ReplayPanel lab/>
            </div>
        </section>
    }
    .into_any()
}
