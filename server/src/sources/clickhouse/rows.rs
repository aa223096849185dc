//! Rows as they travel over the wire (RowBinary): one struct per table, fields
//! named exactly like the columns (the `clickhouse` crate builds the INSERT's
//! column list from them) and typed like the DDL in [`super::ddl`].
//!
//! Event rows borrow their strings from the batch: a simulator batch of 100k
//! rows is serialised without copying a single city name.

use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::events::{FeedAction, Incident, IncidentKind, MessageAction};

/// Why an event cannot be stored: ClickHouse `DateTime` is unsigned 32-bit seconds.
#[derive(Debug, thiserror::Error)]
#[error("time {time} is outside ClickHouse DateTime (1970-01-01 .. 2106-02-07)")]
pub struct TimeOutOfRange {
    pub time: i64,
}

pub fn datetime(time: i64) -> Result<u32, TimeOutOfRange> {
    u32::try_from(time).map_err(|_| TimeOutOfRange { time })
}

#[derive(Row, Serialize)]
pub struct FeedRow<'a> {
    pub user_id: u32,
    pub post_id: u32,
    pub action: &'a str,
    pub time: u32,
    pub gender: u8,
    pub age: u8,
    pub country: &'a str,
    pub city: &'a str,
    pub os: &'a str,
    pub source: &'a str,
    pub exp_group: u8,
}

impl<'a> FeedRow<'a> {
    pub fn new(event: &'a FeedAction) -> Result<Self, TimeOutOfRange> {
        Ok(Self {
            user_id: event.user_id,
            post_id: event.post_id,
            action: event.action.as_str(),
            time: datetime(event.time)?,
            gender: event.gender,
            age: event.age,
            country: &event.country,
            city: &event.city,
            os: &event.os,
            source: &event.source,
            exp_group: event.exp_group,
        })
    }
}

#[derive(Row, Serialize)]
pub struct MessageRow<'a> {
    pub user_id: u32,
    pub receiver_id: u32,
    pub time: u32,
    pub source: &'a str,
    pub exp_group: u8,
    pub gender: u8,
    pub age: u8,
    pub country: &'a str,
    pub city: &'a str,
    pub os: &'a str,
}

impl<'a> MessageRow<'a> {
    pub fn new(event: &'a MessageAction) -> Result<Self, TimeOutOfRange> {
        Ok(Self {
            user_id: event.user_id,
            receiver_id: event.receiver_id,
            time: datetime(event.time)?,
            source: &event.source,
            exp_group: event.exp_group,
            gender: event.gender,
            age: event.age,
            country: &event.country,
            city: &event.city,
            os: &event.os,
        })
    }
}

#[derive(Row, Serialize)]
pub struct IncidentRow<'a> {
    pub id: u32,
    pub start_time: u32,
    pub end_time: u32,
    pub kind: &'a str,
    pub metric: &'a str,
    pub slice_dimension: Option<&'a str>,
    pub slice_value: Option<&'a str>,
    pub description: &'a str,
    /// Higher wins when `ReplacingMergeTree` collapses rows with the same id.
    pub version: u64,
}

impl<'a> IncidentRow<'a> {
    pub fn new(incident: &'a Incident, version: u64) -> Result<Self, TimeOutOfRange> {
        Ok(Self {
            id: incident.id,
            start_time: datetime(incident.start)?,
            end_time: datetime(incident.end)?,
            kind: incident.kind.as_str(),
            metric: &incident.metric,
            slice_dimension: incident.slice_dimension.as_deref(),
            slice_value: incident.slice_value.as_deref(),
            description: &incident.description,
            version,
        })
    }
}

/// The columns of [`super::ddl::select_incidents`], in order.
#[derive(Row, Deserialize)]
pub struct IncidentRead {
    pub id: u32,
    pub start_time: u32,
    pub end_time: u32,
    pub kind: String,
    pub metric: String,
    pub slice_dimension: Option<String>,
    pub slice_value: Option<String>,
    pub description: String,
}

impl IncidentRead {
    /// `None` for a `kind` this build does not know (written by a newer vigil).
    pub fn into_incident(self) -> Option<Incident> {
        Some(Incident {
            id: self.id,
            start: i64::from(self.start_time),
            end: i64::from(self.end_time),
            kind: IncidentKind::parse(&self.kind)?,
            metric: self.metric,
            slice_dimension: self.slice_dimension,
            slice_value: self.slice_value,
            description: self.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_datetime_are_rejected() {
        assert_eq!(datetime(0).ok(), Some(0));
        assert_eq!(datetime(4_294_967_295).ok(), Some(u32::MAX));
        assert!(datetime(-1).is_err());
        assert!(datetime(4_294_967_296).is_err());
    }
}
