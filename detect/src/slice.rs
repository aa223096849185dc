//! Which part of a metric a series is: `os=Android`. Read here, below both
//! the server and the browser, so a slice typed on the command line, in the
//! config or in a page field means the same thing everywhere.

use thiserror::Error;

/// One slice of a metric: the events whose `dimension` column equals `value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SliceKey {
    pub dimension: String,
    pub value: String,
}

/// A slice that is not `dimension=value`; the message says what is expected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("slice {0:?}: expected dimension=value, e.g. os=Android")]
pub struct BadSlice(pub String);

impl SliceKey {
    /// `os=Android`, with spaces around either side trimmed; both sides must
    /// be non-empty, and everything after the first `=` is the value.
    pub fn parse(text: &str) -> Result<SliceKey, BadSlice> {
        text.split_once('=')
            .map(|(dimension, value)| (dimension.trim(), value.trim()))
            .filter(|(dimension, value)| !dimension.is_empty() && !value.is_empty())
            .map(|(dimension, value)| SliceKey {
                dimension: dimension.to_string(),
                value: value.to_string(),
            })
            .ok_or_else(|| BadSlice(text.to_string()))
    }
}

impl std::fmt::Display for SliceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.dimension, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_are_trimmed_and_required() {
        let key = SliceKey::parse(" os = Android ").unwrap();
        assert_eq!(
            (key.dimension.as_str(), key.value.as_str()),
            ("os", "Android")
        );
        assert_eq!(SliceKey::parse("q=a=b").unwrap().value, "a=b");
        for bad in ["os=", "=Android", "os", "", " = "] {
            let error = SliceKey::parse(bad).unwrap_err().to_string();
            assert!(
                error.contains("expected dimension=value"),
                "{bad:?}: {error}"
            );
        }
    }
}
