//! "Replay the checks": what the experiment's live checks would have sent
//! over its last days, computed on the server by the check's own replay
//! (the same verdicts and lifecycle, the silences in force then), with the
//! experiment's alpha and minimum effect or, for a what-if, others. The
//! rules live in the URL (`?alpha=&min_effect=&days=`), so a what-if can be
//! shared; a plain GET form sets them, which works before the wasm loads.

use leptos::prelude::*;

use crate::api::{
    error_text, ExperimentReplay, ReplayRules, ReplayedNotification, DEFAULT_REPLAY_DAYS,
    MAX_REPLAY_DAYS,
};
use crate::components::url_query::{self, shown, Ignored};
use crate::format::{local_time, notify_words, number, Digits};
use crate::routes::experiment_page;

/// The keys the experiment page reads.
const KNOWN: &str = "alpha, min_effect, days";

/// The replay's rules from the URL's pairs (the experiment's own where it
/// says nothing), with a notice per value the page ignores.
pub fn read_query<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (ReplayRules, Vec<String>) {
    let mut ignored = Ignored::default();
    let mut rules = ReplayRules {
        days: DEFAULT_REPLAY_DAYS,
        alpha: None,
        min_effect: None,
    };
    for (key, value) in url_query::pairs(pairs) {
        let number = || value.parse::<f64>().ok();
        let candidate = match key {
            "days" => value.parse().ok().map(|days| ReplayRules { days, ..rules }),
            "alpha" => number().map(|alpha| ReplayRules {
                alpha: Some(alpha),
                ..rules
            }),
            "min_effect" => number().map(|min_effect| ReplayRules {
                min_effect: Some(min_effect),
                ..rules
            }),
            _ => {
                ignored.unknown(key, KNOWN);
                continue;
            }
        };
        // The server's own check words what is out of range.
        match candidate.map(|c| c.check().map(|()| c)) {
            Some(Ok(candidate)) => rules = candidate,
            Some(Err(why)) => ignored.value(why),
            None => ignored.value(format!("{key} must be a number, not {}", shown(value))),
        }
    }
    (rules, ignored.into_notices())
}

/// The section: the what-if form, then what the checks would have sent.
/// `alpha` and `min_effect` are the rules in force (the URL's, else the
/// experiment's), which the form starts from.
#[component]
pub fn ReplaySection(
    name: String,
    rules: ReplayRules,
    alpha: f64,
    min_effect: f64,
    replay: Resource<Result<ExperimentReplay, ServerFnError>>,
) -> impl IntoView {
    let days = (1..=MAX_REPLAY_DAYS)
        .map(|d| {
            let text = if d == 1 {
                "last day".to_string()
            } else {
                format!("last {d} days")
            };
            view! { <option value=d.to_string() selected=d == rules.days>{text}</option> }
        })
        .collect_view();
    view! {
        <section class="exp-replay" aria-labelledby="exp-replay-title" data-testid="experiment-replay">
            <h2 id="exp-replay-title">"Replay the checks"</h2>
            <p class="muted">
                "What the live check would have sent over the experiment's last days (and, after \
                 its end, the checks that resolve), bucket by bucket, with the same lifecycle and \
                 silences. Change alpha or the minimum effect to see what other rules would have sent."
            </p>
            <form method="get" action=experiment_page(&name) class="exp-replay-form">
                <label>"Alpha "
                    <input type="number" name="alpha" data-testid="replay-alpha" inputmode="decimal"
                        min="0" max="1" step="any" required value=alpha.to_string()/>
                </label>
                <label>"Minimum effect (0.05 = 5%) "
                    <input type="number" name="min_effect" data-testid="replay-min-effect" inputmode="decimal"
                        min="0" step="any" required value=min_effect.to_string()/>
                </label>
                <label>"Span " <select name="days">{days}</select></label>
                <button type="submit" data-testid="replay-run">"Replay"</button>
            </form>
            <Suspense fallback=|| view! { <p class="loading">"Replaying the checks…"</p> }>
                {move || Suspend::new(async move {
                    match replay.await {
                        Ok(replay) => sent(replay).into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error_text(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// What the replay sent, or in words that it sent nothing.
fn sent(replay: ExperimentReplay) -> impl IntoView {
    let offset = replay.utc_offset_minutes;
    let rules = format!(
        "alpha {}, minimum effect {}%",
        replay.alpha,
        number(Some(replay.min_effect * 100.0), Digits::Exact)
    );
    let Some((first, last)) = replay.span else {
        return view! {
            <p class="empty" data-testid="replay-empty">"No checks to replay: no data since the start yet."</p>
        }
        .into_any();
    };
    let span = format!(
        "Checks of {} to {}",
        local_time(first, offset),
        local_time(last, offset)
    );
    if replay.notifications.is_empty() {
        return view! {
            <p class="empty" data-testid="replay-empty">
                {format!("{span} with {rules}: nothing would have been sent.")}
            </p>
        }
        .into_any();
    }
    let count = match replay.notifications.len() {
        1 => "1 notification".to_string(),
        n => format!("{n} notifications"),
    };
    view! {
        <p data-testid="replay-summary">{format!("{span} with {rules}: {count}.")}</p>
        // A list of plain text that scrolls: focusable, so a keyboard can
        // scroll it (axe's scrollable-region-focusable).
        <ol
            class="replay-alerts exp-replay-list"
            data-testid="replay-notifications"
            aria-label="What the checks would have sent"
            tabindex="0"
        >
            {replay.notifications.iter().map(|n| line(n, offset)).collect_view()}
        </ol>
    }
    .into_any()
}

/// "2026-12-06 14:00 UTC · alert · Feed CTR in group 2 is 15.1% below
/// ...", the comparison named first when the finding does not say it
/// ("Sample ratio: Users per group do not match ...").
fn line(n: &ReplayedNotification, offset: i32) -> impl IntoView {
    let about = match &n.arm {
        _ if n.message.starts_with(&n.subject) => String::new(),
        Some(arm) => format!("{}, {arm}: ", n.subject),
        None => format!("{}: ", n.subject),
    };
    view! {
        <li data-testid="replay-notification" data-kind=n.notify.kind() class:muted=n.muted>
            <time>{local_time(n.bucket, offset)}</time> " · "
            <strong>{notify_words(&n.notify)}</strong>
            {n.muted.then_some(" (not sent: muted)")} " · "
            {format!("{about}{}", n.message)}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_sets_the_rules_and_what_it_cannot_is_ignored_aloud() {
        let (rules, notices) = read_query([("alpha", "0.01"), ("min_effect", "5"), ("days", "3")]);
        assert_eq!(
            rules,
            ReplayRules {
                days: 3,
                alpha: Some(0.01),
                min_effect: Some(5.0),
            }
        );
        assert_eq!(notices, Vec::<String>::new());

        let (rules, notices) = read_query([
            ("alpha", "2"),
            ("min_effect", "big"),
            ("days", "30"),
            ("x", "1"),
        ]);
        assert_eq!(
            rules,
            ReplayRules {
                days: DEFAULT_REPLAY_DAYS,
                alpha: None,
                min_effect: None,
            }
        );
        assert_eq!(
            notices,
            [
                "ignored: alpha 2: expected a level strictly between 0 and 1 (0.05 is 5%)",
                "ignored: min_effect must be a number, not \"big\"",
                "ignored: days 30: expected 1 to 7",
                "ignored: unknown parameter \"x\" (this page reads alpha, min_effect, days)",
            ]
        );
    }
}
