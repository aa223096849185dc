//! The lab's URL: the detector with its parameters, the chart's range and
//! the moment an alert link points at live in the query string, so a view
//! can be shared and a reload opens what was on screen. A value the lab
//! cannot use is ignored *visibly*, by the rule every page follows
//! ([`url_query`]).

use detect::eval::tuning;
use detect::{DetectorSpec, DETECTOR_NAMES};

use crate::components::url_query::{self, shown, Ignored};
use crate::pages::alerts::query::{moment_text, parse_moment};

/// What `/metric/:name?…` asks for, besides the slice (the history's key).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabQuery {
    /// `detector=` with its defaults, then the parameters the URL sets.
    pub spec: Option<DetectorSpec>,
    /// The day around this moment, pointed at (an alert's link).
    pub at: Option<i64>,
    /// The chart's range (`from` inclusive, `to` exclusive).
    pub range: Option<(i64, i64)>,
}

/// A parameter the lab reads besides the detector's own.
const KNOWN: &str = "slice, at, from, to, detector and its parameters";

/// Why a URL pair is ignored: a key the lab does not read, or its value.
enum Refused {
    Unknown,
    Value(String),
}

impl LabQuery {
    /// The query from the URL's pairs; what is ignored comes back as notices.
    pub fn read<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Self, Vec<String>) {
        let pairs = url_query::pairs(pairs);
        let mut ignored = Ignored::default();
        let mut query = LabQuery::default();
        if let Some((_, name)) = pairs.iter().find(|(k, _)| *k == "detector") {
            match DetectorSpec::default_for(name) {
                Ok(spec) => query.spec = Some(spec),
                Err(_) => ignored.value(format!(
                    "detector {} is not one of {}",
                    shown(name),
                    DETECTOR_NAMES.join(", ")
                )),
            }
        }
        let (mut from, mut to) = (None, None);
        for (key, value) in pairs {
            let moment = || {
                parse_moment(value).ok_or_else(|| {
                    Refused::Value(format!(
                        "{key} must be a time like 2026-12-01T14:15 (UTC) or Unix seconds"
                    ))
                })
            };
            let outcome = match key {
                "slice" | "detector" => Ok(()),
                "at" => moment().map(|at| query.at = Some(at)),
                "from" => moment().map(|at| from = Some(at)),
                "to" => moment().map(|at| to = Some(at)),
                _ => query.set_knob(key, value),
            };
            match outcome {
                Ok(()) => {}
                Err(Refused::Unknown) => ignored.unknown(key, KNOWN),
                Err(Refused::Value(why)) => ignored.value(why),
            }
        }
        match (from, to) {
            (Some(from), Some(to)) if from < to => query.range = Some((from, to)),
            (None, None) => {}
            _ => ignored.value("from and to go together, from before to"),
        }
        (query, ignored.into_notices())
    }

    /// A parameter of the URL's detector; any other key is refused.
    fn set_knob(&mut self, key: &str, value: &str) -> Result<(), Refused> {
        let Some(spec) = &mut self.spec else {
            let any = DETECTOR_NAMES
                .iter()
                .any(|name| DetectorSpec::default_for(name).is_ok_and(|s| s.knob(key).is_some()));
            return Err(if any {
                Refused::Value(format!("{key} without detector= (parameters go with their detector, as in detector=iqr&a=3)"))
            } else {
                Refused::Unknown
            });
        };
        if spec.knob(key).is_none() {
            return Err(Refused::Value(format!(
                "{} is not a parameter of {} (it has {})",
                shown(key),
                spec.name(),
                knob_keys(spec)
            )));
        }
        let number = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                Refused::Value(format!("{key} must be a number, not {}", shown(value)))
            })?;
        *spec = checked_knob(spec, key, number).map_err(Refused::Value)?;
        Ok(())
    }

    /// The lab's URL for metric `name`: the slice, the moment or the range,
    /// the detector and every one of its parameters.
    pub fn href(&self, name: &str, slice: Option<&str>) -> String {
        let mut pairs = Vec::new();
        if let Some(slice) = slice {
            pairs.push(format!("slice={}", crate::routes::encode(slice)));
        }
        if let Some(at) = self.at {
            pairs.push(format!("at={}", moment_text(at)));
        }
        if let Some((from, to)) = self.range {
            pairs.push(format!("from={}", moment_text(from)));
            pairs.push(format!("to={}", moment_text(to)));
        }
        if let Some(spec) = &self.spec {
            pairs.push(format!("detector={}", spec.name()));
            for knob in tuning::knobs(spec) {
                if let Some(value) = spec.knob(knob.key) {
                    pairs.push(format!("{}={value}", knob.key));
                }
            }
        }
        let path = format!("/metric/{}", crate::routes::encode(name));
        if pairs.is_empty() {
            path
        } else {
            format!("{path}?{}", pairs.join("&"))
        }
    }
}

/// `spec` with knob `key` set to `value`, when the value is within what the
/// knob takes (the slider's range, or further where a search may go) and
/// the detector accepts it; else why not, in words.
pub fn checked_knob(spec: &DetectorSpec, key: &str, value: f64) -> Result<DetectorSpec, String> {
    let knob = tuning::knobs(spec)
        .into_iter()
        .find(|k| k.key == key)
        .ok_or_else(|| format!("{} has no parameter {key}", spec.name()))?;
    let top = knob.search_max.max(knob.max);
    if !(knob.min..=top).contains(&value) {
        return Err(format!(
            "{}: from {} to {top}, not {value}",
            knob.label, knob.min
        ));
    }
    let mut changed = spec.clone();
    tuning::set(&mut changed, key, value);
    changed
        .validate()
        .map_err(|error| format!("{}: {error}", knob.label))?;
    Ok(changed)
}

fn knob_keys(spec: &DetectorSpec) -> String {
    let keys: Vec<&str> = tuning::knobs(spec).iter().map(|k| k.key).collect();
    keys.join(", ")
}

/// Puts `href` in the address bar without a navigation: the router (and so
/// the page) is not re-run, and the back button keeps one entry per page.
#[cfg(feature = "hydrate")]
pub fn replace_url(href: &str) {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = history, js_name = replaceState)]
        fn replace_state(state: &JsValue, unused: &str, url: &str) -> Result<(), JsValue>;
    }
    // The router keeps no state of its own in the history entry.
    let _ = replace_state(&JsValue::NULL, "", href);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_lab_url_round_trips() {
        let (query, notices) = LabQuery::read([
            ("slice", "os=iOS"),
            ("detector", "iqr"),
            ("a", "5.6"),
            ("n", "23"),
            ("from", "2026-12-01T00:00"),
            ("to", "2026-12-02T00:00"),
        ]);
        assert_eq!(notices, Vec::<String>::new());
        let spec = query.spec.clone().unwrap();
        assert_eq!((spec.knob("a"), spec.knob("n")), (Some(5.6), Some(23.0)));
        assert_eq!(query.range, Some((1_796_083_200, 1_796_169_600)));
        let href = query.href("feed_views", Some("os=iOS"));
        assert_eq!(
            href,
            "/metric/feed_views?slice=os%3DiOS&from=2026-12-01T00:00&to=2026-12-02T00:00&detector=iqr&a=5.6&n=23"
        );
        let pairs: Vec<(String, String)> = href
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|p| p.split_once('=').unwrap())
            .map(|(k, v)| (k.to_string(), v.replace("%3D", "=")))
            .collect();
        let again = LabQuery::read(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(again, (query, vec![]));
    }

    #[test]
    fn bad_values_are_ignored_with_a_notice_each() {
        let (query, notices) = LabQuery::read([
            ("at", "abc"),
            ("state", "';DROP"),
            ("detector", "magic"),
            ("a", "3"),
        ]);
        assert_eq!(query, LabQuery::default());
        assert_eq!(
            notices,
            [
                "ignored: detector \"magic\" is not one of iqr, seasonal, seasonal_iqr, drop, changepoint, forecast, learned, limit",
                "ignored: at must be a time like 2026-12-01T14:15 (UTC) or Unix seconds",
                "ignored: unknown parameter \"state\" (this page reads slice, at, from, to, detector and its parameters)",
                "ignored: a without detector= (parameters go with their detector, as in detector=iqr&a=3)",
            ]
            .map(|n| n.replace(
                "iqr, seasonal, seasonal_iqr, drop, changepoint, forecast, learned, limit",
                &DETECTOR_NAMES.join(", ")
            ))
        );
        let (query, notices) = LabQuery::read([
            ("detector", "iqr"),
            ("a", "1000"),
            ("n", "x"),
            ("z", "2"),
            ("from", "2026-12-02T00:00"),
            ("to", "2026-12-01T00:00"),
        ]);
        assert_eq!(query.spec, DetectorSpec::default_for("iqr").ok());
        assert_eq!(query.range, None);
        assert_eq!(
            notices,
            [
                "ignored: a (band width in IQRs): from 0 to 100, not 1000",
                "ignored: n must be a number, not \"x\"",
                "ignored: \"z\" is not a parameter of iqr (it has a, n)",
                "ignored: from and to go together, from before to",
            ]
        );
    }

    #[test]
    fn a_knob_is_checked_against_its_range_and_the_detector() {
        let iqr = DetectorSpec::default_for("iqr").unwrap();
        assert_eq!(checked_knob(&iqr, "a", 15.7).unwrap().knob("a"), Some(15.7));
        let error = checked_knob(&iqr, "a", -5.0).unwrap_err();
        assert_eq!(error, "a (band width in IQRs): from 0 to 100, not -5");
        assert!(checked_knob(&iqr, "n", 97.0)
            .unwrap_err()
            .contains("from 2 to 96"));
    }
}
