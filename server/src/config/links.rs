//! `[[links]]`: dashboard links under alerts, whose URL can open the
//! dashboard at the alert's metric, slice and time.
//!
//! ```toml
//! [[links]]
//! metric = "*"                 # or one metric
//! title = "Grafana"
//! url = "https://grafana.example/d/abc/feed?from={from}&to={to}&var-metric={metric}&var-{slice_key}={slice_value}"
//! time_format = "epoch_ms"     # {from}/{to} as "epoch_ms" (default), "epoch_s" or "iso"
//! ```
//!
//! A template is parsed once, when the config is loaded (an unknown
//! placeholder or an unbalanced brace is a config error), and filled for each
//! alert with every value percent-encoded. `{{` and `}}` are literal braces.

use serde::Deserialize;

use super::http_url;
use crate::metrics::model::{SliceKey, BUCKET_SECONDS};

/// How far before the alert's start `{from}` is: enough of the normal level
/// before it to see the change.
pub const CONTEXT_BEFORE_SECS: i64 = 6 * 3600;

/// How `{from}` and `{to}` are written.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Milliseconds since 1970 (Grafana's `from`/`to`).
    #[default]
    EpochMs,
    /// Seconds since 1970.
    EpochS,
    /// RFC 3339 in UTC, `2026-12-06T09:15:00Z` (Superset, Redash).
    Iso,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    Metric,
    SliceKey,
    SliceValue,
    From,
    To,
}

const PLACEHOLDERS: [(&str, Placeholder); 5] = [
    ("metric", Placeholder::Metric),
    ("slice_key", Placeholder::SliceKey),
    ("slice_value", Placeholder::SliceValue),
    ("from", Placeholder::From),
    ("to", Placeholder::To),
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

/// A link URL with placeholders, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTemplate {
    parts: Vec<Part>,
}

/// What a link is filled with for one alert.
#[derive(Clone, Copy, Debug)]
pub struct LinkAlert<'a> {
    pub metric: &'a str,
    /// `None` for a whole-metric alert: `{slice_key}` and `{slice_value}` are empty.
    pub slice: Option<&'a SliceKey>,
    /// Unix seconds.
    pub from: i64,
    pub to: i64,
}

impl<'a> LinkAlert<'a> {
    /// The window a link opens for an alert that started at the bucket
    /// `started_at` and is now at `bucket` (firing, or the bucket it resolved
    /// at): from [`CONTEXT_BEFORE_SECS`] before the start to the end of `bucket`.
    pub fn around(
        metric: &'a str,
        slice: Option<&'a SliceKey>,
        started_at: i64,
        bucket: i64,
    ) -> Self {
        Self {
            metric,
            slice,
            from: started_at - CONTEXT_BEFORE_SECS,
            to: bucket.max(started_at) + BUCKET_SECONDS,
        }
    }
}

impl LinkTemplate {
    /// Parses `{metric}`, `{slice_key}`, `{slice_value}`, `{from}`, `{to}`
    /// and the literal braces `{{`, `}}`; the error says what and where
    /// (1-based character column).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        let column = |byte: usize| text[..byte].chars().count() + 1;
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                    "`}}` at column {} closes no placeholder (write `}}}}` for a literal brace)",
                    column(at)
                ))
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest
                        .find(['}', '{'])
                        .filter(|&end| rest[end..].starts_with('}'))
                    else {
                        return Err(format!(
                            "`{{` at column {} is not closed (write `{{{{` for a literal brace)",
                            column(at)
                        ));
                    };
                    let name = &rest[..end];
                    let Some((_, placeholder)) = PLACEHOLDERS.iter().find(|(n, _)| *n == name)
                    else {
                        return Err(format!(
                            "unknown placeholder {{{}}} at column {} (known: {})",
                            name.escape_debug(),
                            column(at),
                            PLACEHOLDERS
                                .iter()
                                .map(|(n, _)| format!("{{{n}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Value(*placeholder));
                    // Skip the name and its closing brace.
                    for _ in 0..=name.chars().count() {
                        chars.next();
                    }
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// The URL for one alert; each value percent-encoded.
    pub fn fill(&self, alert: &LinkAlert<'_>, format: TimeFormat) -> String {
        self.render(|placeholder| {
            let value = match placeholder {
                Placeholder::Metric => alert.metric.to_string(),
                Placeholder::SliceKey => alert.slice.map_or("", |s| &s.dimension).to_string(),
                Placeholder::SliceValue => alert.slice.map_or("", |s| &s.value).to_string(),
                Placeholder::From => time(alert.from, format),
                Placeholder::To => time(alert.to, format),
            };
            // Encoded, so a value cannot end its query parameter or path segment.
            app::routes::encode(&value)
        })
    }

    /// Whether the URL is one vigil can show: every placeholder stands for
    /// a plain value here, so only the template's own text is judged.
    pub fn check(&self) -> Result<(), http_url::UrlProblem> {
        http_url::check(&self.render(|_| "x".to_string()))
    }

    fn render(&self, mut value: impl FnMut(Placeholder) -> String) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Value(placeholder) => value(*placeholder),
            })
            .collect()
    }
}

fn time(unix_secs: i64, format: TimeFormat) -> String {
    match format {
        TimeFormat::EpochMs => (unix_secs * 1000).to_string(),
        TimeFormat::EpochS => unix_secs.to_string(),
        TimeFormat::Iso => chrono::DateTime::from_timestamp(unix_secs, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default(),
    }
}

/// A BI dashboard or chart link shown under alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DashboardLink {
    /// `None`: under every metric's alerts.
    pub metric: Option<String>,
    pub title: String,
    pub url: LinkTemplate,
    pub time_format: TimeFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    metric: String,
    title: String,
    url: String,
    #[serde(default)]
    time_format: TimeFormat,
}

/// Checks each `[[links]]` entry; `known` says whether a metric exists;
/// problems are (key path, reason).
pub(super) fn validate(
    raw: Vec<Option<RawLink>>,
    known: impl Fn(&str) -> bool,
    problems: &mut Vec<(String, String)>,
) -> Vec<DashboardLink> {
    let mut links = Vec::new();
    for (index, link) in raw.into_iter().enumerate() {
        let Some(link) = link else { continue };
        let mut problem = |key: &str, reason: String| {
            problems.push((format!("links[{index}].{key}"), reason));
        };
        if link.metric != "*" && !known(&link.metric) {
            problem(
                "metric",
                format!(
                    "no metric named {:?} (use \"*\" for every metric)",
                    link.metric
                ),
            );
        }
        let url = LinkTemplate::parse(&link.url).and_then(|url| {
            url.check().map(|()| url).map_err(|url_problem| {
                url_problem.reason("give the dashboard's address only, its users log in themselves")
            })
        });
        if link.title.trim().is_empty() {
            problem("title", "must not be empty".into());
        }
        match url {
            Ok(url) => links.push(DashboardLink {
                metric: (link.metric != "*").then_some(link.metric),
                title: link.title,
                url,
                time_format: link.time_format,
            }),
            Err(reason) => problem("url", reason),
        }
    }
    links
}

#[cfg(test)]
#[path = "links_tests.rs"]
mod tests;
