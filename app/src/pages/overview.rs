//! `/`: every metric, linking to its page.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::fetch_metrics;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let metrics = Resource::new(|| (), |_| fetch_metrics());

    view! {
        <h1>"Metrics"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading metrics…"</p> }>
            {move || Suspend::new(async move {
                match metrics.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="empty">"No metrics are configured."</p> }.into_any()
                    }
                    Ok(list) => {
                        view! {
                            <ul class="metric-list">
                                {list
                                    .into_iter()
                                    .map(|metric| {
                                        let href = format!("/metric/{}", metric.name);
                                        view! {
                                            <li>
                                                <A href=href>{metric.title}</A>
                                                <span class="metric-name">{metric.name}</span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(error) => {
                        view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
