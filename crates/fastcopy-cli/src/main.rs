//! `fastcopy`: the command line of the fastcopy library.

mod bench;
mod clean;
mod cli;
mod output;
mod probe;
mod progress;
mod quote;
mod run;

use std::ffi::OsString;
use std::io;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

/// The tools and the option that names each. Options, never operands: a
/// file named `probe` is always copied.
const TOOLS: [&str; 3] = ["--probe", "--bench", "--clean"];

/// The tool asked for: the first of [`TOOLS`] among the options (before a
/// `--`), and the arguments without it.
fn tool(args: &[OsString]) -> Option<(&'static str, Vec<OsString>)> {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let (i, tool) = args[..end]
        .iter()
        .enumerate()
        .skip(1)
        .find_map(|(i, a)| TOOLS.iter().find(|t| a == **t).map(|t| (i, *t)))?;
    let mut rest = args.to_vec();
    rest.remove(i);
    rest[0] = format!("fastcopy {tool}").into();
    Some((tool, rest))
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some((tool, argv)) = tool(&args) {
        let code = match tool {
            "--bench" => bench::main(argv),
            "--probe" => probe::main(argv),
            _ => clean::main(argv),
        };
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    // `fastcopy help`: help, unless a file of that name is there to copy
    // (then it is an operand like any other, and misses its destination).
    if args.len() == 2 && args[1] == "help" && std::fs::symlink_metadata("help").is_err() {
        let _ = cli::Cli::command().print_help();
        return ExitCode::SUCCESS;
    }
    // Usage errors exit with 2 inside `parse`.
    let cli = cli::Cli::parse();
    let mut failures = 0;
    let written = run::run(&cli, &mut io::stdout(), &mut failures);
    let code = match written {
        Ok(code) => code,
        // The reader went away (`fastcopy -v ... | head -1`): stop quietly.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => None,
        Err(e) => {
            let msg = output::strerror(&e);
            run::to_stderr(&format!("fastcopy: error writing standard output: {msg}"));
            return ExitCode::FAILURE;
        }
    };
    if let Some(code) = code {
        return ExitCode::from(code);
    }
    if let Some(signal) = progress::interrupted_by() {
        // Like a shell's status for a process ended by the signal.
        return ExitCode::from(128 + signal as u8);
    }
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn tools_are_options_anywhere_before_a_double_dash() {
        let (t, rest) = tool(&args(&["fastcopy", "--probe", "--json", "d"])).unwrap();
        assert_eq!(t, "--probe");
        assert_eq!(rest, args(&["fastcopy --probe", "--json", "d"]));
        let (t, rest) = tool(&args(&["fastcopy", "--json", "--clean", "d"])).unwrap();
        assert_eq!(t, "--clean");
        assert_eq!(rest, args(&["fastcopy --clean", "--json", "d"]));
        assert!(tool(&args(&["fastcopy", "probe", "d"])).is_none());
        assert!(tool(&args(&["fastcopy", "--", "--probe", "d"])).is_none());
        assert!(tool(&args(&["fastcopy", "a", "b"])).is_none());
    }
}
