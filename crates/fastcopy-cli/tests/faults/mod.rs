//! Proof under faults (issue 5): the real `fastcopy` binary with system
//! calls failing where the kernel answers (a seccomp filter from the
//! `faultrun` crate), full disks, kills, races, and odd sources and
//! destinations. Single files only.
#![cfg(target_os = "linux")]

mod changing;
mod concurrency;
mod crash;
mod destinations;
mod disk_full;
mod sources;
mod syscalls;

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use crate::util::json_lines;

/// The `fastcopy` binary with `fails` (`SYSCALL[:COND]=ERRNO`) and `kills`
/// (`SYSCALL[:COND]`) installed as a seccomp filter in the child.
pub fn under(fails: &[&str], kills: &[&str]) -> Command {
    let mut plan = faultrun::Plan::new();
    for f in fails {
        plan = plan.fail(f).unwrap();
    }
    for k in kills {
        plan = plan.kill(k).unwrap();
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fastcopy"));
    plan.apply_to(&mut cmd).unwrap();
    let mut cmd = Command::from_std(cmd);
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

/// The one JSON record of a `--json` run of one file.
#[track_caller]
pub fn record(out: &Output) -> Value {
    let mut r = json_lines(&out.stdout);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

/// Names in `dir` that are fastcopy temporaries.
pub fn temporaries(dir: &Path) -> Vec<String> {
    crate::util::names(dir)
        .into_iter()
        .filter(|n| n.contains(fastcopy::TEMP_MARKER))
        .collect()
}

/// Asserts that `dir` holds exactly `want` (so no temporary file either).
#[track_caller]
pub fn assert_only(dir: &Path, want: &[&str]) {
    let got = crate::util::names(dir);
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "in {}", dir.display());
}

/// Asserts that `path` holds exactly `want`.
#[track_caller]
pub fn assert_content(path: &Path, want: &[u8]) {
    let got = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        got == want,
        "{}: {} bytes, want {} (first difference at {:?})",
        path.display(),
        got.len(),
        want.len(),
        got.iter().zip(want).position(|(a, b)| a != b)
    );
}

pub const MIB: usize = 1 << 20;

/// Runs `cmd` (a path to a tool and its arguments), panicking on failure.
#[track_caller]
pub fn sh(args: &[&str]) -> String {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
