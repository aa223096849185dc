//! Where an alert's link lands (`?at=` its start): the alert as the live
//! check stored it (its value, band and state, written the way `/alerts`
//! writes them) beside the lab's what-if at the same bucket, each saying
//! which it is. The stored alert is the truth of that check; the lab
//! recomputes with the detector on screen and today's data, which may differ.

use leptos::prelude::*;

use super::state::Lab;
use crate::api::{error_text, fetch_alert_page, AlertRow};
use crate::format::{band, percent, shown, time, Digits, Quantity, When};

#[component]
pub fn StoredAlert(lab: Lab, metric: String, slice: Option<String>, at: i64) -> impl IntoView {
    let stored = Resource::new(
        || (),
        move |_| {
            let (metric, slice) = (metric.clone(), slice.clone());
            async move {
                // The alerts started at or before `at`, newest first: the
                // alert of this series starting at `at` is among the first.
                let page = fetch_alert_page(Some(metric), None, None, Some(at), 1).await?;
                Ok::<_, ServerFnError>(
                    page.rows
                        .into_iter()
                        .find(|row| row.started_at == at && row.slice == slice),
                )
            }
        },
    );

    view! {
        <section class="stored-alert" aria-labelledby="stored-title" data-testid="stored-alert">
            <h2 id="stored-title">{format!("At {}", time(at, When::Minute))}</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading the stored alert…"</p> }>
                {move || Suspend::new(async move {
                    match stored.await {
                        Ok(Some(row)) => view! { <Stored row quantity=lab.quantity/> }.into_any(),
                        Ok(None) => view! {
                            <p data-testid="stored-none">
                                "No alert of this series was stored at this moment."
                            </p>
                        }
                        .into_any(),
                        Err(error) => view! {
                            <p class="error" role="alert">{error_text(&error)}</p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
            <p data-testid="what-if">
                <strong>"The lab's what-if: "</strong>
                {move || what_if(lab, at)}
            </p>
        </section>
    }
}

/// The stored alert, as `/alerts` shows it.
#[component]
fn Stored(row: AlertRow, quantity: Quantity) -> impl IntoView {
    let band = band(row.lower, row.upper, quantity);
    let deviation = row.deviation.map(|d| percent(d, Digits::Table));
    view! {
        <p data-testid="stored-check">
            <strong>"What the check saw (stored alert " {row.id} "): "</strong>
            "value " <span data-testid="stored-value">{shown(row.value, quantity)}</span>
            ", band " <span data-testid="stored-band">{band}</span>
            {deviation.map(|d| format!(" ({d})"))}
            ", " <span data-testid="stored-state">{row.state.to_string()}</span> "."
        </p>
        <p class="hint">
            "Written by the live check when it ran, with the detector and the data it had then; \
             it does not change."
        </p>
    }
}

/// The lab's current detector at bucket `at`, in words.
fn what_if(lab: Lab, at: i64) -> String {
    let detector = lab.spec.with(|s| s.name());
    let Some(point) = lab
        .index_of(at)
        .and_then(|i| lab.detection.with(|d| d.get(i)))
    else {
        return format!("{detector} has no value for this moment in the loaded history.");
    };
    let value = shown(point.value, lab.quantity);
    let judged = match (point.lower, point.upper) {
        (Some(_), Some(_)) => format!(", band {}", band(point.lower, point.upper, lab.quantity)),
        _ => String::new(),
    };
    let verdict = if point.is_anomaly {
        "an anomaly"
    } else {
        "no anomaly"
    };
    format!(
        "{detector} on the history loaded now: value {value}{judged}, {verdict}. It may differ \
         from what the check saw (another detector or parameters, data that came late, \
         settings changed since)."
    )
}
