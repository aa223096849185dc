//! The detector picker and its parameters: a labelled `<select>` of every
//! detector and, for the chosen one, a slider with a number box per main
//! parameter. Every change goes through [`Lab::apply`].

use detect::eval::tuning;
use detect::{DetectorSpec, DETECTOR_NAMES};
use leptos::prelude::*;

use super::help::{self, Help};
use super::state::Lab;
use crate::components::slider::Slider;

#[component]
pub fn DetectorControls(lab: Lab) -> impl IntoView {
    let name = Memo::new(move |_| lab.spec.with(|s| s.name()));
    let pick = move |ev| {
        let picked = event_target_value(&ev);
        match DetectorSpec::default_for(&picked) {
            Ok(spec) => lab.apply(spec),
            Err(error) => lab.error.set(Some(error.to_string())),
        }
    };
    let knobs = move || {
        let spec = DetectorSpec::default_for(name.get()).ok()?;
        let sliders = tuning::knobs(&spec)
            .iter()
            .map(|knob| {
                let key = knob.key;
                let value = Signal::derive(move || {
                    lab.spec.with(|s| tuning::get(s, key)).unwrap_or(f64::NAN)
                });
                let on_set = Callback::new(move |v: f64| lab.set_knob(key, v));
                view! {
                    <Slider
                        id=format!("param-{key}")
                        label=knob.label
                        min=knob.min
                        max=knob.max
                        step=knob.step
                        value
                        on_set
                    />
                }
            })
            .collect_view();
        Some(sliders)
    };

    view! {
        <div class="field">
            <label for="detector">"Detector"</label>
            <select id="detector" on:change=pick prop:value=move || name.get()>
                {DETECTOR_NAMES
                    .iter()
                    .map(|n| {
                        let what = DetectorSpec::default_for(n).map_or("", |s| s.description());
                        view! { <option value=*n>{what}</option> }
                    })
                    .collect_view()}
            </select>
            {move || {
                let what = help::detector(name.get());
                view! { <Help what="this detector">{what}</Help> }
            }}
        </div>
        {knobs}
        {move || lab.busy.get().then(|| view! { <p class="busy" role="status">"Computing the forecast…"</p> })}
        {move || lab.error.get().map(|message| view! {
            <p class="error" role="alert" data-testid="lab-error">{message}</p>
        })}
    }
    .into_any()
}
