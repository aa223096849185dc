//! Alert budget: "at most N alerts per week". Bisects the detector's
//! threshold (its first knob) for the most sensitive setting that meets the
//! budget on the loaded history, applies it, and lists which labelled
//! incidents that setting catches and misses.

use detect::eval::tuning;
use detect::Detection;
use leptos::prelude::*;

use super::help::Help;
use super::state::Lab;
use crate::format::{time, When};

#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    key: &'static str,
    value: f64,
    per_week: f64,
    /// (time, kind, caught) per scored label.
    incidents: Vec<(i64, String, bool)>,
}

/// Checks the budget field: a finite number of alerts per week, at least 0.
pub fn parse_budget(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "alerts per week: enter a number of 0 or more, not {:?}",
            text.trim()
        )),
    }
}

fn solve(lab: Lab, budget: f64) -> Result<Outcome, String> {
    let spec = lab.spec.get_untracked();
    if spec.is_slow() {
        return Err(format!(
            "the {} is too slow to bisect here: pick another detector",
            spec.name()
        ));
    }
    let knob = tuning::knobs(&spec)[0];
    let mut out = Detection::new();
    let solution = lab.case.with_value(|case| {
        tuning::solve_budget(&knob, budget, |value| {
            let mut trial = spec.clone();
            tuning::set(&mut trial, knob.key, value);
            trial.run_into(&case.series, &mut out).ok()?;
            let events = tuning::alerts(&out).len();
            Some(tuning::per_week(
                events,
                case.series.len(),
                case.series.step,
            ))
        })
    });
    let Some(solution) = solution else {
        return Err(format!(
            "no {} up to {} keeps to {budget} alerts per week on this history",
            knob.key, knob.search_max
        ));
    };
    let mut best = spec.clone();
    tuning::set(&mut best, knob.key, solution.value);
    lab.apply(best);
    let incidents = lab.labels.with_value(|labels| {
        let scored: Vec<_> = labels
            .iter()
            .filter(|l| l.role == crate::api::LabelRole::Incident)
            .collect();
        let spans: Vec<_> = scored.iter().map(|l| l.span).collect();
        let caught = lab.detection.with_untracked(|d| tuning::caught(d, &spans));
        scored
            .iter()
            .zip(caught)
            .map(|(l, hit)| (l.label.from, l.label.kind.clone(), hit))
            .collect()
    });
    Ok(Outcome {
        key: knob.key,
        value: solution.value,
        per_week: solution.per_week,
        incidents,
    })
}

#[component]
pub fn BudgetPanel(lab: Lab) -> impl IntoView {
    let text = RwSignal::new("2".to_string());
    let result = RwSignal::new(None::<Result<Outcome, String>>);
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        result.set(Some(
            parse_budget(&text.get_untracked()).and_then(|budget| solve(lab, budget)),
        ));
    };
    view! {
        <section class="budget" aria-labelledby="budget-title">
            <h2 id="budget-title">"Alert budget"</h2>
            <Help what="the alert budget">
                "Finds the most sensitive value of the detector's first parameter that raises at most \
                 this many alerts per week on the loaded history, by bisection: it halves the interval \
                 of values tried, about 20 runs, then applies the value found. It may lie beyond the \
                 slider's usual range (the slider then stretches to it)."
            </Help>
            // novalidate: the inline message explains a bad value; the browser's
            // own bubble would block the submit and say nothing on the page.
            <form novalidate on:submit=run>
                <label for="budget-n">"At most this many alerts per week"</label>
                <input
                    id="budget-n"
                    type="number"
                    min="0"
                    step="any"
                    aria-describedby="budget-result"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                />
                <button type="submit" data-testid="budget-solve">"Find the setting"</button>
            </form>
            <div id="budget-result" data-testid="budget-result">
                {move || result.get().map(|r| match r {
                    Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                    Ok(o) => view! {
                        <p role="status">
                            "Most sensitive setting within budget: "
                            <strong data-testid="budget-value">{format!("{} = {}", o.key, o.value)}</strong>
                            ", "
                            <span data-testid="budget-per-week">{format!("{:.2}", o.per_week)}</span>
                            " alerts per week (applied)."
                        </p>
                        {if o.incidents.is_empty() {
                            view! { <p>"No labelled incidents of the whole metric in this history."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="caught">
                                    {o.incidents.into_iter().map(|(at, kind, hit)| view! {
                                        <li class:hit=hit class:missed=!hit>
                                            {if hit { "✓ caught: " } else { "✗ missed: " }}
                                            {kind} " at " {time(at, When::Axis)}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    }.into_any(),
                })}
            </div>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_field_is_checked() {
        assert_eq!(parse_budget(" 3 "), Ok(3.0));
        assert_eq!(parse_budget("0"), Ok(0.0));
        for bad in ["", "-1", "abc", "inf"] {
            assert!(
                parse_budget(bad).unwrap_err().contains("0 or more"),
                "{bad}"
            );
        }
    }
}
