//! `/`: every metric as a card: the last 24 hours as a sparkline, the newest
//! check's value, expected value and band, the status (text and a shape, not
//! color alone) and the last alert. In the browser the page polls the cheap
//! overview endpoint and re-renders when anything changed (a check ran, a
//! silence began), without a reload.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{fetch_overview, CardAlert, CardStatus, MetricCard, Overview};
use crate::components::sparkline::{SparkBand, Sparkline};
use crate::format::{self, figure, percent, shown, time, Digits, Quantity, When};

/// How often the browser asks for fresh cards.
#[cfg(feature = "hydrate")]
const REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| fetch_overview());

    view! {
        <Title text="Metrics"/>
        <h1>"Metrics"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading metrics…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(initial) => view! { <Cards initial/> }.into_any(),
                    Err(error) => {
                        view! { <p class="error" role="alert">{crate::api::error_text(&error)}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Cards(initial: Overview) -> impl IntoView {
    let data = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    live_refresh(data);

    view! {
        <p class="last-check" data-testid="last-check" aria-live="polite">
            {move || data.with(|o| last_check(o.last_check_at, o.last_check_ok))}
        </p>
        {move || {
            data.with(|o| {
                if o.cards.is_empty() {
                    view! { <p class="empty">"No metrics are configured."</p> }.into_any()
                } else {
                    view! {
                        <ul class="metric-list overview-cards">
                            {o.cards.iter().cloned().map(card).collect_view()}
                        </ul>
                    }
                        .into_any()
                }
            })
        }}
    }
}

/// Polls the overview every [`REFRESH`] and swaps in the new cards when they differ.
#[cfg(feature = "hydrate")]
fn live_refresh(data: RwSignal<Overview>) {
    use std::{cell::Cell, rc::Rc};

    let busy = Rc::new(Cell::new(false));
    let poll = move || {
        if busy.replace(true) {
            return;
        }
        let busy = Rc::clone(&busy);
        leptos::task::spawn_local(async move {
            match fetch_overview().await {
                Ok(next) => {
                    // The page may have been left while the request was out.
                    if data.try_with_untracked(|now| now != &next) == Some(true) {
                        data.try_set(next);
                    }
                }
                Err(error) => leptos::logging::warn!("overview refresh failed: {error}"),
            }
            busy.set(false);
        });
    };
    match set_interval_with_handle(poll, REFRESH) {
        Ok(handle) => on_cleanup(move || handle.clear()),
        Err(error) => leptos::logging::warn!("overview refresh not started: {error:?}"),
    }
}

fn last_check(at: Option<i64>, ok: Option<bool>) -> impl IntoView {
    match at {
        None => view! { "last check: none yet" }.into_any(),
        Some(at) => {
            let failed = (ok == Some(false)).then_some(" (source unreadable)");
            view! {
                "last check: "
                <time datetime=time(at, When::Iso)>{time(at, When::Clock)}</time>
                {failed}
            }
            .into_any()
        }
    }
}

fn card(card: MetricCard) -> impl IntoView {
    let href = format!("/metric/{}", card.name);
    let status = card.status;
    let latest = card.latest.clone();
    let band = latest.as_ref().and_then(|l| {
        Some(SparkBand {
            bucket: l.bucket,
            lower: l.lower?,
            upper: l.upper?,
            is_anomaly: l.is_anomaly,
        })
    });
    let quantity = Quantity::of(Some(card.measure), card.values.iter().flatten().copied());
    let label = format!(
        "{}, last 24 hours{}",
        card.title,
        latest
            .as_ref()
            .and_then(|l| l.value)
            .map(|v| format!(", newest checked value {}", shown(Some(v), quantity)))
            .unwrap_or_default()
    );
    let at = latest
        .as_ref()
        .map(|l| format!("at {}", time(l.bucket, When::Clock)))
        .unwrap_or_default();
    let (value, unit) = figure(latest.as_ref().and_then(|l| l.value), quantity);
    let expected = shown(latest.as_ref().and_then(|l| l.expected), quantity);
    let band_text = latest
        .as_ref()
        .filter(|l| l.lower.is_some() && l.upper.is_some())
        .map_or_else(|| "–".into(), |l| format::band(l.lower, l.upper, quantity));
    view! {
        <li
            class=format!("card status-{}", status.as_str())
            data-testid="metric-card"
            data-metric=card.name.clone()
            data-status=status.as_str()
        >
            <div class="card-head">
                <h2>
                    <A href=href.clone()>{card.title.clone()}</A>
                </h2>
                <StatusBadge status/>
            </div>
            <Sparkline values=card.values start=card.start step=card.step band label/>
            <dl class="card-figures">
                <div>
                    <dt>"Value " <span class="when">{at}</span></dt>
                    <dd><span data-testid="card-value">{value}</span>{unit}</dd>
                </div>
                <div>
                    <dt>"Expected"</dt>
                    <dd data-testid="card-expected">{expected}</dd>
                </div>
                <div>
                    <dt>"Band"</dt>
                    <dd data-testid="card-band">{band_text}</dd>
                </div>
            </dl>
            <p class="last-alert" data-testid="last-alert">
                {last_alert(card.last_alert, &href)}
            </p>
        </li>
    }
}

/// Status as an icon of its own shape plus the word; color is only a third cue.
#[component]
fn StatusBadge(status: CardStatus) -> impl IntoView {
    let icon = match status {
        CardStatus::Ok => "✓",
        CardStatus::Firing => "▲",
        CardStatus::SliceFiring => "△",
        CardStatus::Muted => "⊘",
        CardStatus::NoData => "○",
    };
    view! {
        <span class=format!("status status-{}", status.as_str()) data-testid="card-status">
            <span class="status-icon" aria-hidden="true">{icon}</span>
            {status.label()}
        </span>
    }
}

fn last_alert(alert: Option<CardAlert>, metric_href: &str) -> impl IntoView {
    match alert {
        None => view! {
            "No alerts. "
            <A href="/alerts">"Alert history"</A>
        }
        .into_any(),
        Some(alert) => {
            let deviation = alert
                .deviation
                .map(|d| format!(", {}", percent(d, Digits::Table)))
                .unwrap_or_default();
            let slice = alert.slice.map(|s| format!(" ({s})")).unwrap_or_default();
            let text = format!(
                "{}{slice}{deviation}, {}",
                time(alert.started_at, When::Day),
                alert.state
            );
            view! {
                "Last alert: "
                <A href=metric_href.to_string()>{text}</A>
                " · "
                <A href="/alerts">"all alerts"</A>
            }
            .into_any()
        }
    }
}
