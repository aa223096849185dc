//! Replay: steps a cursor through the history bucket by bucket at a chosen
//! speed. The chart draws only up to the cursor, and the list shows what the
//! live check would have sent so far: [`detect::alerting::replay`], the
//! check's own decision (open alerts kept out of the baseline, the floor,
//! slices held back while their metric fires, resolving after calm
//! buckets), with the server's rules for this series.

use detect::alerting::{self, Sent};
use detect::eval::{IncidentSpan, DEFAULT_TOLERANCE};
use detect::{DetectorSpec, Ensemble};
use leptos::prelude::*;

use super::state::Lab;
use crate::format::{self, amount, notify_words, percent, Digits, When};

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

    // The whole history's notifications depend on the detector, not on the
    // cursor: computed once per detector while replaying, then each frame
    // only filters them (a frame every 50 ms must not rerun the replay).
    let replaying = Memo::new(move |_| lab.cursor.get().is_some());
    let all_sent = Memo::new(move |_| {
        if !replaying.get() {
            return Vec::new();
        }
        let spec = lab.spec.get();
        lab.case
            .with_value(|case| would_send(lab, &spec, &case.name, &case.series))
    });
    let sent = Memo::new(move |_| {
        let Some(cursor) = lab.cursor.get() else {
            return Vec::new();
        };
        let sent = all_sent.get();
        lab.labels.with_value(|labels| {
            sent.into_iter()
                .filter_map(|sent| {
                    let i = lab.index_of(sent.step.bucket)?;
                    (i <= cursor).then_some((i, sent))
                })
                .map(|(i, sent)| {
                    let hit = IncidentSpan::new(i, i + 1);
                    let label = labels
                        .iter()
                        .find(|l| {
                            hit.overlaps(&IncidentSpan::new(
                                l.span.start,
                                l.span.end + DEFAULT_TOLERANCE,
                            ))
                        })
                        .map(|l| l.label.kind.clone());
                    let p = sent.point;
                    let notify = sent.step.notify;
                    (
                        lab.time(i),
                        notify,
                        sent.step.muted,
                        p.value,
                        p.deviation,
                        label,
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    let now = move || {
        let cursor = lab.cursor.get()?;
        let p = lab.detection.with(|d| d.get(cursor))?;
        let band = crate::components::chart::band(&p, lab.quantity).map_or(
            "no band yet".to_string(),
            |(lo, hi)| {
                format!(
                    "band {} to {}",
                    amount(Some(lo), lab.quantity, Digits::Short),
                    amount(Some(hi), lab.quantity, Digits::Short)
                )
            },
        );
        // The learned detector has no band: its judgment is a probability,
        // said with the features that drove it.
        let band = match lab.spec.with(|s| learned_reason(s, lab, cursor)) {
            Some(why) => why,
            None => band,
        };
        Some(format!(
            "{}: value {}, {}{}",
            format::time(lab.time(cursor), When::Axis),
            p.value.map_or("missing".to_string(), |v| amount(
                Some(v),
                lab.quantity,
                Digits::Short
            )),
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
                {move || sent.get().into_iter().rev().map(|(time, notify, muted, value, deviation, label)| {
                    let hit = label.is_some();
                    view! {
                    <li class:hit=hit class:muted=muted>
                        {format::time(time, When::Axis)} " · " {notify_words(&notify)}
                        {muted.then_some(" (not sent: muted)")} " · "
                        {value.map(|v| amount(Some(v), lab.quantity, Digits::Short)).unwrap_or_default()} " · "
                        {deviation.map(|d| percent(d, Digits::Short)).unwrap_or_default()}
                        {label.map(|k| format!(" · labelled {k}"))}
                    </li>
                }}).collect_view()}
            </ol>
        </section>
    }
    .into_any()
}

/// What the live check would have sent for this series over the loaded
/// history with `spec` (one detector, as the lab tunes it). Without the
/// server's rules (an older server), the defaults.
fn would_send(lab: Lab, spec: &DetectorSpec, metric: &str, series: &detect::Series) -> Vec<Sent> {
    let detector = Ensemble::single(spec.clone());
    lab.check.with_value(|check| {
        let defaults = crate::api::CheckRules {
            detector: None,
            measure: alerting::Measure::Count,
            floor: alerting::AlertFloor::default(),
            lifecycle: alerting::AlertConfig::default(),
            grace_secs: 0,
            whole: None,
            silences: Vec::new(),
        };
        let check = check.as_ref().unwrap_or(&defaults);
        let slice = lab.slice();
        let rules = alerting::Rules {
            metric,
            measure: check.measure,
            detector: &detector,
            floor: check.floor,
            lifecycle: check.lifecycle,
            silences: &check.silences,
            grace_secs: check.grace_secs,
            period: usize::try_from(86_400 / series.step.max(1)).unwrap_or(96),
        };
        let values: Vec<Option<f64>> = series.values().collect();
        let (whole, slices) = match (&slice, &check.whole) {
            (Some(key), Some(whole)) if whole.len() == values.len() => {
                (whole.clone(), vec![(key.clone(), values)])
            }
            _ => (values, Vec::new()),
        };
        let history = alerting::History {
            clock: series.clock(),
            whole: &whole,
            slices: &slices,
        };
        let ours = |sent: &Sent| slices.is_empty() || sent.slice.is_some();
        alerting::replay(&rules, &history, 0)
            .map(|all| all.into_iter().filter(ours).collect())
            .unwrap_or_default()
    })
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
