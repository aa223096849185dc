//! `vigil train`: build the learned detector's model from the synthetic
//! benchmark's incidents and, with `--metric`, a store's own labels
//! (recorded incidents, "false alarm" and "expected" from Telegram buttons
//! and the UI, spans marked in the lab), print what it measured, and write
//! the model file that `[detectors]` can name.

use std::io::Write;

use anyhow::Context;
use detect::models::train::{Recipe, TrainReport, TrainingCase, BUILTIN_COMMAND};
use detect::models::{Figures, Model};

use super::history_case;
use super::source_args::SourceArgs;

#[derive(clap::Args, Debug, Clone)]
#[command(after_long_help = "\
The model that ships with vigil is `vigil train --output detect/models/default.json` with the \
defaults below; the tests fail when that command would make a different one.

TRAINING DATA: the synthetic benchmark (every anomaly class and scale of `vigil eval`, --cases \
series each, from --seed; and --young-cases each cut to half a day to 6 days of history, as `vigil eval \
--benchmark young`), plus each --metric's history between --from and --to with its labels: \
recorded incidents and spans marked in the web UI are incidents; alerts labelled 'expected' and \
single-slice incidents are left out; 'false alarm' spans are normal. A store's rows weigh \
--store-weight times a synthetic one's.

THRESHOLD: chosen on held-out synthetic series (--holdout-seed) as the lowest probability whose \
false alerts per series per week stay within --target-false-per-week; the model file carries it \
and `[detectors] threshold` overrides it.

EXAMPLES: vigil train --output team-model.json --metric feed_views --metric messages_sent
          vigil train --output detect/models/default.json")]
pub struct TrainArgs {
    /// Where to write the model file.
    #[arg(long, short, value_name = "FILE")]
    pub output: String,

    /// Also learn from this metric's history and labels in the configured source; repeat for more.
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,

    /// Start of each metric's history (with --metric).
    #[arg(long, default_value = "now-28d")]
    pub from: String,

    /// End of each metric's history (with --metric).
    #[arg(long, default_value = "now")]
    pub to: String,

    /// How much a store row weighs against a synthetic one.
    #[arg(long, default_value_t = 3.0)]
    pub store_weight: f64,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Seed of the synthetic cases learned from.
    #[arg(long, default_value_t = Recipe::default().seed)]
    pub seed: u64,

    /// Synthetic cases per class and scale learned from.
    #[arg(long, default_value_t = Recipe::default().cases)]
    pub cases: usize,

    /// Synthetic cases per class and scale cut to half a day to 6 days of history
    /// (a young store: the weekly features missing), learned from too.
    #[arg(long, default_value_t = Recipe::default().young_cases)]
    pub young_cases: usize,

    /// Seed of the held-out synthetic cases the threshold is chosen on.
    #[arg(long, default_value_t = Recipe::default().holdout_seed)]
    pub holdout_seed: u64,

    /// The false alerts per series per week the threshold is chosen for.
    #[arg(long, default_value_t = Recipe::default().options.target_false_per_week)]
    pub target_false_per_week: f64,

    /// Buckets over the threshold the detector needs among the newest and
    /// the `confirm` before it (1 to 4): the threshold is chosen with it,
    /// and it becomes the detector's default with this model.
    #[arg(long, default_value_t = Recipe::default().options.confirm)]
    pub confirm: usize,
}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    if args.cases == 0 {
        anyhow::bail!("--cases: expected at least 1 synthetic case per class, got 0");
    }
    if !(args.store_weight.is_finite() && args.store_weight > 0.0) {
        anyhow::bail!(
            "--store-weight: expected a positive number, got {}",
            args.store_weight
        );
    }
    if !(args.target_false_per_week.is_finite() && args.target_false_per_week >= 0.0) {
        anyhow::bail!(
            "--target-false-per-week: expected a number >= 0, got {}",
            args.target_false_per_week
        );
    }
    if !(1..=detect::detectors::learned::MAX_CONFIRM).contains(&args.confirm) {
        anyhow::bail!(
            "--confirm: expected 1 to {}, got {}",
            detect::detectors::learned::MAX_CONFIRM,
            args.confirm
        );
    }
    let mut store = Vec::new();
    for metric in &args.metrics {
        let loaded = history_case::load(&args.source, metric, &args.from, &args.to)
            .with_context(|| format!("--metric {metric}"))?;
        store.push(loaded.case);
    }
    let store_cases: Vec<TrainingCase> = store
        .iter()
        .map(|case| TrainingCase {
            case,
            weight: args.store_weight,
        })
        .collect();
    let mut recipe = Recipe {
        seed: args.seed,
        cases: args.cases,
        young_cases: args.young_cases,
        holdout_seed: args.holdout_seed,
        ..Recipe::default()
    };
    recipe.options.target_false_per_week = args.target_false_per_week;
    recipe.options.confirm = args.confirm;
    let command = if store.is_empty() && recipe == Recipe::default() {
        BUILTIN_COMMAND.to_string()
    } else {
        command_line()
    };
    let started = std::time::Instant::now();
    let (model, report) = recipe.train(&store_cases, &command)?;
    let file = model.to_json();
    std::fs::write(&args.output, &file)
        .with_context(|| format!("writing the model to {}", args.output))?;
    let mut out = std::io::stdout().lock();
    write_report(&mut out, &model, &report, started.elapsed().as_secs_f64())?;
    writeln!(
        out,
        "\nwrote {} ({} bytes); name it in the config: [detectors] default = {{ detector = \"learned\", model = \"{}\" }}",
        args.output,
        file.len(),
        args.output
    )?;
    Ok(())
}

/// The command as typed, for the model file's provenance (no secrets:
/// `vigil train` takes none on its command line).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("vigil {}", args.join(" "))
}

/// What training measured, as `vigil train` prints it.
pub fn write_report(
    mut out: impl Write,
    model: &Model,
    report: &TrainReport,
    seconds: f64,
) -> std::io::Result<()> {
    writeln!(
        out,
        "trained on {} buckets ({} in incidents) in {seconds:.1} s; {} synthetic + {} store series",
        report.rows, report.positives, model.provenance.cases, model.provenance.store_cases
    )?;
    writeln!(
        out,
        "threshold {:.2}: the lowest probability with at most {} false alerts per series per week on held-out series, \
         a bucket flagged when {} of it and the {} before reach it",
        report.threshold,
        model.provenance.target_false_per_week,
        model.provenance.confirm,
        model.provenance.confirm
    )?;
    if report.sure < 1.0 {
        writeln!(
            out,
            "sure {:.2}: the lowest probability at which one bucket alone is flagged, within the same target\n",
            report.sure
        )?;
    } else {
        writeln!(
            out,
            "sure 1: no probability flags one bucket alone within the same target\n"
        )?;
    }
    writeln!(
        out,
        "{:<22} {:>9} {:>7} {:>6} {:>8} {:>7}",
        "held out", "precision", "recall", "F1", "false/wk", "delay"
    )?;
    for (name, f) in &report.per_class {
        writeln!(out, "{}", figures_row(name, f))?;
    }
    for (name, f) in &report.per_scale {
        writeln!(out, "{}", figures_row(&format!("scale={name}"), f))?;
    }
    writeln!(out, "{}", figures_row("overall", &report.held_out))?;
    writeln!(
        out,
        "\nfeature importance (share of the trees' total gain):"
    )?;
    for (name, gain) in model.importance.iter().take(12) {
        writeln!(out, "  {name:<24} {:>5.1}%", gain * 100.0)?;
    }
    Ok(())
}

fn figures_row(name: &str, f: &Figures) -> String {
    let opt = |x: Option<f64>, d: usize| x.map_or("-".to_string(), |v| format!("{v:.d$}"));
    format!(
        "{name:<22} {:>9} {:>7} {:>6} {:>8} {:>7}",
        opt(f.precision, 3),
        opt(f.recall, 3),
        opt(f.f1, 3),
        opt(f.false_per_week, 2),
        opt(f.delay_median, 1)
    )
}
