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
