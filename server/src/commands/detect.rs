//! `vigil detect`: run a detector over a CSV series, write points as CSV.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use anyhow::Context;
use clap::ValueEnum;
use detect::{DetectorSpec, IqrParams, Smoothing};

use crate::csv_series;

/// Which detector to run. New detectors add a variant (and their options).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorKind {
    /// Rolling interquartile range of the previous n observations (the seed rule).
    Iqr,
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

#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
INPUT: CSV with the header `timestamp,value`. Timestamps are RFC 3339 (e.g. 2024-05-01T12:15:00Z, \
any offset, converted to UTC) or `YYYY-MM-DD HH:MM:SS` (UTC), whole seconds, increasing. An empty \
value is a gap. The step is the smallest difference between consecutive timestamps; every timestamp \
must be on that grid, and missing rows become gaps.

OUTPUT: CSV with the header `timestamp,value,lower,upper,expected,is_anomaly,score`, one row per \
bucket including gaps. Timestamps are written in the family of the first input row: RFC 3339 as \
`YYYY-MM-DDTHH:MM:SSZ`, otherwise `YYYY-MM-DD HH:MM:SS`. lower/upper/expected/score are empty where \
the detector has no band yet; is_anomaly is 0 or 1; score is 0 inside the band, else the distance \
beyond the nearest bound in IQRs.

EXAMPLE: vigil detect --input dau.csv --output flagged.csv --detector iqr --n 96 --a 4")]
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

    /// IQR: window length, the number of previous observations (>= 2).
    #[arg(long, default_value_t = 5)]
    pub n: usize,

    /// IQR: band width in IQRs beyond the quartiles (>= 0).
    #[arg(long, default_value_t = 4.0, allow_negative_numbers = true)]
    pub a: f64,

    /// IQR: smoothing of the band.
    #[arg(long, value_enum, default_value_t = SmoothArg::Asof)]
    pub smooth: SmoothArg,
}

impl DetectArgs {
    /// The detector the arguments describe.
    pub fn spec(&self) -> DetectorSpec {
        match self.detector {
            DetectorKind::Iqr => DetectorSpec::Iqr(IqrParams {
                n: self.n,
                a: self.a,
                smooth: self.smooth.into(),
            }),
        }
    }
}

pub fn run(args: &DetectArgs) -> anyhow::Result<()> {
    let spec = args.spec();
    spec.validate().context("invalid detector parameters")?;

    let (reader, name): (Box<dyn Read>, String) = if args.input == "-" {
        (Box::new(std::io::stdin().lock()), "<stdin>".to_string())
    } else {
        let file =
            File::open(&args.input).with_context(|| format!("cannot open {}", args.input))?;
        (Box::new(BufReader::new(file)), args.input.clone())
    };
    let input = csv_series::read_series(reader, &name)?;
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
