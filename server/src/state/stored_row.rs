//! Reading a stored row into the state's types, once for both stores: each
//! store's row type says how to read a column of each kind ([`StoredRow`]),
//! and the readers here say which column is which.

use crate::alerts::AlertId;
use crate::state::records::slice_from;
use crate::state::{AlertEvent, AlertRecord, AlertStatus, CheckRecord, Label, LatestEvaluation};

/// One result row of a store's query.
pub(crate) trait StoredRow {
    type Error;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;
    fn opt_real(&self, i: usize) -> Result<Option<f64>, Self::Error>;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
}

/// An alert from the columns `id, metric, slice_dimension, slice_value,
/// started_at, resolved_at, value, lower, upper, expected, deviation,
/// detector, state, muted, label, label_by, delivery, withdrawn_note`.
pub(crate) fn alert_record<R: StoredRow>(r: &R) -> Result<AlertRecord, R::Error> {
    let label = r.opt_text(14)?;
    Ok(AlertRecord {
        id: r.int(0)? as AlertId,
        metric: r.text(1)?,
        slice: slice_from(r.opt_text(2)?, r.opt_text(3)?),
        started_at: r.int(4)?,
        resolved_at: r.opt_int(5)?,
        value: r.opt_real(6)?,
        lower: r.opt_real(7)?,
        upper: r.opt_real(8)?,
        expected: r.opt_real(9)?,
        deviation: r.opt_real(10)?,
        detector: r.text(11)?,
        status: if r.text(12)? == "resolved" {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        muted: r.flag(13)?,
        label: label.as_deref().and_then(Label::parse),
        label_by: r.opt_text(15)?,
        delivery: r.text(16)?,
        withdrawn: r.opt_text(17)?,
    })
}

/// A history entry from `alert_id, at, bucket, kind, details, actor, muted`.
pub(crate) fn alert_event<R: StoredRow>(r: &R) -> Result<AlertEvent, R::Error> {
    Ok(AlertEvent {
        alert_id: r.int(0)? as AlertId,
        at: r.int(1)?,
        bucket: r.opt_int(2)?,
        kind: r.text(3)?,
        details: r.text(4)?,
        actor: r.opt_text(5)?,
        muted: r.flag(6)?,
    })
}

/// A check run from `bucket, started_at, duration_ms, ok, late, evaluated,
/// anomalies, error`.
pub(crate) fn check_record<R: StoredRow>(r: &R) -> Result<CheckRecord, R::Error> {
    Ok(CheckRecord {
        bucket: r.int(0)?,
        started_at: r.int(1)?,
        duration_ms: r.int(2)?,
        ok: r.flag(3)?,
        late: r.flag(4)?,
        evaluated: r.int(5)?,
        anomalies: r.int(6)?,
        error: r.opt_text(7)?,
    })
}

/// A metric's newest evaluation from `metric, bucket, value, expected, lower,
/// upper, is_anomaly, detector`.
pub(crate) fn latest_evaluation<R: StoredRow>(
    r: &R,
) -> Result<(String, LatestEvaluation), R::Error> {
    Ok((
        r.text(0)?,
        LatestEvaluation {
            bucket: r.int(1)?,
            value: r.opt_real(2)?,
            expected: r.opt_real(3)?,
            lower: r.opt_real(4)?,
            upper: r.opt_real(5)?,
            is_anomaly: r.flag(6)?,
            detector: r.text(7)?,
        },
    ))
}

/// Implements [`StoredRow`] for a row type whose `$get(i)` reads any column type.
macro_rules! stored_row {
    ($row:ty, $error:ty, $get:ident) => {
        impl $crate::state::stored_row::StoredRow for $row {
            type Error = $error;
            fn int(&self, i: usize) -> Result<i64, $error> {
                self.$get(i)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, $error> {
                self.$get(i)
            }
            fn opt_real(&self, i: usize) -> Result<Option<f64>, $error> {
                self.$get(i)
            }
            fn text(&self, i: usize) -> Result<String, $error> {
                self.$get(i)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, $error> {
                self.$get(i)
            }
            fn flag(&self, i: usize) -> Result<bool, $error> {
                self.$get(i)
            }
        }
    };
}
pub(crate) use stored_row;
