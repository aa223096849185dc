//! The running experiments' effects in the morning report: each experiment
//! the check compares ([`crate::check::experiments::in_effect`]: the
//! declared ones, or the simulator's when none are declared) that ran
//! during the day, judged on its totals from its start to the end of the
//! day by the check's own computation
//! ([`crate::check::experiments::judge_sums`]), one line per comparison in
//! the alert's words. With no lines, the report leaves the section out.

use super::LocalDay;
use crate::check::experiments::{in_effect, judge_sums, read_sums};
use crate::config::ExperimentConfig;
use crate::evaluation::Evaluation;
use crate::metrics::model::{MetricDef, TimeRange, BUCKET_SECONDS};
use crate::sources::{Source, SourceError};

/// The effects on `day` of the experiments the check compares, one line
/// each (plain text; the report escapes it). The same set as the check's,
/// so a report never describes experiments its alerts are silent about,
/// nor the reverse.
pub async fn effect_lines(
    source: &Source,
    configured: &[ExperimentConfig],
    metrics: &[MetricDef],
    day: LocalDay,
) -> Result<Vec<String>, SourceError> {
    let mut lines = Vec::new();
    for experiment in in_effect(source, configured).await {
        let ran = experiment.start < day.end() && experiment.end.is_none_or(|e| e > day.start());
        if !ran {
            continue;
        }
        let to = experiment.end.map_or(day.end(), |end| end.min(day.end()));
        let range = TimeRange {
            from: experiment.start,
            to,
        };
        let sums = read_sums(source, &experiment, metrics, range).await?;
        let judged = judge_sums(&experiment, &sums, to - BUCKET_SECONDS);
        lines.extend(lines_of(&experiment, &judged, day.utc_offset_minutes));
    }
    Ok(lines)
}

/// One experiment's lines: a sample ratio mismatch alone (it invalidates
/// every comparison), else each comparison's effect and verdict.
fn lines_of(experiment: &ExperimentConfig, judged: &[Evaluation], offset: i32) -> Vec<String> {
    let name = &experiment.name;
    let Some((srm, comparisons)) = judged.split_first() else {
        return Vec::new();
    };
    if srm.point.is_anomaly {
        let users = srm
            .context
            .experiment
            .as_ref()
            .map_or_else(String::new, |f| {
                let users: Vec<String> = (f.users.iter())
                    .map(|(arm, n, expected)| format!("{arm} {n} (split: {expected:.0})"))
                    .collect();
                format!(" (users: {})", users.join(", "))
            });
        return vec![format!(
            "{name}: sample ratio mismatch{users}: its comparison is invalid"
        )];
    }
    comparisons
        .iter()
        .filter_map(|evaluation| {
            let finding = evaluation.context.experiment.as_ref()?;
            let Some(effect) = &finding.effect else {
                return Some(format!("{name}: nothing to compare yet"));
            };
            let sentence = effect.sentence(finding.since, offset);
            let verdict = if evaluation.point.is_anomaly {
                "diverges"
            } else {
                "inconclusive"
            };
            Some(format!(
                "{name}: {sentence}; {verdict} (p = {})",
                app::format::p_value(effect.p_value)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::config::SimulatorConfig;
    use crate::metrics::catalogue;
    use crate::simulator::{experiments::declared, Simulator};
    use crate::sources::SqliteStore;

    /// 2024-01-01 00:00 UTC.
    const START: i64 = 1_704_067_200;

    /// The simulator's experiments, judged over the day before the end of
    /// its history: the harmful one's effect in the alert's words, the
    /// broken assignment as a mismatch alone, and nothing for experiments
    /// that had ended before the day.
    #[tokio::test]
    async fn the_report_lists_the_days_experiments_in_the_alerts_words() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (source, end) = simulated_store(dir.path()).await;
        let all = TimeRange {
            from: 0,
            to: crate::times::MAX_TIME,
        };
        let experiments = declared(&source.incidents(all).await.unwrap());
        let metrics = catalogue::builtin();
        let date = chrono::DateTime::from_timestamp(end - 86_400, 0)
            .unwrap()
            .date_naive();
        let day = LocalDay::new(date, 0);
        let lines = effect_lines(&source, &experiments, &metrics, day)
            .await
            .unwrap();
        // Without a declaration, the simulator's experiments, as the check compares them.
        let undeclared = effect_lines(&source, &[], &metrics, day).await.unwrap();
        assert_eq!(undeclared, lines);
        let harmful: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("feed-ranking-v2: "))
            .collect();
        assert_eq!(harmful.len(), 1, "{lines:#?}");
        assert!(
            harmful[0].contains("in group 2 is ")
                && harmful[0].contains("% below group 1 (95% CI ")
                && harmful[0].contains("; diverges (p = "),
            "{}",
            harmful[0]
        );
        let srm: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("onboarding-v3: "))
            .collect();
        assert_eq!(srm.len(), 1, "{lines:#?}");
        assert!(
            srm[0].contains("sample ratio mismatch (users: group 0 "),
            "{}",
            srm[0]
        );
        // The A/A pair ran over the first half of the history only.
        assert!(
            !lines.iter().any(|l| l.starts_with("aa-check")),
            "{lines:#?}"
        );
        let long_before = LocalDay::new(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(), 0);
        assert!(effect_lines(&source, &experiments, &metrics, long_before)
            .await
            .unwrap()
            .is_empty());
    }

    /// The simulator's 14 days of 2000 users (the experiment tests' history)
    /// in an embedded store, and the end of that history.
    async fn simulated_store(dir: &std::path::Path) -> (Source, i64) {
        let config = SimulatorConfig {
            users: 2000,
            days: 14,
            seed: 42,
        };
        let end = START + 14 * 86_400;
        let mut simulator = Simulator::new(&config, end, Some((START, end)));
        let store = SqliteStore::open(&dir.join("vigil.sqlite")).expect("opens");
        let source = Source::Sqlite(store);
        source
            .write_events(simulator.generate(START, end))
            .await
            .expect("events");
        let mut labels = simulator.incidents();
        labels.extend(simulator.experiment_labels());
        source.write_incidents(&labels).await.expect("labels");
        (source, end)
    }
}
