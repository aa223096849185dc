//! Silences: what one covers and when it is in force. A muted notification
//! is still recorded (the alert exists); it is just not sent.

use crate::SliceKey;

/// What a silence covers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "scope", rename_all = "snake_case"))]
pub enum SilenceScope {
    /// Every metric and slice.
    All,
    /// A metric, whole and all its slices.
    Metric { metric: String },
    /// One slice of a metric (or the whole metric only, with `slice: None`).
    Slice {
        metric: String,
        slice: Option<SliceKey>,
    },
}

impl SilenceScope {
    pub fn covers(&self, metric: &str, slice: Option<&SliceKey>) -> bool {
        match self {
            SilenceScope::All => true,
            SilenceScope::Metric { metric: m } => m == metric,
            SilenceScope::Slice {
                metric: m,
                slice: s,
            } => m == metric && s.as_ref() == slice,
        }
    }
}

/// A silence: notifications in its scope are muted until `until` (unix seconds)
/// unless it was ended earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Silence {
    pub id: i64,
    pub scope: SilenceScope,
    pub until: i64,
    pub created_by: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

impl Silence {
    pub fn is_active(&self, now: i64) -> bool {
        self.created_at <= now && now < self.until && self.ended_at.is_none_or(|end| now < end)
    }
}

/// Whether any of `silences` mutes this series at `now`.
pub fn is_muted(silences: &[Silence], metric: &str, slice: Option<&SliceKey>, now: i64) -> bool {
    silences
        .iter()
        .any(|s| s.is_active(now) && s.scope.covers(metric, slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_what_they_say() {
        let android = SliceKey {
            dimension: "os".into(),
            value: "Android".into(),
        };
        let ios = SliceKey {
            dimension: "os".into(),
            value: "iOS".into(),
        };
        let metric = SilenceScope::Metric {
            metric: "ctr".into(),
        };
        let slice = SilenceScope::Slice {
            metric: "ctr".into(),
            slice: Some(android.clone()),
        };
        assert!(SilenceScope::All.covers("x", Some(&ios)));
        assert!(metric.covers("ctr", None) && metric.covers("ctr", Some(&ios)));
        assert!(!metric.covers("views", None));
        assert!(slice.covers("ctr", Some(&android)));
        assert!(!slice.covers("ctr", Some(&ios)) && !slice.covers("ctr", None));
        let ended = Silence {
            id: 1,
            scope: SilenceScope::All,
            until: 100,
            created_by: "a".into(),
            created_at: 0,
            ended_at: Some(50),
        };
        assert!(ended.is_active(49) && !ended.is_active(50) && !ended.is_active(100));
    }
}
