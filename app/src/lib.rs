//! vigil's web UI. The same components render on the server (feature `ssr`) and
//! hydrate in the browser (feature `hydrate`), where detection reruns through the
//! `detect` crate compiled to WebAssembly.

pub mod api;
pub mod components;
pub mod format;
pub mod pages;
pub mod routes;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};

/// The HTML document around the app; the server renders it for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options=options.clone()/>
                // Here, not in App: its name carries the build's content hash,
                // which only the server knows.
                <HashedStylesheet options id="leptos"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // False on the server and while the bundle loads: the controls are
    // disabled until the wasm owns them, else a detector picked early would
    // silently fall back to the default when hydration rebuilt the state.
    let hydrated = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        hydrated.set(true);
        // Enabling the controls is queued as microtasks; a zero timeout runs
        // after them, so whoever waits for the marker finds them enabled.
        set_timeout(mark_interactive, std::time::Duration::ZERO);
    });

    view! {
        <Title formatter=|page: String| format!("{page} · vigil")/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"vigil"</A>
                <nav aria-label="Main">
                    <A href="/">"Metrics"</A>
                    <A href="/alerts">"Alerts"</A>
                    <A href="/experiments">"Experiments"</A>
                    <A href="/report">"Report"</A>
                </nav>
                {move || (!hydrated.get()).then(|| view! {
                    <span class="hydrating" role="status" data-testid="hydrating">"Loading controls…"</span>
                })}
            </header>
            <main>
                // A disabled fieldset disables every control inside it.
                <fieldset class="hydration-gate" disabled=move || !hydrated.get()>
                    <Routes fallback=pages::not_found::NotFoundPage>
                        <Route path=path!("/") view=pages::overview::OverviewPage/>
                        <Route path=path!("/metric/:name") view=pages::metric::MetricPage/>
                        <Route path=path!("/alerts") view=pages::alerts::AlertsPage/>
                        <Route path=path!("/report") view=pages::report::ReportPage/>
                        <Route path=path!("/experiments") view=pages::experiment::ExperimentsPage/>
                        <Route path=path!("/experiment/:name") view=pages::experiment::ExperimentPage/>
                    </Routes>
                </fieldset>
            </main>
        </Router>
    }
}

/// Tests and scripts wait for `body[data-hydrated]`: the wasm bundle owns the
/// page and its controls answer. The `interactive` performance mark is when,
/// counted from the navigation (the load bench's time-to-interactive).
#[cfg(feature = "hydrate")]
fn mark_interactive() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
    if let Some(performance) = window().performance() {
        let _ = performance.mark("interactive");
    }
}

/// Entry point of the browser bundle: attach to the server-rendered DOM.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
