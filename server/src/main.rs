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

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, mimalloc
/// 3.x, the version `libmimalloc-sys` 0.1.49 builds).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

extern "C" {
    // Part of the statically linked mimalloc (the crate's bindings leave it
    // out unless built with `extended`).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Returns freed memory to the OS at once instead of after mimalloc's default
/// 1 s: under a burst of 500 page requests the memory freed by one request
/// was otherwise still held while the next ones allocated more, and the
/// process peaked at 248 MB against 146–184 MB with it (docs/benchmarks.md,
/// "Bounded under load").
fn purge_freed_memory_at_once() {
    // SAFETY: sets one option by its number; called first thing in main,
    // before any other thread exists (mimalloc asks for that).
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

fn main() -> std::process::ExitCode {
    purge_freed_memory_at_once();
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
