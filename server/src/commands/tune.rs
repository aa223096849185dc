//! `vigil tune --metric NAME`: searches a parameter grid per detector on the
//! metric's own history, scored against its labels, and prints the best
//! setting of each detector with its figures (F1, precision, recall, delay,
//! false alerts per week), best first, with the `[detectors]` line to use it.
//!
//! Labels: see [`crate::labels`]. Incidents of the whole metric (recorded in
//! the source or marked in the web UI) are the events to find; incidents
//! confined to one slice, and alerts or spans labelled "expected", are neutral
//! (neither right nor wrong). A "false alarm" is a false alert by
//! construction: any detector firing there is penalised through the
//! false-alert count, and it overrides a recorded incident it overlaps.

use std::io::Write;

use clap::Args;
use detect::eval::{evaluate_detector, tuning, DEFAULT_TOLERANCE};
use detect::DetectorSpec;
use serde_json::Value;

use super::history_case;
use super::source_args::SourceArgs;
use crate::times::format_time;

#[derive(Args, Debug)]
pub struct TuneArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// The metric to tune (whole metric).
    #[arg(long)]
    pub metric: String,
    /// Start of the history to tune on (default: 14 days ago).
    #[arg(long, default_value = "now-14d")]
    pub from: String,
    /// End of the history (default: now).
    #[arg(long, default_value = "now")]
    pub to: String,
    /// Detectors to tune (default: every detector but the slow forecast: iqr, seasonal_iqr,
    /// seasonal, drop, changepoint).
    #[arg(long = "detector", value_name = "NAME")]
    pub detectors: Vec<String>,
}

/// Values tried per parameter: 6 x 6 settings per detector.
const GRID_VALUES: usize = 6;

/// The grid searched for `detector`: the web lab's heatmap grid
/// (`detect::eval::tuning::grid_specs`) over its two main parameters. The
/// slow detectors (the forecast refits a model per point) are refused.
fn settings(detector: &str) -> anyhow::Result<Vec<DetectorSpec>> {
    let base = DetectorSpec::default_for(detector)?;
    if base.is_slow() {
        anyhow::bail!(
            "--detector {detector}: too slow to search a grid; try it with `vigil eval --metric`"
        );
    }
    Ok(tuning::grid_specs(&base, GRID_VALUES))
}

/// One tuned detector.
struct Best {
    spec: DetectorSpec,
    f1: f64,
    precision: Option<f64>,
    recall: Option<f64>,
    delay: Option<f64>,
    false_per_week: Option<f64>,
    tried: usize,
}

pub fn run(args: &TuneArgs) -> anyhow::Result<()> {
    let case = history_case::load(&args.source, &args.metric, &args.from, &args.to)?;
    let metric = &case.metric;
    let (range, case) = (case.range, case.case);
    let names: Vec<String> = if args.detectors.is_empty() {
        // Every registered detector fast enough for a grid.
        detect::DETECTORS
            .iter()
            .filter(|d| !d.slow)
            .map(|d| d.name.to_string())
            .collect()
    } else {
        args.detectors.clone()
    };
    let mut results = Vec::new();
    for name in &names {
        let specs = settings(name)?;
        let tried = specs.len();
        let mut best: Option<Best> = None;
        for spec in specs {
            let report =
                evaluate_detector(name, &spec, std::slice::from_ref(&case), DEFAULT_TOLERANCE)?;
            let o = &report.overall;
            let f1 = o.f1.unwrap_or(0.0);
            let fpw = o.false_per_week.unwrap_or(f64::INFINITY);
            let better = best.as_ref().is_none_or(|b| {
                f1 > b.f1 || (f1 == b.f1 && fpw < b.false_per_week.unwrap_or(f64::INFINITY))
            });
            if better {
                best = Some(Best {
                    spec,
                    f1,
                    precision: o.precision,
                    recall: o.recall,
                    delay: o.delay_median,
                    false_per_week: o.false_per_week,
                    tried,
                });
            }
        }
        results.extend(best);
    }
    results.sort_by(|a, b| b.f1.total_cmp(&a.f1));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} from {} to {}: {} buckets, {} labelled incidents",
        metric.name,
        format_time(range.from),
        format_time(range.to),
        case.series.len(),
        case.incidents.len()
    )?;
    let cell =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    writeln!(
        out,
        "detector       f1     precision recall delay  false/wk tried  setting"
    )?;
    for r in &results {
        writeln!(
            out,
            "{:<14} {:<6} {:<9} {:<6} {:<6} {:<8} {:<6} {}",
            r.spec.name(),
            format!("{:.3}", r.f1),
            cell(r.precision, 3),
            cell(r.recall, 3),
            cell(r.delay, 1),
            cell(r.false_per_week, 2),
            r.tried,
            serde_json::to_string(&r.spec)?
        )?;
    }
    let Some(best) = results.first() else {
        return Ok(());
    };
    match no_recommendation_because(case.incidents.len(), best) {
        Some(reason) => writeln!(out, "\nwarning: no setting to recommend: {reason}")?,
        None => writeln!(
            out,
            "\nto use the best in vigil.toml:\n[detectors]\nmetrics = {{ {} = {} }}",
            metric.name,
            toml_inline(&serde_json::to_value(&best.spec)?)
        )?,
    }
    Ok(())
}

/// Why the best setting must not be offered as a config line, if it must
/// not: with nothing to find, or nothing found, "best" is merely the
/// grid's loosest corner (a setting that flags half of all buckets).
fn no_recommendation_because(incidents: usize, best: &Best) -> Option<String> {
    if incidents == 0 {
        return Some(
            "there is no labelled incident in this range, so there is nothing to learn from. \
             Widen --from/--to to cover incidents recorded in the source, or mark incidents \
             on the metric's chart in the web UI, then tune again."
                .to_string(),
        );
    }
    if best.f1 <= 0.0 || best.recall.unwrap_or(0.0) <= 0.0 {
        return Some(format!(
            "no setting of any detector found the {incidents} labelled incident(s) \
             (best F1 {:.3}, recall {}). The range is probably too short for the \
             detectors' history (seasonal ones compare with the previous days and weeks): \
             widen --from (e.g. now-14d) or try another --detector.",
            best.f1,
            best.recall.map_or("-".to_string(), |r| format!("{r:.3}"))
        ));
    }
    None
}

/// A JSON object as a TOML inline table.
fn toml_inline(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            // The tag first: `{ detector = "iqr", a = 4.0, ... }` reads best.
            let mut entries: Vec<(&String, &Value)> =
                map.iter().filter(|(_, v)| !v.is_null()).collect();
            entries.sort_by_key(|(k, _)| *k != "detector");
            let fields: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k} = {}", toml_inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_expand_to_valid_settings() {
        for name in ["iqr", "seasonal_iqr", "seasonal", "drop", "changepoint"] {
            let specs = settings(name).expect("grid builds");
            assert!(
                specs.len() > GRID_VALUES && specs.len() <= GRID_VALUES * GRID_VALUES,
                "{name}: {}",
                specs.len()
            );
            for spec in specs {
                assert_eq!(spec.name(), name);
                spec.validate().expect("valid setting");
            }
        }
        assert!(settings("forecast").is_err(), "too slow for a grid");
    }

    fn best(f1: f64, recall: Option<f64>) -> Best {
        Best {
            spec: DetectorSpec::default_for("seasonal").expect("seasonal"),
            f1,
            precision: None,
            recall,
            delay: None,
            false_per_week: None,
            tried: 1,
        }
    }

    #[test]
    fn failed_tuning_recommends_nothing_and_says_why() {
        let reason = no_recommendation_because(0, &best(0.0, None)).expect("no incidents");
        assert!(reason.contains("no labelled incident"), "{reason}");
        let reason = no_recommendation_because(2, &best(0.0, Some(0.0))).expect("none found");
        assert!(
            reason.contains("too short") && reason.contains("--from"),
            "{reason}"
        );
        assert!(no_recommendation_because(2, &best(0.0, None)).is_some());
        assert_eq!(no_recommendation_because(2, &best(0.8, Some(1.0))), None);
    }

    #[test]
    fn settings_print_as_toml() {
        let spec = DetectorSpec::default_for("iqr").expect("iqr");
        let text = toml_inline(&serde_json::to_value(spec).expect("json"));
        assert!(text.starts_with("{ detector = \"iqr\""), "{text}");
        let parsed: toml::Table = format!("x = {text}").parse().expect("valid TOML");
        assert!(parsed.contains_key("x"));
    }
}
