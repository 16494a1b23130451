//! Failures: messages, exit codes, what is (not) written, and output
//! that cannot be written.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::util::{assert_no_temp, fastcopy, names, source};

#[test]
fn missing_source_is_reported_and_the_others_copied() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    let (a, missing, b) = (
        d.path().join("a"),
        d.path().join("missing"),
        d.path().join("b"),
    );
    source(&a, b"aa", 0o644);
    source(&b, b"bb", 0o644);

    let want = format!(
        "fastcopy: cannot stat '{m}': No such file or directory\n",
        m = missing.display(),
    );
    fastcopy()
        .args([&a, &missing, &b, &dir])
        .assert()
        .code(1)
        .stdout("")
        .stderr(want);

    assert_eq!(names(&dir), ["a", "b"]);
    assert_eq!(fs::read(dir.join("a")).unwrap(), b"aa");
    assert_eq!(fs::read(dir.join("b")).unwrap(), b"bb");
    assert_no_temp(&dir);
}

#[test]
fn same_file_is_refused_and_the_source_kept() {
    let d = tempfile::tempdir().unwrap();
    source(&d.path().join("a"), b"keep me", 0o644);
    fs::hard_link(d.path().join("a"), d.path().join("link")).unwrap();

    for (src, dst) in [
        ("a", "a"),
        ("a", "./a"),
        ("a", "link"),
        ("link", "a"),
        ("a", "."),
    ] {
        fastcopy()
            .current_dir(d.path())
            .args([src, dst])
            .assert()
            .code(1)
            .stderr(
                predicate::str::starts_with(format!("fastcopy: '{src}' and '"))
                    .and(predicate::str::ends_with("' are the same file\n")),
            );
        assert_eq!(
            fs::read(d.path().join("a")).unwrap(),
            b"keep me",
            "{src} {dst}"
        );
    }
    assert_eq!(names(d.path()), ["a", "link"]);
}

#[test]
fn fifo_source_fails_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let fifo = d.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let dst = d.path().join("dst");

    let start = Instant::now();
    fastcopy()
        .timeout(Duration::from_secs(10))
        .arg(&fifo)
        .arg(&dst)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("FIFO").and(predicate::str::contains("-r")));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert!(!dst.exists());
    assert_no_temp(d.path());
}

#[test]
fn directory_source_fails() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("srcdir"), d.path().join("dst"));
    fs::create_dir(&src).unwrap();
    fastcopy()
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(1)
        .stderr(format!(
            "fastcopy: -r not specified; omitting directory '{}'\n",
            src.display()
        ));
    assert!(!dst.exists());
    assert_no_temp(d.path());
}

#[test]
fn usage_errors_exit_with_2_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"x", 0o644);

    fastcopy()
        .arg("--reflink=sometimes")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("'sometimes'").and(predicate::str::contains("--reflink")));
    fastcopy()
        .arg("--direct-io=maybe")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2);
    fastcopy()
        .arg("--no-preserve=mode,owner")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'owner'"));
    fastcopy().arg(&src).assert().code(2);
    fastcopy().assert().code(2);
    fastcopy()
        .arg("--frobnicate")
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2);

    assert_eq!(names(d.path()), ["src"]);
}

/// `fastcopy -v MANY... DIR | head -1`: the reader leaves after one line;
/// fastcopy stops quietly (no panic, no message, success).
#[test]
fn broken_pipe_ends_quietly() {
    let d = tempfile::tempdir().unwrap();
    let (srcs, dir) = (d.path().join("srcs"), d.path().join("dir"));
    fs::create_dir(&srcs).unwrap();
    fs::create_dir(&dir).unwrap();
    // Far more output than a pipe buffers (64 KiB), so writing must fail.
    let count = 2000;
    let long = "x".repeat(40);
    let files: Vec<_> = (0..count)
        .map(|i| {
            let p = srcs.join(format!("{long}{i:05}"));
            fs::write(&p, b"1").unwrap();
            p
        })
        .collect();

    let mut child = Command::new(env!("CARGO_BIN_EXE_fastcopy"))
        .arg("-v")
        .args(&files)
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe's read end is closed.
    assert!(first.contains(" -> "), "{first}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "fastcopy did not stop");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(stderr, "");
    assert_eq!(status.code(), Some(0));
    let copied = fs::read_dir(&dir).unwrap().count();
    assert!(copied < count, "it stopped copying ({copied} of {count})");
    assert_no_temp(&dir);
}

#[test]
fn unwritable_stdout_is_an_error() {
    let full = match fs::OpenOptions::new().write(true).open("/dev/full") {
        Ok(f) => f,
        Err(e) => {
            eprintln!("SKIPPED unwritable_stdout_is_an_error: no /dev/full: {e}");
            return;
        }
    };
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"x", 0o644);
    let out = Command::new(env!("CARGO_BIN_EXE_fastcopy"))
        .arg("-v")
        .arg(&src)
        .arg(&dst)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("fastcopy: error writing standard output: No space left on device"),
        "{stderr}"
    );
}
