//! Labels on the metric page: the labelled spans the figures are scored
//! against (from the source, from labelled alerts, and marked here), and a
//! form to mark a span — the chart's visible range with one click, so
//! zooming to an incident and pressing "Use the visible range" selects it —
//! or to remove a span marked here. Writes need the operator token; the
//! page reloads the history afterwards, so the new label is scored at once.

use leptos::prelude::*;

use super::help::Help;
use super::state::Lab;
use crate::api::{CreateLabel, LabelKind, LabelRole, LabelSpan, RemoveLabel};
use crate::format::{time, When};

/// Reads a form time (UTC); the message says what is expected.
pub fn parse_form_time(field: &str, text: &str) -> Result<i64, String> {
    chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M")
        .map(|t| t.and_utc().timestamp())
        .map_err(|_| {
            format!(
                "{field}: expected YYYY-MM-DD HH:MM (UTC), not {:?}",
                text.trim()
            )
        })
}

fn role_text(role: LabelRole) -> &'static str {
    match role {
        LabelRole::Incident => "to find",
        LabelRole::Neutral => "neutral",
        LabelRole::FalseAlarm => "false alarm",
    }
}

/// How a role counts in the figures, in words (the role's tooltip).
fn role_meaning(role: LabelRole) -> &'static str {
    match role {
        LabelRole::Incident => "an incident an alert should catch: counted in recall and precision",
        LabelRole::Neutral => {
            "not scored: an alert here counts neither for nor against the detector \
             (a slice's incident on the whole metric, or marked neutral)"
        }
        LabelRole::FalseAlarm => "nothing was wrong: an alert here counts as a false alert",
    }
}

/// The lab's note of why its write controls are off (see
/// [`crate::components::operator::ReadOnlyReason`]), which they point at.
pub const READ_ONLY_ID: &str = "lab-read-only";

#[component]
pub fn LabelsPanel(
    lab: Lab,
    metric: String,
    labels: Vec<LabelSpan>,
    token: RwSignal<String>,
    /// Off on a read-only server: the buttons say so before they are used.
    writes_enabled: Signal<bool>,
    /// Reloads the page's history (and so its labels).
    reload: Callback<()>,
) -> impl IntoView {
    let read_only = move || (!writes_enabled.get()).then_some(READ_ONLY_ID);
    let create = ServerAction::<CreateLabel>::new();
    let remove = ServerAction::<RemoveLabel>::new();
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let kind = RwSignal::new("incident".to_string());
    let note = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);

    // Reload once a write went through.
    Effect::new(move |_| {
        let created = matches!(create.value().get(), Some(Ok(_)));
        let removed = matches!(remove.value().get(), Some(Ok(())));
        if created || removed {
            reload.run(());
        }
    });

    let use_view = move |_| {
        let (first, last) = lab.view.get_untracked();
        if last > first {
            from.set(time(lab.time(first), When::Input));
            to.set(time(lab.time(last - 1) + lab.step(), When::Input));
        }
    };
    let metric_for_submit = metric.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let span = parse_form_time("from", &from.get_untracked())
            .and_then(|start| parse_form_time("to", &to.get_untracked()).map(|end| (start, end)));
        match span {
            Err(message) => local_error.set(Some(message)),
            Ok((start, end)) => {
                local_error.set(None);
                create.dispatch(CreateLabel {
                    metric: metric_for_submit.clone(),
                    from: start,
                    to: end,
                    kind: kind.get_untracked().parse().unwrap_or(LabelKind::Incident),
                    note: note.get_untracked(),
                    token: token.get_untracked(),
                });
            }
        }
    };
    let message = move || {
        if let Some(message) = local_error.get() {
            return Some(message);
        }
        [
            create.value().get().and_then(|r| r.err()),
            remove.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|error| crate::api::error_text(&error))
    };

    let rows = labels
        .into_iter()
        .map(|label| {
            let remove_button = label.id.map(|id| {
                view! {
                    <button
                        type="button"
                        aria-label=format!("Remove label {id}")
                        disabled=move || !writes_enabled.get()
                        aria-describedby=read_only
                        on:click=move |_| {
                            remove.dispatch(RemoveLabel {
                                id,
                                token: token.get_untracked(),
                            });
                        }
                    >
                        "Remove"
                    </button>
                }
            });
            let slice = label.slice.map(|s| format!(" ({s})")).unwrap_or_default();
            let origin = label.origin.as_str();
            view! {
                <li data-origin=origin>
                    <time>{time(label.from, When::Axis)}</time>
                    " – "
                    <time>{time(label.to, When::Axis)}</time>
                    " · " <strong>{label.kind}</strong> {slice}
                    " · " <abbr title=role_meaning(label.role)>{role_text(label.role)}</abbr> " · from " {origin}
                    {(!label.description.is_empty()).then(|| format!(" · {}", label.description))}
                    " " {remove_button}
                </li>
            }
        })
        .collect_view();

    view! {
        <section class="lab-panel labels-panel" aria-labelledby="labels-heading" data-testid="labels">
            <h2 id="labels-heading">"Labels"</h2>
            <Help what="a label's role">
                "“to find”: " {role_meaning(LabelRole::Incident)} ". “neutral”: "
                {role_meaning(LabelRole::Neutral)} ". “false alarm”: "
                {role_meaning(LabelRole::FalseAlarm)} "."
            </Help>
            <ul class="label-list" data-testid="label-list">{rows}</ul>
            <form class="label-form" aria-label="Mark a span" novalidate on:submit=on_submit>
                <div class="field">
                    <label for="label-from">"From (UTC)"</label>
                    <input id="label-from" type="text" placeholder="2026-11-23 14:00"
                        on:input=move |ev| from.set(event_target_value(&ev))
                        prop:value=move || from.get()/>
                </div>
                <div class="field">
                    <label for="label-to">"To (UTC)"</label>
                    <input id="label-to" type="text" placeholder="2026-11-23 15:00"
                        on:input=move |ev| to.set(event_target_value(&ev))
                        prop:value=move || to.get()/>
                </div>
                <button type="button" on:click=use_view>"Use the visible range"</button>
                <div class="field">
                    <label for="label-kind">"Kind"</label>
                    <select id="label-kind"
                        on:change=move |ev| kind.set(event_target_value(&ev))
                        prop:value=move || kind.get()>
                        {LabelKind::ALL
                            .iter()
                            .map(|k| view! { <option value=k.as_str()>{k.as_str().replace('_', " ")}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="label-note">"Note"</label>
                    <input id="label-note" type="text" maxlength="500"
                        on:input=move |ev| note.set(event_target_value(&ev))
                        prop:value=move || note.get()/>
                </div>
                <button type="submit" aria-describedby=read_only
                    disabled=move || !writes_enabled.get() || create.pending().get()>"Mark"</button>
            </form>
            {move || message().map(|text| view! {
                <p class="error" role="alert" data-testid="label-error">{text}</p>
            })}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_round_trip_and_say_what_is_wrong() {
        let t = parse_form_time("from", " 2026-11-23 14:15 ").unwrap();
        assert_eq!(t % 900, 0);
        assert_eq!(time(t, When::Input), "2026-11-23 14:15");
        let error = parse_form_time("to", "yesterday").unwrap_err();
        assert!(error.contains("to: expected YYYY-MM-DD HH:MM"), "{error}");
    }
}
