//! What a store writes, worked out once for every implementation: the alert
//! lifecycle over a series' rows ([`apply`]), the "source unavailable" and
//! "data stale" notices ([`open_notice`], [`resolve_notice`]), the payloads
//! they enqueue, and the parsing of stored JSON. A store supplies its rows
//! ([`StateRows`], one transaction's worth) and its transaction
//! ([`Transact`]); the SQL stays in the store.

use detect::Ensemble;

use crate::alerts::{
    self, is_muted, AlertConfig, AlertId, Notify, OpenAlert, ResolvedAlert, SeriesState, Silence,
    SilenceScope, Step,
};
use crate::evaluation::{AlertContext, Evaluation};
use crate::metrics::model::SliceKey;
use crate::state::{
    AlertError, AlertLog, AlertRecord, CheckedInput, DatabaseError, LabelError, LabelKind,
    LabelRecord, NewLabel, NotificationPayload, OutboxItem, SettingChange, SettingsError, Silences,
    SOURCE_METRIC, STALE_DIMENSION, STALE_METRIC,
};

/// The row operations the lifecycle and the notices need, inside one
/// transaction of the store.
pub(crate) trait StateRows {
    /// Silences in force at `now`.
    fn active_silences(&mut self, now: i64) -> Result<Vec<Silence>, AlertError>;
    /// The id the next new alert gets (the store keeps ids unique while the
    /// transaction lasts).
    fn next_alert_id(&mut self) -> Result<AlertId, AlertError>;
    fn load_state(&mut self, evaluation: &Evaluation) -> Result<SeriesState, AlertError>;
    fn save_state(
        &mut self,
        evaluation: &Evaluation,
        state: &SeriesState,
    ) -> Result<(), AlertError>;
    /// The alert row's change for `step` (inserted when opened, else updated).
    fn write_alert(&mut self, evaluation: &Evaluation, step: &Step) -> Result<(), AlertError>;
    /// Keeps what a withdrawn alert's message says instead of its state.
    fn write_withdrawn_note(&mut self, id: AlertId, note: &str) -> Result<(), AlertError>;
    fn insert_event(&mut self, event: &NewEvent<'_>) -> Result<(), AlertError>;
    /// Appends `payload` to the outbox (its id says its place in the order).
    fn enqueue(&mut self, payload: NotificationPayload, now: i64)
        -> Result<OutboxItem, AlertError>;
    /// `notice`'s open alert: (id, started_at, muted).
    fn open_notice_alert(
        &mut self,
        notice: &Notice,
    ) -> Result<Option<(AlertId, i64, bool)>, AlertError>;
    fn insert_notice_alert(
        &mut self,
        notice: &Notice,
        id: AlertId,
        now: i64,
        muted: bool,
    ) -> Result<(), AlertError>;
    fn resolve_alert(&mut self, id: AlertId, now: i64) -> Result<(), AlertError>;
    /// Records that `input`'s bucket was re-checked, with its new value
    /// ([`crate::state::LateRows`]).
    fn mark_rechecked(&mut self, input: &CheckedInput) -> Result<(), AlertError>;
}

/// A store that runs a closure on its rows in one transaction, committed if
/// the closure succeeds.
pub(crate) trait Transact {
    fn transact<T>(
        &mut self,
        f: impl FnOnce(&mut dyn StateRows) -> Result<T, AlertError>,
    ) -> Result<T, AlertError>;
}

/// One history entry to write.
pub(crate) struct NewEvent<'a> {
    pub alert_id: AlertId,
    pub at: i64,
    pub bucket: Option<i64>,
    pub kind: &'a str,
    pub details: &'a str,
    pub actor: Option<&'a str>,
    pub muted: bool,
}

impl<'a> NewEvent<'a> {
    /// A person's action (a button, a label): no bucket, never muted.
    pub fn action(
        alert_id: AlertId,
        at: i64,
        kind: &'a str,
        details: &'a str,
        actor: &'a str,
    ) -> Self {
        Self {
            alert_id,
            at,
            bucket: None,
            kind,
            details,
            actor: Some(actor),
            muted: false,
        }
    }
}

/// [`crate::state::AlertLog::apply`] on any store.
pub(crate) fn apply(
    store: &mut impl Transact,
    evaluations: &[Evaluation],
    now: i64,
    config: &AlertConfig,
) -> Result<Vec<OutboxItem>, AlertError> {
    let enqueued = store.transact(|rows| {
        let silences = rows.active_silences(now)?;
        let mut next_id = rows.next_alert_id()?;
        let mut enqueued = Vec::new();
        for evaluation in evaluations {
            let mut state = rows.load_state(evaluation)?;
            let before = state.clone();
            let judgment = evaluation.judgment();
            let step = alerts::step(&mut state, &judgment, now, config, &silences, || {
                next_id += 1;
                next_id - 1
            });
            if state == before {
                continue;
            }
            if let Some(step) = &step {
                if let Some(item) = record_step(rows, evaluation, step, now, None)? {
                    enqueued.push(item);
                }
            }
            rows.save_state(evaluation, &state)?;
        }
        Ok(enqueued)
    })?;
    for item in &enqueued {
        tracing::info!(
            alert_id = item.alert_id,
            kind = item.payload.notify.kind(),
            metric = %item.payload.metric,
            "alert notification enqueued"
        );
    }
    Ok(enqueued)
}

/// Persists one lifecycle step: the alert row, a history entry and (unless
/// muted) the outbox row. A `note` (a late-rows withdrawal, see
/// [`super::late_rows`]) is the history entry's details and the message's.
pub(crate) fn record_step(
    rows: &mut dyn StateRows,
    evaluation: &Evaluation,
    step: &Step,
    now: i64,
    note: Option<&str>,
) -> Result<Option<OutboxItem>, AlertError> {
    rows.write_alert(evaluation, step)?;
    if let Some(note) = note {
        rows.write_withdrawn_note(step.alert_id, note)?;
    }
    let p = &evaluation.point;
    let payload = NotificationPayload {
        alert_id: step.alert_id,
        notify: step.notify,
        metric: evaluation.metric.clone(),
        slice: evaluation.slice.clone(),
        bucket: step.bucket,
        started_at: step.started_at,
        value: p.value,
        lower: p.lower,
        upper: p.upper,
        expected: p.expected,
        deviation: p.deviation,
        detector: evaluation.detector.to_string(),
        context: evaluation.context.clone(),
        notice: note.map(str::to_string),
    };
    let details = note.map_or_else(
        || serde_json::to_string(&step.notify).unwrap_or_default(),
        str::to_string,
    );
    rows.insert_event(&NewEvent {
        alert_id: step.alert_id,
        at: now,
        bucket: Some(step.bucket),
        kind: step.notify.kind(),
        details: &details,
        actor: None,
        muted: step.muted,
    })?;
    if step.muted {
        tracing::info!(
            alert_id = step.alert_id,
            kind = step.notify.kind(),
            "alert notification muted"
        );
        return Ok(None);
    }
    rows.enqueue(payload, now).map(Some)
}

/// A series' `alert_state` row as read: (last_bucket, open_alert_id,
/// started_at, last_notified_at, announced, calm, (resolved_alert_id,
/// resolved_started_at, resolved_bucket, resolved_announced)).
pub(crate) type SeriesRow = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    bool,
    u32,
    (Option<i64>, Option<i64>, Option<i64>, bool),
);

/// A series' lifecycle state from its row (none yet: the default).
pub(crate) fn series_state(row: Option<SeriesRow>) -> SeriesState {
    let Some((last_bucket, id, started_at, last_notified_at, announced, calm, resolved)) = row
    else {
        return SeriesState::default();
    };
    SeriesState {
        last_bucket: Some(last_bucket),
        open: id.map(|id| OpenAlert {
            id: id as AlertId,
            started_at: started_at.unwrap_or(last_bucket),
            last_notified_at: last_notified_at.unwrap_or(last_bucket),
            announced,
            calm,
        }),
        resolved: match resolved {
            (Some(id), Some(started_at), Some(resolved_at), announced) => Some(ResolvedAlert {
                id: id as AlertId,
                started_at,
                resolved_at,
                announced,
            }),
            _ => None,
        },
    }
}

/// A notice about vigil's data rather than a metric: the source cannot be
/// read, or one table is stale. At most one of each is open at a time.
pub(crate) struct Notice {
    pub metric: &'static str,
    pub slice: Option<SliceKey>,
    pub detector: &'static str,
    /// For the log lines.
    what: &'static str,
}

impl Notice {
    pub fn source() -> Self {
        Self {
            metric: SOURCE_METRIC,
            slice: None,
            detector: "availability",
            what: "source unavailable",
        }
    }

    pub fn stale(table: &str) -> Self {
        Self {
            metric: STALE_METRIC,
            slice: Some(SliceKey {
                dimension: STALE_DIMENSION.into(),
                value: table.into(),
            }),
            detector: "freshness",
            what: "data stale",
        }
    }
}

/// The notice methods of [`crate::state::Checks`], the same on every store
/// that is [`Transact`]: expands inside `impl Checks for ...`.
macro_rules! notice_methods {
    () => {
        fn source_unavailable(
            &mut self,
            reason: &str,
            now: i64,
        ) -> Result<Option<$crate::state::OutboxItem>, $crate::state::AlertError> {
            use $crate::state::records::{open_notice, Notice};
            open_notice(self, &Notice::source(), reason, now)
        }

        fn source_available(
            &mut self,
            now: i64,
        ) -> Result<Option<$crate::state::OutboxItem>, $crate::state::AlertError> {
            use $crate::state::records::{resolve_notice, Notice};
            resolve_notice(self, &Notice::source(), "the source answers again", now)
        }

        fn data_stale(
            &mut self,
            table: &str,
            reason: &str,
            now: i64,
        ) -> Result<Option<$crate::state::OutboxItem>, $crate::state::AlertError> {
            use $crate::state::records::{open_notice, Notice};
            open_notice(self, &Notice::stale(table), reason, now)
        }

        fn data_fresh(
            &mut self,
            table: &str,
            now: i64,
        ) -> Result<Option<$crate::state::OutboxItem>, $crate::state::AlertError> {
            use $crate::state::records::{resolve_notice, Notice};
            let reason = format!("{table} receives events again");
            resolve_notice(self, &Notice::stale(table), &reason, now)
        }
    };
}
pub(crate) use notice_methods;

/// Opens `notice`'s alert unless it is already open.
pub(crate) fn open_notice(
    store: &mut impl Transact,
    notice: &Notice,
    reason: &str,
    now: i64,
) -> Result<Option<OutboxItem>, AlertError> {
    let reason = redact_token(reason);
    let opened = store.transact(|rows| {
        if rows.open_notice_alert(notice)?.is_some() {
            return Ok(None);
        }
        let id = rows.next_alert_id()?;
        let silences = rows.active_silences(now)?;
        let muted = is_muted(&silences, notice.metric, notice.slice.as_ref(), now);
        rows.insert_notice_alert(notice, id, now, muted)?;
        let item = record_notice(rows, notice, id, Notify::Opened, now, now, &reason, muted)?;
        Ok(Some((id, item)))
    })?;
    Ok(opened.and_then(|(id, item)| {
        tracing::error!(alert_id = id, %reason, "{}: alert opened", notice.what);
        item
    }))
}

/// Resolves `notice`'s alert if open, saying `reason`.
pub(crate) fn resolve_notice(
    store: &mut impl Transact,
    notice: &Notice,
    reason: &str,
    now: i64,
) -> Result<Option<OutboxItem>, AlertError> {
    let resolved = store.transact(|rows| {
        let Some((id, started_at, muted)) = rows.open_notice_alert(notice)? else {
            return Ok(None);
        };
        rows.resolve_alert(id, now)?;
        let lasted_secs = now - started_at;
        let notify = Notify::Resolved { lasted_secs };
        let item = record_notice(rows, notice, id, notify, started_at, now, reason, muted)?;
        Ok(Some((id, lasted_secs, item)))
    })?;
    Ok(resolved.and_then(|(id, lasted_secs, item)| {
        tracing::info!(
            alert_id = id,
            lasted_secs,
            "{}: alert resolved",
            notice.what
        );
        item
    }))
}

/// History entry and (unless muted) outbox row of a notice.
#[allow(clippy::too_many_arguments)] // one row's fields; a struct would only rename them
fn record_notice(
    rows: &mut dyn StateRows,
    notice: &Notice,
    alert_id: AlertId,
    notify: Notify,
    started_at: i64,
    now: i64,
    reason: &str,
    muted: bool,
) -> Result<Option<OutboxItem>, AlertError> {
    rows.insert_event(&NewEvent {
        alert_id,
        at: now,
        bucket: None,
        kind: notify.kind(),
        details: reason,
        actor: None,
        muted,
    })?;
    if muted {
        return Ok(None);
    }
    let payload = NotificationPayload {
        alert_id,
        notify,
        metric: notice.metric.to_string(),
        slice: notice.slice.clone(),
        bucket: now,
        started_at,
        value: None,
        lower: None,
        upper: None,
        expected: None,
        deviation: None,
        detector: notice.detector.to_string(),
        context: AlertContext::default(),
        notice: Some(reason.to_string()),
    };
    rows.enqueue(payload, now).map(Some)
}

/// [`Silences::silence_alert`] on any store: mutes the alert's series and
/// records the button press in its history.
pub(crate) fn silence_alert(
    store: &mut (impl Silences + AlertLog),
    alert_id: AlertId,
    until: i64,
    actor: &str,
    now: i64,
) -> Result<Silence, AlertError> {
    let alert = store
        .alert(alert_id)?
        .ok_or(AlertError::UnknownAlert(alert_id))?;
    let scope = SilenceScope::Slice {
        metric: alert.metric,
        slice: alert.slice,
    };
    let silence = store.silence(scope, until, actor, now)?;
    let details = format!("mute until {until} (silence {})", silence.id);
    store.record_button(alert_id, &details, actor, now)?;
    Ok(silence)
}

/// [`Silences::silence_alert`] and [`Silences::sync_configured_silences`],
/// the same on every store: expands inside `impl Silences for ...`, given an
/// expression reading every silence the store holds (`$all`, of `self`).
macro_rules! silence_methods {
    (|$store:ident| $all:expr) => {
        fn silence_alert(
            &mut self,
            alert_id: $crate::alerts::AlertId,
            until: i64,
            actor: &str,
            now: i64,
        ) -> Result<$crate::alerts::Silence, $crate::state::AlertError> {
            $crate::state::records::silence_alert(self, alert_id, until, actor, now)
        }

        fn sync_configured_silences(
            &mut self,
            silences: &[($crate::alerts::SilenceScope, i64, i64)],
            now: i64,
        ) -> Result<usize, $crate::state::AlertError> {
            let $store = &*self;
            let existing = $all?;
            $crate::state::records::sync_configured_silences(self, &existing, silences, now)
        }

        fn silences_overlapping(
            &self,
            from: i64,
            to: i64,
        ) -> Result<Vec<$crate::alerts::Silence>, $crate::state::AlertError> {
            let $store = self;
            let mut all = $all?;
            all.retain(|s| $crate::state::records::overlaps(s, from, to));
            Ok(all)
        }
    };
}
pub(crate) use silence_methods;

/// Whether `silence` is in force at some moment of `[from, to)`. Stores
/// hold few silences, so they are filtered here rather than in each dialect.
pub(crate) fn overlaps(silence: &Silence, from: i64, to: i64) -> bool {
    let end = silence
        .ended_at
        .map_or(silence.until, |e| e.min(silence.until));
    silence.created_at < to && from < end
}

/// [`Silences::sync_configured_silences`] on any store, given every silence
/// it holds (`existing`).
pub(crate) fn sync_configured_silences(
    store: &mut impl Silences,
    existing: &[Silence],
    silences: &[(SilenceScope, i64, i64)],
    now: i64,
) -> Result<usize, AlertError> {
    let mut added = 0;
    for (scope, from, until) in silences {
        let present = existing.iter().any(|s| {
            s.created_by == "config"
                && &s.scope == scope
                && s.created_at == *from
                && s.until == *until
        });
        if !present && *until > now {
            store.silence(scope.clone(), *until, "config", *from)?;
            added += 1;
        }
    }
    Ok(added)
}

/// The alerts a message announced, from its outbox payloads (in order):
/// each payload with its alert as it is now.
pub(crate) fn message_group(
    store: &(impl AlertLog + ?Sized),
    payloads: Vec<String>,
) -> Result<Vec<(NotificationPayload, AlertRecord)>, AlertError> {
    let mut group = Vec::new();
    for payload in payloads {
        let payload = parse_payload(&payload)?;
        if let Some(record) = store.alert(payload.alert_id)? {
            group.push((payload, record));
        }
    }
    Ok(group)
}

/// The database's error, in an [`AlertError`] that says what was being done.
pub(crate) fn sql<E: Into<DatabaseError>>(context: &'static str) -> impl FnOnce(E) -> AlertError {
    move |error| AlertError::Sql {
        context,
        error: error.into(),
    }
}

/// [`sql`] for the labels.
pub(crate) fn label_sql<E: Into<DatabaseError>>(
    context: &'static str,
) -> impl FnOnce(E) -> LabelError {
    move |error| LabelError::Sql {
        context,
        error: error.into(),
    }
}

/// [`sql`] for the detector settings.
pub(crate) fn settings_sql<E: Into<DatabaseError>>(
    context: &'static str,
) -> impl FnOnce(E) -> SettingsError {
    move |error| SettingsError::Sql {
        context,
        error: error.into(),
    }
}

/// A silence row as read: (id, scope kind, metric, slice, until, created_by,
/// created_at, ended_at).
pub(crate) type SilenceRow = (
    i64,
    String,
    Option<String>,
    Option<SliceKey>,
    i64,
    String,
    i64,
    Option<i64>,
);

/// A stored silence; `None` (logged) for a row whose scope cannot be read:
/// it must not silence everything.
pub(crate) fn silence_from(row: SilenceRow) -> Option<Silence> {
    let (id, kind, metric, slice, until, created_by, created_at, ended_at) = row;
    let scope = match (kind.as_str(), metric) {
        ("all", _) => SilenceScope::All,
        ("metric", Some(metric)) => SilenceScope::Metric { metric },
        ("slice", Some(metric)) => SilenceScope::Slice { metric, slice },
        _ => {
            tracing::warn!(silence_id = id, scope = %kind, "unreadable silence ignored");
            return None;
        }
    };
    Some(Silence {
        id,
        scope,
        until,
        created_by,
        created_at,
        ended_at,
    })
}

/// A stored outbox payload.
pub(crate) fn parse_payload(json: &str) -> Result<NotificationPayload, AlertError> {
    serde_json::from_str(json).map_err(|e| AlertError::Corrupt {
        what: "outbox payload",
        reason: e.to_string(),
    })
}

/// An outbox payload to store.
pub(crate) fn payload_json(payload: &NotificationPayload) -> Result<String, AlertError> {
    serde_json::to_string(payload).map_err(|e| AlertError::Corrupt {
        what: "outbox payload",
        reason: e.to_string(),
    })
}

/// An outbox row as read: (id, alert_id, payload, created_at, attempts,
/// next_attempt_at, last_error).
pub(crate) type OutboxRow = (i64, i64, String, i64, i64, i64, Option<String>);

/// The pending rows (oldest first) that may be attempted at `now`: up to
/// the first one still backing off, so a later alert never overtakes an
/// earlier one.
pub(crate) fn due_items(
    rows: impl IntoIterator<Item = Result<OutboxRow, AlertError>>,
    now: i64,
) -> Result<Vec<OutboxItem>, AlertError> {
    let mut items = Vec::new();
    for row in rows {
        let (id, alert_id, payload, created_at, attempts, next_attempt_at, last_error) = row?;
        if next_attempt_at > now {
            break;
        }
        items.push(OutboxItem {
            id,
            alert_id: alert_id as AlertId,
            payload: parse_payload(&payload)?,
            created_at,
            attempts: attempts.clamp(0, u32::MAX as i64) as u32,
            next_attempt_at,
            last_error,
        });
    }
    Ok(items)
}

/// The label just stored under `id`.
pub(crate) fn label_record(id: i64, label: &NewLabel, created_by: &str, now: i64) -> LabelRecord {
    tracing::info!(id, metric = %label.metric, kind = label.kind.as_str(), created_by, "label added");
    LabelRecord {
        id,
        metric: label.metric.clone(),
        from: label.from,
        to: label.to,
        kind: label.kind,
        note: label.note.clone(),
        created_by: created_by.to_string(),
        created_at: now,
    }
}

/// A stored label's kind.
pub(crate) fn label_kind(id: i64, kind: &str) -> Result<LabelKind, LabelError> {
    LabelKind::parse(kind)
        .ok_or_else(|| LabelError::Corrupt(format!("stored label {id} has unknown kind `{kind}`")))
}

/// A detector setting as stored (JSON).
pub(crate) fn ensemble_json(metric: &str, ensemble: &Ensemble) -> Result<String, SettingsError> {
    serde_json::to_string(ensemble).map_err(|e| SettingsError::Corrupt {
        metric: metric.to_string(),
        reason: e.to_string(),
    })
}

/// A detector settings row as read: (id, metric, detector, previous,
/// applied_by, applied_at).
pub(crate) type SettingRow = (i64, String, Option<String>, String, String, i64);

/// A stored detector settings row, its JSON parsed.
pub(crate) fn setting_change(row: SettingRow) -> Result<SettingChange, SettingsError> {
    let (id, metric, detector, previous, applied_by, applied_at) = row;
    let parse = |text: &str| {
        serde_json::from_str::<Ensemble>(text).map_err(|e| SettingsError::Corrupt {
            metric: metric.clone(),
            reason: e.to_string(),
        })
    };
    Ok(SettingChange {
        id,
        detector: detector.as_deref().map(parse).transpose()?,
        previous: parse(&previous)?,
        metric: metric.clone(),
        applied_by,
        applied_at,
    })
}

/// Removes a Telegram bot token (`/bot<id>:<secret>/`) from an error text
/// before it is stored: reqwest errors carry the request URL.
pub(crate) fn redact_token(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    let mut rest = error;
    while let Some(at) = rest.find("bot") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '_' || c == '-'))
            .unwrap_or(tail.len());
        let candidate = &tail[..end];
        let looks_like_token = candidate.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && secret.len() >= 10
        });
        if looks_like_token {
            out.push_str("<redacted>");
        } else {
            out.push_str(candidate);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A slice as the key columns store it: (sliced, dimension, value), with
/// empty strings for a whole metric (key columns cannot be NULL).
pub(crate) fn slice_parts(slice: Option<&SliceKey>) -> (bool, &str, &str) {
    match slice {
        Some(s) => (true, s.dimension.as_str(), s.value.as_str()),
        None => (false, "", ""),
    }
}

/// A slice from nullable columns.
pub(crate) fn slice_from(dimension: Option<String>, value: Option<String>) -> Option<SliceKey> {
    match (dimension, value) {
        (Some(dimension), Some(value)) => Some(SliceKey { dimension, value }),
        _ => None,
    }
}
