//! vigil's web UI. The same components render on the server (feature `ssr`) and
//! hydrate in the browser (feature `hydrate`), where detection reruns through the
//! `detect` crate compiled to WebAssembly.

pub mod api;
pub mod components;
pub mod format;
pub mod pages;
pub mod routes;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
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
                <HydrationScripts options/>
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
    // Tests and scripts wait for this marker: it is set once the wasm bundle owns the page.
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/vigil.css"/>
        <Title text="vigil"/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">"vigil"</A>
                <nav aria-label="Main">
                    <A href="/">"Metrics"</A>
                    <A href="/alerts">"Alerts"</A>
                </nav>
            </header>
            <main>
                <Routes fallback=|| {
                    api::set_status(api::Refusal::NotFound.status());
                    view! { <p class="empty">"Page not found."</p> }
                }>
                    <Route path=path!("/") view=pages::overview::OverviewPage/>
                    <Route path=path!("/metric/:name") view=pages::metric::MetricPage/>
                    <Route path=path!("/alerts") view=pages::alerts::AlertsPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Entry point of the browser bundle: attach to the server-rendered DOM.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
