//! `/alerts`: the alert history (filtered by metric, state and time, a page
//! at a time, all of it in the URL), where an alert can be labelled a false
//! alarm or expected, and the silences in force, with a form to mute a
//! metric, a slice, or everything. Labels and silences need the operator
//! token (one field for the page); every write answers next to the control
//! that sent it, and a control that cannot work (no token typed, a read-only
//! server) says so before it is used.

pub(crate) mod query;
mod silences;
mod table;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{
    error_text, fetch_alert_page, fetch_metrics, fetch_writes_enabled, AlertPage, AlertState,
    MetricSummary,
};
use crate::components::operator::{OperatorTokenField, ReadOnlyNotice};
use crate::components::url_query::{self, QueryNotices};
use crate::format::{time, When};
use query::{AlertQuery, SINCE_CHOICES};

#[component]
pub fn AlertsPage() -> impl IntoView {
    let metrics = Resource::new(|| (), |_| fetch_metrics());
    let writes = Resource::new(|| (), |_| fetch_writes_enabled());
    #[cfg(feature = "ssr")]
    answer_status(&use_query_map().get_untracked());
    view! {
        <Title text="Alerts"/>
        <section class="alerts-page">
            <h1>"Alerts"</h1>
            <nav class="skip-links" aria-label="Skip to">
                // target="_self": the browser follows the fragment itself
                // (the router would only scroll), so focus moves there too.
                <a href="#alerts-table" target="_self">"Skip to the alert table"</a>
                <a href="#new-silence" target="_self">"Skip to New silence"</a>
            </nav>
            <ReadOnlyNotice/>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    // Unanswered, the controls stay on: a write is then
                    // refused with its reason, next to it.
                    let writes_enabled = writes.await.unwrap_or(true);
                    match metrics.await {
                        Ok(metrics) => view! { <AlertsView metrics writes_enabled/> }.into_any(),
                        Err(error) => {
                            view! { <p class="error" role="alert">{error_text(&error)}</p> }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// On the server, 400 for a URL value the page ignores, before the page
/// streams: its notices render once the metrics are read, after the
/// response head has gone out.
#[cfg(feature = "ssr")]
fn answer_status(url: &leptos_router::params::ParamsMap) {
    if let Ok(backend) = crate::api::backend::from_context() {
        let (_, notices) = AlertQuery::read(url_query::pairs_of(url), &backend.metrics());
        url_query::answer(&notices);
    }
}

/// Where a write stands, shown next to the control that sent it.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Working,
    Done(String),
    Failed(String),
}

/// An outcome's text inside its control's live region; `testid` names the
/// success (`…-status`) and the failure (`…-error`).
fn outcome_view(outcome: Option<Outcome>, testid: &'static str) -> impl IntoView {
    outcome.map(|outcome| match outcome {
        Outcome::Working => view! { <span class="working">"Saving…"</span> }.into_any(),
        Outcome::Done(text) => {
            view! { <span class="ok" data-testid=format!("{testid}-status")>{text}</span> }
                .into_any()
        }
        Outcome::Failed(text) => {
            view! { <span class="error" data-testid=format!("{testid}-error")>{text}</span> }
                .into_any()
        }
    })
}

/// Sends a write unless `blocked` says why it cannot go, its outcome set in
/// `status` under `key` (working first, then `done` or the refusal); a
/// success bumps `changed`, so what it changed is read again.
fn send<K, W, F>(
    status: RwSignal<Option<(K, Outcome)>>,
    key: K,
    changed: RwSignal<u32>,
    blocked: Option<String>,
    done: String,
    write: W,
) where
    K: Clone + Send + Sync + 'static,
    W: FnOnce() -> F,
    F: std::future::Future<Output = Result<(), leptos::server_fn::ServerFnError>> + 'static,
{
    if let Some(reason) = blocked {
        status.set(Some((key, Outcome::Failed(reason))));
        return;
    }
    status.set(Some((key.clone(), Outcome::Working)));
    let write = write();
    leptos::task::spawn_local(async move {
        let outcome = match write.await {
            Ok(()) => {
                changed.try_update(|n| *n += 1);
                Outcome::Done(done)
            }
            Err(error) => Outcome::Failed(error_text(&error)),
        };
        // The page may be gone by now.
        status.try_set(Some((key, outcome)));
    });
}

#[component]
fn AlertsView(metrics: Vec<MetricSummary>, writes_enabled: bool) -> impl IntoView {
    let url = use_query_map();
    let known = StoredValue::new(metrics.clone());
    let read = Memo::new(move |_| {
        url.with(|pairs| {
            known.with_value(|metrics| AlertQuery::read(url_query::pairs_of(pairs), metrics))
        })
    });
    let query = Memo::new(move |_| read.with(|(query, _)| query.clone()));
    let token = RwSignal::new(String::new());
    // Bumped by a label: the page is read again, the row keeps its message.
    let labelled = RwSignal::new(0u32);
    let row_status = RwSignal::new(None::<(u64, Outcome)>);
    let alerts = Resource::new(
        move || (query.get(), labelled.get()),
        |(query, _)| {
            let filter = query.filter;
            fetch_alert_page(
                filter.metric,
                filter.state,
                filter.since_hours,
                filter.until,
                query.page,
            )
        },
    );
    let titles = StoredValue::new(metrics.clone());
    let metric_choices = metrics
        .iter()
        .map(|m| (m.name.clone(), m.title.clone()))
        .collect();
    let state_choices = AlertState::ALL
        .iter()
        .map(|s| (s.to_string(), capitalised(s.as_str())))
        .collect();
    let since_choices = SINCE_CHOICES
        .iter()
        .map(|(hours, text)| (hours.to_string(), text.to_string()))
        .collect();

    view! {
        <QueryNotices notices=Signal::derive(move || read.with(|(_, notices)| notices.clone()))/>
        <form class="filters" aria-label="Filter alerts" on:submit=|ev| ev.prevent_default()>
            {filter_select(FilterSelect {
                id: "filter-metric",
                label: "Metric",
                any: "All metrics",
                choices: metric_choices,
                query,
                current: |f| f.metric.clone(),
                pick: |f, v| f.metric = v.map(String::from),
            })}
            {filter_select(FilterSelect {
                id: "filter-state",
                label: "State",
                any: "Any",
                choices: state_choices,
                query,
                current: |f| f.state.map(|s| s.to_string()),
                pick: |f, v| f.state = v.and_then(|v| v.parse().ok()),
            })}
            {filter_select(FilterSelect {
                id: "filter-since",
                label: "Started",
                any: "Any time",
                choices: since_choices,
                query,
                current: |f| f.since_hours.map(|h| h.to_string()),
                pick: |f, v| f.since_hours = v.and_then(|v| v.parse().ok()),
            })}
        </form>
        {move || {
            let query = query.get();
            query.filter.until.map(|until| {
                let all = query.with_filter(|f| f.until = None).href();
                view! {
                    <p class="note" data-testid="alerts-until">
                        "Alerts started up to " {time(until, When::Minute)} ". "
                        <A href=all>"Show up to now"</A>
                    </p>
                }
            })
        }}
        // One token for every change on the page: labels and silences.
        <OperatorTokenField token hint="needed to label alerts and to change silences"/>
        <Transition fallback=|| view! { <p class="loading">"Loading alerts…"</p> }>
            {move || Suspend::new(async move {
                match alerts.await {
                    Ok(page) => {
                        let query = query.get_untracked();
                        view! {
                            {pager(&page, &query, "top")}
                            <table::AlertTable
                                page=page.clone()
                                titles
                                token
                                writes_enabled
                                row_status
                                labelled
                            />
                            {pager(&page, &query, "bottom")}
                        }
                            .into_any()
                    }
                    Err(error) => {
                        view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any()
                    }
                }
            })}
        </Transition>
        <silences::Silences metrics token writes_enabled/>
    }
}

/// One of the filters: a select whose choice is a new URL (from page 1).
struct FilterSelect {
    id: &'static str,
    label: &'static str,
    /// The blank choice.
    any: &'static str,
    /// (value, text).
    choices: Vec<(String, String)>,
    query: Memo<AlertQuery>,
    current: fn(&crate::api::AlertFilter) -> Option<String>,
    pick: fn(&mut crate::api::AlertFilter, Option<&str>),
}

fn filter_select(select: FilterSelect) -> impl IntoView {
    let FilterSelect {
        id,
        label,
        any,
        choices,
        query,
        current,
        pick,
    } = select;
    let navigate = use_navigate();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        let value = (!value.is_empty()).then_some(value.as_str());
        let next = query.with_untracked(|q| q.with_filter(|f| pick(f, value)));
        navigate(&next.href(), Default::default());
    };
    view! {
        <label for=id>{label}</label>
        <select
            id=id
            on:change=on_change
            prop:value=move || query.with(|q| current(&q.filter)).unwrap_or_default()
        >
            <option value="">{any}</option>
            {choices
                .into_iter()
                .map(|(value, text)| {
                    let selected = query.with_untracked(|q| current(&q.filter))
                        .is_some_and(|c| c == value);
                    view! { <option value=value selected=selected>{text}</option> }
                })
                .collect_view()}
        </select>
    }
}

/// "51–100 of 209" with links to the newer and the older page.
fn pager(page: &AlertPage, query: &AlertQuery, place: &'static str) -> impl IntoView {
    let count = if page.total == 0 {
        "No alerts".to_string()
    } else {
        format!("{}–{} of {}", page.first(), page.last(), page.total)
    };
    let newer = (page.page > 1).then(|| query.on_page(page.page - 1).href());
    let older = (page.page < page.pages()).then(|| query.on_page(page.page + 1).href());
    let link = |href: Option<String>, text: &'static str, rel: &'static str| match href {
        Some(href) => view! { <A href=href attr:rel=rel>{text}</A> }.into_any(),
        None => view! { <span class="disabled" aria-disabled="true">{text}</span> }.into_any(),
    };
    view! {
        <nav class="pager" aria-label=format!("Alert pages ({place})") data-testid=format!("pager-{place}")>
            <span class="count" data-testid=format!("alert-count-{place}")>{count}</span>
            {link(newer, "← Newer", "prev")}
            {link(older, "Older →", "next")}
        </nav>
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn non_empty(text: String) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
