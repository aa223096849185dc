//! The silences in force, each with its End button and that button's
//! answer, and the form for a new one, its answer beside its button.

use leptos::prelude::*;

use super::{non_empty, outcome_view, send, Outcome};
use crate::api::{
    end_silence, error_text, fetch_silences, CreateSilence, MetricSummary, SilenceRow,
    MAX_SILENCE_MINUTES,
};
use crate::components::operator::{write_blocked, ReadOnlyReason};
use crate::format::{time, When};

/// Why the silence controls are off on a server without an operator token.
const SILENCES_READ_ONLY: &str = "read-only: start vigil with an operator token to change silences";

#[component]
pub(super) fn Silences(
    metrics: Vec<MetricSummary>,
    token: RwSignal<String>,
    writes_enabled: bool,
) -> impl IntoView {
    let create = ServerAction::<CreateSilence>::new();
    let ended = RwSignal::new(0u32);
    // The last End pressed and how it went.
    let end_status = RwSignal::new(None::<(i64, Outcome)>);
    let silences = Resource::new(
        move || (create.version().get(), ended.get()),
        |_| fetch_silences(),
    );

    let metric = RwSignal::new(String::new());
    let slice = RwSignal::new(String::new());
    let minutes = RwSignal::new("60".to_string());
    let local_error = RwSignal::new(None::<String>);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let token = token.get_untracked();
        if let Some(reason) = write_blocked(writes_enabled, SILENCES_READ_ONLY, &token) {
            local_error.set(Some(reason));
            return;
        }
        let Ok(minutes) = minutes.get_untracked().trim().parse::<u32>() else {
            local_error.set(Some(format!(
                "duration: enter whole minutes, 1 to {MAX_SILENCE_MINUTES}"
            )));
            return;
        };
        local_error.set(None);
        create.dispatch(CreateSilence {
            metric: non_empty(metric.get_untracked()),
            slice: non_empty(slice.get_untracked()),
            minutes,
            token,
        });
    };

    let create_message = move || {
        if let Some(message) = local_error.get() {
            return Some(Outcome::Failed(message));
        }
        if create.pending().get() {
            return Some(Outcome::Working);
        }
        match create.value().get() {
            Some(Ok(silence)) => Some(Outcome::Done(format!(
                "Silence {} created, until {}",
                silence.id,
                time(silence.until, When::Minute)
            ))),
            Some(Err(error)) => Some(Outcome::Failed(error_text(&error))),
            None => None,
        }
    };
    // An ended silence leaves the list: its answer stays where it was.
    let ended_message = move || {
        end_status.with(|status| match status {
            Some((_, outcome @ Outcome::Done(_))) => Some(outcome.clone()),
            _ => None,
        })
    };
    let item_controls = EndControls {
        token,
        writes_enabled,
        end_status,
        ended,
    };

    view! {
        <section class="silences" data-testid="silences" aria-labelledby="silences-heading">
            <h2 id="silences-heading">"Silences"</h2>
            <ReadOnlyReason writes_enabled=Signal::stored(writes_enabled) id="silences-read-only" text=SILENCES_READ_ONLY/>
            <p class="row-status" role="status" aria-live="polite">
                {move || outcome_view(ended_message(), "end")}
            </p>
            <Transition fallback=|| view! { <p class="loading">"Loading silences…"</p> }>
                {move || Suspend::new(async move {
                    match silences.await {
                        Ok(list) if list.is_empty() => {
                            view! {
                                <p class="empty" data-testid="no-silences">"No silences in force."</p>
                            }
                                .into_any()
                        }
                        Ok(list) => {
                            view! {
                                <ul class="silence-list" data-testid="silence-list">
                                    {list
                                        .into_iter()
                                        .map(|silence| silence_item(silence, item_controls))
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! { <p class="error" role="alert">{error_text(&error)}</p> }
                                .into_any()
                        }
                    }
                })}
            </Transition>
            <form
                class="silence-form"
                id="new-silence"
                tabindex="-1"
                aria-labelledby="new-silence-heading"
                on:submit=on_submit
            >
                <h3 id="new-silence-heading">"New silence"</h3>
                <div class="field">
                    <label for="silence-metric">"Metric"</label>
                    <select
                        id="silence-metric"
                        on:change=move |ev| metric.set(event_target_value(&ev))
                        prop:value=move || metric.get()
                    >
                        <option value="">"All metrics"</option>
                        {metrics
                            .iter()
                            .map(|m| view! { <option value=m.name.clone()>{m.title.clone()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="silence-slice">"Slice (optional, dimension=value)"</label>
                    <input
                        id="silence-slice"
                        type="text"
                        placeholder="os=Android"
                        on:input=move |ev| slice.set(event_target_value(&ev))
                        prop:value=move || slice.get()
                    />
                </div>
                <div class="field">
                    <label for="silence-minutes">"Duration (minutes)"</label>
                    <input
                        id="silence-minutes"
                        type="number"
                        min="1"
                        max=MAX_SILENCE_MINUTES.to_string()
                        step="1"
                        on:input=move |ev| minutes.set(event_target_value(&ev))
                        prop:value=move || minutes.get()
                    />
                </div>
                <button
                    type="submit"
                    disabled=move || !writes_enabled || create.pending().get()
                    title=(!writes_enabled).then_some(SILENCES_READ_ONLY)
                    aria-describedby=(!writes_enabled).then_some("silences-read-only")
                >
                    "Silence"
                </button>
                <span class="form-status" role="status" aria-live="polite">
                    {move || outcome_view(create_message(), "silence")}
                </span>
            </form>
        </section>
    }
}

/// What a silence's End button needs from the section.
#[derive(Clone, Copy)]
struct EndControls {
    token: RwSignal<String>,
    writes_enabled: bool,
    end_status: RwSignal<Option<(i64, Outcome)>>,
    /// Bumped after an end, to read the list again.
    ended: RwSignal<u32>,
}

fn silence_item(silence: SilenceRow, controls: EndControls) -> impl IntoView {
    let EndControls {
        token,
        writes_enabled,
        end_status,
        ended,
    } = controls;
    let scope = match (&silence.metric, &silence.slice) {
        (None, _) => "all metrics".to_string(),
        (Some(metric), None) => metric.clone(),
        (Some(metric), Some(slice)) => format!("{metric} · {slice}"),
    };
    let id = silence.id;
    let label = format!("End silence {id} ({scope})");
    let end = move |_| {
        let token = token.get_untracked();
        send(
            end_status,
            id,
            ended,
            write_blocked(writes_enabled, SILENCES_READ_ONLY, &token),
            format!("Silence {id} ended."),
            move || end_silence(id, token),
        );
    };
    // Its own answer, while it is listed: working, or why it was refused.
    let status = move || {
        end_status.with(|status| match status {
            Some((item, outcome)) if *item == id && !matches!(outcome, Outcome::Done(_)) => {
                Some(outcome.clone())
            }
            _ => None,
        })
    };
    view! {
        <li data-silence-id=id.to_string()>
            <span class="scope">{scope}</span>
            " until "
            <time>{time(silence.until, When::Minute)}</time>
            " · by "
            {silence.created_by}
            " "
            <button
                type="button"
                aria-label=label
                disabled=!writes_enabled
                title=(!writes_enabled).then_some(SILENCES_READ_ONLY)
                aria-describedby=(!writes_enabled).then_some("silences-read-only")
                on:click=end
            >
                "End"
            </button>
            " "
            <span class="row-status" role="status" aria-live="polite">
                {move || outcome_view(status(), "end")}
            </span>
        </li>
    }
}
