//! A labelled range input paired with a number input, both showing one value,
//! so a value can be dragged, typed or stepped with the keyboard.

use leptos::prelude::*;

/// The range input spans `min..=max`, and further up to the value when a
/// typed or searched value lies beyond (the slider then says so), so the
/// thumb never sits pinned at an end it is not at. `on_set` decides whether
/// a value is taken: a refused one (its reason under the field) and text
/// that is not a number mark the field and change nothing, so what the rest
/// of the page shows is still the previous value.
#[component]
pub fn Slider(
    id: String,
    label: &'static str,
    min: f64,
    max: f64,
    step: f64,
    #[prop(into)] value: Signal<f64>,
    /// Takes the value, or says why not.
    on_set: Callback<f64, Result<(), String>>,
) -> impl IntoView {
    let number_id = format!("{id}-number");
    let error_id = format!("{id}-error");
    let problem = RwSignal::new(None::<Problem>);
    let set_from = move |text: String| match text.trim().parse::<f64>() {
        Ok(parsed) if parsed.is_finite() => {
            problem.set(on_set.run(parsed).err().map(Problem::Refused));
        }
        _ => problem.set(Some(Problem::NotANumber(format!(
            "{label}: enter a number (from {min} to {max})"
        )))),
    };
    // The range input is made anew when its top moves (never while it is
    // dragged: a drag stays within it), so its max is set before its value
    // and the browser does not clamp the value to the old max.
    let top = Memo::new(move |_| value.get().max(max));
    let beyond = move || value.get() > max;
    let invalid = move || problem.with(Option::is_some);

    view! {
        <div class="slider" class:invalid=invalid>
            <label for=id.clone()>{label}</label>
            {move || view! {
                <input
                    type="range"
                    id=id.clone()
                    min=min
                    max=top.get()
                    step=step
                    prop:value=move || value.get().to_string()
                    on:input=move |ev| set_from(event_target_value(&ev))
                />
            }}
            <input
                type="number"
                id=number_id
                aria-label=label
                aria-describedby=error_id.clone()
                aria-invalid=move || invalid().to_string()
                step="any"
                prop:value=move || value.get().to_string()
                on:change=move |ev| set_from(event_target_value(&ev))
            />
            <p class="field-error" id=error_id role="alert">
                {move || problem.get().map(|p| p.view(value.get_untracked()))}
            </p>
            {move || beyond().then(|| view! {
                <p class="hint">{format!("beyond the slider's usual {min} to {max}")}</p>
            })}
        </div>
    }
}

/// Why the typed value was not taken.
#[derive(Clone, Debug, PartialEq)]
enum Problem {
    NotANumber(String),
    /// `on_set` refused it: the lab's own message.
    Refused(String),
}

impl Problem {
    fn view(self, kept: f64) -> AnyView {
        match self {
            Problem::NotANumber(text) => text.into_any(),
            Problem::Refused(text) => view! {
                <span data-testid="lab-error">{text}</span>
                <span class="kept">{format!(" (still {kept})")}</span>
            }
            .into_any(),
        }
    }
}
