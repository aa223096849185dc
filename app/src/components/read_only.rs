//! Says up front that the page is read-only when the server has no operator
//! token configured, instead of letting a user fill a form to be refused.

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
