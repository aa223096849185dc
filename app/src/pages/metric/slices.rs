//! Small multiples: the metric's last week in each slice of one dimension
//! (os, source, country...), the biggest first, each a link to the lab on
//! that slice (`?slice=os=Android`), so a break confined to one slice is
//! seen at a glance and tuned on its own history. A dimension with more
//! slices than fit ([`MAX_CARDS`], a city dimension has thousands) shows
//! the ones whose latest value moved most from their week, with a count.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{fetch_slices, MetricSlices, SliceSeries, SLICE_DAYS};
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
    let total = slices.slices.len();
    let kept = top_movers(slices.slices, MAX_CARDS);
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

/// Small multiples shown at most: a screenful; the rest are one count.
pub const MAX_CARDS: usize = 24;

/// `slices` (largest first) when at most `limit`; otherwise the `limit`
/// whose latest value is farthest from their median (relative to it), the
/// farthest first. A slice without values or with a zero median does not move.
fn top_movers(slices: Vec<SliceSeries>, limit: usize) -> Vec<SliceSeries> {
    if slices.len() <= limit {
        return slices;
    }
    let movement = |slice: &SliceSeries| {
        let mut known: Vec<f64> = slice.values.iter().flatten().copied().collect();
        let Some(&last) = known.last() else {
            return 0.0;
        };
        known.sort_by(f64::total_cmp);
        let median = known[known.len() / 2];
        let moved = ((last - median) / median).abs();
        if moved.is_finite() {
            moved
        } else {
            0.0
        }
    };
    let mut ranked: Vec<(f64, SliceSeries)> =
        slices.into_iter().map(|s| (movement(&s), s)).collect();
    // Stable: equal movements keep the largest first.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, slice)| slice)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(value: &str, values: &[f64]) -> SliceSeries {
        SliceSeries {
            value: value.into(),
            start: 0,
            step: 900,
            values: values.iter().map(|v| Some(*v)).collect(),
        }
    }

    #[test]
    fn past_the_limit_the_slices_that_moved_most_come_first() {
        let slices = vec![
            slice("big", &[100.0, 100.0, 101.0]),
            slice("fell", &[10.0, 10.0, 2.0]),
            slice("rose", &[10.0, 10.0, 15.0]),
            slice("empty", &[]),
        ];
        let names = |kept: Vec<SliceSeries>| kept.into_iter().map(|s| s.value).collect::<Vec<_>>();
        assert_eq!(names(top_movers(slices.clone(), 2)), ["fell", "rose"]);
        assert_eq!(
            names(top_movers(slices, 4)),
            ["big", "fell", "rose", "empty"]
        );
    }
}
