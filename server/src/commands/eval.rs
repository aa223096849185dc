//! `vigil eval`: score detectors (alone or combined) on labelled incidents —
//! the synthetic benchmark of `detect::eval::synthetic`, the other series
//! families of `detect::eval::families`, a user's labelled CSV, or a
//! metric's own history with its labels — and print precision, recall, F1,
//! detection delay and false alerts per week.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::time::Instant;

use anyhow::Context;
use clap::ValueEnum;
use detect::eval::{
    evaluate_ensemble, evaluate_ensemble_daily, generate, generate_families, generate_young,
    incidents_from_flags, ClassReport, Family, LabelledSeries, Report, DEFAULT_TOLERANCE,
};
use detect::{CombineRule, DetectorSpec, Ensemble, IqrParams, Smoothing, DETECTOR_NAMES};
use serde::Serialize;

use super::history_case;
use super::source_args::SourceArgs;
use crate::csv_series;

/// Which synthetic cases to evaluate on.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Benchmark {
    /// 15-minute product metrics (the default).
    Product,
    /// The other series families (see FAMILIES below).
    Families,
    /// 15-minute product metrics with half a day to 6 days of history (see YOUNG below).
    Young,
    /// All three, pooled in the overall row and reported per family.
    All,
}

/// Output format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalFormat {
    /// Aligned table, one block per detector.
    Table,
    /// The same figures as JSON.
    Json,
}

#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = "\
SCORING: an alert event is a run of consecutive anomalous buckets. An incident is found when an \
alert falls inside its window; its delay is the first alert's index minus the incident's start \
(in buckets). precision = alert events overlapping an incident (or the --tolerance buckets after \
it) / all alert events; recall = found / incidents. false/wk = alert events outside every incident \
and tolerance, per metric per week of scored time (the clean class measures it on series without \
any anomaly).

SYNTHETIC BENCHMARK: for each class (to_zero, fold_drop, multi_drop, drop_during_spike, \
shifted_down, spike_up, slow_decline, clean) and scale (tiny ~20, medium ~400, large ~5000 per \
15 minutes, ratio ~0.2), --cases series of 4 weeks of history plus a scored week holding the \
anomaly. Deterministic per --seed.

FAMILIES (--families, or --benchmark families|all): series other than 15-minute product metrics, \
so a default is not judged on one simulator only. service_1m: a request rate or latency at a 60 s \
step with a daily cycle, 3 days of history + 1 scored day; service_5m: the same at 300 s, 7 + 2 \
days; irregular: a 15-minute product-like metric with 30-50 % of buckets missing at random, 14 + 7 \
days; no_cycle: a stationary noisy series without a daily cycle, 300 s, 7 + 2 days; trend: a \
steady trend of +50-100 % or -30-50 % over the history under a mild cycle, 15 min, 14 + 7 days; \
level_shifts: 1-3 benign permanent shifts of 20-40 % in the history (the last 1-3 days before the \
scored part), 15 min, 14 + 7 days; noisy_plateau: a flat negative-binomial plateau with benign \
short bursts (neutral), 300 s, 7 + 2 days. Classes to_zero, fold_drop, shifted_down, spike_up, \
slow_decline and clean, with durations in time (a fold drop lasts 30 minutes to 2 hours at any \
step); scales low (~30 per bucket), high (~3000) and gauge (latency-like, ~200). --cases series \
per family, class and scale. The seasonal detectors run with a season of one day of each case's \
step, as `vigil detect` defaults it (96 at 15 minutes, 1440 at 1 minute); delays and \
--tolerance stay in buckets of each case's step. The table adds a family=... row per family.

YOUNG (--benchmark young): the product benchmark's cases cut to half a day to 6 days of history \
before the incident (or a point of the week, for clean) and one day after it: a store that has \
just started. Never a week long, so the same slot last week is always missing (and the seasonal \
baseline before the third day). The first half day is history, the rest is scored; family \
product_young.

LABELLED CSV (--input): header `timestamp,value,label`, timestamps and values as for `vigil \
detect`, label 0 or 1; consecutive 1s form one incident. Every bucket is scored.

A METRIC'S HISTORY (--metric): the metric from the configured source between --from and --to, \
scored against its labels: incidents recorded in the source and marked in the web UI are to be \
found; alerts labelled 'expected' (Telegram button) and incidents of a single slice are neutral; \
a 'false alarm' overrides a recorded incident it overlaps.

COMBINED DETECTORS: `--detector seasonal+drop` evaluates the two (default parameters) combined by \
--combine: any (one fires), all (every one fires) or majority (more than half fire).

EXPERIMENTS (--experiments): the check's experiment verdicts scored on the simulator. --runs \
histories of 14 days with the simulator's experiments (an A/A pair, CTR -15%, messages +25%, an \
assignment that breaks), each judged at every bucket from its start on its running totals, as \
the check judges it: per experiment, the minutes from the labelled effect's start (the break, \
for the sample ratio mismatch) to the end of the first alerting bucket, the share within 60 \
minutes (4 buckets), and alerts no label explains. Then --aa-runs histories of --aa-days \
without experiments, groups 0/1 and 2/3 judged at every bucket: the share of pairs that ever \
alerted, with its 95% Wilson interval, against alpha and srm_alpha.

EXAMPLES: vigil eval
          vigil eval --detector seasonal --detector drop --detector seasonal+drop --cases 10 --format json
          vigil eval --families --cases 5 --detector seasonal_iqr --detector iqr_seed
          vigil eval --input labelled.csv --detector changepoint
          vigil eval --metric feed_views --from now-14d
          vigil eval --experiments --runs 20 --aa-runs 100")]
pub struct EvalArgs {
    /// Detector to evaluate with its default parameters, or several joined by `+`
    /// (combined by --combine); repeat for more
    /// [default: every detector, and the seed rule iqr a=4 n=5 asof if that differs from iqr's defaults].
    #[arg(long = "detector", value_name = "NAME")]
    pub detectors: Vec<String>,

    /// How detectors joined by `+` combine: any, all or majority.
    #[arg(long, default_value = "any", value_parser = ["any", "all", "majority"])]
    pub combine: String,

    /// Evaluate on this metric's history and labels instead of the synthetic benchmark.
    #[arg(long, conflicts_with_all = ["input", "seed", "cases"])]
    pub metric: Option<String>,

    /// Start of the metric's history (with --metric).
    #[arg(long, default_value = "now-14d", requires = "metric")]
    pub from: String,

    /// End of the metric's history (with --metric).
    #[arg(long, default_value = "now", requires = "metric")]
    pub to: String,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Seed of the synthetic benchmark.
    #[arg(long, default_value_t = 1, conflicts_with = "input")]
    pub seed: u64,

    /// Synthetic cases per class and scale (and family).
    #[arg(long, default_value_t = 30, conflicts_with = "input")]
    pub cases: usize,

    /// Which synthetic benchmark: product (15-minute product metrics),
    /// families (the other series families, see FAMILIES in --help), young
    /// (product metrics with half a day to 6 days of history, see YOUNG) or all.
    #[arg(long, value_enum, default_value_t = Benchmark::Product, conflicts_with_all = ["input", "metric"])]
    pub benchmark: Benchmark,

    /// Evaluate on the other series families instead of the product benchmark
    /// (the same as --benchmark families).
    #[arg(long, conflicts_with_all = ["benchmark", "input", "metric"])]
    pub families: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,

    /// Evaluate on a labelled CSV (`timestamp,value,label`; `-` for stdin) instead of the synthetic benchmark.
    #[arg(long, short, value_name = "FILE")]
    pub input: Option<String>,

    /// Buckets after an incident's end where an alert still counts as true.
    #[arg(long, default_value_t = DEFAULT_TOLERANCE)]
    pub tolerance: usize,

    /// Score experiment alerts on the simulator instead of detectors (see
    /// EXPERIMENTS in --help).
    #[arg(long, conflicts_with_all = ["detectors", "metric", "input", "families", "benchmark"])]
    pub experiments: bool,

    /// With --experiments: simulated histories with the labelled experiments
    /// (seeds from --seed on).
    #[arg(long, default_value_t = 20, requires = "experiments")]
    pub runs: usize,

    /// With --experiments: simulated A/A histories (two pairs of groups each).
    #[arg(long, default_value_t = 100, requires = "experiments")]
    pub aa_runs: usize,

    /// With --experiments: days of each A/A history.
    #[arg(long, default_value_t = 28, requires = "experiments")]
    pub aa_days: u32,

    /// With --experiments: simulated users (the embedded default's 2000).
    #[arg(long, default_value_t = 2000, requires = "experiments")]
    pub users: u32,
}

/// The seed rule: rolling IQR, a = 4, n = 5, as-of smoothing.
fn seed_baseline() -> DetectorSpec {
    DetectorSpec::Iqr(IqrParams {
        n: 5,
        a: 4.0,
        smooth: Smoothing::AsOf,
    })
}

/// The detectors to evaluate, named; `a+b` combines `a` and `b` by `rule`.
pub fn detectors(names: &[String], rule: CombineRule) -> anyhow::Result<Vec<(String, Ensemble)>> {
    if names.is_empty() {
        let mut out: Vec<(String, Ensemble)> = DETECTOR_NAMES
            .iter()
            .map(|&n| {
                (
                    n.to_string(),
                    Ensemble::single(DetectorSpec::default_for(n).expect("known name")),
                )
            })
            .collect();
        let seed = Ensemble::single(seed_baseline());
        if !out.iter().any(|(_, s)| *s == seed) {
            out.push(("iqr_seed".to_string(), seed));
        }
        return Ok(out);
    }
    names
        .iter()
        .map(|name| {
            let members = name
                .split('+')
                .map(|member| member_spec(name, member.trim()))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let ensemble = match <[DetectorSpec; 1]>::try_from(members) {
                Ok([one]) => Ensemble::single(one),
                Err(members) => Ensemble::new(members, rule),
            };
            Ok((name.clone(), ensemble))
        })
        .collect()
}

fn member_spec(name: &str, member: &str) -> anyhow::Result<DetectorSpec> {
    if member == "iqr_seed" {
        return Ok(seed_baseline());
    }
    DetectorSpec::default_for(member).map_err(|_| {
        anyhow::anyhow!(
            "--detector {name:?}: unknown detector {member:?} (expected one of {}, iqr_seed, or several joined by +)",
            DETECTOR_NAMES.join(", ")
        )
    })
}

/// What `--format json` prints.
#[derive(Serialize)]
struct JsonOutput<'a> {
    /// `synthetic` (the product benchmark), `families`, `all`, `csv` or `metric`.
    benchmark: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cases_per_class: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a str>,
    #[serde(flatten)]
    report: &'a Report,
}

/// Reads a labelled CSV as one case.
pub fn labelled_case(input: impl Read, name: &str) -> anyhow::Result<LabelledSeries> {
    let (csv, labels) = csv_series::read_labelled_series(input, name)?;
    Ok(LabelledSeries {
        name: name.to_string(),
        class: "labelled".to_string(),
        scale: String::new(),
        family: String::new(),
        incidents: incidents_from_flags(&labels),
        neutral: Vec::new(),
        eval_start: 0,
        series: csv.series,
    })
}

/// How the seasonal detectors' season is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Season {
    /// As the detector's parameters give it (96 points by default).
    AsGiven,
    /// One day of each case's step, as `vigil detect` defaults it.
    Daily,
}

/// Evaluates every detector, one thread each.
pub fn evaluate(
    detectors: &[(String, Ensemble)],
    cases: &[LabelledSeries],
    tolerance: usize,
    season: Season,
) -> anyhow::Result<Report> {
    let run = match season {
        Season::AsGiven => evaluate_ensemble,
        Season::Daily => evaluate_ensemble_daily,
    };
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = detectors
            .iter()
            .map(|(name, spec)| scope.spawn(move || run(name, spec, cases, tolerance)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("evaluation thread panicked"))
            .collect::<Vec<_>>()
    });
    let mut out = Vec::with_capacity(results.len());
    for ((name, _), r) in detectors.iter().zip(results) {
        out.push(r.with_context(|| format!("detector {name}"))?);
    }
    Ok(Report {
        cases: cases.len(),
        tolerance,
        detectors: out,
    })
}

fn fmt_opt(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// True when the table has family=... rows: the cases span several families
/// (a product-only run has one, and its table stays as it was).
fn shows_families(report: &Report) -> bool {
    report.detectors.iter().any(|d| d.families.len() > 1)
}

/// Width of the class column: the longest class, scale=... or family=... label.
fn class_width(report: &Report) -> usize {
    let families = shows_families(report);
    report
        .detectors
        .iter()
        .flat_map(|d| {
            let classes = d.classes.iter().map(|c| c.class.len());
            let scales = d.scales.iter().map(|c| c.class.len() + "scale=".len());
            let family_rows = if families { d.families.as_slice() } else { &[] };
            let families = family_rows.iter().map(|c| c.class.len() + "family=".len());
            classes.chain(scales).chain(families)
        })
        .chain([7])
        .max()
        .unwrap_or(7)
}

/// `c` with its label prefixed (`scale=tiny`, `family=trend`).
fn labelled(prefix: &str, c: &ClassReport) -> ClassReport {
    ClassReport {
        class: format!("{prefix}={}", c.class),
        ..c.clone()
    }
}

/// The footnote's sentence on family rows: what they pool and each
/// family's step, since delays are in buckets of it.
fn family_note(report: &Report) -> String {
    if !shows_families(report) {
        return String::new();
    }
    let steps: Vec<String> = report
        .detectors
        .first()
        .map(|d| d.families.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| match Family::from_name(&c.class) {
            Some(f) => format!("{} {} s", c.class, f.step()),
            None => format!("{} 900 s", c.class),
        })
        .collect();
    format!(
        " family=... rows pool every class and scale of that family; \
         its delays are in buckets of its step ({}).",
        steps.join(", ")
    )
}

/// The aligned table: a block per detector, a row per class, a row per scale
/// and (when there are several) per family, an overall row.
pub fn write_table(mut out: impl Write, report: &Report) -> std::io::Result<()> {
    let width = class_width(report);
    let header = format!(
        "{:<14} {:<width$} {:>5} {:>6} {:>5} {:>6} {:>6} {:>6} {:>9} {:>9} {:>8}",
        "detector",
        "class",
        "cases",
        "incid",
        "found",
        "prec",
        "recall",
        "F1",
        "delay_med",
        "delay_p90",
        "false/wk"
    );
    writeln!(out, "{header}")?;
    writeln!(out, "{}", "-".repeat(header.len()))?;
    let row = |out: &mut dyn Write, name: &str, c: &ClassReport| {
        writeln!(
            out,
            "{:<14} {:<width$} {:>5} {:>6} {:>5} {:>6} {:>6} {:>6} {:>9} {:>9} {:>8}",
            name,
            c.class,
            c.cases,
            c.incidents,
            c.found,
            fmt_opt(c.precision, 3),
            fmt_opt(c.recall, 3),
            fmt_opt(c.f1, 3),
            fmt_opt(c.delay_median, 1),
            fmt_opt(c.delay_p90, 1),
            fmt_opt(c.false_per_week, 2),
        )
    };
    for (i, d) in report.detectors.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        for c in &d.classes {
            row(&mut out, &d.name, c)?;
        }
        for c in &d.scales {
            row(&mut out, &d.name, &labelled("scale", c))?;
        }
        if shows_families(report) {
            for c in &d.families {
                row(&mut out, &d.name, &labelled("family", c))?;
            }
        }
        row(&mut out, &d.name, &d.overall)?;
    }
    writeln!(
        out,
        "\n{} cases; scale=... rows pool every class of that scale; delays in buckets; \
         an alert within {} buckets after an incident is not false.{}",
        report.cases,
        report.tolerance,
        family_note(report)
    )
}

impl EvalArgs {
    /// The synthetic benchmark asked for (`--families` is `families`).
    fn benchmark(&self) -> Benchmark {
        if self.families {
            Benchmark::Families
        } else {
            self.benchmark
        }
    }

    /// The synthetic cases of [`benchmark`](Self::benchmark).
    fn synthetic_cases(&self) -> anyhow::Result<Vec<LabelledSeries>> {
        // Zero cases would score nothing and print an empty table as a success.
        anyhow::ensure!(
            self.cases >= 1,
            "--cases: expected at least 1 synthetic case per class, got 0"
        );
        Ok(match self.benchmark() {
            Benchmark::Product => generate(self.seed, self.cases),
            Benchmark::Families => generate_families(self.seed, self.cases),
            Benchmark::Young => generate_young(self.seed, self.cases),
            Benchmark::All => {
                let mut cases = generate(self.seed, self.cases);
                cases.extend(generate_families(self.seed, self.cases));
                cases.extend(generate_young(self.seed, self.cases));
                cases
            }
        })
    }

    /// The JSON `benchmark` name.
    fn benchmark_name(&self) -> &'static str {
        match (&self.input, &self.metric, self.benchmark()) {
            (_, Some(_), _) => "metric",
            (Some(_), None, _) => "csv",
            (None, None, Benchmark::Product) => "synthetic",
            (None, None, Benchmark::Families) => "families",
            (None, None, Benchmark::Young) => "young",
            (None, None, Benchmark::All) => "all",
        }
    }
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    if args.experiments {
        return super::eval_experiments::run(args);
    }
    let rule = CombineRule::parse(&args.combine).with_context(|| {
        format!(
            "--combine {:?}: expected any, all or majority",
            args.combine
        )
    })?;
    let detectors = detectors(&args.detectors, rule)?;
    let started = Instant::now();
    let cases = match (&args.input, &args.metric) {
        (_, Some(metric)) => {
            vec![history_case::load(&args.source, metric, &args.from, &args.to)?.case]
        }
        (Some(path), None) if path == "-" => {
            vec![labelled_case(std::io::stdin().lock(), "<stdin>")?]
        }
        (Some(path), None) => {
            let file = File::open(path).with_context(|| format!("opening {path}"))?;
            vec![labelled_case(BufReader::new(file), path)?]
        }
        (None, None) => args.synthetic_cases()?,
    };
    let synthetic = args.input.is_none() && args.metric.is_none();
    // Synthetic cases come at several steps: their season is a day of each
    // (the product benchmark's 96, unchanged). A CSV or a metric keeps the
    // detectors' parameters as they are, as it always has.
    let season = if synthetic {
        Season::Daily
    } else {
        Season::AsGiven
    };
    let report = evaluate(&detectors, &cases, args.tolerance, season)?;
    tracing::info!(
        cases = cases.len(),
        detectors = detectors.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "evaluated"
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        EvalFormat::Table => write_table(&mut out, &report)?,
        EvalFormat::Json => {
            let json = JsonOutput {
                benchmark: args.benchmark_name(),
                seed: synthetic.then_some(args.seed),
                cases_per_class: synthetic.then_some(args.cases),
                input: args.input.as_deref().or(args.metric.as_deref()),
                report: &report,
            };
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}
