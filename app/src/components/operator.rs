//! What every page with write actions shares: the operator-token field, and
//! a notice up front when the server has no token configured (read-only),
//! instead of letting a user fill a form to be refused.

use leptos::prelude::*;

use crate::api::{fetch_writes_enabled, READ_ONLY};

#[component]
pub fn ReadOnlyNotice() -> impl IntoView {
    let enabled = Resource::new(|| (), |_| fetch_writes_enabled());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                // An error here is not worth a message of its own: a write
                // would then be refused with the reason.
                (enabled.await == Ok(false)).then(|| view! {
                    <p class="read-only" role="note" data-testid="read-only">{READ_ONLY}</p>
                })
            })}
        </Suspense>
    }
}

/// The operator-token field: one per page, its value sent with every write.
#[component]
pub fn OperatorTokenField(token: RwSignal<String>, hint: &'static str) -> impl IntoView {
    view! {
        <div class="field operator-token">
            <label for="operator-token">"Operator token"</label>
            <input
                id="operator-token"
                type="password"
                autocomplete="current-password"
                aria-describedby="operator-token-hint"
                on:input=move |ev| token.set(event_target_value(&ev))
                prop:value=move || token.get()
            />
            <small id="operator-token-hint">{hint}</small>
        </div>
    }
}
