//! `fastcopy`: the command line of the fastcopy library.

mod bench;
mod clean;
mod cli;
mod output;
mod probe;
mod progress;
mod run;

use std::io;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `fastcopy bench|probe|clean ...` are tools of their own; a file named
    // `bench` is copied with `fastcopy ./bench DEST`.
    let mut args = std::env::args_os();
    if let Some(tool @ ("bench" | "probe" | "clean")) =
        args.nth(1).as_deref().and_then(|a| a.to_str())
    {
        let argv = std::iter::once(format!("fastcopy {tool}").into()).chain(args);
        let code = match tool {
            "bench" => bench::main(argv),
            "probe" => probe::main(argv),
            _ => clean::main(argv),
        };
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
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
    if progress::interrupted() {
        // Like a shell's status for a process ended by SIGINT.
        return ExitCode::from(130);
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
