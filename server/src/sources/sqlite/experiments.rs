//! The experiment group sums on the embedded store (the queries are
//! [`crate::metrics::sql::experiment::group_sums`] and, per user,
//! [`crate::metrics::sql::experiment::user_sums`]).

use detect::experiments::GroupSummary;

use super::{query_error, SqliteStore};
use crate::metrics::model::{MetricDef, TimeRange};
use crate::metrics::sql::{experiment, Dialect};
use crate::sources::experiment_cache::UserSums;
use crate::sources::SourceError;

impl SqliteStore {
    /// Per-user sums of `metric` by `exp_group` over `range`, for the users of `groups`.
    pub async fn group_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<(u8, GroupSummary)>, SourceError> {
        let query = experiment::group_sums(Dialect::Sqlite, metric, &self.tables, range, groups)?;
        let context = format!("experiment sums of {}", metric.name);
        self.read(move |connection| {
            let mut statement = connection
                .prepare(&query.sql)
                .map_err(|error| query_error(&context, error))?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(&query.params), |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        GroupSummary {
                            users: row.get::<_, i64>(1)?.max(0) as u64,
                            sum_x: row.get(2)?,
                            sum_y: row.get(3)?,
                            sum_xx: row.get(4)?,
                            sum_yy: row.get(5)?,
                            sum_xy: row.get(6)?,
                        },
                    ))
                })
                .map_err(|error| query_error(&context, error))?;
            let mut sums = Vec::new();
            for row in rows {
                let (group, summary) = row.map_err(|error| query_error(&context, error))?;
                let group = u8::try_from(group).map_err(|_| {
                    query_error(&context, format!("exp_group {group} is not 0..=255"))
                })?;
                sums.push((group, summary));
            }
            Ok(sums)
        })
        .await
    }

    /// Each exposed (user, group)'s `x` and `y` of `metric` over `range`,
    /// for the users of `groups`, in no order.
    pub async fn user_sums(
        &self,
        metric: &MetricDef,
        range: TimeRange,
        groups: &[u8],
    ) -> Result<Vec<UserSums>, SourceError> {
        let query = experiment::user_sums(Dialect::Sqlite, metric, &self.tables, range, groups)?;
        let context = format!("experiment per-user sums of {}", metric.name);
        self.read(move |connection| {
            let mut statement = connection
                .prepare(&query.sql)
                .map_err(|error| query_error(&context, error))?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(&query.params), |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, f64>(2)?,
                        row.get::<_, f64>(3)?,
                    ))
                })
                .map_err(|error| query_error(&context, error))?;
            let mut sums = Vec::new();
            for row in rows {
                let (user, group, x, y) = row.map_err(|error| query_error(&context, error))?;
                let invalid = |what: String| query_error(&context, what);
                sums.push(UserSums {
                    // Only a key: a negative id keeps its bits.
                    user: user as u64,
                    group: u8::try_from(group)
                        .map_err(|_| invalid(format!("exp_group {group} is not 0..=255")))?,
                    x,
                    y,
                });
            }
            Ok(sums)
        })
        .await
    }

    /// Names this store and its tables for the experiments' running sums.
    pub(crate) fn sums_identity(&self) -> String {
        format!("{} {:?}", self.describe(), self.tables)
    }
}
