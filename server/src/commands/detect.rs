//! `vigil detect`: run a detector over a CSV series, write points as CSV.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use anyhow::Context;
use clap::builder::{EnumValueParser, PossibleValue, PossibleValuesParser};
use clap::{Arg, ArgMatches, ValueEnum};
use detect::detectors::{Given, ParamDoc, ParamKind};
use detect::{DetectorSpec, Entry, Smoothing, DETECTORS};

use crate::csv_series::{self, SpanLimit, MAX_BUCKETS_LEARNED};

/// Band smoothing (see `detect::Smoothing`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmoothArg {
    /// Mean of the raw band over the last n/2+1 buckets: what a live check sees.
    Asof,
    /// The seed's centered mean over n buckets (looks into the future; comparison only).
    Centered,
    /// The raw band.
    None,
}

impl From<SmoothArg> for Smoothing {
    fn from(s: SmoothArg) -> Self {
        match s {
            SmoothArg::Asof => Smoothing::AsOf,
            SmoothArg::Centered => Smoothing::Centered,
            SmoothArg::None => Smoothing::None,
        }
    }
}

/// One `vigil detect` flag: a parameter key of one or more registered
/// detectors (`detect::DETECTORS`), with each user's view of it.
struct Flag {
    key: &'static str,
    kind: ParamKind,
    users: Vec<(&'static str, ParamDoc)>,
}

impl Flag {
    /// `--min-seasons` for `min_seasons`.
    fn long(&self) -> String {
        self.key.replace('_', "-")
    }

    /// The users sharing a help text, named, then their defaults:
    /// `iqr, seasonal_iqr: band width ... [default: 4 for iqr, 3 for seasonal_iqr]`.
    fn help(&self) -> String {
        let mut groups: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
        for (name, doc) in &self.users {
            match groups.iter_mut().find(|(help, _)| *help == doc.help) {
                Some((_, members)) => members.push((name, &doc.default)),
                None => groups.push((doc.help, vec![(name, &doc.default)])),
            }
        }
        let group = |(help, members): &(&str, Vec<(&str, &str)>)| {
            let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
            let defaults = if members.iter().all(|(_, d)| *d == members[0].1) {
                members[0].1.to_string()
            } else {
                let each: Vec<String> = members
                    .iter()
                    .map(|(n, d)| format!("{d} for {n}"))
                    .collect();
                each.join(", ")
            };
            format!("{}: {help} [default: {defaults}]", names.join(", "))
        };
        groups.iter().map(group).collect::<Vec<_>>().join("; ")
    }

    fn arg(&self) -> Arg {
        // clap keeps names as `&'static str`; the flags are built once per run.
        let value_name: &'static str = self.key.to_uppercase().leak();
        let arg = Arg::new(self.key)
            .long(self.long().leak() as &'static str)
            .help(self.help())
            .required(false);
        match self.kind {
            ParamKind::Count => arg
                .value_name(value_name)
                .value_parser(clap::value_parser!(usize)),
            ParamKind::Number | ParamKind::Optional => arg
                .value_name(value_name)
                .allow_negative_numbers(true)
                .value_parser(clap::value_parser!(f64)),
            ParamKind::Smoothing => arg
                .value_name(value_name)
                .value_parser(EnumValueParser::<SmoothArg>::new()),
            ParamKind::Period => arg.value_name("POINTS|DURATION|auto"),
        }
    }
}

/// Every parameter of every registered detector, one flag per key, in
/// registration order.
fn flags() -> Vec<Flag> {
    let mut flags: Vec<Flag> = Vec::new();
    for entry in &DETECTORS {
        for doc in (entry.params)() {
            match flags.iter_mut().find(|f| f.key == doc.key) {
                Some(flag) => {
                    debug_assert_eq!(flag.kind, doc.kind, "--{} differs in type", doc.key);
                    flag.users.push((entry.name, doc));
                }
                None => flags.push(Flag {
                    key: doc.key,
                    kind: doc.kind,
                    users: vec![(entry.name, doc)],
                }),
            }
        }
    }
    flags
}

/// `--detector` and the detector parameter flags, derived from the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorFlags {
    /// The chosen detector's registered name.
    pub name: &'static str,
    /// `--period` as given (points, a duration or `auto`).
    pub period: Option<String>,
    /// The other parameter flags given, by parameter key, in flag order.
    pub given: Vec<(&'static str, Given)>,
}

impl DetectorFlags {
    fn entry(&self) -> &'static Entry {
        Entry::find(self.name).expect("--detector takes registered names only")
    }
}

impl clap::FromArgMatches for DetectorFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let chosen = matches
            .get_one::<String>("detector")
            .map_or(DETECTORS[0].name, String::as_str);
        let name = Entry::find(chosen).map_or(DETECTORS[0].name, |e| e.name);
        let mut out = DetectorFlags {
            name,
            period: None,
            given: Vec::new(),
        };
        for flag in flags() {
            let key = flag.key;
            let given = match flag.kind {
                ParamKind::Count => matches.get_one::<usize>(key).map(|v| Given::Count(*v)),
                ParamKind::Number | ParamKind::Optional => {
                    matches.get_one::<f64>(key).map(|v| Given::Number(*v))
                }
                ParamKind::Smoothing => matches
                    .get_one::<SmoothArg>(key)
                    .map(|v| Given::Smoothing((*v).into())),
                ParamKind::Period => {
                    out.period = matches.get_one::<String>(key).cloned();
                    None
                }
            };
            out.given.extend(given.map(|g| (key, g)));
        }
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for DetectorFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let names = DETECTORS
            .iter()
            .map(|e| PossibleValue::new(e.name).help(e.summary));
        let detector = Arg::new("detector")
            .long("detector")
            .value_name("DETECTOR")
            .help("Detector to run")
            .default_value(DETECTORS[0].name)
            .value_parser(PossibleValuesParser::new(names));
        cmd.arg(detector).args(flags().iter().map(Flag::arg))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// The `DETECTORS:` paragraph of the long help: each detector's flags.
fn detectors_help() -> String {
    let each: Vec<String> = DETECTORS
        .iter()
        .map(|entry| {
            let flags: Vec<String> = (entry.params)()
                .iter()
                .map(|p| format!("--{}", p.key.replace('_', "-")))
                .collect();
            format!("{} ({})", entry.name, flags.join(" "))
        })
        .collect();
    format!(
        "DETECTORS: {}. A flag the chosen detector does not use is an error.",
        each.join(", ")
    )
}

fn after_long_help() -> String {
    format!(
        "{AFTER_HELP_IO}\n\n{}\n\n{AFTER_HELP_PERIOD}",
        detectors_help()
    )
}

const AFTER_HELP_IO: &str = "\
INPUT: CSV with the header `timestamp,value`. Timestamps are RFC 3339 (e.g. 2024-05-01T12:15:00Z, \
any offset, converted to UTC) or `YYYY-MM-DD HH:MM:SS` (UTC), whole seconds, increasing. An empty \
value is a gap, and so is NaN or inf (with a warning naming the first line); any other value must \
be a finite number within ±1e100 (larger numbers are refused with their line). The step is the smallest difference between consecutive timestamps; \
every timestamp must be on that grid, and missing rows become gaps. A file whose span holds more \
than 100 buckets per row (at least 1000000 allowed, at most 5000000; at most 1000000 with \
learned) is refused up front; --max-buckets N reads up to N buckets whatever the rows. Memory \
grows with the buckets, gaps included: about 60 MB a million with iqr, 640 MB with learned.

OUTPUT: CSV with the header `timestamp,value,lower,upper,expected,is_anomaly,score`, one row per \
bucket including gaps. Timestamps are written in the family of the first input row: RFC 3339 as \
`YYYY-MM-DDTHH:MM:SSZ`, otherwise `YYYY-MM-DD HH:MM:SS`. lower/upper/expected/score are empty where \
the detector has no band yet; is_anomaly is 0 or 1; score is 0 inside the band, else the distance \
beyond the nearest bound in the detector's spread (IQRs for iqr/seasonal_iqr, robust sds for \
seasonal, fractions of the median for drop, half-widths of the interval for forecast); for \
changepoint it is the CUSUM over its threshold (an alarm above 1). learned has no band (its \
judgment is a probability, not an interval): lower, upper and score stay empty, expected is its \
seasonal expectation and is_anomaly its verdict.";

const AFTER_HELP_PERIOD: &str = "\
PERIOD: --period takes a number of points, a duration (90m, 6h, 1d, 1w) that is a whole number of \
the series' steps, or `auto`: the dominant period found in the input (augurs' periodogram refined \
by autocorrelation, a whole day, week or hour preferred; an error when there is none). The \
default 1d works for any step that divides a day.

EXAMPLES: vigil detect --input dau.csv --output flagged.csv --detector iqr --n 96 --a 4
          vigil detect --input dau.csv --detector seasonal --period 1d --seasons 7 --z 4
          vigil detect --input dau.csv --detector changepoint --period 1w --seasons 3
          vigil detect --input dau_5min.csv --detector seasonal --period auto
          vigil detect --input dau.csv --detector forecast --level 0.9999";

#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = after_long_help())]
pub struct DetectArgs {
    /// Input CSV (`-` for stdin).
    #[arg(long, short, value_name = "FILE")]
    pub input: String,

    /// Output CSV (`-` for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: String,

    /// Read a file whose rows span up to N buckets (gaps included), in
    /// place of the limit from its rows; memory grows with the buckets
    /// (see INPUT in --help).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..=MAX_GIVEN_BUCKETS))]
    pub max_buckets: Option<i64>,

    /// The detector and its parameters (one flag per parameter key of any
    /// registered detector; see `detect::DETECTORS`).
    #[command(flatten)]
    pub detector: DetectorFlags,
}

/// Parses `--period`: a number of points, or a duration (`s`, `m`, `h`, `d`,
/// `w` suffix) that is a whole number of `step`-second buckets.
pub fn parse_period(arg: &str, step: i64) -> anyhow::Result<usize> {
    crate::period::period_points(arg, step).map_err(|reason| anyhow::anyhow!("--period {reason}"))
}

/// A seasonal detector's period when `--period` is not given: one day of
/// `step`-second points. The user passed no period, so a default that does
/// not fit the series is explained in terms of the default and the step.
fn default_period(step: i64) -> anyhow::Result<usize> {
    let points = parse_period("1d", step).context("the default --period is 1d; pass --period")?;
    if points < 2 {
        anyhow::bail!(
            "the default period 1d is {points} point{} at this series' {} step; \
             a season needs at least 2: pass --period 1w or auto",
            if points == 1 { "" } else { "s" },
            step_label(step)
        );
    }
    Ok(points)
}

/// `1-day`, `15-minute`, `90-second`: a step as a compound adjective.
fn step_label(step: i64) -> String {
    for (seconds, unit) in [(86_400, "day"), (3600, "hour"), (60, "minute")] {
        if step >= seconds && step % seconds == 0 {
            return format!("{}-{unit}", step / seconds);
        }
    }
    format!("{step}-second")
}

impl DetectArgs {
    /// Flags given that the chosen detector does not use, as `--flag` names.
    fn foreign_flags(&self) -> Vec<String> {
        let own: Vec<&str> = (self.detector.entry().params)()
            .iter()
            .map(|p| p.key)
            .collect();
        let given = |key: &str| {
            self.detector.given.iter().any(|(k, _)| *k == key)
                || (key == "period" && self.detector.period.is_some())
        };
        flags()
            .iter()
            .filter(|f| given(f.key) && !own.contains(&f.key))
            .map(Flag::long)
            .map(|long| format!("--{long}"))
            .collect()
    }

    /// The detector the arguments describe, for a series of `step`-second
    /// buckets (`--period` durations are converted with it; `--period auto`
    /// must have been resolved with [`resolve_auto_period`] first).
    pub fn spec(&self, step: i64) -> anyhow::Result<DetectorSpec> {
        let foreign = self.foreign_flags();
        if !foreign.is_empty() {
            anyhow::bail!(
                "{} not used by --detector {}",
                foreign.join(", "),
                self.detector.name
            );
        }
        let entry = self.detector.entry();
        let seasonal = (entry.params)().iter().any(|p| p.kind == ParamKind::Period);
        // The seasonal detectors default to one day of the series' steps.
        let period = match (&self.detector.period, seasonal) {
            (_, false) => None,
            (Some(arg), true) => Some(parse_period(arg, step)?),
            (None, true) => Some(default_period(step)?),
        };
        let given = &self.detector.given;
        Ok((entry.build)(&mut |key| {
            if key == "period" {
                return period.map(Given::Count);
            }
            given
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, g)| g.clone())
        }))
    }
}

/// `args` with `--period auto` replaced by the number of points
/// [`detect::detect_period`] finds in `series` (an error when it finds none).
pub fn resolve_auto_period(
    args: &DetectArgs,
    series: &detect::Series,
    name: &str,
) -> anyhow::Result<DetectArgs> {
    let mut args = args.clone();
    if args.detector.period.as_deref().map(str::trim) == Some("auto") {
        let period = detect::detect_period(series).ok_or_else(|| {
            anyhow::anyhow!(
                "--period auto: no seasonal period found in {name} ({} points); pass --period",
                series.len()
            )
        })?;
        tracing::info!(period, step_seconds = series.step, "--period auto");
        args.detector.period = Some(period.to_string());
    }
    Ok(args)
}

pub fn run(args: &DetectArgs) -> anyhow::Result<()> {
    // Everything but a --period duration can be checked before reading input.
    let mut provisional = args.clone();
    provisional.detector.period = args
        .detector
        .period
        .as_ref()
        .filter(|p| p.parse::<usize>().is_ok())
        .cloned();
    let provisional_spec = provisional.spec(900)?;
    // Parameters checked against the period (the forecast window) are
    // checked once it is known.
    let period_known = args.detector.period == provisional.detector.period;
    if period_known || provisional_spec.period().is_none() {
        provisional_spec
            .validate()
            .context("invalid detector parameters")?;
    }

    let (reader, name): (Box<dyn Read>, String) = if args.input == "-" {
        (Box::new(std::io::stdin().lock()), "<stdin>".to_string())
    } else {
        let file =
            File::open(&args.input).with_context(|| format!("cannot open {}", args.input))?;
        (Box::new(BufReader::new(file)), args.input.clone())
    };
    // The learned detector keeps its features for every bucket, ten times
    // the memory of the others: a lower cap, unless the user names one.
    let span_limit = match args.max_buckets {
        Some(buckets) => SpanLimit::Given(buckets),
        None if matches!(provisional_spec, DetectorSpec::Learned(_)) => SpanLimit::FromRows {
            at_most: MAX_BUCKETS_LEARNED,
        },
        None => SpanLimit::DEFAULT,
    };
    let input =
        csv_series::read_series_within(reader, &name, span_limit).map_err(offer_max_buckets)?;
    let step = input.series.step;
    let args = resolve_auto_period(args, &input.series, &name)?;
    let spec = args.spec(step)?;
    spec.validate().context("invalid detector parameters")?;
    if let Some(period) = spec.period() {
        let len = input.series.len();
        if period > len {
            anyhow::bail!(
                "--period of {period} points ({} at {step} s per point) is longer than the history of {name}: {len} points",
                args.detector.period.as_deref().unwrap_or("the default 1d")
            );
        }
    }
    let detection = spec.run(&input.series).context("running the detector")?;

    let anomalies = detection.anomaly_count();
    tracing::info!(
        detector = spec.name(),
        buckets = detection.len(),
        observed = input.series.observed(),
        step_seconds = input.series.step,
        anomalies,
        "detect finished"
    );

    if args.output == "-" {
        let stdout = std::io::stdout().lock();
        write_to(BufWriter::new(stdout), &input, &detection).context("writing to stdout")
    } else {
        let file =
            File::create(&args.output).with_context(|| format!("cannot create {}", args.output))?;
        write_to(BufWriter::new(file), &input, &detection)
            .with_context(|| format!("writing {}", args.output))
    }
}

/// The most `--max-buckets` takes: 16 GB for the values alone, beyond any
/// series `detect` is for.
const MAX_GIVEN_BUCKETS: i64 = 1_000_000_000;

/// A span refused by the limit from the rows says how to read it anyway,
/// with the figure to pass, when the flag can take it.
fn offer_max_buckets(error: anyhow::Error) -> anyhow::Error {
    match error.downcast::<csv_series::SpanTooLong>() {
        Ok(span) if span.buckets <= MAX_GIVEN_BUCKETS => anyhow::anyhow!(
            "{span}; or, to read it as it is, pass --max-buckets {} (memory grows with the \
             buckets: see INPUT in --help)",
            span.buckets
        ),
        Ok(span) => span.into(),
        Err(error) => error,
    }
}

fn write_to(
    mut out: impl Write,
    input: &csv_series::CsvSeries,
    detection: &detect::Detection,
) -> anyhow::Result<()> {
    csv_series::write_points(&mut out, input, detection)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{parse_period, AFTER_HELP_IO};
    use crate::csv_series::{BUCKETS_PER_ROW, MAX_BUCKETS, MAX_BUCKETS_LEARNED, MIN_BUCKET_LIMIT};

    /// The help states the reader's limits; it must state the ones in force.
    #[test]
    fn help_states_the_input_limits() {
        for figure in [
            format!("within ±{:e}", detect::MAX_MAGNITUDE),
            format!("more than {BUCKETS_PER_ROW} buckets per row"),
            format!(
                "at least {MIN_BUCKET_LIMIT} allowed, at most {MAX_BUCKETS}; at most \
                 {MAX_BUCKETS_LEARNED} with learned"
            ),
            "--max-buckets N reads up to N buckets".to_string(),
        ] {
            assert!(
                AFTER_HELP_IO.replace('\n', " ").contains(&figure),
                "{figure}"
            );
        }
    }

    #[test]
    fn periods_in_points_and_durations() {
        assert_eq!(parse_period("96", 900).unwrap(), 96);
        assert_eq!(parse_period("1d", 900).unwrap(), 96);
        assert_eq!(parse_period("1w", 900).unwrap(), 672);
        assert_eq!(parse_period("6h", 900).unwrap(), 24);
        assert_eq!(parse_period("90m", 60).unwrap(), 90);
        let err = |arg: &str, step| parse_period(arg, step).unwrap_err().to_string();
        assert_eq!(
            err("1d", 420),
            "--period 1d (86400 s) is not a whole number of the series' 420-second steps"
        );
        assert!(err("1y", 900).contains("unknown unit \"y\""));
        assert!(err("d", 900).contains("expected a number of points or a duration"));
        assert!(err("99999999999999999999w", 900).contains("too long"));
    }
}
