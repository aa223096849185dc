//! One module per `vigil` subcommand.

pub mod detect;
pub mod series;
pub mod serve;
pub mod simulate;

use crate::cli::Command;

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args),
        Command::Detect(args) => detect::run(&args),
        Command::Series(args) => series::run(&args),
        Command::Simulate(args) => simulate::run(&args),
    }
}
