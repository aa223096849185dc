//! `vigil detect`: run a detector over a CSV series, write points as CSV.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use anyhow::Context;
use clap::ValueEnum;
use detect::{
    ChangepointParams, DetectorSpec, DropParams, ForecastParams, IqrParams, SeasonalIqrParams,
    SeasonalParams, Smoothing,
};

use crate::csv_series;

/// Which detector to run. New detectors add a variant (and their options).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorKind {
    /// Rolling interquartile range of the previous n observations (the seed rule).
    Iqr,
    /// The IQR rule over the same slot of the previous --seasons periods.
    #[value(name = "seasonal_iqr")]
    SeasonalIqr,
    /// Same-slot median scaled to the recent level, band of --z robust sds.
    Seasonal,
    /// Fall below (1 - --drop-fraction) x the median of the previous --window points.
    Drop,
    /// CUSUM of the seasonal residuals: sustained level shifts (slow declines, steps).
    Changepoint,
    /// MSTL + ETS forecast (grafana's augurs), its --level prediction interval as the band.
    Forecast,
}

impl DetectorKind {
    fn name(self) -> &'static str {
        match self {
            DetectorKind::Iqr => "iqr",
            DetectorKind::SeasonalIqr => "seasonal_iqr",
            DetectorKind::Seasonal => "seasonal",
            DetectorKind::Drop => "drop",
            DetectorKind::Changepoint => "changepoint",
            DetectorKind::Forecast => "forecast",
        }
    }
}

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

#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = "\
INPUT: CSV with the header `timestamp,value`. Timestamps are RFC 3339 (e.g. 2024-05-01T12:15:00Z, \
any offset, converted to UTC) or `YYYY-MM-DD HH:MM:SS` (UTC), whole seconds, increasing. An empty \
value is a gap. The step is the smallest difference between consecutive timestamps; every timestamp \
must be on that grid, and missing rows become gaps.

OUTPUT: CSV with the header `timestamp,value,lower,upper,expected,is_anomaly,score`, one row per \
bucket including gaps. Timestamps are written in the family of the first input row: RFC 3339 as \
`YYYY-MM-DDTHH:MM:SSZ`, otherwise `YYYY-MM-DD HH:MM:SS`. lower/upper/expected/score are empty where \
the detector has no band yet; is_anomaly is 0 or 1; score is 0 inside the band, else the distance \
beyond the nearest bound in the detector's spread (IQRs for iqr/seasonal_iqr, robust sds for \
seasonal, fractions of the median for drop, half-widths of the interval for forecast); for \
changepoint it is the CUSUM over its threshold (an alarm above 1).

DETECTORS: iqr (--n --a --smooth), seasonal_iqr (--period --seasons --min-seasons --a), seasonal \
(--period --seasons --min-seasons --level-window --neighbours --z --min-rel-width --min-abs-width), \
drop (--window --drop-fraction --rise-fraction --confirm), changepoint (the seasonal baseline's \
flags but --z, plus --drift --threshold), forecast (--period --window --refit --level). A flag the \
chosen detector does not use is an error.

PERIOD: --period takes a number of points, a duration (90m, 6h, 1d, 1w) that is a whole number of \
the series' steps, or `auto`: the dominant period found in the input (augurs' periodogram refined \
by autocorrelation, a whole day, week or hour preferred; an error when there is none). The \
default 1d works for any step that divides a day.

EXAMPLES: vigil detect --input dau.csv --output flagged.csv --detector iqr --n 96 --a 4
          vigil detect --input dau.csv --detector seasonal --period 1d --seasons 7 --z 4
          vigil detect --input dau.csv --detector changepoint --period 1w --seasons 3
          vigil detect --input dau_5min.csv --detector seasonal --period auto
          vigil detect --input dau.csv --detector forecast --level 0.9999")]
pub struct DetectArgs {
    /// Input CSV (`-` for stdin).
    #[arg(long, short, value_name = "FILE")]
    pub input: String,

    /// Output CSV (`-` for stdout).
    #[arg(long, short, value_name = "FILE", default_value = "-")]
    pub output: String,

    /// Detector to run.
    #[arg(long, value_enum, default_value_t = DetectorKind::Iqr)]
    pub detector: DetectorKind,

    /// iqr: window length, the number of previous observations (>= 2) [default: 5].
    #[arg(long)]
    pub n: Option<usize>,

    /// iqr, seasonal_iqr: band width in IQRs beyond the quartiles (>= 0) [default: 4 for iqr, 3 for seasonal_iqr].
    #[arg(long, allow_negative_numbers = true)]
    pub a: Option<f64>,

    /// iqr: smoothing of the band [default: asof].
    #[arg(long, value_enum)]
    pub smooth: Option<SmoothArg>,

    /// seasonal_iqr, seasonal, changepoint, forecast: the season, as a number of points, a
    /// duration (`90m`, `6h`, `1d`, `1w`) that must be a whole number of the series' steps, or
    /// `auto` (detected in the input) [default: 1d].
    #[arg(long, value_name = "POINTS|DURATION|auto")]
    pub period: Option<String>,

    /// seasonal_iqr, seasonal, changepoint: earlier periods used [default: 7].
    #[arg(long)]
    pub seasons: Option<usize>,

    /// seasonal_iqr, seasonal, changepoint: observed same-slot values needed for a band [default: 3].
    #[arg(long)]
    pub min_seasons: Option<usize>,

    /// seasonal, changepoint: points whose value/baseline ratios give the level (0 = none)
    /// [default: 24 for seasonal, 96 for changepoint].
    #[arg(long)]
    pub level_window: Option<usize>,

    /// seasonal, changepoint: neighbouring slots on each side pooled into the spread [default: 1].
    #[arg(long)]
    pub neighbours: Option<usize>,

    /// seasonal: band half-width in robust sds (>= 0) [default: 4].
    #[arg(long, allow_negative_numbers = true)]
    pub z: Option<f64>,

    /// seasonal, changepoint: smallest spread as a fraction of expected (>= 0) [default: 0.05].
    #[arg(long, allow_negative_numbers = true)]
    pub min_rel_width: Option<f64>,

    /// seasonal, changepoint: smallest spread in the series' units (>= 0) [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    pub min_abs_width: Option<f64>,

    /// drop: points before each one whose median is the reference (>= 2) [default: 6];
    /// forecast: points the model is fitted on (>= 2 periods) [default: 7 days of 15-minute points, 672].
    #[arg(long)]
    pub window: Option<usize>,

    /// forecast: points between two fits in batch mode (1 = a fresh fit per point) [default: 48].
    #[arg(long)]
    pub refit: Option<usize>,

    /// forecast: coverage of the prediction interval, in (0, 1) [default: 0.999999].
    #[arg(long, allow_negative_numbers = true)]
    pub level: Option<f64>,

    /// drop: flag value/median below 1 - this (in (0, 1]) [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    pub drop_fraction: Option<f64>,

    /// drop: also flag value/median above 1 + this (> 0) [default: off].
    #[arg(long, allow_negative_numbers = true)]
    pub rise_fraction: Option<f64>,

    /// drop: points the fall must last before it is flagged [default: 1].
    #[arg(long)]
    pub confirm: Option<usize>,

    /// changepoint: CUSUM drift k in robust sds (>= 0) [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    pub drift: Option<f64>,

    /// changepoint: CUSUM alarm threshold h in robust sds (> 0) [default: 5].
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
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
    /// Flags given that `self.detector` does not use, as `--flag` names.
    fn foreign_flags(&self) -> Vec<&'static str> {
        use DetectorKind::*;
        let k = self.detector;
        let seasonal_family = matches!(k, SeasonalIqr | Seasonal | Changepoint);
        let periodic = seasonal_family || k == Forecast;
        let baseline = matches!(k, Seasonal | Changepoint);
        let flags: [(&str, bool, bool); 19] = [
            ("--n", self.n.is_some(), k == Iqr),
            ("--a", self.a.is_some(), matches!(k, Iqr | SeasonalIqr)),
            ("--smooth", self.smooth.is_some(), k == Iqr),
            ("--period", self.period.is_some(), periodic),
            ("--seasons", self.seasons.is_some(), seasonal_family),
            ("--min-seasons", self.min_seasons.is_some(), seasonal_family),
            ("--level-window", self.level_window.is_some(), baseline),
            ("--neighbours", self.neighbours.is_some(), baseline),
            ("--z", self.z.is_some(), k == Seasonal),
            ("--min-rel-width", self.min_rel_width.is_some(), baseline),
            ("--min-abs-width", self.min_abs_width.is_some(), baseline),
            (
                "--window",
                self.window.is_some(),
                matches!(k, Drop | Forecast),
            ),
            ("--refit", self.refit.is_some(), k == Forecast),
            ("--level", self.level.is_some(), k == Forecast),
            ("--drop-fraction", self.drop_fraction.is_some(), k == Drop),
            ("--rise-fraction", self.rise_fraction.is_some(), k == Drop),
            ("--confirm", self.confirm.is_some(), k == Drop),
            ("--drift", self.drift.is_some(), k == Changepoint),
            ("--threshold", self.threshold.is_some(), k == Changepoint),
        ];
        flags
            .into_iter()
            .filter(|&(_, given, used)| given && !used)
            .map(|(name, _, _)| name)
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
                self.detector.name()
            );
        }
        // The seasonal detectors default to one day of the series' steps.
        let period = match (&self.period, self.detector) {
            (_, DetectorKind::Iqr | DetectorKind::Drop) => None,
            (Some(arg), _) => Some(parse_period(arg, step)?),
            (None, _) => Some(default_period(step)?),
        };
        Ok(match self.detector {
            DetectorKind::Iqr => {
                let d = IqrParams::default();
                DetectorSpec::Iqr(IqrParams {
                    n: self.n.unwrap_or(d.n),
                    a: self.a.unwrap_or(d.a),
                    smooth: self.smooth.map_or(d.smooth, Into::into),
                })
            }
            DetectorKind::SeasonalIqr => {
                let d = SeasonalIqrParams::default();
                DetectorSpec::SeasonalIqr(SeasonalIqrParams {
                    period: period.unwrap_or(d.period),
                    seasons: self.seasons.unwrap_or(d.seasons),
                    min_seasons: self.min_seasons.unwrap_or(d.min_seasons),
                    a: self.a.unwrap_or(d.a),
                })
            }
            DetectorKind::Seasonal => {
                let d = SeasonalParams::default();
                DetectorSpec::Seasonal(SeasonalParams {
                    period: period.unwrap_or(d.period),
                    seasons: self.seasons.unwrap_or(d.seasons),
                    min_seasons: self.min_seasons.unwrap_or(d.min_seasons),
                    level_window: self.level_window.unwrap_or(d.level_window),
                    neighbours: self.neighbours.unwrap_or(d.neighbours),
                    z: self.z.unwrap_or(d.z),
                    min_rel_width: self.min_rel_width.unwrap_or(d.min_rel_width),
                    min_abs_width: self.min_abs_width.unwrap_or(d.min_abs_width),
                })
            }
            DetectorKind::Drop => {
                let d = DropParams::default();
                DetectorSpec::Drop(DropParams {
                    window: self.window.unwrap_or(d.window),
                    drop_fraction: self.drop_fraction.unwrap_or(d.drop_fraction),
                    rise_fraction: self.rise_fraction.or(d.rise_fraction),
                    confirm: self.confirm.unwrap_or(d.confirm),
                })
            }
            DetectorKind::Forecast => {
                let d = ForecastParams::default();
                let period = period.unwrap_or(d.period);
                // The default window is 7 periods (7 days at the default period).
                let window = self.window.unwrap_or(7 * period);
                DetectorSpec::Forecast(ForecastParams {
                    period,
                    window,
                    refit: self.refit.unwrap_or(d.refit),
                    level: self.level.unwrap_or(d.level),
                })
            }
            DetectorKind::Changepoint => {
                let d = ChangepointParams::default();
                DetectorSpec::Changepoint(ChangepointParams {
                    period: period.unwrap_or(d.period),
                    seasons: self.seasons.unwrap_or(d.seasons),
                    min_seasons: self.min_seasons.unwrap_or(d.min_seasons),
                    level_window: self.level_window.unwrap_or(d.level_window),
                    neighbours: self.neighbours.unwrap_or(d.neighbours),
                    min_rel_width: self.min_rel_width.unwrap_or(d.min_rel_width),
                    min_abs_width: self.min_abs_width.unwrap_or(d.min_abs_width),
                    drift: self.drift.unwrap_or(d.drift),
                    threshold: self.threshold.unwrap_or(d.threshold),
                })
            }
        })
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
    if args.period.as_deref().map(str::trim) == Some("auto") {
        let period = detect::detect_period(series).ok_or_else(|| {
            anyhow::anyhow!(
                "--period auto: no seasonal period found in {name} ({} points); pass --period",
                series.len()
            )
        })?;
        tracing::info!(period, step_seconds = series.step, "--period auto");
        args.period = Some(period.to_string());
    }
    Ok(args)
}

/// The period of a seasonal detector, `None` for the others.
fn period_of(spec: &DetectorSpec) -> Option<usize> {
    match spec {
        DetectorSpec::SeasonalIqr(p) => Some(p.period),
        DetectorSpec::Seasonal(p) => Some(p.period),
        DetectorSpec::Changepoint(p) => Some(p.period),
        DetectorSpec::Forecast(p) => Some(p.period),
        _ => None,
    }
}

pub fn run(args: &DetectArgs) -> anyhow::Result<()> {
    // Everything but a --period duration can be checked before reading input.
    let provisional = DetectArgs {
        period: args
            .period
            .as_ref()
            .filter(|p| p.parse::<usize>().is_ok())
            .cloned(),
        ..args.clone()
    };
    let provisional_spec = provisional.spec(900)?;
    // The forecast window is checked against the period: only once it is known.
    let period_known = args.period == provisional.period;
    if period_known || args.detector != DetectorKind::Forecast {
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
    let input = csv_series::read_series(reader, &name)?;
    let step = input.series.step;
    let args = resolve_auto_period(args, &input.series, &name)?;
    let spec = args.spec(step)?;
    spec.validate().context("invalid detector parameters")?;
    if let Some(period) = period_of(&spec) {
        let len = input.series.len();
        if period > len {
            anyhow::bail!(
                "--period of {period} points ({} at {step} s per point) is longer than the history of {name}: {len} points",
                args.period.as_deref().unwrap_or("the default 1d")
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
    use super::parse_period;

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
