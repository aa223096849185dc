//! Small multiples: the metric's last week in each slice of one dimension
//! (os, source, country...), the biggest first, each a link to the lab on
//! that slice (`?slice=os=Android`), so a break confined to one slice is
//! seen at a glance and tuned on its own history. A dimension with more
//! slices than fit ([`crate::api::SLICE_CARDS`], a city dimension has
//! thousands) shows the ones whose latest value moved most from their
//! week, with a count: the server picks them ([`crate::api::shown_slices`])
//! and sends only those.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{fetch_slices, MetricSlices, SLICE_DAYS};
use crate::components::sparkline::Sparkline;

#[component]
pub fn SliceMultiples(metric: String, current: Option<String>) -> impl IntoView {
    let dimension = RwSignal::new(String::new());
    let metric_for_fetch = metric.clone();
    let slices = Resource::new(
        move || dimension.get(),
        move |dimension| {
            let dimension = (!dimension.is_empty()).then_some(dimension);
            fetch_slices(metric_for_fetch.clone(), dimension)
        },
    );
    let whole = current.as_ref().map(|_| {
        let href = format!("/metric/{metric}");
        view! { <p><A href=href>{format!("← all of {metric}")}</A></p> }
    });
    view! {
        <section class="slices" aria-labelledby="slices-heading" data-testid="slices">
            <h2 id="slices-heading">{format!("Slices, last {SLICE_DAYS} days")}</h2>
            {whole}
            <Transition fallback=|| view! { <p class="loading">"Loading slices…"</p> }>
                {move || {
                    let metric = metric.clone();
                    let current = current.clone();
                    Suspend::new(async move {
                        match slices.await {
                            Ok(slices) => view! {
                                <Multiples slices metric current dimension/>
                            }
                            .into_any(),
                            Err(error) => view! {
                                <p class="error" role="alert">{crate::api::error_text(&error)}</p>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Multiples(
    slices: MetricSlices,
    metric: String,
    current: Option<String>,
    dimension: RwSignal<String>,
) -> impl IntoView {
    if slices.dimensions.is_empty() {
        return view! { <p class="empty">"This metric has no slices."</p> }.into_any();
    }
    let options = slices
        .dimensions
        .iter()
        .map(|d| view! { <option value=d.clone() selected=*d == slices.dimension>{d.clone()}</option> })
        .collect_view();
    let shown = slices.dimension.clone();
    let total = slices.total;
    let kept = slices.slices;
    let count = (total > kept.len()).then(|| {
        view! {
            <p class="slice-count" data-testid="slice-count">
                {format!("The {} of {total} {shown} slices that moved most, latest value against its week", kept.len())}
            </p>
        }
    });
    let cards = kept
        .into_iter()
        .map(|slice| {
            let key = format!("{shown}={}", slice.value);
            let is_current = current.as_deref() == Some(key.as_str());
            let href = crate::routes::metric_page(&metric, Some(&format!("{shown}={}", slice.value)), None);
            let label = format!("{metric} where {key}, last {SLICE_DAYS} days");
            view! {
                <li class="slice-card" class:current=is_current>
                    <A href=href attr:aria-current=is_current.then_some("page")>{key.clone()}</A>
                    <Sparkline values=slice.values start=slice.start step=slice.step band=None label/>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="field">
            <label for="slice-dimension">"Slice by"</label>
            <select id="slice-dimension" on:change=move |ev| dimension.set(event_target_value(&ev))>
                {options}
            </select>
        </div>
        {count}
        <ul class="slice-grid" data-testid="slice-grid">{cards}</ul>
    }
    .into_any()
}
