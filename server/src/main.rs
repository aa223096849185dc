//! `vigil`: the binary edge. Parses the command line, sets up logging and hands
//! off to one module per command; everything below returns `anyhow::Result` so a
//! bad input ends as one clear message and a non-zero exit code, never a panic.

use clap::Parser;
use server::commands::{self, cli};

/// mimalloc keeps freed pages for reuse: a fresh detection result (41 bytes
/// per bucket, tens of MB for a long series) is not page-faulted in again on
/// every run, which otherwise costs more than the detector itself.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(&cli.log);
    match commands::run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: "reading in.csv: line 3: ...".
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
