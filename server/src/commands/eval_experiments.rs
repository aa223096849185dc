//! `vigil eval --experiments`: the two experiment targets of issue 17,
//! measured on the simulator with the check's own verdicts.
//!
//! * **Labelled experiments.** Per seed, the simulator writes its default
//!   history with its experiments (`simulator::experiments`), the check
//!   compares what their labels declare (`simulator::experiments::declared`,
//!   as on a store without `[[experiments]]`), and every bucket from each
//!   experiment's start is judged by `check::experiments::judge_sums` on the
//!   running totals since that start, as the check judges it. Scored: the
//!   delay from a labelled effect's start to the first alert on its metric,
//!   from the assignment's break to the first sample-ratio alert, and any
//!   alert of the A/A pair.
//! * **A/A over many days.** One A/A pair per history says little about a
//!   rate, so the simulator also runs `--aa-runs` histories of `--aa-days`
//!   without experiments or incidents, and two disjoint pairs of groups
//!   (0 against 1, 2 against 3) are judged at every bucket from the first:
//!   the share of pairs that ever alarmed, with its 95% interval, against
//!   the configured levels.
//!
//! The sums come from the events in memory ([`Exposure`]), not a query per
//! look: thousands of looks per history would otherwise take hours.

use std::io::Write;

use detect::eval::{Delays, Share};
use detect::experiments::Rules;
use serde::Serialize;

use super::eval::{EvalArgs, EvalFormat};
use super::eval_exposure::Exposure;
use crate::check::experiments::{alert_metric, judge_sums, SAMPLE_RATIO};
use crate::config::{ExperimentConfig, SimulatorConfig};
use crate::events::{Incident, IncidentKind};
use crate::metrics::catalogue;
use crate::metrics::model::{MetricDef, BUCKET_SECONDS};
use crate::simulator::{experiments, Simulator};

/// The target: an alert within 4 buckets of the effect's start.
const TARGET_MINUTES: f64 = 4.0 * 15.0;
/// Histories end at a Monday midnight UTC (2026-03-02) plus a
/// seed-dependent time of day, so experiments start at every hour.
const BASE_END: i64 = 1_772_409_600;
/// Days of history behind the labelled experiments: the embedded default's.
const LABELLED_DAYS: u32 = 14;
/// The metrics the A/A pairs compare: those the simulator's experiments
/// compare (a ratio and a count per user).
const AA_METRICS: [&str; 2] = ["feed_ctr", "messages_sent"];
/// The A/A pairs of one history: disjoint, so independent runs.
const AA_PAIRS: [(u8, u8); 2] = [(0, 1), (2, 3)];

/// The end of seed's history: a time of day that moves by 37 buckets a seed.
fn history_end(seed: u64) -> i64 {
    BASE_END + (seed.wrapping_mul(37) % 96) as i64 * BUCKET_SECONDS
}

/// What one labelled experiment did in one history.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    name: String,
    kind: IncidentKind,
    /// The metric the label (and the scored alert) is about.
    alert: String,
    /// Minutes from the label's start to the end of the first alerting
    /// bucket at or after it (the earliest a check can send it).
    delay: Option<f64>,
    /// Alerts no label explains: any on the A/A pair, a sample ratio
    /// alert of an experiment whose split is fine or before its break.
    false_alarm: bool,
}

/// The first bucket each alert metric (and slice) was anomalous.
#[derive(Default)]
struct FirstAlerts(Vec<(String, i64)>);

impl FirstAlerts {
    fn note(&mut self, metric: &str, bucket: i64) {
        if !self.0.iter().any(|(m, _)| m == metric) {
            self.0.push((metric.to_string(), bucket));
        }
    }

    /// The first bucket `metric` alerted, if it did.
    fn at(&self, metric: &str) -> Option<i64> {
        self.0.iter().find(|(m, _)| m == metric).map(|(_, b)| *b)
    }
}

/// Adds one bucket's events to `exposure` and judges `experiment` on the
/// totals, as the check at the end of `bucket` does; calls `alert` with
/// the alert metric of each anomalous verdict.
fn judge_bucket(
    experiment: &ExperimentConfig,
    exposure: &mut Exposure<'_>,
    batch: &crate::events::EventBatch,
    bucket: i64,
    mut alert: impl FnMut(&str),
) {
    exposure.add(batch);
    for evaluation in judge_sums(experiment, &exposure.sums(), bucket) {
        if evaluation.point.is_anomaly {
            alert(&evaluation.metric);
        }
    }
}

/// The metrics of `names` in the catalogue.
fn catalogue_metrics<'a>(all: &'a [MetricDef], names: &[String]) -> Vec<&'a MetricDef> {
    all.iter().filter(|m| names.contains(&m.name)).collect()
}

/// One simulated history with the default experiments, each judged at
/// every bucket of its run.
fn labelled_run(users: u32, seed: u64, metrics: &[MetricDef]) -> Vec<Outcome> {
    let end = history_end(seed);
    let start = end - i64::from(LABELLED_DAYS) * 86_400;
    let config = SimulatorConfig {
        users,
        days: LABELLED_DAYS,
        seed,
    };
    let mut simulator = Simulator::new(&config, end, Some((start, end)));
    let labels = simulator.experiment_labels();
    let declared: Vec<(Incident, ExperimentConfig)> = (labels.iter())
        .filter_map(|label| {
            let experiment = experiments::declared(std::slice::from_ref(label)).pop()?;
            Some((label.clone(), experiment))
        })
        .collect();
    let mut exposures: Vec<Exposure<'_>> = (declared.iter())
        .map(|(_, e)| Exposure::new(catalogue_metrics(metrics, &e.metrics), e.groups(), e.start))
        .collect();
    let mut first: Vec<FirstAlerts> = declared.iter().map(|_| FirstAlerts::default()).collect();
    // Sample ratio alerts before a break: the only alerts a first-alert
    // record would hide behind a later, labelled one.
    let mut early_srm = vec![false; declared.len()];
    for bucket in (start..end).step_by(BUCKET_SECONDS as usize) {
        let batch = simulator.generate(bucket, bucket + BUCKET_SECONDS);
        for (index, (label, experiment)) in declared.iter().enumerate() {
            if !experiment.running_at(bucket) {
                continue;
            }
            let srm = alert_metric(&experiment.name, SAMPLE_RATIO);
            judge_bucket(
                experiment,
                &mut exposures[index],
                &batch,
                bucket,
                |metric| {
                    first[index].note(metric, bucket);
                    early_srm[index] |= metric == srm && bucket < label.start;
                },
            );
        }
    }
    (declared.iter().zip(&first).zip(early_srm))
        .map(|(((label, experiment), first), early_srm)| {
            let srm = alert_metric(&experiment.name, SAMPLE_RATIO);
            let alert = match label.kind {
                IncidentKind::ExperimentSrm => srm.clone(),
                _ => alert_metric(&experiment.name, &label.metric),
            };
            let delay = (first.at(&alert))
                .filter(|bucket| *bucket >= label.start)
                .map(|bucket| (bucket + BUCKET_SECONDS - label.start) as f64 / 60.0);
            let false_alarm = match label.kind {
                IncidentKind::ExperimentAa => !first.0.is_empty(),
                IncidentKind::ExperimentSrm => early_srm,
                _ => first.at(&srm).is_some(),
            };
            Outcome {
                name: experiment.name.clone(),
                kind: label.kind,
                alert: alert
                    .trim_start_matches(crate::check::experiments::PREFIX)
                    .to_string(),
                delay: (label.kind != IncidentKind::ExperimentAa)
                    .then_some(delay)
                    .flatten(),
                false_alarm,
            }
        })
        .collect()
}

/// Which alerts one A/A pair ever raised over a history.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct AaAlarms {
    /// Per metric of [`AA_METRICS`]: ever diverged.
    diverged: [bool; AA_METRICS.len()],
    sample_ratio: bool,
}

/// One history without experiments or incidents: its A/A pairs judged at
/// every bucket from the first.
fn aa_run(users: u32, days: u32, seed: u64, metrics: &[MetricDef]) -> Vec<AaAlarms> {
    let end = history_end(seed);
    let start = end - i64::from(days) * 86_400;
    let config = SimulatorConfig { users, days, seed };
    let mut simulator = Simulator::new(&config, end, None);
    let pairs: Vec<ExperimentConfig> = (AA_PAIRS.iter())
        .map(|&(control, treatment)| ExperimentConfig {
            name: format!("aa-{control}-{treatment}"),
            metrics: AA_METRICS.iter().map(|m| m.to_string()).collect(),
            control: vec![control],
            treatments: vec![vec![treatment]],
            split: vec![1.0, 1.0],
            start,
            end: None,
            rules: Rules::default(),
        })
        .collect();
    let mut exposures: Vec<Exposure<'_>> = (pairs.iter())
        .map(|p| Exposure::new(catalogue_metrics(metrics, &p.metrics), p.groups(), start))
        .collect();
    let mut alarms = vec![AaAlarms::default(); pairs.len()];
    for bucket in (start..end).step_by(BUCKET_SECONDS as usize) {
        let batch = simulator.generate(bucket, bucket + BUCKET_SECONDS);
        for (index, pair) in pairs.iter().enumerate() {
            let alarms = &mut alarms[index];
            judge_bucket(pair, &mut exposures[index], &batch, bucket, |metric| {
                if metric == alert_metric(&pair.name, SAMPLE_RATIO) {
                    alarms.sample_ratio = true;
                }
                for (flag, name) in alarms.diverged.iter_mut().zip(AA_METRICS) {
                    *flag |= metric == alert_metric(&pair.name, name);
                }
            });
        }
    }
    alarms
}

/// Runs `job` for every seed on the machine's cores, results in seed order.
fn per_seed<T: Send>(seeds: &[u64], job: impl Fn(u64) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let chunk = seeds.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (seeds.chunks(chunk))
            .map(|seeds| scope.spawn(|| seeds.iter().map(|&s| job(s)).collect::<Vec<T>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("evaluation thread panicked"))
            .collect()
    })
}

/// One labelled experiment over every run.
#[derive(Serialize)]
struct ExperimentRow {
    experiment: String,
    label: &'static str,
    alert: String,
    /// Delays in minutes (not for the A/A pair).
    delays: Option<Delays>,
    false_alarms: Share,
}

/// One A/A check over every pair.
#[derive(Serialize)]
struct AaRow {
    check: String,
    alarmed: Share,
    rate: Option<f64>,
    interval95: Option<(f64, f64)>,
    /// The configured level it is held to.
    level: f64,
}

#[derive(Serialize)]
struct ExperimentReport {
    users: u32,
    seeds: Vec<u64>,
    history_days: u32,
    target_minutes: f64,
    experiments: Vec<ExperimentRow>,
    aa_seeds: Vec<u64>,
    aa_days: u32,
    aa_looks: i64,
    aa: Vec<AaRow>,
}

fn experiment_rows(runs: &[Vec<Outcome>]) -> Vec<ExperimentRow> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    (first.iter().enumerate())
        .map(|(index, outcome)| {
            let all: Vec<&Outcome> = runs.iter().filter_map(|run| run.get(index)).collect();
            let mut false_alarms = Share::default();
            for run in &all {
                false_alarms.add(run.false_alarm);
            }
            let delays: Vec<Option<f64>> = all.iter().map(|run| run.delay).collect();
            ExperimentRow {
                experiment: outcome.name.clone(),
                label: outcome.kind.as_str(),
                alert: outcome.alert.clone(),
                delays: (outcome.kind != IncidentKind::ExperimentAa)
                    .then(|| Delays::new(&delays, TARGET_MINUTES)),
                false_alarms,
            }
        })
        .collect()
}

fn aa_rows(runs: &[AaAlarms]) -> Vec<AaRow> {
    let rules = Rules::default();
    let row = |check: String, level: f64, hit: &dyn Fn(&AaAlarms) -> bool| {
        let mut alarmed = Share::default();
        for run in runs {
            alarmed.add(hit(run));
        }
        AaRow {
            check,
            rate: alarmed.rate(),
            interval95: alarmed.interval(0.95),
            alarmed,
            level,
        }
    };
    let mut rows: Vec<AaRow> = (AA_METRICS.iter().enumerate())
        .map(|(index, name)| {
            row(format!("{name} diverged"), rules.alpha, &|r| {
                r.diverged[index]
            })
        })
        .collect();
    rows.push(row("sample ratio mismatch".into(), rules.srm_alpha, &|r| {
        r.sample_ratio
    }));
    rows.push(row("any of them".into(), rules.alpha, &|r| {
        r.sample_ratio || r.diverged.iter().any(|d| *d)
    }));
    rows
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

fn share(s: &Share) -> String {
    format!("{}/{}", s.hits, s.runs)
}

fn write_table(mut out: impl Write, report: &ExperimentReport) -> std::io::Result<()> {
    let seeds = |s: &[u64]| match (s.first(), s.last()) {
        (Some(a), Some(b)) => format!("{a}..={b}"),
        _ => "none".into(),
    };
    writeln!(
        out,
        "Labelled experiments: {} histories of {} days (seeds {}), {} users; delay = minutes \
         from the effect's start to the end of the first alerting bucket; target {} ({} buckets).",
        report.seeds.len(),
        report.history_days,
        seeds(&report.seeds),
        report.users,
        report.target_minutes,
        report.target_minutes / 15.0
    )?;
    let header = format!(
        "{:<22} {:<18} {:<28} {:>7} {:>8} {:>8} {:>8} {:>9} {:>7}",
        "experiment",
        "label",
        "alert",
        "found",
        "med_min",
        "p90_min",
        "max_min",
        "in_target",
        "false"
    );
    writeln!(out, "{header}\n{}", "-".repeat(header.len()))?;
    for row in &report.experiments {
        let d = row.delays.as_ref();
        writeln!(
            out,
            "{:<22} {:<18} {:<28} {:>7} {:>8} {:>8} {:>8} {:>9} {:>7}",
            row.experiment,
            row.label,
            row.alert,
            d.map_or("-".into(), |d| share(&d.found)),
            opt(d.and_then(|d| d.median), 0),
            opt(d.and_then(|d| d.p90), 0),
            opt(d.and_then(|d| d.max), 0),
            d.map_or("-".into(), |d| share(&d.within_target)),
            share(&row.false_alarms),
        )?;
    }
    writeln!(
        out,
        "\nA/A: {} histories of {} days without experiments (seeds {}), {} users, pairs of groups \
         0/1 and 2/3 each judged at all {} buckets; alarmed = pairs that ever alerted.",
        report.aa_seeds.len(),
        report.aa_days,
        seeds(&report.aa_seeds),
        report.users,
        report.aa_looks
    )?;
    let header = format!(
        "{:<26} {:>9} {:>7} {:>17} {:>7}",
        "check", "alarmed", "rate", "95% interval", "level"
    );
    writeln!(out, "{header}\n{}", "-".repeat(header.len()))?;
    for row in &report.aa {
        let interval = row
            .interval95
            .map_or("-".into(), |(low, high)| format!("{low:.4} - {high:.4}"));
        writeln!(
            out,
            "{:<26} {:>9} {:>7} {:>17} {:>7}",
            row.check,
            share(&row.alarmed),
            opt(row.rate, 4),
            interval,
            row.level
        )?;
    }
    Ok(())
}

/// `vigil eval --experiments`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.users >= 10,
        "--users: expected at least 10 simulated users, got {}",
        args.users
    );
    anyhow::ensure!(
        args.aa_days >= 1,
        "--aa-days: expected at least 1 day, got 0"
    );
    let metrics = catalogue::builtin();
    let started = std::time::Instant::now();
    let seeds: Vec<u64> = (args.seed..).take(args.runs).collect();
    let labelled = per_seed(&seeds, |seed| labelled_run(args.users, seed, &metrics));
    let aa_seeds: Vec<u64> = (args.seed..).take(args.aa_runs).collect();
    let aa: Vec<AaAlarms> = per_seed(&aa_seeds, |seed| {
        aa_run(args.users, args.aa_days, seed, &metrics)
    })
    .into_iter()
    .flatten()
    .collect();
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "experiments evaluated"
    );
    let report = ExperimentReport {
        users: args.users,
        seeds,
        history_days: LABELLED_DAYS,
        target_minutes: TARGET_MINUTES,
        experiments: experiment_rows(&labelled),
        aa_seeds,
        aa_days: args.aa_days,
        aa_looks: i64::from(args.aa_days) * 86_400 / BUCKET_SECONDS,
        aa: aa_rows(&aa),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        EvalFormat::Table => write_table(&mut out, &report)?,
        EvalFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_history_scores_every_labelled_experiment() {
        let metrics = catalogue::builtin();
        let outcomes = labelled_run(300, 3, &metrics);
        let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            experiments::DEFAULTS.map(|t| t.name).to_vec(),
            "every default experiment is scored"
        );
        for outcome in &outcomes {
            if outcome.kind == IncidentKind::ExperimentAa {
                assert_eq!(outcome.delay, None);
            }
            // A delay is counted from the label's start, to a bucket's end.
            if let Some(delay) = outcome.delay {
                assert!(delay >= 15.0 && delay % 15.0 == 0.0, "{outcome:?}");
            }
        }
    }
}
