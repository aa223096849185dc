//! Reading the config text into its raw sections. Every syntax and shape
//! problem is collected (file, key path, reason and line), and whatever could
//! be read is kept, so that the value checks run on it too: one run of
//! `vigil config check` lists every problem of a file.

use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::raw::{RawConfig, RawMetric, RawSimulator, RawSource};
use super::ConfigError;

type Node<'a> = Spanned<DeValue<'a>>;

/// What could be read of a file, and the problems met reading it.
pub(super) struct Reading {
    pub raw: RawConfig,
    pub problems: Vec<ConfigError>,
    /// Names of `[[metrics]]` entries too broken to read: other sections may
    /// still name them without that being a second problem.
    pub unreadable_metric_names: Vec<String>,
}

/// The parsed document, kept to give value problems found later their line.
pub(super) struct Document<'a> {
    text: &'a str,
    root: Node<'a>,
}

impl<'a> Document<'a> {
    /// Where in the file a problem's key is (problems of keys the file does
    /// not have come last).
    pub fn position(&self, problem: &ConfigError) -> usize {
        match problem {
            ConfigError::Invalid { key, .. } => {
                span_of_key(&self.root, key).map_or(usize::MAX, |span| span.start)
            }
            _ => usize::MAX,
        }
    }

    /// Appends the line of `key`'s value to a problem that has none yet.
    pub fn locate(&self, problem: ConfigError) -> ConfigError {
        let ConfigError::Invalid { file, key, reason } = problem else {
            return problem;
        };
        let span = span_of_key(&self.root, &key);
        let reason = match span {
            Some(span) if !reason.contains("(line ") => {
                format!("{reason}{}", location(self.text, span.start))
            }
            _ => reason,
        };
        ConfigError::Invalid { file, key, reason }
    }
}

/// Parses `text` and reads every section it can; `Err` when nothing can be
/// read (not text, or a TOML syntax error: all of them are listed).
pub(super) fn read<'a>(
    text: &'a str,
    file: &str,
) -> Result<(Reading, Document<'a>), Vec<ConfigError>> {
    let invalid = |key: String, reason: String| ConfigError::Invalid {
        file: file.to_string(),
        key,
        reason,
    };
    if let Some(at) = text.find('\0') {
        // TOML would blame quoting or a comment; the file itself is the problem.
        return Err(vec![invalid(
            "(file)".into(),
            format!(
                "contains a NUL byte{}: a config file is UTF-8 text \
                 (was it saved as UTF-16, or is it not a config file?)",
                location(text, at)
            ),
        )]);
    }
    let (root, mut errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        errors.sort_by_key(|error| error.span().map_or(0, |span| span.start));
        return Err(errors
            .iter()
            .map(|error| {
                let at = error.span().map_or(0, |span| span.start);
                let message = error.message().trim();
                let key = match error.span() {
                    Some(span) if message == "duplicate key" => duplicate_key(&root, text, span),
                    _ => "(syntax)".to_string(),
                };
                invalid(key, one_line(&format!("{message}{}", location(text, at))))
            })
            .collect());
    }
    let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    let mut reader = Reader {
        text,
        file,
        problems: Vec::new(),
    };
    let mut raw = RawConfig::default();
    let mut unreadable_metric_names = Vec::new();
    let DeValue::Table(sections) = root.get_ref() else {
        unreachable!("a document is a table");
    };
    for (name, value) in sections {
        let name = name.get_ref().as_ref();
        match name {
            "source" => raw.source = reader.section::<RawSource>(value, name),
            "simulator" => raw.simulator = reader.section::<RawSimulator>(value, name),
            "schedule" => raw.schedule = reader.section(value, name),
            "alerts" => raw.alerts = reader.section(value, name),
            "telegram" => raw.telegram = reader.section(value, name),
            "detectors" => raw.detectors = reader.section(value, name),
            "links" => raw.links = reader.array(value, name, |_| ()),
            "silences" => raw.silences = reader.array(value, name, |_| ()),
            "heartbeat" => raw.heartbeat = reader.section(value, name),
            "web" => raw.web = reader.section(value, name),
            "experiments" => raw.experiments = reader.array(value, name, |_| ()),
            "group_watch" => raw.group_watch = reader.section(value, name),
            "state" => raw.state = reader.section(value, name),
            "report" => raw.report = reader.section(value, name),
            "dimensions" => raw.dimensions = reader.array(value, name, |_| ()),
            "metrics" => {
                raw.metrics = reader.array::<RawMetric>(value, name, |unread| {
                    let name = unread.as_table().and_then(|t| t.get("name"));
                    if let Some(name) = name.and_then(|n| n.get_ref().as_str()) {
                        unreadable_metric_names.push(name.to_string());
                    }
                });
            }
            _ => reader.problem(
                name.to_string(),
                format!(
                    "unknown section (expected source, metrics, dimensions, simulator, schedule, alerts, \
                     telegram, links, detectors, silences, heartbeat, web, experiments, group_watch, state or report){}",
                    location(text, value.span().start)
                ),
            ),
        }
    }
    Ok((
        Reading {
            raw,
            problems: reader.problems,
            unreadable_metric_names,
        },
        Document { text, root },
    ))
}

struct Reader<'t> {
    text: &'t str,
    file: &'t str,
    problems: Vec<ConfigError>,
}

impl Reader<'_> {
    fn problem(&mut self, key: String, reason: String) {
        self.problems.push(ConfigError::Invalid {
            file: self.file.to_string(),
            key: one_line(&key),
            reason: one_line(&reason),
        });
    }

    /// Each element of an array of tables, read on its own: a broken
    /// element is `None` so that the others keep their index.
    fn array<T: DeserializeOwned>(
        &mut self,
        value: &Node<'_>,
        name: &str,
        mut unreadable: impl FnMut(&DeValue<'_>),
    ) -> Vec<Option<T>> {
        let Some(items) = value.get_ref().as_array() else {
            self.problem(
                name.to_string(),
                format!(
                    "expected an array of tables, [[{name}]]{}",
                    location(self.text, value.span().start)
                ),
            );
            return Vec::new();
        };
        let mut read = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let entry = self.section::<T>(item, &format!("{name}[{index}]"));
            if entry.is_none() {
                unreadable(item.get_ref());
            }
            read.push(entry);
        }
        read
    }

    /// Deserializes `value` as `T`, reporting each value that does not fit
    /// and retrying without it, until it fits or a required key is missing.
    fn section<T: DeserializeOwned>(&mut self, value: &Node<'_>, key: &str) -> Option<T> {
        let mut current = value.clone();
        let mut removed: Vec<String> = Vec::new();
        // Each round removes one value, so the rounds are bounded by the file.
        loop {
            let error = match serde_path_to_error::deserialize::<_, T>(ValueDeserializer::from(
                current.clone(),
            )) {
                Ok(read) => return Some(read),
                Err(error) => error,
            };
            let segments: Vec<Segment> = error.path().iter().cloned().collect();
            let span = error
                .inner()
                .span()
                .or_else(|| node_at(&current, &segments).map(Spanned::span));
            // The path in the original text (indices shift as values are removed).
            let mut path = span
                .as_ref()
                .and_then(|span| path_of_span(value, span, String::new()))
                .unwrap_or_else(|| segments_path(&segments));
            let message = error.inner().message().trim().to_string();
            if let Some(field) = missing_field(&message) {
                path = join(&path, field);
                if !removed.contains(&path) {
                    self.problem(
                        join(key, &path),
                        format!(
                            "required but missing{}",
                            location(self.text, value.span().start)
                        ),
                    );
                }
                return None;
            }
            let full_key = join(key, &path);
            let reason = if is_secret(&full_key) {
                "expected a string (the value is not shown: it is a secret)".to_string()
            } else {
                plain_words(&message)
            };
            let at = span.map_or(value.span().start, |span| span.start);
            self.problem(full_key, format!("{reason}{}", location(self.text, at)));
            if segments.is_empty() || !remove(&mut current, &segments) {
                return None;
            }
            removed.push(path);
        }
    }
}

/// serde quotes the value it refused as written; each problem stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Keys whose values are secrets: never echoed, even when malformed.
fn is_secret(key: &str) -> bool {
    key.ends_with("password") || key.ends_with("token")
}

/// serde's type names in the words of the config file.
fn plain_words(message: &str) -> String {
    message
        .replace("expected u32", "expected a whole number >= 0")
        .replace("expected u64", "expected a whole number >= 0")
        .replace("expected i64", "expected a whole number")
        .replace("expected f64", "expected a number")
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field)
}

fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (_, true) => prefix.to_string(),
        (true, false) => key.to_string(),
        (false, false) if key.starts_with('[') => format!("{prefix}{key}"),
        (false, false) => format!("{prefix}.{key}"),
    }
}

fn segments_path(segments: &[Segment]) -> String {
    segments
        .iter()
        .fold(String::new(), |path, segment| match segment {
            Segment::Seq { index } => join(&path, &format!("[{index}]")),
            Segment::Map { key } => join(&path, key),
            Segment::Enum { .. } | Segment::Unknown => path,
        })
}

/// The value at a serde path.
fn node_at<'n, 'a>(node: &'n Node<'a>, segments: &[Segment]) -> Option<&'n Node<'a>> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(node);
    };
    let child = match (first, node.get_ref()) {
        (Segment::Seq { index }, DeValue::Array(items)) => items.get(*index)?,
        (Segment::Map { key }, DeValue::Table(table)) => table.get(key.as_str())?,
        _ => return None,
    };
    node_at(child, rest)
}

/// Removes the value at a serde path; false when there is none.
fn remove(node: &mut Node<'_>, segments: &[Segment]) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return false;
    };
    match (first, node.get_mut()) {
        (Segment::Seq { index }, DeValue::Array(items)) if rest.is_empty() => {
            let before = items.len();
            *items = items
                .iter()
                .enumerate()
                .filter(|(i, _)| i != index)
                .map(|(_, item)| item.clone())
                .collect();
            items.len() < before
        }
        (Segment::Map { key }, DeValue::Table(table)) if rest.is_empty() => {
            table.remove(key.as_str()).is_some()
        }
        (Segment::Seq { index }, DeValue::Array(items)) => items
            .get_mut(*index)
            .is_some_and(|child| remove(child, rest)),
        (Segment::Map { key }, DeValue::Table(table)) => table
            .get_mut(key.as_str())
            .is_some_and(|child| remove(child, rest)),
        _ => false,
    }
}

/// The key path (relative to `node`) of the key or value that spans `span`.
fn path_of_span(node: &Node<'_>, span: &Range<usize>, prefix: String) -> Option<String> {
    match node.get_ref() {
        DeValue::Table(table) => {
            for (key, value) in table {
                let path = join(&prefix, key.get_ref());
                if &key.span() == span {
                    return Some(path);
                }
                if let Some(found) = path_of_span(value, span, path) {
                    return Some(found);
                }
            }
        }
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let path = join(&prefix, &format!("[{index}]"));
                if let Some(found) = path_of_span(item, span, path) {
                    return Some(found);
                }
            }
        }
        _ => {}
    }
    (&node.span() == span).then_some(prefix)
}

/// The span of the value at a key path like `metrics[2].slices[0]`.
fn span_of_key(root: &Node<'_>, key: &str) -> Option<Range<usize>> {
    let mut node = root;
    for part in key.split('.') {
        let (name, indices) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            node = node.get_ref().as_table()?.get(name)?;
        }
        for index in indices.split('[').filter(|i| !i.is_empty()) {
            let index: usize = index.strip_suffix(']')?.parse().ok()?;
            node = node.get_ref().as_array()?.get(index)?;
        }
    }
    Some(node.span())
}

/// The full key path of a key written twice: the table that holds its first
/// writing (the nearest one before the second), then the key.
fn duplicate_key(root: &Spanned<DeTable<'_>>, text: &str, span: Range<usize>) -> String {
    let name = text
        .get(span.clone())
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    let root = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
    let mut best: Option<(usize, String)> = None;
    find_keys(&root, name, String::new(), &mut |start, path| {
        if start < span.start && best.as_ref().is_none_or(|(b, _)| start > *b) {
            best = Some((start, path));
        }
    });
    best.map_or_else(|| name.to_string(), |(_, path)| path)
}

fn find_keys(node: &Node<'_>, name: &str, prefix: String, found: &mut impl FnMut(usize, String)) {
    match node.get_ref() {
        DeValue::Table(table) => {
            for (key, value) in table {
                let path = join(&prefix, key.get_ref());
                if key.get_ref() == name {
                    found(key.span().start, path.clone());
                }
                find_keys(value, name, path, found);
            }
        }
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                find_keys(item, name, join(&prefix, &format!("[{index}]")), found);
            }
        }
        _ => {}
    }
}

/// ` (line L, column C)` of a byte offset.
pub(super) fn location(text: &str, at: usize) -> String {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" (line {line}, column {column})")
}
