//! The alert history's table: one row per alert, its metric by title, and
//! the label buttons with their answer beside them.

use leptos::prelude::*;
use leptos_router::components::A;

use super::{outcome_view, send, Outcome};
use crate::api::{label_alert, AlertEventRow, AlertLabel, AlertPage, AlertRow, MetricSummary};
use crate::components::operator::{write_blocked, ReadOnlyReason};
use crate::format::{self, percent, time, Digits, Quantity, When};

/// Why the label buttons are off on a server without an operator token.
const LABELS_READ_ONLY: &str = "read-only: start vigil with an operator token to label";

/// What the history column holds, for its header's tooltip.
const EVENTS_HELP: &str =
    "Telegram button presses and labels on this alert, oldest first (— when none)";

/// The columns' headers, which also name each cell on a phone, where the
/// rows are stacked and the header row is not shown (`data-label`).
const STARTED: &str = "Started (UTC)";
const METRIC: &str = "Metric";
const SLICE: &str = "Slice";
const VALUE: &str = "Value";
const BAND: &str = "Band";
const DEVIATION: &str = "Deviation";
const STATE: &str = "State";
const DELIVERY: &str = "Delivery";
const MUTED: &str = "Muted";
const LABEL: &str = "Label";
const EVENTS: &str = "Button presses";

#[component]
pub(super) fn AlertTable(
    page: AlertPage,
    /// The metrics, for their titles.
    titles: StoredValue<Vec<MetricSummary>>,
    token: RwSignal<String>,
    writes_enabled: bool,
    /// The last label pressed and how it went: shown in its row.
    row_status: RwSignal<Option<(u64, Outcome)>>,
    /// Bumped after a label is stored, to read the page again.
    labelled: RwSignal<u32>,
) -> impl IntoView {
    let empty = page.rows.is_empty();
    // The column of button presses only when a row on this page has one.
    let with_events = page.rows.iter().any(|row| !row.events.is_empty());
    let columns = if with_events { 11 } else { 10 };
    let rows = page.rows;
    let controls = LabelControls {
        token,
        writes_enabled,
        row_status,
        labelled,
    };
    view! {
        <ReadOnlyReason writes_enabled=Signal::stored(writes_enabled) id="labels-read-only" text=LABELS_READ_ONLY/>
        <div class="table-scroll">
            <table
                class="alerts"
                id="alerts-table"
                tabindex="-1"
                data-testid="alerts-table"
                aria-label="Alert history"
            >
                <thead>
                    <tr>
                        <th scope="col">{STARTED}</th>
                        <th scope="col">{METRIC}</th>
                        <th scope="col">{SLICE}</th>
                        <th scope="col" class="num">{VALUE}</th>
                        <th scope="col" class="num">{BAND}</th>
                        <th scope="col" class="num">{DEVIATION}</th>
                        <th scope="col">{STATE}</th>
                        <th scope="col">{DELIVERY}</th>
                        <th scope="col">{MUTED}</th>
                        <th scope="col">{LABEL}</th>
                        {with_events.then(|| view! {
                            <th scope="col" title=EVENTS_HELP>
                                <abbr title=EVENTS_HELP>{EVENTS}</abbr>
                            </th>
                        })}
                    </tr>
                </thead>
                <tbody>
                    {empty
                        .then(|| {
                            view! {
                                <tr>
                                    <td colspan=columns.to_string() class="empty">"No alerts match."</td>
                                </tr>
                            }
                        })}
                    {rows
                        .iter()
                        .map(|alert| {
                            let metric = titles.with_value(|metrics| {
                                metrics.iter().find(|m| m.name == alert.metric).cloned()
                            });
                            let quantity = quantity(&rows, &alert.metric, metric.as_ref());
                            let title = metric.map(|m| m.title);
                            alert_row(alert.clone(), title, quantity, with_events, controls)
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// What a row's label buttons need from the page.
#[derive(Clone, Copy)]
struct LabelControls {
    token: RwSignal<String>,
    writes_enabled: bool,
    row_status: RwSignal<Option<(u64, Outcome)>>,
    labelled: RwSignal<u32>,
}

/// What `metric`'s values are, by the rule every page follows: its measure,
/// and for a ratio, whether its values on this page are shares (CTR).
fn quantity(rows: &[AlertRow], metric: &str, summary: Option<&MetricSummary>) -> Quantity {
    let values = rows
        .iter()
        .filter(|row| row.metric == metric)
        .filter_map(|row| row.value);
    Quantity::of(summary.map(|m| m.measure), values)
}

fn alert_row(
    alert: AlertRow,
    title: Option<String>,
    quantity: Quantity,
    with_events: bool,
    controls: LabelControls,
) -> impl IntoView {
    // The metric (or the alert's slice of it) at the alert's moment, as the
    // Telegram link does.
    let href = crate::routes::metric_page(
        &alert.metric,
        alert.slice.as_deref(),
        Some(alert.started_at),
    );
    let band = format::band(alert.lower, alert.upper, quantity);
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
    let buttons = alert.label.is_none().then(|| label_buttons(id, controls));
    let row_status = controls.row_status;
    let status = move || {
        row_status.with(|status| match status {
            Some((row, outcome)) if *row == id => Some(outcome.clone()),
            _ => None,
        })
    };
    let state_class = format!("state state-{}", alert.state);
    let metric = alert.metric.clone();
    let shown = title.unwrap_or_else(|| metric.clone());
    view! {
        <tr data-alert-id=alert.id.to_string()>
            <td data-label=STARTED>{time(alert.started_at, When::Minute)}</td>
            <td data-label=METRIC>
                <A href=href attr:title=metric.clone()>{shown}</A>
                " "
                <code class="metric-id">{metric}</code>
            </td>
            <td data-label=SLICE>{alert.slice.clone().unwrap_or_else(|| "all".into())}</td>
            <td data-label=VALUE class="num">{format::shown(alert.value, quantity)}</td>
            <td data-label=BAND class="num">{band}</td>
            <td data-label=DEVIATION class="num">{deviation}</td>
            <td data-label=STATE>
                <span class=state_class>{state}</span>
            </td>
            <td data-label=DELIVERY>{alert.delivery.clone()}</td>
            <td data-label=MUTED>{if alert.muted { "yes" } else { "no" }}</td>
            <td data-label=LABEL>
                {label}
                {buttons}
                // The answer to a press, right beside the buttons.
                <span class="row-status" role="status" aria-live="polite">
                    {move || outcome_view(status(), "label")}
                </span>
            </td>
            {with_events.then(|| view! { <td data-label=EVENTS>{events(alert.events)}</td> })}
        </tr>
    }
    // Erased: a row's full view type, nested in the table's, overflows the
    // compiler's query depth in the release wasm build.
    .into_any()
}

fn label_buttons(id: u64, controls: LabelControls) -> impl IntoView {
    let LabelControls {
        token,
        writes_enabled,
        row_status,
        labelled,
    } = controls;
    let press = move |label: AlertLabel| {
        let token = token.get_untracked();
        let done = match label {
            AlertLabel::FalseAlarm => "Labelled a false alarm.",
            AlertLabel::Expected => "Labelled expected.",
        };
        send(
            row_status,
            id,
            labelled,
            write_blocked(writes_enabled, LABELS_READ_ONLY, &token),
            done.into(),
            move || label_alert(id, label, token),
        );
    };
    let working =
        move || row_status.with(|s| matches!(s, Some((row, Outcome::Working)) if *row == id));
    let button = move |label: AlertLabel, text: &'static str, name: String| {
        view! {
            <button
                type="button"
                aria-label=name
                disabled=move || !writes_enabled || working()
                title=(!writes_enabled).then_some(LABELS_READ_ONLY)
                aria-describedby=(!writes_enabled).then_some("labels-read-only")
                on:click=move |_| press(label)
            >
                {text}
            </button>
        }
    };
    view! {
        <span class="label-buttons">
            {button(AlertLabel::FalseAlarm, "False alarm", format!("Label alert {id} a false alarm"))}
            {button(AlertLabel::Expected, "Expected", format!("Label alert {id} expected"))}
        </span>
    }
}

/// Button presses and labels, or "—" for none.
fn events(events: Vec<AlertEventRow>) -> impl IntoView {
    if events.is_empty() {
        return view! { <span class="none" aria-label="none">"—"</span> }.into_any();
    }
    view! {
        <ul class="events">
            {events
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
    }
    .into_any()
}
