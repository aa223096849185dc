//! What a visitor sees at a URL that names nothing: a 404 that says so and
//! links to what exists (the pages, and each metric), instead of a bare line.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{fetch_metrics, set_status, Refusal};
use crate::routes;

/// The router's fallback: any path no route matches.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_status(Refusal::NotFound.status());
    view! {
        <Title text="Page not found"/>
        <section class="not-found" data-testid="not-found">
            <h1>"Page not found"</h1>
            <p>
                "Nothing lives at this address. Try "
                <A href="/">"the metrics overview"</A>
                " or "
                <A href="/alerts">"the alert history"</A>
                "."
            </p>
            <MetricLinks/>
        </section>
    }
}

/// Every configured metric as a link to its page, under a heading.
#[component]
pub fn MetricLinks() -> impl IntoView {
    let metrics = Resource::new(|| (), |_| fetch_metrics());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the metrics…"</p> }>
            {move || Suspend::new(async move {
                match metrics.await {
                    Ok(metrics) if metrics.is_empty() => {
                        view! { <p class="empty">"No metrics are configured."</p> }.into_any()
                    }
                    Ok(metrics) => view! {
                        <h2>"Metrics"</h2>
                        <ul class="metric-links" data-testid="metric-links">
                            {metrics
                                .into_iter()
                                .map(|m| view! {
                                    <li>
                                        <A href=routes::metric_page(&m.name, None, None)>{m.title}</A>
                                        " "
                                        <code class="metric-name">{m.name}</code>
                                    </li>
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => view! {
                        <p class="error" role="alert">{crate::api::error_text(&error)}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}
