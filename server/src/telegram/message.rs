//! Alert messages for Telegram: HTML formatting within Telegram's length
//! limits, the delivery plan (photo caption, or photo plus follow-up text) and
//! the inline keyboard whose buttons come back as callback queries.
//!
//! Telegram counts a caption (≤ 1024) or a text (≤ 4096) after entity parsing:
//! tags do not count, `&amp;` counts as one character. We measure the visible
//! text in UTF-16 code units (what Telegram uses for entity offsets; never less
//! than the character count) and stay a safety margin below the limits.

use std::fmt::Write as _;

use app::format::{duration, local_time, number, percent, Digits};

use crate::evaluation::SliceChange;
use crate::metrics::model::SliceKey;

/// Telegram's limit for a photo caption, after entity parsing.
pub const CAPTION_LIMIT: usize = 1024;
/// Telegram's limit for a message text, after entity parsing.
pub const TEXT_LIMIT: usize = 4096;
/// What we allow ourselves in a caption (a margin below [`CAPTION_LIMIT`]).
pub const CAPTION_BUDGET: usize = CAPTION_LIMIT - 24;
/// What we allow ourselves in a text message (a margin below [`TEXT_LIMIT`]).
pub const TEXT_BUDGET: usize = TEXT_LIMIT - 96;

const ELLIPSIS: char = '…';

/// Whether an alert is open or over.
#[derive(Clone, Debug, PartialEq)]
pub enum AlertState {
    /// Anomalous for `for_secs` seconds so far.
    Firing { for_secs: i64 },
    /// Back to normal after `lasted_secs` seconds.
    Resolved { lasted_secs: i64 },
    /// Never was: the rows of its bucket arrived late and put it in band
    /// (`note` says so).
    Withdrawn { note: String },
}

/// Everything one alert message says. Plain text everywhere: escaping is done here.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertMessage {
    /// Metric identifier, e.g. `feed_views`.
    pub metric_name: String,
    /// Human title, e.g. "Feed views".
    pub metric_title: String,
    pub slice: Option<SliceKey>,
    /// Start of the anomalous bucket (unix seconds).
    pub bucket: i64,
    /// Local time zone of the recipients, as a fixed offset from UTC.
    pub utc_offset_minutes: i32,
    pub value: Option<f64>,
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// `(value - expected) / |expected|`.
    pub deviation: Option<f64>,
    /// Relative change against the same bucket yesterday.
    pub vs_yesterday: Option<f64>,
    /// Relative change against the same bucket a week ago.
    pub vs_week_ago: Option<f64>,
    pub detector: String,
    /// Link to the metric's page in vigil.
    pub page_url: String,
    /// BI dashboards: (title, url).
    pub dashboards: Vec<(String, String)>,
    pub state: AlertState,
    /// Drill-down, cause, lateness and the rest of a group.
    pub extra: MessageExtras,
}

/// What an alert message may say beyond its own numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MessageExtras {
    /// Evaluated late (catch-up after downtime).
    pub late: bool,
    /// Slices contributing most to the deviation.
    pub drilldown: Vec<SliceChange>,
    /// Slices held back with the metric's alert that the drill-down does
    /// not name.
    pub held_back_unlisted: usize,
    /// Metrics it depends on that fire too (the probable cause).
    pub caused_by: Vec<String>,
    /// The learned detector's reason, in words.
    pub why: Option<String>,
    /// The other alerts announced in the same message.
    pub group: Vec<GroupLine>,
}

/// One more alert in a grouped message.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupLine {
    pub metric_title: String,
    pub slice: Option<SliceKey>,
    pub value: Option<f64>,
    pub deviation: Option<f64>,
    pub caused_by: Vec<String>,
    pub resolved: bool,
}

/// What to send for one alert.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// The chart with the full text as its caption.
    Photo { caption: String },
    /// The chart with a short caption, then the full text as a reply to it.
    PhotoThenText { caption: String, text: String },
}

/// Plans the delivery of an alert: the full text as the caption when it fits,
/// otherwise a short caption and the full text (truncated to the text limit) as
/// a follow-up message.
pub fn plan_delivery(alert: &AlertMessage) -> Delivery {
    let full = format_alert(alert);
    if visible_len(&full) <= CAPTION_BUDGET {
        return Delivery::Photo { caption: full };
    }
    Delivery::PhotoThenText {
        caption: truncate_html(&format_short(alert), CAPTION_BUDGET),
        text: truncate_html(&full, TEXT_BUDGET),
    }
}

/// The full alert in Telegram HTML (not truncated).
pub fn format_alert(alert: &AlertMessage) -> String {
    let mut out = headline(alert);
    if let Some(slice) = &alert.slice {
        let _ = write!(
            out,
            "\nSlice: <b>{} = {}</b>",
            escape_html(&slice.dimension),
            escape_html(&slice.value)
        );
    }
    let _ = write!(
        out,
        "\nBucket: {}",
        escape_html(&local_time(alert.bucket, alert.utc_offset_minutes))
    );
    let _ = write!(
        out,
        "\nValue: <b>{}</b>",
        number(alert.value, Digits::Exact)
    );
    let _ = write!(out, "\nExpected: {}", number(alert.expected, Digits::Exact));
    if alert.lower.is_some() || alert.upper.is_some() {
        let _ = write!(
            out,
            " (normal {} – {})",
            number(alert.lower, Digits::Exact),
            number(alert.upper, Digits::Exact)
        );
    }
    if let Some(d) = alert.deviation.filter(|d| d.is_finite()) {
        let _ = write!(
            out,
            "\nDeviation: <b>{}</b> vs expected",
            percent(d, Digits::Exact)
        );
    }
    let mut comparisons = Vec::new();
    if let Some(d) = alert.vs_yesterday.filter(|d| d.is_finite()) {
        comparisons.push(format!("{} vs yesterday", percent(d, Digits::Exact)));
    }
    if let Some(d) = alert.vs_week_ago.filter(|d| d.is_finite()) {
        comparisons.push(format!("{} vs a week ago", percent(d, Digits::Exact)));
    }
    if !comparisons.is_empty() {
        let _ = write!(out, "\n{}", comparisons.join(" · "));
    }
    write_drilldown(
        &mut out,
        &alert.extra.drilldown,
        alert.extra.held_back_unlisted,
    );
    if !alert.extra.caused_by.is_empty() {
        let _ = write!(
            out,
            "\nProbable cause: <b>{}</b> fires too",
            escape_html(&alert.extra.caused_by.join(", "))
        );
    }
    let _ = write!(out, "\nDetector: {}", escape_html(&alert.detector));
    if let Some(why) = &alert.extra.why {
        let _ = write!(out, " ({})", escape_html(why));
    }
    let _ = write!(out, "\n{}", state_line(&alert.state));
    if alert.extra.late {
        out.push_str(" · evaluated late (a catch-up after downtime, or rows that arrived late)");
    }
    write_group(&mut out, &alert.extra.group);
    let mut links = Vec::new();
    if !alert.page_url.is_empty() {
        links.push(link("Open in vigil", &alert.page_url));
    }
    for (title, url) in &alert.dashboards {
        links.push(link(title, url));
    }
    if !links.is_empty() {
        let _ = write!(out, "\n{}", links.join(" · "));
    }
    out
}

/// `Top slices: os = Android −75.0 % (75 % of the change) · ...`, then how
/// many more slices are held back with the metric (one line however many:
/// the caption stays within Telegram's 1,024 characters).
fn write_drilldown(out: &mut String, drilldown: &[SliceChange], held_back_unlisted: usize) {
    if drilldown.is_empty() {
        // A metric whose alert is open but whose own point is back in band
        // has no drill-down, and may still hold slices back.
        if held_back_unlisted > 0 {
            let _ = write!(
                out,
                "\nSlices held back with it: {held_back_unlisted} (not alerts of their own)"
            );
        }
        return;
    }
    out.push_str("\nTop slices:");
    for change in drilldown {
        let _ = write!(
            out,
            "\n  • {} = {}: {} → {}",
            escape_html(&change.slice.dimension),
            escape_html(&change.slice.value),
            number(Some(change.expected), Digits::Exact),
            number(Some(change.value), Digits::Exact),
        );
        if let Some(c) = change.change.filter(|c| c.is_finite()) {
            let _ = write!(out, " ({})", percent(c, Digits::Exact));
        }
        if let Some(share) = change.share.filter(|s| s.is_finite()) {
            let _ = write!(out, ", {:.0} % of the change", share * 100.0);
        }
    }
    if held_back_unlisted > 0 {
        let _ = write!(
            out,
            "\n  … and {held_back_unlisted} more held back with it (not alerts of their own)"
        );
    }
}

/// Lines of a group written out at most: the ones that moved most (the
/// group comes ordered by deviation); a check over thousands of slices may
/// group hundreds, and a message listing them all would be cut mid-line.
pub const MAX_GROUP_LINES: usize = 15;

/// `Also firing (2):` and one line per other alert of the message, at most
/// [`MAX_GROUP_LINES`], then how many more.
fn write_group(out: &mut String, group: &[GroupLine]) {
    if group.is_empty() {
        return;
    }
    let firing = group.iter().filter(|g| !g.resolved).count();
    let _ = write!(
        out,
        "\nAlso in this alert ({} firing, {} resolved):",
        firing,
        group.len() - firing
    );
    for line in group.iter().take(MAX_GROUP_LINES) {
        let icon = if line.resolved { "✅" } else { "🔴" };
        let _ = write!(out, "\n  {icon} {}", escape_html(&line.metric_title));
        if let Some(slice) = &line.slice {
            let _ = write!(
                out,
                " [{} = {}]",
                escape_html(&slice.dimension),
                escape_html(&slice.value)
            );
        }
        let _ = write!(out, ": {}", number(line.value, Digits::Exact));
        if let Some(d) = line.deviation.filter(|d| d.is_finite()) {
            let _ = write!(out, " ({})", percent(d, Digits::Exact));
        }
        if !line.caused_by.is_empty() {
            let _ = write!(
                out,
                ", caused by {}",
                escape_html(&line.caused_by.join(", "))
            );
        }
    }
    if let Some(more) = group.len().checked_sub(MAX_GROUP_LINES).filter(|n| *n > 0) {
        let _ = write!(out, "\n  … and {more} more (all on the alerts page)");
    }
}

/// The short caption used when the full text goes to a follow-up message.
pub fn format_short(alert: &AlertMessage) -> String {
    let mut out = headline(alert);
    if let Some(slice) = &alert.slice {
        let _ = write!(
            out,
            "\n{} = {}",
            escape_html(&slice.dimension),
            escape_html(&slice.value)
        );
    }
    let _ = write!(
        out,
        "\nValue: <b>{}</b> (expected {})",
        number(alert.value, Digits::Exact),
        number(alert.expected, Digits::Exact)
    );
    if let Some(d) = alert.deviation.filter(|d| d.is_finite()) {
        let _ = write!(out, ", {}", percent(d, Digits::Exact));
    }
    let _ = write!(out, "\n{}", state_line(&alert.state));
    if !alert.extra.group.is_empty() {
        let _ = write!(
            out,
            "\n+ {} more in this alert (details below)",
            alert.extra.group.len()
        );
    }
    out
}

fn headline(alert: &AlertMessage) -> String {
    let icon = match alert.state {
        AlertState::Firing { .. } => "🔴",
        AlertState::Resolved { .. } | AlertState::Withdrawn { .. } => "✅",
    };
    format!(
        "{icon} <b>{}</b> <code>{}</code>",
        escape_html(&alert.metric_title),
        escape_html(&alert.metric_name)
    )
}

fn state_line(state: &AlertState) -> String {
    match state {
        AlertState::Firing { for_secs } => format!("Firing for {}", duration(*for_secs)),
        AlertState::Resolved { lasted_secs } => {
            format!("Resolved after {}", duration(*lasted_secs))
        }
        AlertState::Withdrawn { note } => escape_html(&upper_first(note)),
    }
}

/// `note` with its first letter in upper case.
fn upper_first(note: &str) -> String {
    let mut chars = note.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// `<a href="url">title</a>`, both escaped.
pub fn link(title: &str, url: &str) -> String {
    format!(
        "<a href=\"{}\">{}</a>",
        escape_attr(url),
        escape_html(title)
    )
}

/// Escapes text for Telegram HTML: `&`, `<`, `>`.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (also `"`).
fn escape_attr(s: &str) -> String {
    escape_html(s).replace('"', "&quot;")
}

/// One lexical piece of Telegram HTML.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    /// `<b>`, `<a href="...">`: the tag name and its raw text.
    Open(&'a str, &'a str),
    /// `</b>`.
    Close(&'a str, &'a str),
    /// Visible text (a character or an entity) and its UTF-16 length.
    Text(&'a str, usize),
}

fn tokenize(html: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let c = rest.chars().next().unwrap_or('\0');
        if c == '<' {
            if let Some(end) = rest.find('>') {
                let raw = &rest[..=end];
                let inner = &raw[1..raw.len() - 1];
                let (closing, body) = match inner.strip_prefix('/') {
                    Some(b) => (true, b),
                    None => (false, inner),
                };
                let name_end = body
                    .find(|ch: char| ch.is_whitespace())
                    .unwrap_or(body.len());
                let name = &body[..name_end];
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                {
                    tokens.push(if closing {
                        Token::Close(name, raw)
                    } else {
                        Token::Open(name, raw)
                    });
                    i += raw.len();
                    continue;
                }
            }
        } else if c == '&' {
            if let Some(units) = entity_len(rest) {
                let end = rest.find(';').map_or(rest.len(), |e| e + 1);
                tokens.push(Token::Text(&rest[..end], units));
                i += end;
                continue;
            }
        }
        let len = c.len_utf8();
        tokens.push(Token::Text(&rest[..len], c.len_utf16()));
        i += len;
    }
    tokens
}

/// If `s` starts with a complete entity (`&amp;`, `&#128512;`, `&#x1F600;`),
/// the UTF-16 length of what it stands for.
fn entity_len(s: &str) -> Option<usize> {
    let end = s
        .char_indices()
        .take(12)
        .find(|&(_, c)| c == ';')
        .map(|(i, _)| i)?;
    let body = &s[1..end];
    if let Some(num) = body.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code).map(char::len_utf16);
    }
    (!body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric())).then_some(1)
}

/// The length Telegram counts: visible text after removing tags and decoding
/// entities, in UTF-16 code units.
pub fn visible_len(html: &str) -> usize {
    tokenize(html)
        .iter()
        .map(|t| match t {
            Token::Text(_, units) => *units,
            _ => 0,
        })
        .sum()
}

/// Cuts `html` so its visible length is at most `limit`, never inside a tag or
/// an entity, appending `…` and closing the tags left open. Unchanged if it fits.
pub fn truncate_html(html: &str, limit: usize) -> String {
    let tokens = tokenize(html);
    let total: usize = tokens
        .iter()
        .map(|t| match t {
            Token::Text(_, u) => *u,
            _ => 0,
        })
        .sum();
    if total <= limit {
        return html.to_string();
    }
    let budget = limit.saturating_sub(ELLIPSIS.len_utf16());
    let mut out = String::with_capacity(html.len().min(limit * 4 + 64));
    let mut open: Vec<&str> = Vec::new();
    let mut used = 0;
    for token in tokens {
        match token {
            Token::Open(name, raw) => {
                open.push(name);
                out.push_str(raw);
            }
            Token::Close(name, raw) => {
                if let Some(pos) = open.iter().rposition(|n| *n == name) {
                    open.truncate(pos);
                }
                out.push_str(raw);
            }
            Token::Text(raw, units) => {
                if used + units > budget {
                    break;
                }
                used += units;
                out.push_str(raw);
            }
        }
    }
    if limit >= ELLIPSIS.len_utf16() {
        out.push(ELLIPSIS);
    }
    for name in open.iter().rev() {
        let _ = write!(out, "</{name}>");
    }
    out
}

#[cfg(test)]
mod tests;
