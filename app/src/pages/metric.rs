//! `/metric/:name`: one metric's history with its IQR band, and sliders that
//! rerun detection in the browser on every move.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{fetch_metric_history, MetricHistory, HISTORY_DAYS};
use crate::components::{chart::DetectionChart, slider::Slider};

#[component]
pub fn MetricPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let history = Resource::new(name, |name| fetch_metric_history(name, HISTORY_DAYS));

    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading history…"</p> }>
            {move || Suspend::new(async move {
                match history.await {
                    Ok(history) => view! { <DetectionLab history/> }.into_any(),
                    Err(error) => {
                        view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The chart and its controls. Detection is a memo over the slider signals, so
/// the server renders the same count the browser then recomputes.
#[component]
fn DetectionLab(history: MetricHistory) -> impl IntoView {
    let defaults = detect::IqrParams::default();
    let a = RwSignal::new(defaults.a);
    let n = RwSignal::new(defaults.n as f64);

    let series = match history.to_series() {
        Ok(series) => series,
        Err(error) => {
            return view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
        }
    };
    let series = StoredValue::new(series);

    let detection = Memo::new(move |_| {
        let params = detect::IqrParams {
            n: n.get().round().max(0.0) as usize,
            a: a.get(),
            ..detect::IqrParams::default()
        };
        series.with_value(|series| detect::iqr(series, &params).map_err(|e| e.to_string()))
    });
    let anomaly_count = move || {
        detection.with(|result| match result {
            Ok(detection) => detection.anomaly_count().to_string(),
            Err(_) => "–".to_string(),
        })
    };
    let error = move || detection.with(|result| result.as_ref().err().cloned());

    view! {
        <section class="metric-page">
            <h1>{history.title.clone()}</h1>
            <p class="subtitle">
                <code>{history.name.clone()}</code>
                " · last " {HISTORY_DAYS} " days, 15-minute buckets"
            </p>
            <div class="lab">
                <form class="controls" aria-label="IQR detector parameters" on:submit=|ev| ev.prevent_default()>
                    <Slider id="param-a" label="a (band width in IQRs)" min=0.0 max=10.0 step=0.1 value=a/>
                    <Slider id="param-n" label="n (points in the window)" min=2.0 max=96.0 step=1.0 value=n/>
                    <p class="figure">
                        "Anomalies: "
                        <output data-testid="anomaly-count" for="param-a param-n">{anomaly_count}</output>
                    </p>
                    {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                </form>
                <DetectionChart series detection/>
            </div>
        </section>
    }
    .into_any()
}
