//! Local days and each metric's value per day.

use chrono::{Datelike, Duration, NaiveDate};

use crate::metrics::model::{Aggregate, MetricDef, TimeRange};
use crate::metrics::sql::DAY_SECONDS;
use crate::sources::{Source, SourceError};

/// Days a report reads: the day itself and the 7 before it.
pub const DAYS: usize = 8;

/// A calendar day in a fixed UTC offset (the config's `alerts.utc_offset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalDay {
    pub date: NaiveDate,
    pub utc_offset_minutes: i32,
}

impl LocalDay {
    pub fn new(date: NaiveDate, utc_offset_minutes: i32) -> Self {
        Self {
            date,
            utc_offset_minutes,
        }
    }

    /// The local day that contains `unix`.
    pub fn containing(unix: i64, utc_offset_minutes: i32) -> Self {
        let local = unix + i64::from(utc_offset_minutes) * 60;
        let days = local.div_euclid(DAY_SECONDS);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        Self::new(epoch + Duration::days(days), utc_offset_minutes)
    }

    /// Its local midnight, in unix seconds.
    pub fn start(self) -> i64 {
        let midnight = self
            .date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp();
        midnight - i64::from(self.utc_offset_minutes) * 60
    }

    /// The next local midnight (days are 24 h: the offset is fixed).
    pub fn end(self) -> i64 {
        self.start() + DAY_SECONDS
    }

    /// The day `days` later (earlier when negative).
    pub fn plus(self, days: i64) -> Self {
        Self::new(self.date + Duration::days(days), self.utc_offset_minutes)
    }

    /// `2026-12-05`.
    pub fn iso(self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }

    /// `Sat 5 Dec 2026`.
    pub fn long(self) -> String {
        format!(
            "{} {} {}",
            self.date.format("%a"),
            self.date.day(),
            self.date.format("%b %Y")
        )
    }
}

/// One metric's values on the report's day and the 7 days before it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricDays {
    pub name: String,
    pub title: String,
    /// A ratio (CTR): shown as a percentage.
    pub ratio: bool,
    /// `values[i]` is day `i - 7` relative to the report's day (the last is
    /// the day itself); `None` where the source has no rows that day.
    pub values: [Option<f64>; DAYS],
}

impl MetricDays {
    /// Reads `metric` for `day` and the 7 days before it: one query.
    pub async fn read(
        source: &Source,
        metric: &MetricDef,
        day: LocalDay,
    ) -> Result<Self, SourceError> {
        let first = day.plus(-(DAYS as i64 - 1));
        let range = TimeRange {
            from: first.start(),
            to: day.end(),
        };
        let mut values = [None; DAYS];
        for bucket in source.daily(metric, range).await? {
            let index = (bucket.start - range.from).div_euclid(DAY_SECONDS);
            if let Some(slot) = usize::try_from(index).ok().and_then(|i| values.get_mut(i)) {
                *slot = Some(bucket.value).filter(|v| v.is_finite());
            }
        }
        Ok(Self {
            name: metric.name.clone(),
            title: metric.title.clone(),
            ratio: matches!(metric.aggregate, Aggregate::Ratio { .. }),
            values,
        })
    }

    /// The report's day.
    pub fn value(&self) -> Option<f64> {
        self.values[DAYS - 1]
    }

    /// Relative change against the day before (`-0.1` is 10 % lower).
    pub fn day_over_day(&self) -> Option<f64> {
        change(self.value(), self.values[DAYS - 2])
    }

    /// Relative change against the same weekday a week earlier.
    pub fn week_over_week(&self) -> Option<f64> {
        change(self.value(), self.values[0])
    }

    /// The last 7 days, oldest first: what the chart draws.
    pub fn last_week(&self) -> &[Option<f64>] {
        &self.values[1..]
    }
}

fn change(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    let (now, before) = (now?, before?);
    (before != 0.0)
        .then(|| now / before - 1.0)
        .filter(|c| c.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_start_at_local_midnight() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let utc = LocalDay::new(date, 0);
        assert_eq!(utc.start(), 1_796_428_800); // 2026-12-05 00:00 UTC
        let moscow = LocalDay::new(date, 180);
        assert_eq!(moscow.start(), utc.start() - 3 * 3600);
        assert_eq!(moscow.end() - moscow.start(), DAY_SECONDS);
        // 23:30 UTC on the 4th is already the 5th in UTC+03:00.
        assert_eq!(LocalDay::containing(utc.start() - 1800, 180), moscow);
        assert_eq!(
            LocalDay::containing(utc.start() - 1800, 0).date,
            date.pred_opt().unwrap()
        );
        assert_eq!(
            LocalDay::containing(utc.start(), -300).date,
            date.pred_opt().unwrap()
        );
        assert_eq!(moscow.plus(-7).iso(), "2026-11-28");
        assert_eq!(moscow.long(), "Sat 5 Dec 2026");
    }

    #[test]
    fn changes_against_the_day_and_the_week_before() {
        let mut values = [Some(100.0); DAYS];
        values[DAYS - 2] = Some(200.0);
        values[DAYS - 1] = Some(150.0);
        values[0] = Some(0.0);
        let metric = MetricDays {
            name: "m".into(),
            title: "M".into(),
            ratio: false,
            values,
        };
        assert_eq!(metric.day_over_day(), Some(-0.25));
        assert_eq!(metric.week_over_week(), None, "nothing to compare with 0");
        assert_eq!(metric.last_week().len(), 7);
    }
}
