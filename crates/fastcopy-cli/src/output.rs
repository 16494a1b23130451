//! What the command prints: human lines, JSON Lines records and the
//! statistics table. Pure functions from the library's types to text.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use std::io::ErrorKind;

use fastcopy::{CopyReport, Method, Metrics, Operation, TreeReport, Warning};

use crate::quote::{json_path, q};
use serde_json::{Value, json};

/// A size in binary units with one decimal: `0 B`, `512 B`, `1.0 KiB`,
/// `1.5 MiB`. The unit is the largest in which the rounded value stays
/// below 1024.0, so there is never a `1024.0 KiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let b = u128::from(bytes);
    for (i, unit) in UNITS.iter().enumerate() {
        let div = 1u128 << (10 * (i + 1));
        let tenths = (b * 10 + div / 2) / div;
        if tenths < 10240 || i == UNITS.len() - 1 {
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    unreachable!("the last unit always matches")
}

/// A duration with one decimal in µs, ms or s: the smallest unit in which
/// the rounded value stays below 1000.0 (seconds have no upper limit).
/// `0.3 µs`, `999.9 µs`, `1.0 ms`, `12.5 ms`, `1.2 s`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    for (unit, div) in [("µs", 1_000u128), ("ms", 1_000_000)] {
        let tenths = (ns * 10 + div / 2) / div;
        if tenths < 10_000 {
            return format!("{}.{} {unit}", tenths / 10, tenths % 10);
        }
    }
    let div = 1_000_000_000u128;
    let tenths = (ns * 10 + div / 2) / div;
    format!("{}.{} s", tenths / 10, tenths % 10)
}

/// The `-v` line, as cp prints it: `'SRC' -> 'DST'`.
pub fn verbose_line(source: &Path, destination: &Path) -> String {
    format!("{} -> {}", q(source), q(destination))
}

/// The `--debug` line: `'SRC' -> 'DST' (METHOD, SIZE, TIME[, after METHOD: ERROR]...)`.
pub fn debug_line(source: &Path, report: &CopyReport) -> String {
    let mut line = format!(
        "{} ({}, {}, {}",
        verbose_line(source, &report.destination),
        report.method,
        format_size(report.bytes),
        format_duration(report.elapsed),
    );
    for f in &report.fallbacks {
        let _ = write!(line, ", after {}: {}", f.method, strerror(&f.error));
    }
    line.push(')');
    line
}

/// The system's text for an error, without Rust's ` (os error N)`.
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_owned(),
        _ => text,
    }
}

/// What went wrong, in cp's words (without the `fastcopy: ` prefix).
/// `source` is the source as given, for the messages that name both.
pub fn describe_error(source: &Path, dest: &Path, err: &fastcopy::Error) -> String {
    let p = q(err.path());
    let e = strerror(err.io_error());
    let custom = err.raw_os_error().is_none();
    match err.operation() {
        Operation::OpenSource | Operation::StatSource if err.kind() == ErrorKind::NotFound => {
            format!("cannot stat {p}: {e}")
        }
        Operation::OpenSource => format!("cannot open {p} for reading: {e}"),
        Operation::StatSource => format!("cannot stat {p}: {e}"),
        Operation::SourceNotRegular if err.kind() == ErrorKind::IsADirectory => {
            format!("-r not specified; omitting directory {p}")
        }
        Operation::SourceNotRegular => {
            format!("cannot copy {p}: {e} (only -r recreates special files)")
        }
        Operation::SameFile => format!("{} and {p} are the same file", q(source)),
        Operation::StatDestination if err.kind() == ErrorKind::IsADirectory && custom => {
            format!("cannot overwrite directory {p} with non-directory")
        }
        Operation::StatDestination if err.kind() == ErrorKind::NotFound && custom => {
            format!("not writing through dangling symlink {p}")
        }
        Operation::StatDestination if custom => format!("cannot overwrite {p}: {e}"),
        Operation::StatDestination => format!("cannot stat {p}: {e}"),
        Operation::DestinationExists => format!("not replacing {}", q(dest)),
        // cp's words for a destination it may not write (-f replaces it).
        Operation::DestinationNotWritable => format!("cannot create regular file {p}: {e}"),
        Operation::SourceChanged => format!(
            "{p} changed while it was being copied; the destination was left as it was \
             (--accept-changing-source copies it anyway)"
        ),
        Operation::CreateParents => {
            let parent = err.path().parent().unwrap_or(err.path());
            format!("cannot create directory {}: {e}", q(parent))
        }
        Operation::CreateTemporary | Operation::CreateFile | Operation::Rename => {
            format!("cannot create regular file {p}: {e}")
        }
        Operation::Clone => format!("failed to clone {} from {}: {e}", q(dest), q(source)),
        Operation::CopyData => format!("error copying {} to {}: {e}", q(source), q(dest)),
        Operation::SetPermissions => format!("preserving permissions for {p}: {e}"),
        Operation::SetTimes => format!("preserving times for {p}: {e}"),
        Operation::SetOwner => format!("failed to preserve ownership for {p}: {e}"),
        Operation::Sync => format!("cannot flush {p} to disk: {e}"),
        Operation::ReadDirectory => format!("cannot access {p}: {e}"),
        // Inside a tree the source is not known (`source` is the path).
        Operation::CreateDirectory if custom && e.contains("non-directory") => {
            if source == err.path() {
                format!("cannot overwrite non-directory {p} with a directory")
            } else {
                format!(
                    "cannot overwrite non-directory {p} with directory {}",
                    q(source)
                )
            }
        }
        Operation::CreateDirectory => format!("cannot create directory {p}: {e}"),
        Operation::Symlink => format!("cannot create symbolic link {p}: {e}"),
        Operation::HardLink => format!("cannot create hard link {p}: {e}"),
        Operation::CreateSpecial => format!("cannot create fifo {p}: {e}"),
        Operation::IntoItself => {
            format!("cannot copy a directory, {}, into itself, {p}", q(source))
        }
        Operation::Cancelled => format!("interrupted: {p} left as it was"),
        other => format!("{other} {p}: {e}"),
    }
}

/// The stderr line for a failed copy.
pub fn error_line(source: &Path, dest: &Path, err: &fastcopy::Error) -> String {
    format!("fastcopy: {}", describe_error(source, dest, err))
}

/// The stderr line for a warning of a successful copy.
pub fn warning_line(destination: &Path, warning: &Warning) -> String {
    format!(
        "fastcopy: warning: {}: {}",
        q(destination),
        warning_text(warning)
    )
}

/// A warning's text, with system errors without ` (os error N)`.
pub fn warning_text(warning: &Warning) -> String {
    match warning {
        Warning::Xattr { name, error } => format!(
            "extended attribute {} not copied: {}",
            crate::quote::quote(std::ffi::OsStr::new(name)),
            strerror(error)
        ),
        Warning::Preallocate(e) => format!("preallocation failed: {}", strerror(e)),
        other => other.to_string(),
    }
}

/// A `snake_case` name for an operation, e.g. `open_source`, derived from
/// its variant name (the library offers no stable name of its own).
pub fn operation_name(op: Operation) -> String {
    let debug = format!("{op:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Nanoseconds as a JSON-safe integer (saturating at `u64::MAX`, 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A JSON object with `key` set to `path` (see [`json_path`]).
fn with_path(mut v: Value, key: &str, path: &Path) -> Value {
    if let Value::Object(m) = &mut v {
        json_path(m, key, path);
    }
    v
}

/// The JSON Lines record of a successful copy. Every record, success or
/// failure, has the same keys; the ones that do not apply are `null` (or
/// `[]` for the lists).
pub fn json_success(source: &Path, report: &CopyReport) -> Value {
    let v = json!({
        "ok": true,
        "bytes": report.bytes,
        "method": report.method.as_str(),
        "fallbacks": report
            .fallbacks
            .iter()
            .map(|f| json!({"method": f.method.as_str(), "error": strerror(&f.error)}))
            .collect::<Vec<_>>(),
        "elapsed_ns": nanos(report.elapsed),
        "warnings": report.warnings.iter().map(warning_text).collect::<Vec<_>>(),
        "error": null,
        "error_kind": null,
        "operation": null,
        "skipped": null,
    });
    with_path(
        with_path(v, "source", source),
        "destination",
        &report.destination,
    )
}

/// The JSON Lines record of a file left alone (`-n`, `--update`, `-i`):
/// `ok` and `skipped` says why: `exists`, `not_older` or `declined`.
pub fn json_skipped(source: &Path, dest: &Path, why: &str) -> Value {
    let v = json!({
        "ok": true,
        "bytes": 0,
        "method": null,
        "fallbacks": [],
        "elapsed_ns": null,
        "warnings": [],
        "error": null,
        "error_kind": null,
        "operation": null,
        "skipped": why,
    });
    with_path(with_path(v, "source", source), "destination", dest)
}

/// The JSON Lines record of a copy the command line refused before the
/// library was called (a missing source, a directory without -r): `error`
/// is the message, `operation` names the step as the library would.
pub fn json_refusal(
    source: &Path,
    dest: &Path,
    message: &str,
    kind: ErrorKind,
    operation: Operation,
) -> Value {
    let v = json!({
        "ok": false,
        "bytes": null,
        "method": null,
        "fallbacks": [],
        "elapsed_ns": null,
        "warnings": [],
        "error": message,
        "error_kind": format!("{kind:?}"),
        "operation": operation_name(operation),
        "skipped": null,
    });
    with_path(with_path(v, "source", source), "destination", dest)
}

/// The JSON Lines record of a failed copy. `dest` is the destination as given.
pub fn json_failure(source: &Path, dest: &Path, err: &fastcopy::Error) -> Value {
    let v = json!({
        "ok": false,
        "bytes": null,
        "method": null,
        "fallbacks": [],
        "elapsed_ns": null,
        "warnings": [],
        "error": describe_error(source, dest, err),
        "error_kind": format!("{:?}", err.kind()),
        "operation": operation_name(err.operation()),
        "skipped": null,
    });
    with_path(with_path(v, "source", source), "destination", dest)
}

/// The final `--stats --json` line: `{"stats": {...}}`. Every method and
/// every histogram bucket is listed, zero or not.
pub fn json_stats(m: &Metrics) -> Value {
    let methods: serde_json::Map<String, Value> = Method::ALL
        .iter()
        .map(|&method| {
            let s = m.method(method);
            let v = json!({"files": s.files, "bytes": s.bytes, "elapsed_ns": nanos(s.elapsed)});
            (method.as_str().to_owned(), v)
        })
        .collect();
    let histogram: Vec<Value> = m
        .size_histogram()
        .iter()
        .map(|b| json!({"min": b.min, "max": b.max, "files": b.files}))
        .collect();
    json!({"stats": {
        "files": m.files(),
        "failures": m.failures(),
        "bytes": m.bytes(),
        "files_with_fallback": m.files_with_fallback(),
        "fallbacks": m.fallbacks(),
        "fallback_rate": m.fallback_rate(),
        "total_elapsed_ns": nanos(m.total_elapsed()),
        "mean_elapsed_ns": nanos(m.mean_elapsed()),
        "methods": methods,
        "size_histogram": histogram,
    }})
}

/// The `-v` line of a tree: `SRC -> DST (N files, SIZE, TIME, N errors)`.
pub fn tree_line(source: &Path, dest: &Path, r: &TreeReport) -> String {
    format!(
        "{} -> {} ({} files, {}, {}, {} errors)",
        q(source),
        q(dest),
        r.metrics.files(),
        format_size(r.metrics.bytes()),
        format_duration(r.elapsed),
        r.errors.len()
    )
}

/// The counts of a tree report other than the file metrics.
fn tree_counts(r: &TreeReport) -> Value {
    json!({
        "directories": r.directories,
        "symlinks": r.symlinks,
        "hard_links": r.hard_links,
        "special_files": r.special_files,
        "skipped": r.skipped,
        "up_to_date": r.up_to_date,
        "jobs": r.jobs,
        "elapsed_ns": nanos(r.elapsed),
        "warnings": r.warnings.len(),
        "errors": r.errors.len(),
    })
}

/// The `--json` record of one tree: where it went, the counts, the file
/// statistics (as in `--stats --json`), and every warning and error.
pub fn json_tree(source: &Path, dest: &Path, r: &TreeReport) -> Value {
    let v = json!({
        "ok": r.errors.is_empty(),
        "tree": tree_counts(r),
        "stats": json_stats(&r.metrics)["stats"].clone(),
        "warnings": r
            .warnings
            .iter()
            .map(|w| with_path(json!({"warning": warning_text(&w.warning)}), "path", &w.path))
            .collect::<Vec<_>>(),
        "errors": r
            .errors
            .iter()
            .map(|e| with_path(json!({
                "operation": operation_name(e.operation()),
                "error": describe_error(e.path(), e.path(), e),
                "error_kind": format!("{:?}", e.kind()),
            }), "path", e.path()))
            .collect::<Vec<_>>(),
    });
    with_path(with_path(v, "source", source), "destination", dest)
}

/// The final `--stats --json` line of `-r`: `{"stats": {...}, "tree": {...}}`.
pub fn json_tree_stats(r: &TreeReport) -> Value {
    let mut v = json_stats(&r.metrics);
    v["tree"] = tree_counts(r);
    v
}

/// The tree lines of `--stats` with `-r`, after [`stats_table`].
pub fn tree_table(r: &TreeReport) -> String {
    let mut t = String::new();
    for (label, n) in [
        ("directories:", r.directories),
        ("symlinks:", r.symlinks),
        ("hard links:", r.hard_links),
        ("fifos:", r.special_files),
        ("skipped:", r.skipped),
        ("up to date:", r.up_to_date),
        ("warnings:", r.warnings.len() as u64),
        ("errors:", r.errors.len() as u64),
    ] {
        let _ = writeln!(t, "{label:<15} {n}");
    }
    let _ = writeln!(t, "{:<15} {}", "elapsed:", format_duration(r.elapsed));
    t
}

/// The `--stats` table for stderr: totals, methods that ran, fallback
/// rate, times, and the non-empty size buckets.
pub fn stats_table(m: &Metrics) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "files:          {}", m.files());
    let _ = writeln!(t, "failures:       {}", m.failures());
    let _ = writeln!(t, "bytes:          {}", format_size(m.bytes()));
    let methods: Vec<_> = m.per_method().filter(|(_, s)| s.files > 0).collect();
    if !methods.is_empty() {
        let _ = writeln!(
            t,
            "{:<16} {:>6} {:>11} {:>10}",
            "method", "files", "bytes", "time"
        );
        for (method, s) in methods {
            let _ = writeln!(
                t,
                "{:<16} {:>6} {:>11} {:>10}",
                method.as_str(),
                s.files,
                format_size(s.bytes),
                format_duration(s.elapsed)
            );
        }
    }
    let _ = writeln!(
        t,
        "fallback rate:  {:.1}% ({} of {} files, {} fallbacks)",
        m.fallback_rate() * 100.0,
        m.files_with_fallback(),
        m.files(),
        m.fallbacks()
    );
    let _ = writeln!(t, "total time:     {}", format_duration(m.total_elapsed()));
    let _ = writeln!(t, "mean time:      {}", format_duration(m.mean_elapsed()));
    let buckets: Vec<_> = m
        .size_histogram()
        .into_iter()
        .filter(|b| b.files > 0)
        .collect();
    if !buckets.is_empty() {
        let _ = writeln!(t, "{:<23} {:>6}", "size", "files");
        for b in buckets {
            let label = match b.max {
                Some(max) if max == b.min => format_size(max),
                Some(max) => format!("{} .. {}", format_size(b.min), format_size(max)),
                None => format!("> {}", format_size(b.min.saturating_sub(1))),
            };
            let _ = writeln!(t, "{label:<23} {:>6}", b.files);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastcopy::Fallback;
    use std::io;
    use std::path::PathBuf;

    /// A report with these fields. `CopyReport` is `#[non_exhaustive]`, so
    /// only the library makes one: take a real copy's and set its fields.
    fn report(
        bytes: u64,
        method: Method,
        fallbacks: Vec<Fallback>,
        elapsed: Duration,
    ) -> CopyReport {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"").unwrap();
        let mut r = fastcopy::copy(&a, &b).unwrap();
        r.destination = PathBuf::from("dir/b");
        r.bytes = bytes;
        r.method = method;
        r.fallbacks = fallbacks;
        r.elapsed = elapsed;
        r.warnings = Vec::new();
        r
    }

    fn exdev() -> Fallback {
        Fallback {
            method: Method::CopyFileRange,
            error: io::Error::from_raw_os_error(18),
            offset: 0,
        }
    }

    /// A real library error: the source does not exist.
    fn not_found() -> fastcopy::Error {
        fastcopy::copy("/nonexistent/fastcopy-cli-test", "/nonexistent/b").unwrap_err()
    }

    #[test]
    fn sizes() {
        let cases = [
            (0, "0 B"),
            (1, "1 B"),
            (512, "512 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (1024 * 1024 - 1, "1.0 MiB"),
            (3 << 19, "1.5 MiB"),
            (1 << 30, "1.0 GiB"),
            (10 << 30, "10.0 GiB"),
            ((1 << 40) + (1 << 39), "1.5 TiB"),
            (1 << 50, "1.0 PiB"),
            (u64::MAX, "16.0 EiB"),
        ];
        for (bytes, text) in cases {
            assert_eq!(format_size(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            (Duration::ZERO, "0.0 µs"),
            (Duration::from_nanos(49), "0.0 µs"),
            (Duration::from_nanos(300), "0.3 µs"),
            (Duration::from_nanos(999_949), "999.9 µs"),
            (Duration::from_nanos(999_950), "1.0 ms"),
            (Duration::from_micros(300), "300.0 µs"),
            (Duration::from_micros(12_500), "12.5 ms"),
            (Duration::from_micros(999_949), "999.9 ms"),
            (Duration::from_micros(999_950), "1.0 s"),
            (Duration::from_millis(1_200), "1.2 s"),
            (Duration::from_secs(3_600), "3600.0 s"),
            (Duration::MAX, "18446744073709551616.0 s"),
        ];
        for (d, text) in cases {
            assert_eq!(format_duration(d), text, "{d:?}");
        }
    }

    #[test]
    fn verbose_line_without_and_with_fallbacks() {
        let r = report(1 << 30, Method::Reflink, vec![], Duration::from_micros(300));
        assert_eq!(
            verbose_line(Path::new("a"), &r.destination),
            "'a' -> 'dir/b'"
        );
        assert_eq!(
            debug_line(Path::new("a"), &r),
            "'a' -> 'dir/b' (reflink, 1.0 GiB, 300.0 µs)"
        );
        let r = report(
            4096,
            Method::ReadWrite,
            vec![exdev()],
            Duration::from_micros(100),
        );
        let line = debug_line(Path::new("a"), &r);
        let want = "'a' -> 'dir/b' (read_write, 4.0 KiB, 100.0 µs, \
                    after copy_file_range: Invalid cross-device link)";
        assert_eq!(line, want);
    }

    #[test]
    fn error_and_warning_lines() {
        let e = not_found();
        let line = error_line(
            Path::new("/nonexistent/fastcopy-cli-test"),
            Path::new("b"),
            &e,
        );
        assert_eq!(
            line,
            "fastcopy: cannot stat '/nonexistent/fastcopy-cli-test': No such file or directory"
        );
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(13)),
            "Permission denied"
        );
        let w = warning_line(Path::new("x"), &Warning::SetidDropped);
        assert!(w.starts_with("fastcopy: warning: 'x': set-user-ID"), "{w}");
    }

    #[cfg(unix)]
    #[test]
    fn verbose_quotes_like_cp() {
        use std::os::unix::ffi::OsStrExt;
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"new\nline\xff"));
        assert_eq!(
            verbose_line(odd, Path::new("it's")),
            "'new'$'\\n''line'$'\\377' -> \"it's\""
        );
    }

    #[test]
    fn operation_names_are_snake_case() {
        assert_eq!(operation_name(Operation::OpenSource), "open_source");
        assert_eq!(operation_name(Operation::SameFile), "same_file");
        assert_eq!(operation_name(Operation::Clone), "clone");
        assert_eq!(
            operation_name(Operation::CreateTemporary),
            "create_temporary"
        );
    }

    const KEYS: [&str; 12] = [
        "source",
        "destination",
        "ok",
        "bytes",
        "method",
        "fallbacks",
        "elapsed_ns",
        "warnings",
        "error",
        "error_kind",
        "operation",
        "skipped",
    ];

    #[test]
    fn json_records_share_one_schema() {
        let mut r = report(
            4096,
            Method::ReadWrite,
            vec![exdev()],
            Duration::from_nanos(1234),
        );
        r.warnings.push(Warning::SetidDropped);
        let ok = json_success(Path::new("a"), &r);
        let bad = json_failure(Path::new("a"), Path::new("b"), &not_found());
        for v in [&ok, &bad] {
            let obj = v.as_object().unwrap();
            let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut want = KEYS.to_vec();
            want.sort_unstable();
            assert_eq!(keys, want);
        }

        assert_eq!(ok["source"], "a");
        assert_eq!(ok["destination"], "dir/b");
        assert_eq!(ok["ok"], true);
        assert_eq!(ok["bytes"], 4096);
        assert_eq!(ok["method"], "read_write");
        assert_eq!(ok["fallbacks"][0]["method"], "copy_file_range");
        assert_eq!(ok["fallbacks"][0]["error"], "Invalid cross-device link");
        assert_eq!(ok["elapsed_ns"], 1234);
        assert!(
            ok["warnings"][0]
                .as_str()
                .unwrap()
                .starts_with("set-user-ID")
        );
        assert!(ok["error"].is_null() && ok["error_kind"].is_null() && ok["operation"].is_null());

        assert_eq!(bad["ok"], false);
        assert_eq!(bad["destination"], "b");
        assert!(bad["bytes"].is_null() && bad["method"].is_null() && bad["elapsed_ns"].is_null());
        assert_eq!(bad["fallbacks"], json!([]));
        assert_eq!(bad["warnings"], json!([]));
        assert_eq!(bad["error_kind"], "NotFound");
        assert_eq!(bad["operation"], "open_source");
        assert!(bad["error"].as_str().unwrap().starts_with("cannot stat '"));
    }

    #[test]
    #[cfg(unix)]
    fn json_lossy_paths() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let src = Path::new(OsStr::from_bytes(b"a\xffb"));
        let r = report(0, Method::Reflink, vec![], Duration::ZERO);
        assert_eq!(json_success(src, &r)["source"], "a\u{fffd}b");
    }

    fn sample_metrics() -> Metrics {
        let mut m = Metrics::new();
        m.record(&report(
            0,
            Method::Reflink,
            vec![],
            Duration::from_micros(100),
        ));
        m.record(&report(
            3 << 19,
            Method::Reflink,
            vec![],
            Duration::from_micros(200),
        ));
        m.record(&report(
            4096,
            Method::ReadWrite,
            vec![exdev()],
            Duration::from_micros(300),
        ));
        m.record_failure();
        m
    }

    #[test]
    fn stats_json() {
        let v = json_stats(&sample_metrics());
        let s = &v["stats"];
        assert_eq!(s["files"], 3);
        assert_eq!(s["failures"], 1);
        assert_eq!(s["bytes"], (3 << 19) + 4096);
        assert_eq!(s["fallbacks"], 1);
        assert_eq!(s["files_with_fallback"], 1);
        assert!((s["fallback_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(s["total_elapsed_ns"], 600_000);
        assert_eq!(s["mean_elapsed_ns"], 200_000);
        assert_eq!(
            s["methods"]["reflink"],
            json!({"files": 2, "bytes": 3 << 19, "elapsed_ns": 300_000})
        );
        assert_eq!(s["methods"]["read_write"]["files"], 1);
        assert_eq!(s["methods"]["copy_file_range"]["files"], 0);
        assert_eq!(s["methods"]["direct_io"]["files"], 0);
        assert_eq!(s["methods"].as_object().unwrap().len(), Method::ALL.len());
        let h = s["size_histogram"].as_array().unwrap();
        assert_eq!(h.len(), fastcopy::SIZE_BUCKET_LIMITS.len() + 1);
        assert_eq!(h[0], json!({"min": 0, "max": 0, "files": 1}));
        assert_eq!(h[1], json!({"min": 1, "max": 4096, "files": 1}));
        assert!(h.last().unwrap()["max"].is_null());
        assert_eq!(
            h.iter().map(|b| b["files"].as_u64().unwrap()).sum::<u64>(),
            3
        );
    }

    #[test]
    fn stats_table_shows_what_happened() {
        let t = stats_table(&sample_metrics());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "files:          3");
        assert_eq!(lines[1], "failures:       1");
        assert_eq!(lines[2], "bytes:          1.5 MiB");
        assert!(
            t.contains("\nreflink               2     1.5 MiB   300.0 µs\n"),
            "{t}"
        );
        assert!(
            t.contains("\nread_write            1     4.0 KiB   300.0 µs\n"),
            "{t}"
        );
        assert!(!t.contains("copy_file_range  "), "{t}");
        assert!(
            t.contains("fallback rate:  33.3% (1 of 3 files, 1 fallbacks)"),
            "{t}"
        );
        assert!(t.contains("total time:     600.0 µs"), "{t}");
        assert!(t.contains("mean time:      200.0 µs"), "{t}");
        assert!(t.contains("\n0 B                          1\n"), "{t}");
        assert!(t.contains("\n1 B .. 4.0 KiB               1\n"), "{t}");
        assert!(t.contains("\n1.0 MiB .. 16.0 MiB          1\n"), "{t}");
        assert!(!t.contains("> 1.0 GiB"), "{t}");
    }

    #[test]
    fn empty_stats_table() {
        let t = stats_table(&Metrics::new());
        assert!(t.contains("files:          0"));
        assert!(!t.contains("method"));
        assert!(!t.contains("size"));
    }
}
