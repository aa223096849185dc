//! Detector settings applied from the web lab: for one metric, a detector (or
//! several combined) that overrides the config file's `[detectors]` from the
//! next check on, until reverted.
//!
//! Kept in vigil's state file beside the alert state, as a history: every
//! change is a row with the time, who made it, and the old and new values,
//! so "who changed feed_views's band last Tuesday" has an answer. The newest
//! row of a metric is in effect; a row without a detector reverts to the config.

use std::path::Path;

use detect::Ensemble;
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::config::DetectorChoice;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("detector settings in {path}: {reason}")]
    Open { path: String, reason: String },
    /// The database's error is part of the message, not a `source`, so
    /// that a printed chain (`{:#}`) says it once.
    #[error("detector settings: {context}: {error}")]
    Sql {
        context: &'static str,
        error: rusqlite::Error,
    },
    #[error("detector settings: stored value for {metric} is unreadable: {reason}")]
    Corrupt { metric: String, reason: String },
}

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> SettingsError {
    move |error| SettingsError::Sql { context, error }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS detector_settings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    metric     TEXT    NOT NULL,
    detector   TEXT,
    previous   TEXT    NOT NULL,
    applied_by TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS detector_settings_metric ON detector_settings (metric, id);
"#;

/// One change of a metric's detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingChange {
    pub id: i64,
    pub metric: String,
    /// The detector applied; `None` went back to the config file's.
    pub detector: Option<Ensemble>,
    /// What was in effect before.
    pub previous: Ensemble,
    pub applied_by: String,
    pub applied_at: i64,
}

/// The settings history, on its own connection to the state file.
pub struct SettingsStore {
    conn: Connection,
}

impl SettingsStore {
    /// Opens the state file at `path` (creating it and the table if absent).
    pub fn open(path: &Path) -> Result<Self, SettingsError> {
        let conn = crate::state_file::open(path, SCHEMA).map_err(|reason| SettingsError::Open {
            path: path.display().to_string(),
            reason,
        })?;
        Ok(Self { conn })
    }

    /// Records a change: `detector` (validated by the caller) takes effect for
    /// `metric` at the next check, or `None` returns it to the config's
    /// choice. `configured` is the config file's choice, to record what was
    /// in effect before.
    pub fn apply(
        &mut self,
        metric: &str,
        detector: Option<&Ensemble>,
        configured: &DetectorChoice,
        applied_by: &str,
        now: i64,
    ) -> Result<SettingChange, SettingsError> {
        let previous = self.effective(configured)?.for_metric(metric).clone();
        let text = |ensemble: &Ensemble| {
            serde_json::to_string(ensemble).map_err(|e| SettingsError::Corrupt {
                metric: metric.to_string(),
                reason: e.to_string(),
            })
        };
        let new_text = detector.map(text).transpose()?;
        self.conn
            .execute(
                "INSERT INTO detector_settings (metric, detector, previous, applied_by, applied_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![metric, new_text, text(&previous)?, applied_by, now],
            )
            .map_err(sql("apply detector"))?;
        tracing::info!(
            metric,
            detector = detector.map_or_else(|| "(config)".to_string(), Ensemble::name),
            previous = previous.name(),
            applied_by,
            "detector settings applied"
        );
        Ok(SettingChange {
            id: self.conn.last_insert_rowid(),
            metric: metric.to_string(),
            detector: detector.cloned(),
            previous,
            applied_by: applied_by.to_string(),
            applied_at: now,
        })
    }

    /// Every change of `metric` (every metric when `None`), newest first.
    pub fn history(&self, metric: Option<&str>) -> Result<Vec<SettingChange>, SettingsError> {
        let mut statement = self
            .conn
            .prepare_cached(
                "SELECT id, metric, detector, previous, applied_by, applied_at
                 FROM detector_settings WHERE ?1 IS NULL OR metric = ?1 ORDER BY id DESC",
            )
            .map_err(sql("read detector settings"))?;
        let rows = statement
            .query_map([metric], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })
            .map_err(sql("read detector settings"))?;
        let mut changes = Vec::new();
        for row in rows {
            let (id, metric, detector, previous, applied_by, applied_at) =
                row.map_err(sql("read detector settings"))?;
            let parse = |text: &str| {
                serde_json::from_str::<Ensemble>(text).map_err(|e| SettingsError::Corrupt {
                    metric: metric.clone(),
                    reason: e.to_string(),
                })
            };
            changes.push(SettingChange {
                id,
                detector: detector.as_deref().map(parse).transpose()?,
                previous: parse(&previous)?,
                metric: metric.clone(),
                applied_by,
                applied_at,
            });
        }
        Ok(changes)
    }

    /// The config's choice with the applied settings in effect on top.
    pub fn effective(&self, configured: &DetectorChoice) -> Result<DetectorChoice, SettingsError> {
        let mut choice = configured.clone();
        if configured.fixed {
            return Ok(choice);
        }
        let mut seen = std::collections::BTreeSet::new();
        for change in self.history(None)? {
            // Newest first: the first row of a metric is the one in effect.
            if !seen.insert(change.metric.clone()) {
                continue;
            }
            match change.detector {
                Some(detector) => {
                    choice.per_metric.insert(change.metric, detector);
                }
                None => match configured.per_metric.get(&change.metric) {
                    Some(configured) => {
                        choice.per_metric.insert(change.metric, configured.clone());
                    }
                    None => {
                        choice.per_metric.remove(&change.metric);
                    }
                },
            }
        }
        Ok(choice)
    }
}

/// The detectors in effect now: the config's choice with the settings applied
/// in the state file of `store` on top. Checks and alert charts use this.
pub async fn in_effect(
    store: &std::sync::Arc<std::sync::Mutex<crate::alerts::AlertStore>>,
    configured: &DetectorChoice,
) -> DetectorChoice {
    match crate::delivery::with_store(store, |store| Ok(store.path().to_path_buf())).await {
        Ok(path) => effective_at(path, configured).await,
        Err(error) => {
            tracing::warn!(%error, "alert state unavailable; using the config's detectors");
            configured.clone()
        }
    }
}

/// [`SettingsStore::effective`] for the state file at `path`, on the blocking pool.
/// A store that cannot be read leaves the config's choice in effect (logged):
/// a broken settings table must not stop checks.
pub async fn effective_at(path: std::path::PathBuf, configured: &DetectorChoice) -> DetectorChoice {
    let fallback = configured.clone();
    let configured = configured.clone();
    let result =
        tokio::task::spawn_blocking(move || SettingsStore::open(&path)?.effective(&configured))
            .await;
    match result {
        Ok(Ok(choice)) => choice,
        Ok(Err(error)) => {
            tracing::warn!(%error, "applied detector settings unreadable; using the config's");
            fallback
        }
        Err(error) => {
            tracing::warn!(%error, "applied detector settings task failed; using the config's");
            fallback
        }
    }
}

#[cfg(test)]
mod tests {
    use detect::{DetectorSpec, DropParams, IqrParams, SeasonalParams};

    use super::*;

    fn configured() -> DetectorChoice {
        let mut choice = DetectorChoice::default();
        choice.per_metric.insert(
            "feed_ctr".into(),
            Ensemble::single(DetectorSpec::Seasonal(SeasonalParams::default())),
        );
        choice
    }

    #[test]
    fn applied_settings_override_the_config_until_reverted_and_keep_a_history() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vigil-state.sqlite");
        let config = configured();
        let tuned = Ensemble::single(DetectorSpec::Iqr(IqrParams {
            a: 2.5,
            ..IqrParams::default()
        }));
        let combined = Ensemble::new(
            vec![
                DetectorSpec::Seasonal(SeasonalParams::default()),
                DetectorSpec::Drop(DropParams::default()),
            ],
            detect::CombineRule::Any,
        );
        {
            let mut store = SettingsStore::open(&path).expect("opens");
            let first = store
                .apply("feed_views", Some(&tuned), &config, "web", 100)
                .expect("applies");
            assert_eq!(
                first.previous, config.default,
                "the config's default was in effect"
            );
            store
                .apply("feed_ctr", Some(&combined), &config, "web", 200)
                .expect("applies");
        }
        let mut store = SettingsStore::open(&path).expect("reopens");
        let effective = store.effective(&config).expect("reads");
        assert_eq!(effective.for_metric("feed_views"), &tuned);
        assert_eq!(effective.for_metric("feed_ctr"), &combined);
        assert_eq!(effective.for_metric("feed_likes"), &config.default);

        let revert = store
            .apply("feed_views", None, &config, "web", 300)
            .expect("reverts");
        assert_eq!(revert.previous, tuned);
        store
            .apply("feed_ctr", None, &config, "web", 400)
            .expect("reverts");
        let effective = store.effective(&config).expect("reads");
        assert_eq!(effective, config, "back to the config file's choice");

        let history = store.history(Some("feed_views")).expect("history");
        let summary: Vec<_> = history
            .iter()
            .map(|c| {
                (
                    c.applied_at,
                    c.detector.as_ref().map(Ensemble::name),
                    c.previous.name(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (300, None, "iqr".to_string()),
                (100, Some("iqr".to_string()), "iqr".to_string())
            ]
        );
        assert_eq!(store.history(None).expect("all").len(), 4);

        store
            .apply("feed_views", Some(&tuned), &config, "web", 500)
            .expect("applies");
        let fixed = DetectorChoice {
            fixed: true,
            ..config.clone()
        };
        assert_eq!(
            store.effective(&fixed).expect("reads"),
            fixed,
            "a command-line override wins"
        );
    }
}
