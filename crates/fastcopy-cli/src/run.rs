//! The copy loop: one library call per source, output as asked.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use fastcopy::{Metrics, TreeReport};

use crate::cli::Cli;
use crate::output;
use crate::progress::{self, FileProgress, TreeBar, Watch};

/// Copies every source as `cli` asks, printing as it goes, and adds the
/// number of failed copies to `failures`. Fails only when writing to
/// `out` fails; then it stops at once (a reader that went away, as with
/// `| head`, needs no more output and no more copies).
pub fn run(cli: &Cli, out: &mut dyn Write, failures: &mut u64) -> io::Result<()> {
    if let Some(dir) = cli.target_directory() {
        let problem = match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => None,
            Ok(_) => Some(format!("target '{}' is not a directory", dir.display())),
            Err(e) => Some(format!(
                "cannot use target directory '{}': {e}",
                dir.display()
            )),
        };
        if let Some(problem) = problem {
            // Like cp: nothing is copied, and that is a failure, not a usage error.
            *failures += cli.sources.len() as u64;
            to_stderr(&format!("fastcopy: {problem}"));
            return Ok(());
        }
    }

    if cli.recursive {
        return run_tree(cli, out, failures);
    }

    let options = cli.copy_options();
    let bars = !cli.json && !cli.no_progress && io::stderr().is_terminal();
    let mut metrics = Metrics::new();
    // Ctrl-C stops the copy cleanly (tree copies keep the default: the
    // process ends, and `fastcopy clean` removes what it left).
    progress::watch_interrupts();
    for source in &cli.sources {
        if progress::interrupted() {
            break;
        }
        let bar = bars.then(|| Arc::new(FileProgress::new(label(source))));
        let opts = options.clone().progress(Arc::new(Watch(bar.clone())));
        let result = fastcopy::copy_with(source, &cli.dest, &opts);
        if let Some(bar) = &bar {
            bar.finish();
        }
        match result {
            Ok(report) => {
                metrics.record(&report);
                for w in &report.warnings {
                    to_stderr(&output::warning_line(&report.destination, w));
                }
                if cli.json {
                    writeln!(out, "{}", output::json_success(source, &report))?;
                } else if cli.verbose {
                    writeln!(out, "{}", output::verbose_line(source, &report))?;
                }
            }
            Err(e) => {
                metrics.record_failure();
                *failures += 1;
                to_stderr(&output::error_line(source, &cli.dest, &e));
                if cli.json {
                    writeln!(out, "{}", output::json_failure(source, &cli.dest, &e))?;
                }
            }
        }
    }

    if cli.stats {
        if cli.json {
            writeln!(out, "{}", output::json_stats(&metrics))?;
        } else {
            to_stderr(output::stats_table(&metrics).trim_end());
        }
    }
    out.flush()
}

/// `-r`: one tree copy per source, into `DEST/NAME` when DEST is an
/// existing directory (always with several sources), else as DEST.
fn run_tree(cli: &Cli, out: &mut dyn Write, failures: &mut u64) -> io::Result<()> {
    let options = cli.tree_options();
    let bars = !cli.json && !cli.no_progress && io::stderr().is_terminal();
    let into_dest = std::fs::metadata(&cli.dest).is_ok_and(|m| m.is_dir());
    let mut total = TreeReport::default();
    let mut elapsed = std::time::Duration::ZERO;
    for source in &cli.sources {
        let target = if into_dest {
            match tree_name(source) {
                Some(name) => cli.dest.join(name),
                None => {
                    *failures += 1;
                    to_stderr(&format!(
                        "fastcopy: cannot copy '{}': it has no name to copy under",
                        source.display()
                    ));
                    continue;
                }
            }
        } else {
            cli.dest.clone()
        };
        let bar = bars.then(|| Arc::new(TreeBar::new(label(source))));
        let opts = match &bar {
            Some(bar) => options.clone().progress(bar.clone()),
            None => options.clone(),
        };
        // A partial copy is an error carrying its report: each failure is
        // printed from it, as for a complete one.
        let result = match fastcopy::copy_tree(source, &target, &opts) {
            Err(e) if e.tree_report().is_some() => Ok(e.into_tree_report().unwrap_or_default()),
            other => other,
        };
        if let Some(bar) = &bar {
            bar.finish();
        }
        match result {
            Ok(report) => {
                *failures += report.errors.len() as u64;
                for e in &report.errors {
                    to_stderr(&format!("fastcopy: {e}"));
                }
                for w in &report.warnings {
                    to_stderr(&format!("fastcopy: warning: {w}"));
                }
                if cli.json {
                    writeln!(out, "{}", output::json_tree(source, &target, &report))?;
                } else if cli.verbose {
                    writeln!(out, "{}", output::tree_line(source, &target, &report))?;
                }
                elapsed += report.elapsed;
                total.merge(report);
            }
            Err(e) => {
                total.metrics.record_failure();
                *failures += 1;
                to_stderr(&output::error_line(source, &target, &e));
                if cli.json {
                    writeln!(out, "{}", output::json_failure(source, &target, &e))?;
                }
            }
        }
    }
    total.elapsed = elapsed;
    if cli.stats {
        if cli.json {
            writeln!(out, "{}", output::json_tree_stats(&total))?;
        } else {
            to_stderr(output::stats_table(&total.metrics).trim_end());
            to_stderr(output::tree_table(&total).trim_end());
        }
    }
    out.flush()
}

/// The name a source gets inside an existing destination directory: its
/// last component, or the directory's own name for `.` and the like.
fn tree_name(source: &Path) -> Option<std::ffi::OsString> {
    match source.file_name() {
        Some(n) => Some(n.to_owned()),
        None => std::fs::canonicalize(source)
            .ok()?
            .file_name()
            .map(ToOwned::to_owned),
    }
}

/// The progress bar's label: the source's file name.
fn label(source: &Path) -> String {
    source
        .file_name()
        .unwrap_or(source.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// Writes a line to stderr. A stderr that cannot be written to is no
/// reason to stop copying (and `eprintln!` would panic).
fn to_stderr(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
}
