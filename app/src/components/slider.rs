//! A labelled range input paired with a number input, both bound to one signal,
//! so a value can be dragged, typed or stepped with the keyboard.

use leptos::prelude::*;

#[component]
pub fn Slider(
    id: &'static str,
    label: &'static str,
    min: f64,
    max: f64,
    step: f64,
    value: RwSignal<f64>,
) -> impl IntoView {
    let number_id = format!("{id}-number");
    // Parse failures (an emptied number box mid-typing) keep the last good value.
    let set_from = move |text: String| {
        if let Ok(parsed) = text.trim().parse::<f64>() {
            if parsed.is_finite() {
                value.set(parsed.clamp(min, max));
            }
        }
    };

    view! {
        <div class="slider">
            <label for=id>{label}</label>
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
                id=number_id.clone()
                aria-label=label
                min=min
                max=max
                step=step
                prop:value=move || value.get().to_string()
                on:change=move |ev| set_from(event_target_value(&ev))
            />
        </div>
    }
}
