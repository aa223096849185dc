//! [`DetectorSettings`] on SQLite: the `detector_settings` table.

use detect::Ensemble;
use rusqlite::params;

use super::SqliteState;
use crate::detector_choice::DetectorChoice;
use crate::state::{DetectorSettings, SettingChange, SettingsError};

fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> SettingsError {
    move |error| SettingsError::Sql {
        context,
        error: error.into(),
    }
}

impl DetectorSettings for SqliteState {
    /// Records a change: `detector` (validated by the caller) takes effect for
    fn apply_detector(
        &mut self,
        metric: &str,
        detector: Option<&Ensemble>,
        configured: &DetectorChoice,
        applied_by: &str,
        now: i64,
    ) -> Result<SettingChange, SettingsError> {
        let previous = self
            .effective_detectors(configured)?
            .for_metric(metric)
            .clone();
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

    fn detector_history(&self, metric: Option<&str>) -> Result<Vec<SettingChange>, SettingsError> {
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
            let mut store = SqliteState::open(&path).expect("opens");
            let first = store
                .apply_detector("feed_views", Some(&tuned), &config, "web", 100)
                .expect("applies");
            assert_eq!(
                first.previous, config.default,
                "the config's default was in effect"
            );
            store
                .apply_detector("feed_ctr", Some(&combined), &config, "web", 200)
                .expect("applies");
        }
        let mut store = SqliteState::open(&path).expect("reopens");
        let effective = store.effective_detectors(&config).expect("reads");
        assert_eq!(effective.for_metric("feed_views"), &tuned);
        assert_eq!(effective.for_metric("feed_ctr"), &combined);
        assert_eq!(effective.for_metric("feed_likes"), &config.default);

        let revert = store
            .apply_detector("feed_views", None, &config, "web", 300)
            .expect("reverts");
        assert_eq!(revert.previous, tuned);
        store
            .apply_detector("feed_ctr", None, &config, "web", 400)
            .expect("reverts");
        let effective = store.effective_detectors(&config).expect("reads");
        assert_eq!(effective, config, "back to the config file's choice");

        let history = store.detector_history(Some("feed_views")).expect("history");
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
                (100, Some("iqr".to_string()), "learned".to_string())
            ]
        );
        assert_eq!(store.detector_history(None).expect("all").len(), 4);

        store
            .apply_detector("feed_views", Some(&tuned), &config, "web", 500)
            .expect("applies");
        let fixed = DetectorChoice {
            fixed: true,
            ..config.clone()
        };
        assert_eq!(
            store.effective_detectors(&fixed).expect("reads"),
            fixed,
            "a command-line override wins"
        );
    }
}
