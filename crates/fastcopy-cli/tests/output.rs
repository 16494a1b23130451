//! What is printed: `-v` lines, JSON Lines records, statistics, help.

use std::fs;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{assert_no_temp, fastcopy, json_lines, source};

/// Every method name the library may report.
fn methods() -> Vec<&'static str> {
    fastcopy::Method::ALL.iter().map(|m| m.as_str()).collect()
}

#[test]
fn quiet_without_verbose() {
    let d = tempfile::tempdir().unwrap();
    source(&d.path().join("a"), b"abc", 0o644);
    fastcopy()
        .current_dir(d.path())
        .args(["a", "b"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn verbose_prints_one_line_per_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    source(&d.path().join("a"), &[7; 11 * 1024], 0o644);
    source(&d.path().join("b"), b"", 0o644);

    let out = fastcopy()
        .current_dir(d.path())
        .args(["-v", "a", "b", "dir"])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "'a' -> 'dir/a'\n'b' -> 'dir/b'\n"
    );
    let out = fastcopy()
        .current_dir(d.path())
        .args(["--debug", "a", "b", "dir"])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let method = format!("({})", methods().join("|"));
    let tail = format!(r"\d+\.\d (µs|ms|s)(, after {method}: [^),]+)*\)$");
    for (line, name, size) in [(lines[0], "a", r"11\.0 KiB"), (lines[1], "b", "0 B")] {
        let re = format!("^'{name}' -> 'dir/{name}' \\({method}, {size}, {tail}");
        assert!(
            predicates::str::is_match(&re).unwrap().eval(line),
            "{line:?} does not match {re}"
        );
    }
    assert_no_temp(&dir);
}

fn assert_success_record(v: &Value, src: &str, dst: &str, bytes: u64) {
    assert_eq!(v["ok"], Value::Bool(true), "{v}");
    assert_eq!(v["source"], src);
    assert_eq!(v["destination"], dst);
    assert_eq!(v["bytes"].as_u64(), Some(bytes));
    assert!(methods().contains(&v["method"].as_str().unwrap()), "{v}");
    for f in v["fallbacks"].as_array().unwrap() {
        assert!(methods().contains(&f["method"].as_str().unwrap()), "{v}");
        assert!(!f["error"].as_str().unwrap().is_empty(), "{v}");
    }
    assert!(v["elapsed_ns"].as_u64().unwrap() > 0, "{v}");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );
    assert!(v["error"].is_null() && v["error_kind"].is_null() && v["operation"].is_null());
}

#[test]
fn json_records_for_success_and_failure() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    source(&d.path().join("a"), b"hello", 0o644);

    let out = fastcopy()
        .current_dir(d.path())
        .args(["--json", "a", "missing", "dir"])
        .assert()
        .code(1)
        .stderr("fastcopy: cannot stat 'missing': No such file or directory\n")
        .get_output()
        .stdout
        .clone();
    let records = json_lines(&out);
    assert_eq!(records.len(), 2);

    assert_success_record(&records[0], "a", "dir/a", 5);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&records[0]), keys(&records[1]), "one schema");

    let bad = &records[1];
    assert_eq!(bad["ok"], Value::Bool(false));
    assert_eq!(bad["source"], "missing");
    assert_eq!(bad["destination"], "dir/missing");
    assert_eq!(
        bad["error"],
        "cannot stat 'missing': No such file or directory"
    );
    assert_eq!(bad["error_kind"], "NotFound");
    assert_eq!(bad["operation"], "stat_source");
    assert!(bad["bytes"].is_null() && bad["method"].is_null() && bad["elapsed_ns"].is_null());
    assert_eq!(bad["fallbacks"], serde_json::json!([]));
    assert_eq!(bad["warnings"], serde_json::json!([]));
    assert_no_temp(&dir);
}

#[test]
fn json_wins_over_verbose() {
    let d = tempfile::tempdir().unwrap();
    source(&d.path().join("a"), b"abc", 0o644);
    let out = fastcopy()
        .current_dir(d.path())
        .args(["-v", "--json", "a", "b"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let records = json_lines(&out);
    assert_eq!(records.len(), 1);
    assert_success_record(&records[0], "a", "b", 3);
}

#[test]
fn stats_table_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    source(&d.path().join("a"), &[1; 2048], 0o644);
    source(&d.path().join("b"), &[2; 1024], 0o644);

    let assert = fastcopy()
        .current_dir(d.path())
        .args(["--stats", "a", "missing", "b", "dir"])
        .assert()
        .code(1)
        .stdout("");
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    for want in [
        "files:          2\n",
        "failures:       1\n",
        "bytes:          3.0 KiB\n",
        "fallback rate:  ",
        "total time:     ",
        "mean time:      ",
        "\n1 B .. 4.0 KiB               2",
    ] {
        assert!(stderr.contains(want), "{want:?} not in:\n{stderr}");
    }
    // The method that ran has a row with both files.
    let rows = stderr
        .lines()
        .filter(|l| methods().iter().any(|m| l.starts_with(&format!("{m} "))))
        .collect::<Vec<_>>();
    assert_eq!(rows.len(), 1, "{stderr}");
    assert!(
        rows[0].contains(" 2 ") && rows[0].contains("3.0 KiB"),
        "{stderr}"
    );
}

#[test]
fn stats_as_a_final_json_line() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    source(&d.path().join("a"), &[1; 2048], 0o644);
    source(&d.path().join("b"), &[2; 100_000], 0o644);

    let out = fastcopy()
        .current_dir(d.path())
        .args(["--json", "--stats", "a", "missing", "b", "dir"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let records = json_lines(&out);
    assert_eq!(records.len(), 4);
    let stats = &records[3]["stats"];
    assert_eq!(records[3].as_object().unwrap().len(), 1);
    assert_eq!(stats["files"], 2);
    assert_eq!(stats["failures"], 1);
    assert_eq!(stats["bytes"], 102_048);
    let fallbacks: u64 = records[..3]
        .iter()
        .map(|r| r["fallbacks"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(stats["fallbacks"].as_u64(), Some(fallbacks));
    let rate = stats["fallback_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate));
    let total = stats["total_elapsed_ns"].as_u64().unwrap();
    let summed: u64 = [&records[0], &records[2]]
        .iter()
        .map(|r| r["elapsed_ns"].as_u64().unwrap())
        .sum();
    assert_eq!(total, summed);
    assert_eq!(stats["mean_elapsed_ns"].as_u64(), Some(total / 2));

    let per_method = stats["methods"].as_object().unwrap();
    assert_eq!(per_method.len(), fastcopy::Method::ALL.len());
    for m in ["reflink", "copy_file_range", "read_write", "direct_io"] {
        assert!(per_method.contains_key(m), "{m} missing: {stats}");
    }
    let mut files = 0;
    for m in methods() {
        files += per_method[m]["files"].as_u64().unwrap();
        assert!(per_method[m]["bytes"].is_u64() && per_method[m]["elapsed_ns"].is_u64());
    }
    assert_eq!(files, 2);
    let used = records[0]["method"].as_str().unwrap();
    assert!(per_method[used]["files"].as_u64().unwrap() >= 1);

    let hist = stats["size_histogram"].as_array().unwrap();
    assert_eq!(hist.len(), fastcopy::SIZE_BUCKET_LIMITS.len() + 1);
    let bucket = |size: u64| {
        hist.iter()
            .find(|b| {
                b["min"].as_u64().unwrap() <= size
                    && b["max"].as_u64().is_none_or(|max| size <= max)
            })
            .unwrap()
    };
    assert_eq!(bucket(2048)["files"], 1);
    assert_eq!(bucket(100_000)["files"], 1);
    assert!(hist.last().unwrap()["max"].is_null());
    assert_eq!(
        hist.iter()
            .map(|b| b["files"].as_u64().unwrap())
            .sum::<u64>(),
        2
    );
}

#[test]
fn version() {
    fastcopy()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("fastcopy {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_every_option() {
    let assert = fastcopy().arg("--help").assert().success();
    let help = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    for option in [
        "--no-clobber",
        "-n,",
        "--reflink[=<WHEN>]",
        "-a, --archive",
        "\n  -p\n",
        "--preserve[=<LIST>]",
        "-f, --force",
        "-i, --interactive",
        "-t, --target-directory <DIRECTORY>",
        "-T, --no-target-directory",
        "-u, --update[=<WHEN>]",
        "\n  -d\n",
        "\n  -H\n",
        "-L, --dereference",
        "-P, --no-dereference",
        "--debug",
        "--in-place",
        "--accept-changing-source",
        "fastcopy --probe [DIR]",
        "fastcopy --bench [DIR]",
        "fastcopy --clean DIR...",
        "fastcopy help",
        "permission bits and timestamps are kept by default",
        "--direct-io <WHEN>",
        "--preallocate",
        "--fsync",
        "--xattrs",
        "--no-preserve <LIST>",
        "--parents",
        "--verbose",
        "-v,",
        "--json",
        "--stats",
        "--no-progress",
        "--version",
        "auto, always, never",
        "timestamps",
        "create missing parent directories of the destination",
        "SOURCE... DIRECTORY",
    ] {
        assert!(
            help.to_lowercase().contains(&option.to_lowercase()),
            "{option} not in --help:\n{help}"
        );
    }
}
