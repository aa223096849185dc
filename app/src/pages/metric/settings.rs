//! Apply: the detector judging this metric in the live checks, the lab's
//! current detector applied in its place from the next check on, or the
//! config file's choice restored — each change recorded with its time and
//! the old and new values, listed here.

use leptos::prelude::*;

use super::help::{self, Help};
use super::state::Lab;
use crate::api::{fetch_detector, ApplyDetector, DetectorChange, DetectorOrigin, DetectorSettings};
use crate::format::{time, When};

#[component]
pub fn ApplyPanel(
    lab: Lab,
    metric: String,
    /// `dimension=value` when the lab shows one slice: settings are per metric,
    /// so the panel says they reach every slice, not just this one.
    slice: Option<String>,
    token: RwSignal<String>,
    /// Off on a read-only server: the buttons say so before they are used.
    writes_enabled: Signal<bool>,
) -> impl IntoView {
    let apply = ServerAction::<ApplyDetector>::new();
    let off = move || !writes_enabled.get() || apply.pending().get();
    let read_only = move || (!writes_enabled.get()).then_some(super::labels::READ_ONLY_ID);
    let metric_for_fetch = metric.clone();
    let settings = Resource::new(
        move || apply.version().get(),
        move |_| fetch_detector(metric_for_fetch.clone()),
    );
    let metric_for_apply = metric.clone();
    let dispatch = move |detector: DetectorChange| {
        apply.dispatch(ApplyDetector {
            metric: metric_for_apply.clone(),
            detector,
            token: token.get_untracked(),
        });
    };
    let dispatch_revert = dispatch.clone();
    let apply_current = move |_| dispatch(DetectorChange::Detector(lab.spec.get_untracked()));
    let error = move || match apply.value().get() {
        Some(Err(error)) => Some(crate::api::error_text(&error)),
        _ => None,
    };
    let current = move || lab.spec.with(|spec| spec.name());

    view! {
        <section class="lab-panel apply-panel" aria-labelledby="apply-heading" data-testid="apply">
            <h2 id="apply-heading">"Apply to the live checks"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(settings) => view! { <InEffect settings/> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{crate::api::error_text(&error)}</p> }.into_any(),
                    }
                })}
            </Transition>
            {slice.map(|slice| view! {
                <p class="hint" data-testid="apply-scope">
                    "Tuned on " {slice} "; applying sets " <code>{metric.clone()}</code>
                    "'s detector, for every slice of it."
                </p>
            })}
            <p>
                <button type="button" data-testid="apply-current" on:click=apply_current
                    disabled=off aria-describedby=read_only>
                    {move || format!("Apply {} with these parameters", current())}
                </button>
                " "
                <button type="button" on:click=move |_| dispatch_revert(DetectorChange::ConfigChoice)
                    disabled=off aria-describedby=read_only>
                    "Back to the config's choice"
                </button>
            </p>
            {move || error().map(|text| view! {
                <p class="error" role="alert" data-testid="apply-error">{text}</p>
            })}
        </section>
    }
}

/// The stored detector's parameters in words (`a = 4 · n = 5 · smooth =
/// asof`), and what the ones without a slider mean. A combination (or
/// anything but one detector's flat object) reads as "several detectors".
fn setting_words(json: &str) -> (String, Vec<&'static str>) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(json) else {
        return (String::new(), Vec::new());
    };
    if fields.contains_key("members") {
        return ("several detectors combined".to_string(), Vec::new());
    }
    let mut notes = Vec::new();
    let words: Vec<String> = fields
        .iter()
        .filter(|(key, _)| key.as_str() != "detector")
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            notes.extend(help::setting(key, &value));
            format!("{key} = {value}")
        })
        .collect();
    (words.join(" · "), notes)
}

#[component]
fn InEffect(settings: DetectorSettings) -> impl IntoView {
    let origin = match settings.origin {
        DetectorOrigin::Applied => "applied from the lab",
        DetectorOrigin::Config => "from the config file",
        DetectorOrigin::Default => "vigil's default: no detector configured for this metric",
    };
    let changes = settings
        .changes
        .into_iter()
        .map(|change| {
            let new = change
                .detector
                .unwrap_or_else(|| "the config's choice".to_string());
            view! {
                <li>
                    <time>{time(change.at, When::Axis)}</time> " by " {change.by} ": "
                    <code>{change.previous}</code> " → " <code>{new}</code>
                </li>
            }
        })
        .collect_view();
    let (words, notes) = setting_words(&settings.in_effect);
    // A <div>: the help's <details> may not sit inside a <p>.
    view! {
        <div class="in-effect" data-testid="in-effect">
            "In effect: " <strong>{settings.name}</strong> " (" {origin} ") "
            <span data-testid="in-effect-params">{words}</span>
            {(!notes.is_empty()).then(|| view! {
                <Help what="these settings">
                    {notes.join(". ")} "."
                </Help>
            })}
        </div>
        <details class="settings-raw">
            <summary>"As stored (JSON)"</summary>
            <code class="settings-json">{settings.in_effect}</code>
        </details>
        <ul class="setting-changes" data-testid="setting-changes">{changes}</ul>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn stored_settings_read_as_words() {
        let (words, notes) =
            super::setting_words(r#"{"detector":"iqr","a":5.6,"n":23,"smooth":"asof"}"#);
        assert_eq!(words, "a = 5.6 · n = 23 · smooth = asof");
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("smooth = asof: "), "{notes:?}");
        let (words, notes) = super::setting_words(r#"{"combine":"any","members":[]}"#);
        assert_eq!(
            (words.as_str(), notes.len()),
            ("several detectors combined", 0)
        );
    }
}
