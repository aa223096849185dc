//! `/metric/:name`: the backtest lab. One metric's last month with its
//! labelled incidents; pick a detector and its parameters and everything
//! reruns in the browser through `detect`: the chart, the would-be alerts and
//! their scores against the labels, a parameter heatmap, an alert-budget
//! solver and a replay of what the live check would have sent. Labels can be
//! marked, and the tuned detector applied to the live checks, with the
//! operator token. `?at=UNIX` (the link in alerts) opens the day around it
//! beside the alert as stored; the detector, its parameters and the range
//! are kept in the URL (see [`url`]).

mod budget;
mod controls;
mod figures;
mod heatmap;
mod help;
mod labels;
mod replay;
mod settings;
mod slices;
mod state;
mod stored;
mod url;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{fetch_metric_history, MetricHistory, HISTORY_DAYS};
use crate::components::chart::{DetectionChart, Shade};
use crate::components::operator::{
    use_writes_enabled, OperatorTokenField, ReadOnlyNotice, ReadOnlyReason,
};
use crate::components::url_query::{self, QueryNotices};
use crate::pages::not_found::MetricLinks;
use leptos_router::params::ParamsMap;
use state::Lab;
use url::LabQuery;

#[component]
pub fn MetricPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let query = use_query_map();
    let slice = move || query.read().get("slice").filter(|s| !s.is_empty());
    // The tab says the metric's title, as its card does: the server knows it
    // before the page streams; the browser learns it with the history (the
    // metric's name until then, and after a move to another metric).
    #[cfg(feature = "ssr")]
    let served = answer_status(
        &params.with_untracked(|p| p.get("name").unwrap_or_default()),
        query
            .with_untracked(|q| q.get("slice"))
            .filter(|s| !s.is_empty())
            .as_deref(),
        &query.with_untracked(|q| read_query(q).1),
    );
    #[cfg(not(feature = "ssr"))]
    let served = None;
    let known_title = RwSignal::new(served);
    let history = Resource::new(
        move || (name(), slice()),
        |(name, slice)| fetch_metric_history(name, HISTORY_DAYS, slice),
    );
    let reload = Callback::new(move |()| history.refetch());
    // What the lab shows, as the URL keeps it: read from the router's URL,
    // then kept up to date by the lab (the address bar is rewritten without
    // a navigation), so a history reloaded after a label reopens it as it was.
    let kept = StoredValue::new(None::<(String, ParamsMap, LabQuery)>);
    let title = move || {
        known_title
            .get()
            .filter(|(metric, _)| *metric == name())
            .map_or_else(name, |(_, title)| title)
    };

    view! {
        <Title text=title/>
        <Suspense fallback=|| view! { <p class="loading">"Loading history…"</p> }>
            {move || Suspend::new(async move {
                let (wanted, notices) = query.with(|q| {
                    let (read, notices) = read_query(q);
                    let same = kept.with_value(|k| {
                        k.as_ref().filter(|(n, map, _)| *n == name() && map == q).map(|(_, _, lab)| lab.clone())
                    });
                    (same.unwrap_or(read), notices)
                });
                kept.set_value(Some((name(), query.get_untracked(), wanted.clone())));
                match history.await {
                    Ok(history) => {
                        known_title.set(Some((history.name.clone(), history.title.clone())));
                        view! {
                        <QueryNotices notices=Signal::stored(notices)/>
                        <BacktestLab history wanted kept reload/>
                        }
                        .into_any()
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

/// The lab's query from the router's URL, with a notice per ignored value.
fn read_query(query: &ParamsMap) -> (LabQuery, Vec<String>) {
    LabQuery::read(url_query::pairs_of(query))
}

/// On the server, answers an unknown metric with 404, a slice the metric is
/// not cut by with 400, and a query value the lab ignores (each named in the
/// page) by the rule of every page, before the page streams: the history's
/// own error (shown in the page) arrives after the response head has gone out.
/// Returns the served metric's `(name, title)`, for the tab.
#[cfg(feature = "ssr")]
fn answer_status(name: &str, slice: Option<&str>, notices: &[String]) -> Option<(String, String)> {
    use crate::api::{backend, find_metric, metric_slice, set_status, Refusal};
    let backend = backend::from_context().ok()?;
    let metrics = backend.metrics();
    let Ok(metric) = find_metric(&metrics, name) else {
        set_status(Refusal::NotFound.status());
        return None;
    };
    if slice.is_some_and(|text| metric_slice(metric, text).is_err()) {
        set_status(Refusal::BadRequest.status());
    } else {
        url_query::answer(notices);
    }
    Some((metric.name.clone(), metric.title.clone()))
}

/// Why Mark and Apply are off on a read-only server.
const LAB_READ_ONLY: &str =
    "read-only: start vigil with an operator token to mark labels or apply settings";

/// The page once the history is here. The server renders the default
/// detector's figures; the browser recomputes on every change.
#[component]
fn BacktestLab(
    history: MetricHistory,
    /// What the URL asks for.
    wanted: LabQuery,
    /// Where the lab keeps what it shows, for the next history.
    kept: StoredValue<Option<(String, ParamsMap, LabQuery)>>,
    reload: Callback<()>,
) -> impl IntoView {
    let lab = match Lab::new(&history, wanted.spec.clone()) {
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
    let writes_enabled = use_writes_enabled();
    if let Some(at) = wanted.at {
        lab.show_day_around(at);
    }
    if let Some((from, to)) = wanted.range {
        lab.show_range(from, to);
    }
    keep_in_url(lab, &history, wanted.at, kept);
    let stored = wanted.at.map(|at| {
        view! {
            <stored::StoredAlert lab metric=history.name.clone() slice=history.slice.clone() at/>
        }
    });
    let days = (lab.len() as i64 * lab.step()) as f64 / 86_400.0;
    let label_count = lab.labels.with_value(Vec::len);

    view! {
        <section class="metric-page">
            <h1>{history.title.clone()}</h1>
            <p class="subtitle">
                <code>{history.name.clone()}</code>
                {format!(" · {days:.0} days of 15-minute buckets · {label_count} labelled incidents")}
            </p>
            {stored}
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
                <ReadOnlyReason writes_enabled id=labels::READ_ONLY_ID text=LAB_READ_ONLY/>
                <labels::LabelsPanel lab metric=history.name.clone() labels=history.labels.clone() token writes_enabled reload/>
                <settings::ApplyPanel lab metric=history.name.clone() slice=history.slice.clone() token writes_enabled/>
            </div>
        </section>
    }
    .into_any()
}

/// Keeps the lab's detector, parameters and range in the address bar once
/// they change (the URL it opened with stays until then), and in `kept`.
/// `at` stays while the chart still shows the day around it.
fn keep_in_url(
    lab: Lab,
    history: &MetricHistory,
    at: Option<i64>,
    kept: StoredValue<Option<(String, ParamsMap, LabQuery)>>,
) {
    let opened = (lab.spec.get_untracked(), lab.view.get_untracked());
    let name = history.name.clone();
    let slice = history.slice.clone();
    // Effects run only in the browser.
    Effect::new(move |_| {
        let (spec, view) = (lab.spec.get(), lab.view.get());
        if (&spec, view) == (&opened.0, opened.1) {
            return;
        }
        let moved = view != opened.1;
        let query = LabQuery {
            spec: Some(spec),
            at: at.filter(|_| !moved),
            range: lab.range_times(view).filter(|_| moved || at.is_none()),
        };
        let href = query.href(&name, slice.as_deref());
        #[cfg(feature = "hydrate")]
        url::replace_url(&href);
        #[cfg(not(feature = "hydrate"))]
        let _ = href;
        kept.update_value(|k| {
            if let Some((_, _, lab_query)) = k {
                *lab_query = query;
            }
        });
    });
}
