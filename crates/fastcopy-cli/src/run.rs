//! The copy loop: operands as cp reads them, one library call per source,
//! output as asked.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fastcopy::{Metrics, Operation, TreeReport};

use crate::cli::{Cli, Deref};
use crate::output;
use crate::progress::{self, FileProgress, Lines, TreeBar, TreeWatch, Watch};
use crate::quote::q;

/// Where the sources go.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// Into this existing directory, each under its own name.
    Into(PathBuf),
    /// This path is the copy (one source).
    As(PathBuf),
}

/// Why the operands cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A usage error (exit 2, with a hint at --help).
    Usage(String),
    /// Nothing can be copied (exit 1), as cp does for a bad target.
    Fail(String),
}

/// The sources and the target the operands name, with cp's rules: `-t DIR`
/// takes every operand as a source; `-T` wants exactly two; otherwise the
/// last operand is the destination, a directory to copy into when it is
/// one (it must be with more than two operands).
pub fn plan(cli: &Cli) -> Result<(Vec<PathBuf>, Target), Refusal> {
    let ops = &cli.operands;
    if let Some(dir) = &cli.target_directory {
        if ops.is_empty() {
            return Err(Refusal::Usage("missing file operand".into()));
        }
        return match fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok((ops.clone(), Target::Into(dir.clone()))),
            Ok(_) => Err(Refusal::Fail(format!(
                "target directory {}: Not a directory",
                q(dir)
            ))),
            Err(e) => Err(Refusal::Fail(format!(
                "target directory {}: {}",
                q(dir),
                output::strerror(&e)
            ))),
        };
    }
    match ops.len() {
        0 => return Err(Refusal::Usage("missing file operand".into())),
        1 => {
            return Err(Refusal::Usage(format!(
                "missing destination file operand after {}",
                q(&ops[0])
            )));
        }
        _ => {}
    }
    let (dest, sources) = ops.split_last().expect("two or more operands");
    if cli.no_target_directory {
        if ops.len() > 2 {
            return Err(Refusal::Usage(format!("extra operand {}", q(&ops[2]))));
        }
        return Ok((sources.to_vec(), Target::As(dest.clone())));
    }
    match fs::metadata(dest) {
        Ok(m) if m.is_dir() => Ok((sources.to_vec(), Target::Into(dest.clone()))),
        _ if ops.len() == 2 => Ok((sources.to_vec(), Target::As(dest.clone()))),
        Ok(_) => Err(Refusal::Fail(format!(
            "target {}: Not a directory",
            q(dest)
        ))),
        Err(e) => Err(Refusal::Fail(format!(
            "target {}: {}",
            q(dest),
            output::strerror(&e)
        ))),
    }
}

/// Whether `source` names a directory's contents rather than the directory
/// (`src/.`, `.`): cp copies those into the target itself.
fn names_contents(source: &Path) -> bool {
    let b = source.as_os_str().as_encoded_bytes();
    b == b"." || b.ends_with(b"/.") || b.ends_with(b"/./")
}

/// The name a source gets inside a target directory: its last component,
/// or the directory's own name for `..` and the like.
fn name_in_target(source: &Path) -> Option<OsString> {
    match source.file_name() {
        Some(n) => Some(n.to_owned()),
        None => fs::canonicalize(source)
            .ok()?
            .file_name()
            .map(ToOwned::to_owned),
    }
}

/// Copies every source as `cli` asks, printing as it goes, and adds the
/// number of failed copies to `failures`. Returns an exit code that ends
/// the run early (2 for a usage error), or `None`. Fails only when writing
/// to `out` fails; then it stops at once (a reader that went away, as with
/// `| head`, needs no more output and no more copies).
pub fn run(cli: &Cli, out: &mut dyn Write, failures: &mut u64) -> io::Result<Option<u8>> {
    let (sources, target) = match plan(cli) {
        Ok(p) => p,
        Err(Refusal::Usage(msg)) => {
            to_stderr(&format!(
                "fastcopy: {msg}\nTry 'fastcopy --help' for more information."
            ));
            return Ok(Some(2));
        }
        Err(Refusal::Fail(msg)) => {
            *failures += 1;
            to_stderr(&format!("fastcopy: {msg}"));
            return Ok(None);
        }
    };
    if cli.interactive && cli.recursive() {
        to_stderr(
            "fastcopy: -i cannot ask about each file of a tree; \
             use -n or --update=none|older with -r\n\
             Try 'fastcopy --help' for more information.",
        );
        return Ok(Some(2));
    }
    let mut session = Session::new(cli);
    // Ctrl-C, SIGTERM and SIGHUP stop the copy cleanly.
    progress::watch_interrupts();
    for source in &sources {
        if progress::interrupted() {
            break;
        }
        let dest = match &target {
            Target::As(p) => p.clone(),
            Target::Into(dir) if cli.recursive() && names_contents(source) => dir.clone(),
            Target::Into(dir) => match name_in_target(source) {
                Some(name) => dir.join(name),
                None => {
                    session.fail(format!("cannot copy {}: it has no name", q(source)));
                    continue;
                }
            },
        };
        // cp names what lands in DIR through `src/.` as `DIR/./NAME`.
        session.shown = match &target {
            Target::Into(dir) if dest == *dir => Some(dir.join(".")),
            _ => None,
        };
        session.one(source, &dest, out)?;
    }
    *failures += session.failures;
    session.finish(out)?;
    Ok(None)
}

/// The state of one run: options, totals, failures.
struct Session<'a> {
    cli: &'a Cli,
    bars: bool,
    metrics: Metrics,
    tree: TreeReport,
    trees: u64,
    failures: u64,
    /// How `-v` names the destination of the current tree, when not as
    /// it is passed to the library.
    shown: Option<PathBuf>,
}

impl<'a> Session<'a> {
    fn new(cli: &'a Cli) -> Self {
        Session {
            cli,
            bars: !cli.json && !cli.no_progress && io::stderr().is_terminal(),
            metrics: Metrics::new(),
            tree: TreeReport::default(),
            trees: 0,
            failures: 0,
            shown: None,
        }
    }

    fn fail(&mut self, msg: String) {
        self.failures += 1;
        self.metrics.record_failure();
        to_stderr(&format!("fastcopy: {msg}"));
    }

    /// A source refused before the library was called: the message, and
    /// its record with --json.
    fn refuse(
        &mut self,
        (source, dest): (&Path, &Path),
        msg: String,
        kind: io::ErrorKind,
        op: Operation,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.cli.json {
            writeln!(
                out,
                "{}",
                output::json_refusal(source, dest, &msg, kind, op)
            )?;
        }
        self.fail(msg);
        Ok(())
    }

    /// Copies one operand to `dest` (the exact path of the copy).
    fn one(&mut self, source: &Path, dest: &Path, out: &mut dyn Write) -> io::Result<()> {
        let cli = self.cli;
        let follow = cli.deref() != Deref::Never;
        let meta = if follow {
            fs::metadata(source)
        } else {
            fs::symlink_metadata(source)
        };
        let meta = match meta {
            Ok(m) => m,
            Err(e) => {
                let msg = format!("cannot stat {}: {}", q(source), output::strerror(&e));
                let op = Operation::StatSource;
                return self.refuse((source, dest), msg, e.kind(), op, out);
            }
        };
        if meta.is_dir() {
            if !cli.recursive() {
                let msg = format!("-r not specified; omitting directory {}", q(source));
                let (kind, op) = (io::ErrorKind::IsADirectory, Operation::SourceNotRegular);
                return self.refuse((source, dest), msg, kind, op, out);
            }
            if !cli.json && (cli.verbose || cli.debug) && fs::symlink_metadata(dest).is_err() {
                // cp names a directory it creates first; the entries follow.
                writeln!(out, "{}", output::verbose_line(source, dest))?;
            }
            return self.tree(source, dest, out);
        }
        if meta.file_type().is_symlink() {
            // -P/-d: the link itself is copied, as a link.
            return self.tree(source, dest, out);
        }
        if fs::metadata(dest).is_ok_and(|m| m.is_dir()) {
            let msg = format!("cannot overwrite directory {} with non-directory", q(dest));
            let (kind, op) = (io::ErrorKind::IsADirectory, Operation::StatDestination);
            return self.refuse((source, dest), msg, kind, op, out);
        }
        if let Some(why) = self.skip_reason(source, dest) {
            return self.skipped(source, dest, why, out);
        }
        self.file(source, dest, out)
    }

    /// Why an existing `dest` is left alone by -i (the library decides
    /// for -n and --update).
    fn skip_reason(&self, _source: &Path, dest: &Path) -> Option<&'static str> {
        if self.cli.interactive
            && fs::symlink_metadata(dest).is_ok()
            && !ask(&format!("fastcopy: overwrite {}? ", q(dest)))
        {
            return Some("declined");
        }
        None
    }

    /// A file left alone: nothing on stderr (as cp), a record with --json.
    fn skipped(
        &mut self,
        source: &Path,
        dest: &Path,
        why: &str,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.cli.json {
            writeln!(out, "{}", output::json_skipped(source, dest, why))?;
        }
        Ok(())
    }

    /// One regular file.
    fn file(&mut self, source: &Path, dest: &Path, out: &mut dyn Write) -> io::Result<()> {
        let cli = self.cli;
        let made = if cli.parents {
            missing_ancestors(dest)
        } else {
            Vec::new()
        };
        let bar = self
            .bars
            .then(|| Arc::new(FileProgress::new(label(source))));
        let opts = cli.copy_options().progress(Arc::new(Watch(bar.clone())));
        let result = fastcopy::copy_with(source, dest, &opts);
        if let Some(bar) = &bar {
            bar.finish();
        }
        match result {
            Ok(report) if report.skipped.is_some() => {
                let why = match report.skipped {
                    Some(fastcopy::Skipped::NotOlder) => "not_older",
                    _ => "exists",
                };
                self.skipped(source, &report.destination, why, out)?;
            }
            Ok(report) => {
                self.metrics.record(&report);
                for w in &report.warnings {
                    to_stderr(&output::warning_line(&report.destination, w));
                }
                if cli.json {
                    writeln!(out, "{}", output::json_success(source, &report))?;
                } else if cli.debug {
                    writeln!(out, "{}", output::debug_line(source, &report))?;
                } else if cli.verbose {
                    writeln!(out, "{}", output::verbose_line(source, &report.destination))?;
                }
            }
            Err(e) => {
                remove_made(&made);
                self.failures += 1;
                self.metrics.record_failure();
                to_stderr(&output::error_line(source, dest, &e));
                if cli.json {
                    writeln!(out, "{}", output::json_failure(source, dest, &e))?;
                }
            }
        }
        Ok(())
    }

    /// A directory (or, with -P, a symbolic link) copied as a tree to `dest`.
    fn tree(&mut self, source: &Path, dest: &Path, out: &mut dyn Write) -> io::Result<()> {
        let cli = self.cli;
        // -H: a link given as an operand is followed, those inside are not.
        let resolved;
        let from = if cli.deref() == Deref::CommandLine {
            resolved = fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
            resolved.as_path()
        } else {
            source
        };
        let made = if cli.parents {
            missing_ancestors(dest)
        } else {
            Vec::new()
        };
        let bar = self.bars.then(|| TreeBar::new(label(source)));
        let lines = if cli.json {
            Lines::None
        } else if cli.debug {
            Lines::Debug
        } else if cli.verbose {
            Lines::Verbose
        } else {
            Lines::None
        };
        let shown = self.shown.clone().unwrap_or_else(|| dest.to_path_buf());
        let watch = Arc::new(TreeWatch::new(bar, lines, source, (dest, &shown)));
        let opts = cli.tree_options().progress(watch.clone());
        let result = fastcopy::copy_tree(from, dest, &opts);
        watch.finish();
        self.trees += 1;
        // A partial copy is an error that carries the whole report.
        let result = match result {
            Err(e) if e.operation() == Operation::Incomplete && e.tree_report().is_some() => {
                Ok(e.into_tree_report().expect("checked above"))
            }
            other => other,
        };
        match result {
            Ok(report) => {
                self.failures += report.errors.len() as u64;
                for e in &report.errors {
                    to_stderr(&output::error_line(e.path(), e.path(), e));
                }
                if !report.errors.is_empty() {
                    to_stderr(&format!(
                        "fastcopy: copy of {} to {} is incomplete: {} not copied, {} files copied",
                        q(source),
                        q(dest),
                        report.errors.len(),
                        report.metrics.files()
                    ));
                }
                for w in &report.warnings {
                    to_stderr(&output::warning_line(&w.path, &w.warning));
                }
                if cli.json {
                    writeln!(out, "{}", output::json_tree(source, dest, &report))?;
                } else if cli.debug {
                    writeln!(out, "{}", output::tree_line(source, dest, &report))?;
                }
                let elapsed = self.tree.elapsed + report.elapsed;
                self.tree.merge(report);
                self.tree.elapsed = elapsed;
            }
            Err(e) => {
                remove_made(&made);
                self.tree.metrics.record_failure();
                self.failures += 1;
                to_stderr(&output::error_line(source, dest, &e));
                if cli.json {
                    writeln!(out, "{}", output::json_failure(source, dest, &e))?;
                }
            }
        }
        Ok(())
    }

    /// The totals, with --stats.
    fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let cli = self.cli;
        if cli.stats {
            if self.trees > 0 {
                let mut total = std::mem::take(&mut self.tree);
                total.metrics.merge(&self.metrics);
                if cli.json {
                    writeln!(out, "{}", output::json_tree_stats(&total))?;
                } else {
                    to_stderr(output::stats_table(&total.metrics).trim_end());
                    to_stderr(output::tree_table(&total).trim_end());
                }
            } else if cli.json {
                writeln!(out, "{}", output::json_stats(&self.metrics))?;
            } else {
                to_stderr(output::stats_table(&self.metrics).trim_end());
            }
        }
        out.flush()
    }
}

/// Asks `prompt` on stderr and reads the answer from stdin, as cp -i does
/// (also when stdin is not a terminal). Yes only for an answer starting
/// with y or Y; no answer (end of input) is no.
fn ask(prompt: &str) -> bool {
    {
        let mut err = io::stderr().lock();
        let _ = err.write_all(prompt.as_bytes());
        let _ = err.flush();
    }
    let mut line = String::new();
    match io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => {
            to_stderr("");
            false
        }
        Ok(_) => matches!(line.trim_start().chars().next(), Some('y' | 'Y')),
    }
}

/// The directories `--parents` will create for `dest`, deepest first.
fn missing_ancestors(dest: &Path) -> Vec<PathBuf> {
    let mut made = Vec::new();
    let mut dir = dest.parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if fs::symlink_metadata(d).is_ok() {
            break;
        }
        made.push(d.to_path_buf());
        dir = d.parent();
    }
    made
}

/// Removes the directories `--parents` made for a copy that failed (only
/// while empty: something else may have put a file there meanwhile).
fn remove_made(made: &[PathBuf]) {
    for d in made {
        if fs::remove_dir(d).is_err() {
            break;
        }
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
pub fn to_stderr(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("fastcopy").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn operands_as_cp_reads_them() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_str().unwrap();
        assert_eq!(
            plan(&cli(&["a"])),
            Err(Refusal::Usage(
                "missing destination file operand after 'a'".into()
            ))
        );
        assert_eq!(
            plan(&cli(&[])),
            Err(Refusal::Usage("missing file operand".into()))
        );
        assert_eq!(
            plan(&cli(&["a", "b"])),
            Ok((vec![PathBuf::from("a")], Target::As("b".into())))
        );
        assert_eq!(
            plan(&cli(&["a", dir])),
            Ok((vec![PathBuf::from("a")], Target::Into(dir.into())))
        );
        assert_eq!(
            plan(&cli(&["-T", "a", dir])),
            Ok((vec![PathBuf::from("a")], Target::As(dir.into())))
        );
        assert_eq!(
            plan(&cli(&["-T", "a", "b", "c"])),
            Err(Refusal::Usage("extra operand 'c'".into()))
        );
        assert_eq!(
            plan(&cli(&["-t", dir, "a", "b"])),
            Ok((
                vec![PathBuf::from("a"), PathBuf::from("b")],
                Target::Into(dir.into())
            ))
        );
        assert!(matches!(
            plan(&cli(&["a", "b", "/nonexistent/fastcopy"])),
            Err(Refusal::Fail(_))
        ));
    }

    #[test]
    fn contents_operands() {
        for (p, want) in [
            ("src/.", true),
            (".", true),
            ("src/./", true),
            ("src", false),
            ("src/", false),
            ("a.b", false),
        ] {
            assert_eq!(names_contents(Path::new(p)), want, "{p}");
        }
    }
}
