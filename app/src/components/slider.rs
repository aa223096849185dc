//! A labelled range input paired with a number input, both showing one value,
//! so a value can be dragged, typed or stepped with the keyboard.

use leptos::prelude::*;

/// The range input spans `min..=max`; the number box also accepts values
/// beyond it (the detector's own validation decides, and says why inline).
/// Text that is not a number gets an inline message and changes nothing.
#[component]
pub fn Slider(
    id: String,
    label: &'static str,
    min: f64,
    max: f64,
    step: f64,
    #[prop(into)] value: Signal<f64>,
    on_set: Callback<f64>,
) -> impl IntoView {
    let number_id = format!("{id}-number");
    let error_id = format!("{id}-error");
    let problem = RwSignal::new(None::<String>);
    let set_from = move |text: String| match text.trim().parse::<f64>() {
        Ok(parsed) if parsed.is_finite() => {
            problem.set(None);
            on_set.run(parsed);
        }
        _ => problem.set(Some(format!(
            "{label}: enter a number (from {min} to {max})"
        ))),
    };

    view! {
        <div class="slider">
            <label for=id.clone()>{label}</label>
            <input
                type="range"
                id=id
                min=min
                max=max
                step=step
                prop:value=move || value.get().to_string()
                on:input=move |ev| set_from(event_target_value(&ev))
            />
            <input
                type="number"
                id=number_id
                aria-label=label
                aria-describedby=error_id.clone()
                aria-invalid=move || problem.with(Option::is_some).to_string()
                step="any"
                prop:value=move || value.get().to_string()
                on:change=move |ev| set_from(event_target_value(&ev))
            />
            <p class="field-error" id=error_id role="alert">
                {move || problem.get()}
            </p>
        </div>
    }
}
