//! What every page with write actions shares: the operator-token field, and
//! a notice up front when the server has no token configured (read-only),
//! instead of letting a user fill a form to be refused.

use leptos::prelude::*;

use crate::api::{fetch_writes_enabled, READ_ONLY};

/// What a write control says when pressed with no token typed: the request
/// is not sent, as the server would only refuse it.
pub const TOKEN_NEEDED: &str =
    "operator token required: enter it in the Operator token field above first";

/// Why a write cannot be sent yet, said before it is: the server is
/// read-only (`read_only` is the page's wording for it), or no token is
/// typed. `None` when it can go.
pub fn write_blocked(writes_enabled: bool, read_only: &str, token: &str) -> Option<String> {
    if !writes_enabled {
        Some(read_only.to_string())
    } else if token.trim().is_empty() {
        Some(TOKEN_NEEDED.to_string())
    } else {
        None
    }
}

/// Whether this server takes writes, for the controls that send them to
/// switch off up front: `true` until the server says otherwise (a write sent
/// before then is refused with the reason, beside its control).
pub fn use_writes_enabled() -> Signal<bool> {
    let enabled = Resource::new(|| (), |_| fetch_writes_enabled());
    Signal::derive(move || !matches!(enabled.get(), Some(Ok(false))))
}

/// Why a page's write controls are off on a read-only server, next to
/// them; the controls name it (`aria-describedby`) by `id`.
#[component]
pub fn ReadOnlyReason(
    writes_enabled: Signal<bool>,
    id: &'static str,
    text: &'static str,
) -> impl IntoView {
    move || {
        (!writes_enabled.get()).then(|| {
            view! { <p class="read-only-reason" id=id data-testid=id>{text}</p> }
        })
    }
}

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
/// The token is kept for the browser tab's session (sessionStorage), so it
/// survives moving between pages and reloads; it is never put in a URL, and
/// the server never sees it except with a write (it is restored in the
/// browser, after the page is rendered).
#[component]
pub fn OperatorTokenField(token: RwSignal<String>, hint: &'static str) -> impl IntoView {
    // Effects run only in the browser.
    Effect::new(move |_| {
        if token.get_untracked().is_empty() {
            if let Some(saved) = session::load() {
                token.set(saved);
            }
        }
    });
    view! {
        <div class="field operator-token">
            <label for="operator-token">"Operator token"</label>
            <input
                id="operator-token"
                type="password"
                autocomplete="current-password"
                aria-describedby="operator-token-hint"
                on:input=move |ev| {
                    let value = event_target_value(&ev);
                    session::save(&value);
                    token.set(value);
                }
                prop:value=move || token.get()
            />
            <small id="operator-token-hint">{hint} " (kept for this browser tab's session)"</small>
        </div>
    }
}

/// The tab's sessionStorage, through wasm-bindgen alone (no extra web-sys
/// features); a browser that refuses storage just forgets the token.
#[cfg(feature = "hydrate")]
mod session {
    use wasm_bindgen::prelude::*;

    const KEY: &str = "vigil.operator-token";

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = sessionStorage, js_name = getItem)]
        fn get_item(key: &str) -> Result<Option<String>, JsValue>;
        #[wasm_bindgen(catch, js_namespace = sessionStorage, js_name = setItem)]
        fn set_item(key: &str, value: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_namespace = sessionStorage, js_name = removeItem)]
        fn remove_item(key: &str) -> Result<(), JsValue>;
    }

    pub fn load() -> Option<String> {
        get_item(KEY).ok().flatten().filter(|t| !t.is_empty())
    }

    pub fn save(token: &str) {
        let _ = if token.is_empty() {
            remove_item(KEY)
        } else {
            set_item(KEY, token)
        };
    }
}

/// On the server there is no session: nothing is restored or kept.
#[cfg(not(feature = "hydrate"))]
mod session {
    pub fn load() -> Option<String> {
        None
    }

    pub fn save(_token: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_blocked_with_its_reason_before_it_is_sent() {
        assert_eq!(
            write_blocked(false, "read-only: x", "tok"),
            Some("read-only: x".into())
        );
        assert_eq!(write_blocked(true, "ro", "  "), Some(TOKEN_NEEDED.into()));
        assert_eq!(write_blocked(true, "ro", "tok"), None);
    }
}
