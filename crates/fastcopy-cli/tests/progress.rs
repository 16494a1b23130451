//! The progress bar, seen through a pseudo-terminal made by `script(1)`.

use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs `fastcopy ARGS` on a terminal; returns the exit status and what the
/// terminal showed (stdout and stderr together). `None` without `script`.
fn on_a_terminal(test: &str, args: &[&Path]) -> Option<(i32, String)> {
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let mut line = quote(Path::new(env!("CARGO_BIN_EXE_fastcopy")));
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    // -q: no banner, -e: the command's exit status, -c: the command.
    match Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .output()
    {
        Ok(out) => Some((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )),
        Err(e) => {
            eprintln!("SKIPPED {test}: cannot run script(1): {e}");
            None
        }
    }
}

#[test]
fn bar_for_large_files_on_a_terminal_only() {
    let d = tempfile::tempdir().unwrap();
    let (big, small) = (d.path().join("big-file"), d.path().join("small-file"));
    // Real data (no holes), so the data is copied and progress reported.
    fs::write(&big, vec![0x5a; 64 << 20]).unwrap();
    fs::write(&small, vec![0x5a; 1 << 20]).unwrap();
    let never = Path::new("--reflink=never");

    let dst = d.path().join("dst1");
    let Some((code, screen)) = on_a_terminal("bar_for_large_files", &[never, &big, &dst]) else {
        return;
    };
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("big-file"), "no bar: {screen:?}");
    assert!(screen.contains("64.00 MiB"), "no bar: {screen:?}");
    assert_eq!(fs::read(&dst).unwrap().len(), 64 << 20);

    for (what, args) in [
        (
            "--no-progress",
            vec![Path::new("--no-progress"), never, &big],
        ),
        ("--json", vec![Path::new("--json"), never, &big]),
        ("small file", vec![never, &small]),
    ] {
        let dst = d.path().join("dst2");
        let mut args = args;
        args.push(&dst);
        let (code, screen) = on_a_terminal("bar_for_large_files", &args).unwrap();
        assert_eq!(code, 0, "{what}: {screen}");
        assert!(
            !screen.contains("MiB"),
            "{what}: a bar was drawn: {screen:?}"
        );
        fs::remove_file(&dst).unwrap();
    }

    // Not on a terminal: nothing on stderr.
    let dst = d.path().join("dst3");
    crate::util::fastcopy()
        .arg("--reflink=never")
        .arg(&big)
        .arg(&dst)
        .assert()
        .success()
        .stderr("");
    crate::util::assert_no_temp(d.path());
}

/// Ctrl-C (SIGINT) or SIGTERM in the middle of a copy: the copy stops,
/// removes its temporary file and leaves the old destination; exit status
/// 128 + the signal (130, 143, 129) and a message saying so.
#[test]
fn an_interrupt_cancels_the_copy_cleanly() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let d = tempfile::tempdir().unwrap();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        // Large enough to take a while with O_DIRECT (hundreds of ms here).
        let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut data = Vec::with_capacity(256 << 20);
        for _ in 0..256 {
            data.extend_from_slice(&chunk);
        }
        fs::write(&src, &data).unwrap();
        fs::write(&dst, b"old").unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fastcopy"))
            .arg("--direct-io=always")
            .arg(&src)
            .arg(&dst)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The new file (anonymous with O_TMPFILE, else a named temporary)
        // is opened after the handler is installed.
        let started = std::time::Instant::now();
        let writing = || {
            let fds = fs::read_dir(format!("/proc/{}/fd", child.id()));
            fds.into_iter().flatten().flatten().any(|fd| {
                fs::read_link(fd.path()).is_ok_and(|t| {
                    t.starts_with(d.path())
                        && (t.to_string_lossy().ends_with("(deleted)")
                            || t.to_string_lossy().contains(fastcopy::TEMP_MARKER))
                })
            })
        };
        while !writing() {
            assert!(
                started.elapsed().as_secs() < 20,
                "no temporary file appeared"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "fastcopy: interrupted: '{}' left as it was\n",
                dst.display()
            ),
            "SIG{signal}"
        );
        assert_eq!(fs::read(&dst).unwrap(), b"old", "SIG{signal}");
        assert_eq!(crate::util::names(d.path()), ["dst", "src"], "SIG{signal}");
    }
}

/// Ctrl-C while the bar is drawn on a terminal: the bar's line is cleared
/// before the message, so the message stands on a line of its own.
#[test]
fn an_interrupt_clears_the_bar_before_the_message() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("big-file"), d.path().join("dst"));
    let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut data = Vec::with_capacity(512 << 20);
    for _ in 0..512 {
        data.extend_from_slice(&chunk);
    }
    fs::write(&src, &data).unwrap();
    drop(data);
    // The copy in the background of a shell on the terminal, Ctrl-C's
    // signal after 0.4 s (O_DIRECT keeps 512 MiB busy longer than that).
    let bin = env!("CARGO_BIN_EXE_fastcopy");
    let line = format!(
        "sh -c '\"{bin}\" --direct-io=always \"{}\" \"{}\" & p=$!; sleep 0.4; kill -INT $p; wait $p'",
        src.display(),
        dst.display()
    );
    let out = match Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("SKIPPED an_interrupt_clears_the_bar_before_the_message: no script(1): {e}");
            return;
        }
    };
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{screen:?}");
    let msg = screen.find("fastcopy: interrupted").expect("the message");
    let before = &screen[..msg];
    assert!(
        before.contains("MiB/512.00 MiB"),
        "no bar was drawn: {screen:?}"
    );
    let cleared = before.rfind("\x1b[2K").expect("the bar's line cleared");
    assert!(
        !before[cleared..].contains("MiB"),
        "bar text left on the message's line: {screen:?}"
    );
    assert!(!dst.exists());
    crate::util::assert_no_temp(d.path());
}
