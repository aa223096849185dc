//! One module per `vigil` subcommand.

pub mod alerts;
pub mod check;
pub mod cli;
pub mod clickhouse;
pub mod config;
pub mod detect;
pub mod eval;
pub mod eval_experiments;
mod eval_exposure;
pub mod history_case;
pub mod ingest;
pub mod replay;
pub mod report;
pub mod series;
pub mod serve;
pub mod simulate;
pub mod source_args;
pub mod state;
pub mod state_access;
pub mod train;
pub mod tune;

use cli::Command;

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args),
        Command::Detect(args) => detect::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Alerts(args) => alerts::run(&args),
        Command::Config(args) => config::run(&args),
        Command::State(args) => state::run(&args),
        Command::Clickhouse(args) => clickhouse::run(&args),
        Command::Series(args) => series::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Ingest(args) => ingest::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Tune(args) => tune::run(&args),
    }
}
