//! Plain-language help for the lab: a small "?" beside a figure, a detector
//! or a word of the page that opens a sentence or two (what it is, its
//! units, why it may read "–"). A native `<details>`, so it works before
//! the script and with the keyboard, and a screen reader names it.

use leptos::prelude::*;

/// A "?" that opens `children`; `what` names the thing for screen readers.
#[component]
pub fn Help(what: &'static str, children: Children) -> impl IntoView {
    view! {
        <details class="help">
            <summary aria-label=format!("What is {what}?") title=format!("What is {what}?")>"?"</summary>
            <div class="help-text">{children()}</div>
        </details>
    }
}

/// What a detector does, in words (its name as in the picker's values).
pub fn detector(name: &str) -> &'static str {
    match name {
        "iqr" => {
            "IQR band: over the last n buckets, the middle half of the values lies between \
             the 25th and 75th percentile; that distance is the IQR (interquartile range). \
             The band reaches a IQRs beyond it on each side; a value outside is an anomaly."
        }
        "seasonal" => {
            "Seasonal baseline: each value is compared with the same time of earlier days. \
             Their spread is measured in robust SDs (the median distance from the median, \
             scaled to read like a standard deviation, so one odd day does not widen it); \
             the band is z of them wide."
        }
        "seasonal_iqr" => {
            "Seasonal IQR: the IQR band (the middle half of the values, widened a times) \
             built from the same 15 minutes of earlier days."
        }
        "drop" => {
            "Drop: flags a value that falls below a fraction of the median of the last \
             buckets. Only falls count: a rise never alerts."
        }
        "changepoint" => {
            "Changepoint (CUSUM): adds up small deviations from the recent level, a \
             cumulative sum, and flags when the sum passes a threshold, so a lasting shift \
             that no single bucket shows is caught."
        }
        "forecast" => {
            "Forecast (MSTL + ETS): splits the series into daily and weekly patterns and a \
             trend (MSTL), forecasts the trend by exponential smoothing (ETS), and flags a \
             value outside the forecast's interval. Slow: it runs after a short pause."
        }
        "learned" => {
            "Learned: decision trees trained on labelled incidents score each bucket with \
             the probability that it belongs to an incident; threshold is the cut above \
             which a bucket is an anomaly. It draws no band."
        }
        "limit" => "Fixed band: constant lower and upper limits (used by tests).",
        _ => "A detector: it decides, bucket by bucket, whether a value is unexpected.",
    }
}

/// What the detector's settings as stored mean, key by key, for the ones
/// a reader meets without a slider (`smooth`).
pub fn setting(key: &str, value: &str) -> Option<&'static str> {
    Some(match (key, value) {
        ("smooth", "asof") => {
            "smooth = asof: each bucket's band is averaged with the bands just before it, \
             as of that moment (what a live check can know)"
        }
        ("smooth", "centered") => {
            "smooth = centered: each band is averaged with bands before and after it \
             (looks ahead: for study, not live checks)"
        }
        ("smooth", "none") => "smooth = none: each bucket's band as computed, unsmoothed",
        _ => return None,
    })
}
