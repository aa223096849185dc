//! Replay: steps a cursor through the history bucket by bucket at a chosen
//! speed. The chart draws only up to the cursor, and the list shows the
//! alerts a live check would have sent so far. The detectors are causal in
//! their default (as-of) smoothing, so the batch output at bucket `t` is what
//! the live newest-point check computed at `t` (see `detect`'s `live`
//! module): the replay reuses the current detection instead of rerunning.

use detect::eval::{tuning, IncidentSpan, DEFAULT_TOLERANCE};
use detect::DetectorSpec;
use leptos::prelude::*;

use super::state::Lab;
use crate::format::{self, number, percent, Digits, When};

/// Milliseconds between two replay frames.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const TICK_MS: u64 = 50;

/// Speeds offered, in buckets per second of replay.
const SPEEDS: [(&str, f64); 4] = [
    ("1 hour per second", 4.0),
    ("6 hours per second", 24.0),
    ("1 day per second", 96.0),
    ("1 week per second", 672.0),
];

#[component]
pub fn ReplayPanel(lab: Lab) -> impl IntoView {
    let playing = RwSignal::new(false);
    let speed = RwSignal::new(SPEEDS[2].1);
    // Fractional buckets carried between frames at slow speeds.
    let carry = StoredValue::new(0.0f64);
    let len = lab.len();

    let stop = move || playing.set(false);
    let toggle = move |_| {
        if playing.get_untracked() {
            stop();
            return;
        }
        // From the start, or on from where a paused replay stopped.
        if lab.cursor.get_untracked().is_none_or(|c| c + 1 >= len) {
            lab.cursor.set(Some(0));
            lab.view.set((0, len));
            lab.focus.set(None);
        }
        carry.set_value(0.0);
        playing.set(true);
        schedule(lab, playing, speed, carry);
    };
    let reset = move |_| {
        stop();
        lab.cursor.set(None);
    };

    let sent = Memo::new(move |_| {
        let Some(cursor) = lab.cursor.get() else {
            return Vec::new();
        };
        lab.detection.with(|d| {
            lab.labels.with_value(|labels| {
                tuning::alerts(d)
                    .into_iter()
                    .filter(|e| e.start <= cursor)
                    .map(|e| {
                        let p = d.point(e.start);
                        let run = IncidentSpan::new(e.start, e.end);
                        let label = labels
                            .iter()
                            .find(|l| {
                                run.overlaps(&IncidentSpan::new(
                                    l.span.start,
                                    l.span.end + DEFAULT_TOLERANCE,
                                ))
                            })
                            .map(|l| l.label.kind.clone());
                        (lab.time(e.start), p.value, p.deviation, label)
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    let now = move || {
        let cursor = lab.cursor.get()?;
        let p = lab.detection.with(|d| d.get(cursor))?;
        let band = p
            .lower
            .zip(p.upper)
            .map_or("no band yet".to_string(), |(lo, hi)| {
                format!(
                    "band {} to {}",
                    number(Some(lo), Digits::Short),
                    number(Some(hi), Digits::Short)
                )
            });
        // The learned detector has no band: its judgment is a probability,
        // said with the features that drove it.
        let band = match lab.spec.with(|s| learned_reason(s, lab, cursor)) {
            Some(why) => why,
            None => band,
        };
        Some(format!(
            "{}: value {}, {}{}",
            format::time(lab.time(cursor), When::Axis),
            p.value
                .map_or("missing".to_string(), |v| number(Some(v), Digits::Short)),
            band,
            if p.is_anomaly { " — ALERT" } else { "" }
        ))
    };

    view! {
        <section class="replay" aria-labelledby="replay-title">
            <h2 id="replay-title">"Replay"</h2>
            <div class="row">
                <button type="button" data-testid="replay-play" aria-pressed=move || playing.get().to_string() on:click=toggle>
                    {move || if playing.get() { "Pause" } else { "Play" }}
                </button>
                <label for="replay-speed">"Speed"</label>
                <select id="replay-speed" on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f64>() { speed.set(v) }
                }>
                    {SPEEDS.iter().map(|(name, v)| view! {
                        <option value=v.to_string() selected=*v == SPEEDS[2].1>{*name}</option>
                    }).collect_view()}
                </select>
                <button type="button" on:click=reset disabled=move || lab.cursor.get().is_none()>"Exit replay"</button>
            </div>
            <label for="replay-position">"Replay position"</label>
            <input
                type="range"
                id="replay-position"
                min="0"
                max=len.saturating_sub(1)
                step="1"
                prop:value=move || lab.cursor.get().unwrap_or(len.saturating_sub(1)).to_string()
                on:input=move |ev| {
                    if let Ok(i) = event_target_value(&ev).parse::<usize>() {
                        lab.cursor.set(Some(i.min(len.saturating_sub(1))));
                    }
                }
            />
            <p role="status" data-testid="replay-now">{now}</p>
            {move || (lab.spec.with(|s| s.name()) == "forecast").then(|| view! {
                <p class="note">
                    "The forecast's history refits every few hours; a live check fits afresh each \
                     bucket, so its band then may differ slightly from the one shown."
                </p>
            })}
            <ol class="replay-alerts" data-testid="replay-alerts" aria-label="Alerts sent so far">
                {move || sent.get().into_iter().rev().map(|(time, value, deviation, label)| {
                    let hit = label.is_some();
                    view! {
                    <li class:hit=hit>
                        {format::time(time, When::Axis)} " · "
                        {value.map(|v| number(Some(v), Digits::Short)).unwrap_or_default()} " · "
                        {deviation.map(|d| percent(d, Digits::Short)).unwrap_or_default()}
                        {label.map(|k| format!(" · labelled {k}"))}
                    </li>
                }}).collect_view()}
            </ol>
        </section>
    }
    .into_any()
}

/// The learned detector's judgment of bucket `i` in words (`p = 0.97:
/// 0.21 of the value 15 minutes ago; ...`); `None` for other detectors.
fn learned_reason(spec: &DetectorSpec, lab: Lab, i: usize) -> Option<String> {
    let DetectorSpec::Learned(params) = spec else {
        return None;
    };
    lab.case
        .with_value(|case| params.explain(&case.series, i).ok())
        .map(|why| why.summary())
}

/// Advances the cursor one frame and schedules the next while playing.
fn schedule(lab: Lab, playing: RwSignal<bool>, speed: RwSignal<f64>, carry: StoredValue<f64>) {
    #[cfg(feature = "hydrate")]
    set_timeout(
        move || {
            if !playing.get_untracked() {
                return;
            }
            let len = lab.len();
            let advance = carry.get_value() + speed.get_untracked() * TICK_MS as f64 / 1000.0;
            let whole = advance.floor();
            carry.set_value(advance - whole);
            let next = lab.cursor.get_untracked().unwrap_or(0) + whole as usize;
            if next + 1 >= len {
                lab.cursor.set(Some(len.saturating_sub(1)));
                playing.set(false);
                return;
            }
            if whole > 0.0 {
                lab.cursor.set(Some(next));
            }
            schedule(lab, playing, speed, carry);
        },
        std::time::Duration::from_millis(TICK_MS),
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (lab, playing, speed, carry);
}
