//! `fastcopy`: the command line of the fastcopy library.

mod cli;
mod output;
mod progress;
mod run;

use std::io;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors exit with 2 inside `parse`.
    let cli = cli::Cli::parse();
    let mut failures = 0;
    let written = run::run(&cli, &mut io::stdout().lock(), &mut failures);
    match written {
        Ok(()) => {}
        // The reader went away (`fastcopy -v ... | head -1`): stop quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let e = anyhow::Error::new(e).context("cannot write to standard output");
            let _ = io::Write::write_fmt(&mut io::stderr(), format_args!("fastcopy: {e:#}\n"));
            return ExitCode::FAILURE;
        }
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
