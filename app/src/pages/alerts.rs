//! `/alerts`: the alert history (filtered by metric and state), where an alert
//! can be labelled a false alarm or expected, and the silences in force, with
//! a form to mute a metric, a slice, or everything. Labels and silences need
//! the operator token (one field for the page); without one configured on the
//! server the page is read-only and says so.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::operator::{OperatorTokenField, ReadOnlyNotice};
use crate::format::{number, percent, time, Digits, When};

use crate::api::{
    error_text, fetch_alerts, fetch_metrics, fetch_silences, AlertLabel, AlertRow, AlertState,
    CreateSilence, EndSilence, LabelAlert, MetricSummary, SilenceRow, MAX_SILENCE_MINUTES,
};

/// The most alerts the page lists.
const ALERT_LIMIT: u32 = 200;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let metrics = Resource::new(|| (), |_| fetch_metrics());
    view! {
        <Title text="Alerts"/>
        <section class="alerts-page">
            <h1>"Alerts"</h1>
            <ReadOnlyNotice/>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match metrics.await {
                        Ok(metrics) => view! { <AlertsView metrics/> }.into_any(),
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

#[component]
fn AlertsView(metrics: Vec<MetricSummary>) -> impl IntoView {
    let metric = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let since = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let label = ServerAction::<LabelAlert>::new();
    let alerts = Resource::new(
        move || {
            (
                metric.get(),
                state.get(),
                since.get(),
                label.version().get(),
            )
        },
        |(metric, state, since, _)| {
            let since_hours = since.parse::<u32>().ok();
            fetch_alerts(
                non_empty(metric),
                state.parse::<AlertState>().ok(),
                ALERT_LIMIT,
                since_hours,
            )
        },
    );
    let options = metrics.clone();
    let label_error = move || match label.value().get() {
        Some(Err(error)) => Some(error_text(&error)),
        _ => None,
    };

    view! {
        <form class="filters" aria-label="Filter alerts" on:submit=|ev| ev.prevent_default()>
            <label for="filter-metric">"Metric"</label>
            <select
                id="filter-metric"
                on:change=move |ev| metric.set(event_target_value(&ev))
                prop:value=move || metric.get()
            >
                <option value="">"All metrics"</option>
                {metric_options(&options)}
            </select>
            <label for="filter-state">"State"</label>
            <select
                id="filter-state"
                on:change=move |ev| state.set(event_target_value(&ev))
                prop:value=move || state.get()
            >
                <option value="">"Any"</option>
                <option value="firing">"Firing"</option>
                <option value="resolved">"Resolved"</option>
            </select>
            <label for="filter-since">"Started"</label>
            <select
                id="filter-since"
                on:change=move |ev| since.set(event_target_value(&ev))
                prop:value=move || since.get()
            >
                <option value="">"Any time"</option>
                <option value="24">"In the last 24 hours"</option>
                <option value="168">"In the last 7 days"</option>
                <option value="720">"In the last 30 days"</option>
            </select>
        </form>
        // One token for every change on the page: labels and silences.
        <OperatorTokenField token hint="needed to label alerts and to change silences"/>
        <Transition fallback=|| view! { <p class="loading">"Loading alerts…"</p> }>
            {move || Suspend::new(async move {
                match alerts.await {
                    Ok(rows) => view! { <AlertTable rows label token/> }.into_any(),
                    Err(error) => {
                        view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any()
                    }
                }
            })}
        </Transition>
        {move || {
            label_error()
                .map(|message| {
                    view! { <p class="error" role="alert" data-testid="label-error">{message}</p> }
                })
        }}
        <Silences metrics token/>
    }
}

fn metric_options(metrics: &[MetricSummary]) -> impl IntoView {
    metrics
        .iter()
        .map(|m| view! { <option value=m.name.clone()>{m.title.clone()}</option> })
        .collect_view()
}

#[component]
fn AlertTable(
    rows: Vec<AlertRow>,
    label: ServerAction<LabelAlert>,
    token: RwSignal<String>,
) -> impl IntoView {
    let empty = rows.is_empty();
    view! {
        <table class="alerts" data-testid="alerts-table" aria-label="Alert history">
            <thead>
                <tr>
                    <th scope="col">"Started (UTC)"</th>
                    <th scope="col">"Metric"</th>
                    <th scope="col">"Slice"</th>
                    <th scope="col" class="num">"Value"</th>
                    <th scope="col" class="num">"Band"</th>
                    <th scope="col" class="num">"Deviation"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Delivery"</th>
                    <th scope="col">"Muted"</th>
                    <th scope="col">"Label"</th>
                    <th scope="col">"Button presses"</th>
                </tr>
            </thead>
            <tbody>
                {empty
                    .then(|| {
                        view! {
                            <tr>
                                <td colspan="11" class="empty">"No alerts match."</td>
                            </tr>
                        }
                    })}
                {rows
                    .into_iter()
                    .map(|alert| alert_row(alert, label, token))
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn alert_row(
    alert: AlertRow,
    action: ServerAction<LabelAlert>,
    token: RwSignal<String>,
) -> impl IntoView {
    // The metric (or the alert's slice of it) at the alert's moment, as the
    // Telegram link does.
    let href = crate::routes::metric_page(
        &alert.metric,
        alert.slice.as_deref(),
        Some(alert.started_at),
    );
    let band = format!(
        "{} – {}",
        number(alert.lower, Digits::Table),
        number(alert.upper, Digits::Table)
    );
    let deviation = alert
        .deviation
        .map(|d| percent(d, Digits::Table))
        .unwrap_or_else(|| "–".into());
    let state = match alert.resolved_at {
        Some(at) => format!("{} (until {})", alert.state, time(at, When::Minute)),
        None => alert.state.to_string(),
    };
    let label = match (&alert.label, &alert.label_by) {
        (Some(label), Some(by)) => format!("{label} (by {by})"),
        (Some(label), None) => label.to_string(),
        _ => String::new(),
    };
    let id = alert.id;
    // Unlabelled alerts offer the same labels as the Telegram buttons.
    let buttons = alert.label.is_none().then(|| {
        let press = move |label: AlertLabel| {
            action.dispatch(LabelAlert {
                id,
                label,
                token: token.get_untracked(),
            });
        };
        view! {
            <span class="label-buttons">
                <button
                    type="button"
                    aria-label=format!("Label alert {id} a false alarm")
                    on:click=move |_| press(AlertLabel::FalseAlarm)
                >
                    "False alarm"
                </button>
                <button
                    type="button"
                    aria-label=format!("Label alert {id} expected")
                    on:click=move |_| press(AlertLabel::Expected)
                >
                    "Expected"
                </button>
            </span>
        }
    });
    let state_class = format!("state state-{}", alert.state);
    view! {
        <tr data-alert-id=alert.id.to_string()>
            <td>{time(alert.started_at, When::Minute)}</td>
            <td>
                <A href=href>{alert.metric.clone()}</A>
            </td>
            <td>{alert.slice.clone().unwrap_or_else(|| "all".into())}</td>
            <td class="num">{number(alert.value, Digits::Table)}</td>
            <td class="num">{band}</td>
            <td class="num">{deviation}</td>
            <td>
                <span class=state_class>{state}</span>
            </td>
            <td>{alert.delivery.clone()}</td>
            <td>{if alert.muted { "yes" } else { "no" }}</td>
            <td>{label} {buttons}</td>
            <td>
                <ul class="events">
                    {alert
                        .events
                        .into_iter()
                        .map(|event| {
                            let by = event.actor.map(|a| format!(" by {a}")).unwrap_or_default();
                            view! {
                                <li>
                                    <time>{time(event.at, When::Minute)}</time>
                                    " " {event.kind} ": " {event.details} {by}
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </td>
        </tr>
    }
}

#[component]
fn Silences(metrics: Vec<MetricSummary>, token: RwSignal<String>) -> impl IntoView {
    let create = ServerAction::<CreateSilence>::new();
    let end = ServerAction::<EndSilence>::new();
    let silences = Resource::new(
        move || (create.version().get(), end.version().get()),
        |_| fetch_silences(),
    );

    let metric = RwSignal::new(String::new());
    let slice = RwSignal::new(String::new());
    let minutes = RwSignal::new("60".to_string());
    let local_error = RwSignal::new(None::<String>);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(minutes) = minutes.get_untracked().trim().parse::<u32>() else {
            local_error.set(Some(format!(
                "duration: enter whole minutes, 1 to {MAX_SILENCE_MINUTES}"
            )));
            return;
        };
        local_error.set(None);
        create.dispatch(CreateSilence {
            metric: non_empty(metric.get_untracked()),
            slice: non_empty(slice.get_untracked()),
            minutes,
            token: token.get_untracked(),
        });
    };

    let create_message = move || {
        if let Some(message) = local_error.get() {
            return Some(Err(message));
        }
        match create.value().get() {
            Some(Ok(silence)) => Some(Ok(format!(
                "Silence {} created, until {}",
                silence.id,
                time(silence.until, When::Minute)
            ))),
            Some(Err(error)) => Some(Err(error_text(&error))),
            None => None,
        }
    };
    let end_error = move || match end.value().get() {
        Some(Err(error)) => Some(error_text(&error)),
        _ => None,
    };

    view! {
        <section class="silences" data-testid="silences" aria-labelledby="silences-heading">
            <h2 id="silences-heading">"Silences"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading silences…"</p> }>
                {move || Suspend::new(async move {
                    match silences.await {
                        Ok(list) if list.is_empty() => {
                            view! {
                                <p class="empty" data-testid="no-silences">"No silences in force."</p>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <ul class="silence-list" data-testid="silence-list">
                                    {list
                                        .into_iter()
                                        .map(|silence| silence_item(silence, end, token))
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! { <p class="error" role="alert">{error_text(&error)}</p> }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            {move || {
                end_error()
                    .map(|message| {
                        view! {
                            <p class="error" role="alert" data-testid="end-error">{message}</p>
                        }
                    })
            }}
            <form class="silence-form" aria-labelledby="new-silence-heading" on:submit=on_submit>
                <h3 id="new-silence-heading">"New silence"</h3>
                <div class="field">
                    <label for="silence-metric">"Metric"</label>
                    <select
                        id="silence-metric"
                        on:change=move |ev| metric.set(event_target_value(&ev))
                        prop:value=move || metric.get()
                    >
                        <option value="">"All metrics"</option>
                        {metric_options(&metrics)}
                    </select>
                </div>
                <div class="field">
                    <label for="silence-slice">"Slice (optional, dimension=value)"</label>
                    <input
                        id="silence-slice"
                        type="text"
                        placeholder="os=Android"
                        on:input=move |ev| slice.set(event_target_value(&ev))
                        prop:value=move || slice.get()
                    />
                </div>
                <div class="field">
                    <label for="silence-minutes">"Duration (minutes)"</label>
                    <input
                        id="silence-minutes"
                        type="number"
                        min="1"
                        max=MAX_SILENCE_MINUTES.to_string()
                        step="1"
                        on:input=move |ev| minutes.set(event_target_value(&ev))
                        prop:value=move || minutes.get()
                    />
                </div>
                <button type="submit" disabled=move || create.pending().get()>
                    "Silence"
                </button>
                {move || {
                    create_message()
                        .map(|message| match message {
                            Ok(text) => {
                                view! {
                                    <p class="ok" role="status" data-testid="silence-status">{text}</p>
                                }
                                    .into_any()
                            }
                            Err(text) => {
                                view! {
                                    <p class="error" role="alert" data-testid="silence-error">{text}</p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </form>
        </section>
    }
}

fn silence_item(
    silence: SilenceRow,
    end: ServerAction<EndSilence>,
    token: RwSignal<String>,
) -> impl IntoView {
    let scope = match (&silence.metric, &silence.slice) {
        (None, _) => "all metrics".to_string(),
        (Some(metric), None) => metric.clone(),
        (Some(metric), Some(slice)) => format!("{metric} · {slice}"),
    };
    let id = silence.id;
    let label = format!("End silence {id} ({scope})");
    view! {
        <li data-silence-id=id.to_string()>
            <span class="scope">{scope}</span>
            " until "
            <time>{time(silence.until, When::Minute)}</time>
            " · by "
            {silence.created_by}
            " "
            <button
                type="button"
                aria-label=label
                on:click=move |_| {
                    end.dispatch(EndSilence {
                        id,
                        token: token.get_untracked(),
                    });
                }
            >
                "End"
            </button>
        </li>
    }
}

fn non_empty(text: String) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
