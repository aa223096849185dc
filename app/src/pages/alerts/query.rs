//! `/alerts`'s URL: the filters and the page live in the query string, so a
//! view can be shared and survives a reload. A value the page cannot use is
//! ignored *visibly*, by the rule every page follows ([`url_query`]).

use chrono::{DateTime, NaiveDateTime};

use crate::api::{AlertFilter, AlertState, MetricSummary};
use crate::components::url_query::{self, shown, Ignored};

/// The "Started" choices, in hours.
pub const SINCE_CHOICES: [(u32, &str); 3] = [
    (24, "In the last 24 hours"),
    (168, "In the last 7 days"),
    (720, "In the last 30 days"),
];

/// The parameters the page reads.
const KNOWN: &str = "metric, state, since, at, page";

/// What `/alerts?…` asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertQuery {
    pub filter: AlertFilter,
    /// 1-based.
    pub page: u32,
}

impl AlertQuery {
    /// The query from the URL's pairs; what is ignored comes back as notices.
    pub fn read<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        metrics: &[MetricSummary],
    ) -> (Self, Vec<String>) {
        let mut query = AlertQuery {
            page: 1,
            ..AlertQuery::default()
        };
        let mut ignored = Ignored::default();
        for (key, value) in url_query::pairs(pairs) {
            match query.set(key, value, metrics) {
                Ok(true) => {}
                Ok(false) => ignored.unknown(key, KNOWN),
                Err(why) => ignored.value(why),
            }
        }
        (query, ignored.into_notices())
    }

    /// Takes `key`'s value; `Ok(false)` for a key the page does not read.
    fn set(&mut self, key: &str, value: &str, metrics: &[MetricSummary]) -> Result<bool, String> {
        match key {
            "metric" => {
                if !metrics.iter().any(|m| m.name == value) {
                    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
                    return Err(format!(
                        "metric {} is not configured (the metrics are {})",
                        shown(value),
                        names.join(", ")
                    ));
                }
                self.filter.metric = Some(value.to_string());
            }
            "state" => {
                let state = value
                    .parse::<AlertState>()
                    .map_err(|_| "state must be firing or resolved".to_string())?;
                self.filter.state = Some(state);
            }
            "since" => {
                let hours = value
                    .parse::<u32>()
                    .ok()
                    .filter(|h| SINCE_CHOICES.iter().any(|(c, _)| c == h))
                    .ok_or("since must be 24, 168 or 720 (hours)")?;
                self.filter.since_hours = Some(hours);
            }
            "at" => {
                let at = parse_moment(value)
                    .ok_or("at must be a time like 2026-12-01T14:15 (UTC) or Unix seconds")?;
                self.filter.until = Some(at);
            }
            "page" => {
                self.page = value
                    .parse::<u32>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or("page must be a whole number from 1")?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// This query's URL; defaults are left out.
    pub fn href(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(metric) = &self.filter.metric {
            pairs.push(format!("metric={}", crate::routes::encode(metric)));
        }
        if let Some(state) = self.filter.state {
            pairs.push(format!("state={state}"));
        }
        if let Some(hours) = self.filter.since_hours {
            pairs.push(format!("since={hours}"));
        }
        if let Some(at) = self.filter.until {
            pairs.push(format!("at={}", moment_text(at)));
        }
        if self.page > 1 {
            pairs.push(format!("page={}", self.page));
        }
        if pairs.is_empty() {
            "/alerts".to_string()
        } else {
            format!("/alerts?{}", pairs.join("&"))
        }
    }

    /// The same filter on another page.
    pub fn on_page(&self, page: u32) -> Self {
        AlertQuery {
            filter: self.filter.clone(),
            page,
        }
    }

    /// Another filter, from its first page.
    pub fn with_filter(&self, change: impl FnOnce(&mut AlertFilter)) -> Self {
        let mut filter = self.filter.clone();
        change(&mut filter);
        AlertQuery { filter, page: 1 }
    }
}

/// `2026-12-01T14:15` (seconds, a space for the `T` and a trailing `Z` are
/// accepted too), in UTC; or Unix seconds.
pub fn parse_moment(text: &str) -> Option<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return DateTime::from_timestamp(seconds, 0).map(|_| seconds);
    }
    let text = text.trim_end_matches('Z').replacen(' ', "T", 1);
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(&text, format).ok())
        .map(|moment| moment.and_utc().timestamp())
}

/// A moment as the URL carries it: `2026-12-01T14:15`, to the second when
/// it has seconds.
pub fn moment_text(at: i64) -> String {
    let Some(moment) = DateTime::from_timestamp(at, 0) else {
        return at.to_string();
    };
    if at % 60 == 0 {
        moment.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        moment.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Vec<MetricSummary> {
        vec![MetricSummary {
            name: "feed_views".into(),
            title: "Feed views".into(),
            slices: vec!["os".into()],
            measure: detect::alerting::Measure::Count,
        }]
    }

    #[test]
    fn a_good_query_round_trips_through_its_url() {
        let (query, notices) = AlertQuery::read(
            [
                ("metric", "feed_views"),
                ("state", "firing"),
                ("since", "168"),
                ("at", "2026-12-01T14:15"),
                ("page", "3"),
            ],
            &metrics(),
        );
        assert_eq!(notices, Vec::<String>::new());
        assert_eq!(query.page, 3);
        assert_eq!(query.filter.until, Some(1_796_134_500));
        assert_eq!(
            query.href(),
            "/alerts?metric=feed_views&state=firing&since=168&at=2026-12-01T14:15&page=3"
        );
        assert_eq!(
            query.on_page(1).href(),
            "/alerts?metric=feed_views&state=firing&since=168&at=2026-12-01T14:15"
        );
        let reset = query.with_filter(|f| f.state = None);
        assert_eq!(reset.page, 1);
        assert_eq!(
            reset.href(),
            "/alerts?metric=feed_views&since=168&at=2026-12-01T14:15"
        );
    }

    #[test]
    fn bad_values_are_ignored_with_a_notice_each() {
        let (query, notices) = AlertQuery::read(
            [
                ("at", "abc"),
                ("state", "';DROP"),
                ("page", "0"),
                ("since", "5"),
                ("metric", "nope"),
                ("colour", "red"),
                ("page", ""),
            ],
            &metrics(),
        );
        assert_eq!(query, AlertQuery::read([], &metrics()).0);
        assert_eq!(
            notices,
            [
                "ignored: at must be a time like 2026-12-01T14:15 (UTC) or Unix seconds",
                "ignored: state must be firing or resolved",
                "ignored: page must be a whole number from 1",
                "ignored: since must be 24, 168 or 720 (hours)",
                "ignored: metric \"nope\" is not configured (the metrics are feed_views)",
                "ignored: unknown parameter \"colour\" (this page reads metric, state, since, at, page)",
            ]
        );
    }

    #[test]
    fn moments_read_in_several_spellings() {
        let at = Some(1_796_134_500);
        for text in [
            "2026-12-01T14:15",
            "2026-12-01 14:15",
            "2026-12-01T14:15:00Z",
            "1796134500",
        ] {
            assert_eq!(parse_moment(text), at, "{text}");
        }
        assert_eq!(parse_moment("2026-13-01T14:15"), None);
        assert_eq!(moment_text(1_796_134_500), "2026-12-01T14:15");
        assert_eq!(moment_text(1_796_134_501), "2026-12-01T14:15:01");
    }
}
