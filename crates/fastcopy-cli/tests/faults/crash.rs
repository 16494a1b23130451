//! Crashes: the CLI killed at chosen points of a copy (deterministically:
//! a seccomp rule kills it when it makes a given system call; and by the
//! clock: SIGKILL after a delay). The destination is absent or holds its
//! old content. A single file is written without a name (`O_TMPFILE`), so
//! a kill leaves nothing at all, except in the moment between naming the
//! complete file and renaming it over an old destination: then one
//! temporary named after the dead process, which `fastcopy clean` removes.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use testfs::Fs;

use super::{MIB, assert_content, assert_only, temporaries, under, under_std};

const OLD: &[u8] = b"the old content, which must survive\n";

/// After a kill of process `pid`: `dst` absent (or `OLD` when `old`), at
/// most one temporary (exactly `temps` when given), named after `pid`;
/// then the stale cleanup removes it and nothing else.
#[track_caller]
fn check_after_kill(dir: &Path, pid: u32, old: bool, expected: Option<usize>, what: &str) {
    let dst = dir.join("dst");
    if old {
        assert_content(&dst, OLD);
    } else {
        assert!(!dst.exists(), "{what}: a destination appeared");
    }
    let temps = temporaries(dir);
    assert!(temps.len() <= 1, "{what}: {temps:?}");
    if let Some(n) = expected {
        assert_eq!(temps.len(), n, "{what}: {temps:?}");
    }
    for t in &temps {
        assert!(t.starts_with(".dst.fastcopy-tmp-"), "{what}: {t}");
        assert_eq!(
            fastcopy::stale::temporary_owner(t.as_ref()),
            Some(pid),
            "{what}: {t}"
        );
    }
    // The documented command: `fastcopy clean DIR`.
    let out = crate::util::fastcopy()
        .args(["--clean", "--json"])
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let removed: Vec<String> = crate::util::json_lines(&out)
        .iter()
        .map(|v| v["removed"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(removed.len(), temps.len(), "{what}: {removed:?}");
    for (r, t) in removed.iter().zip(&temps) {
        assert!(r.ends_with(t.as_str()), "{what}: removed {r}, left {t}");
    }
    let mut want = vec!["src"];
    if old {
        want.push("dst");
    }
    assert_only(dir, &want);
}

/// Kills the CLI when it makes one of the `calls`, with and without an
/// old destination.
fn killed_at_call(fs_: Fs, test: &str, flags: &[&str], calls: &[&str], temps: usize) {
    killed_at_call_with(fs_, test, flags, &[], calls, temps);
}

/// [`killed_at_call`] with `fails` (refusals that steer the method) too.
fn killed_at_call_with(
    fs_: Fs,
    test: &str,
    flags: &[&str],
    fails: &[&str],
    calls: &[&str],
    temps: usize,
) {
    let Some(d) = testfs::dir(fs_, test) else {
        return;
    };
    let data = testfs::pattern(8 * MIB + 5, 31);
    fs::write(d.path().join("src"), &data).unwrap();
    for old in [false, true] {
        if old {
            fs::write(d.path().join("dst"), OLD).unwrap();
        }
        let what = format!("{fs_} {flags:?} killed at {calls:?}, old destination: {old}");
        let pid = kill_at(d.path(), fails, calls, flags);
        check_after_kill(d.path(), pid, old, Some(temps), &what);
        // The next copy to the same place works.
        under(&[], &[])
            .current_dir(d.path())
            .args(flags)
            .args(["src", "dst"])
            .assert()
            .success();
        assert_content(&d.path().join("dst"), &data);
        assert_only(d.path(), &["dst", "src"]);
        fs::remove_file(d.path().join("dst")).unwrap();
    }
}

/// Runs `fastcopy FLAGS src dst` in `dir` under `fails`, killed by
/// seccomp at the first of `calls`; returns its process id.
fn kill_at(dir: &Path, fails: &[&str], calls: &[&str], flags: &[&str]) -> u32 {
    let mut child = under_std(fails, calls)
        .current_dir(dir)
        .args(flags)
        .args(["src", "dst"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc_sigsys()),
        "killed at {calls:?}: {status:?}"
    );
    pid
}

/// SIGSYS: how a seccomp kill ends a process (no code of it runs, as
/// with SIGKILL).
fn libc_sigsys() -> i32 {
    rustix::process::Signal::SYS.as_raw()
}

#[test]
fn killed_before_the_clone_btrfs() {
    killed_at_call(Fs::Btrfs, "cli_crash_clone", &[], &["ioctl:FICLONE"], 0);
}

#[test]
fn killed_before_copy_file_range_ext4() {
    killed_at_call(Fs::Ext4, "cli_crash_cfr", &[], &["copy_file_range"], 0);
}

/// The read/write loop (`splice` refused), before its first write.
#[test]
fn killed_before_the_first_write_xfs() {
    killed_at_call_with(
        Fs::Xfs,
        "cli_crash_write",
        &["--reflink=never"],
        &["splice=ENOSYS"],
        &["write:arg2>=65536"],
        0,
    );
}

#[test]
fn killed_before_splice_btrfs() {
    killed_at_call(
        Fs::Btrfs,
        "cli_crash_splice",
        &["--reflink=never"],
        &["splice"],
        0,
    );
}

/// All data written, before the permissions.
#[test]
fn killed_before_fchmod_ext4() {
    killed_at_call(Fs::Ext4, "cli_crash_fchmod", &[], &["fchmod"], 0);
}

/// Data and permissions done, before the times.
#[test]
fn killed_before_utimensat_btrfs() {
    killed_at_call(Fs::Btrfs, "cli_crash_times", &[], &["utimensat"], 0);
}

#[test]
fn killed_before_fsync_xfs() {
    killed_at_call(Fs::Xfs, "cli_crash_fsync", &["--fsync"], &["fsync"], 0);
}

/// Everything done but the rename over the old destination: the complete
/// file has its temporary name, the one moment a kill leaves something.
/// (Without an old destination the file is linked in under its name and
/// nothing is renamed.)
#[test]
fn killed_before_the_rename_ext4() {
    let Some(d) = testfs::dir(Fs::Ext4, "cli_crash_rename") else {
        return;
    };
    let data = testfs::pattern(8 * MIB + 5, 31);
    fs::write(d.path().join("src"), &data).unwrap();
    fs::write(d.path().join("dst"), OLD).unwrap();
    let pid = kill_at(d.path(), &[], &["rename", "renameat", "renameat2"], &[]);
    check_after_kill(d.path(), pid, true, Some(1), "killed at the rename");
}

/// Everything done but naming the file: without a name, a kill leaves
/// nothing (the kernel frees an anonymous file with its last descriptor).
#[test]
fn killed_before_the_file_is_named_btrfs() {
    killed_at_call(Fs::Btrfs, "cli_crash_link", &[], &["linkat"], 0);
}

/// Where `O_TMPFILE` is refused (`openat` with exactly the flags of an
/// anonymous file fails), the data goes to a named temporary: a kill
/// leaves it, and the next copy to the same destination removes it and
/// says so. (The flags are x86_64's numbers, O_LARGEFILE included as
/// rustix passes it; other architectures number them differently.)
#[cfg(target_arch = "x86_64")]
#[test]
fn without_o_tmpfile_the_next_copy_removes_a_leftover_xfs() {
    let Some(d) = testfs::dir(Fs::Xfs, "cli_crash_no_tmpfile") else {
        return;
    };
    let data = testfs::pattern(8 * MIB + 5, 33);
    fs::write(d.path().join("src"), &data).unwrap();
    // O_RDWR | O_LARGEFILE | O_CLOEXEC | O_TMPFILE, as x86_64 numbers them.
    let no_tmpfile = ["openat:arg2==0x498002=EOPNOTSUPP"];
    let pid = kill_at(d.path(), &no_tmpfile, &["fchmod"], &[]);
    let temps = temporaries(d.path());
    assert_eq!(temps.len(), 1, "{temps:?}");
    assert_eq!(
        fastcopy::stale::temporary_owner(temps[0].as_ref()),
        Some(pid)
    );
    under(&no_tmpfile, &[])
        .current_dir(d.path())
        .args(["src", "dst"])
        .assert()
        .success()
        .stderr(predicates::str::contains("left by an interrupted copy"));
    assert_content(&d.path().join("dst"), &data);
    assert_only(d.path(), &["dst", "src"]);
}

/// SIGKILL by the clock during a 256 MiB read/write copy, at several
/// delays: the invariant holds wherever the kill lands.
#[test]
fn killed_by_the_clock_xfs() {
    let Some(d) = testfs::dir(Fs::Xfs, "cli_crash_clock") else {
        return;
    };
    let data = testfs::pattern(256 * MIB, 32);
    fs::write(d.path().join("src"), &data).unwrap();
    let mut landed = Vec::new();
    for (i, ms) in [10u64, 50, 200, 400].into_iter().enumerate() {
        let old = i % 2 == 1;
        if old {
            fs::write(d.path().join("dst"), OLD).unwrap();
        }
        let mut child = under_std(&[], &[])
            .current_dir(d.path())
            .args(["--reflink=never", "src", "dst"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let dst = d.path().join("dst");
        let what = format!("SIGKILL after {ms} ms, old destination: {old}");
        if status.success() {
            // Finished before the kill: then it is complete.
            assert_content(&dst, &data);
            landed.push(format!("{ms} ms: finished"));
        } else {
            assert_eq!(status.signal(), Some(9), "{what}: {status:?}");
            let temps = temporaries(d.path());
            let size = temps
                .first()
                .map(|t| fs::metadata(d.path().join(t)).unwrap().len());
            landed.push(format!("{ms} ms: killed, temporary of {size:?} bytes"));
            check_after_kill(d.path(), pid, old, None, &what);
        }
        let _ = fs::remove_file(&dst);
    }
    eprintln!("clock kills: {landed:?}");
}

/// A tree copy (`-r`) into a new destination, killed by the clock at
/// several delays, on each filesystem. The tree is built in a staging
/// directory beside the destination and renamed into place at the end, so
/// the destination is either absent or complete (every file equal to its
/// source); the only leftover is a staging directory named after the dead
/// process, which `fastcopy clean` removes; and the same copy run again
/// afterwards completes.
fn tree_killed_by_the_clock(fs_: Fs, test: &str) {
    let Some(d) = testfs::dir(fs_, test) else {
        return;
    };
    let src = d.path().join("src");
    let mut files = Vec::new();
    for i in 0..48 {
        let sub = src.join(format!("d{}", i % 6));
        fs::create_dir_all(&sub).unwrap();
        let data = testfs::pattern(2 * MIB + i * 4099, 40 + i as u64);
        let p = sub.join(format!("f{i}"));
        fs::write(&p, &data).unwrap();
        files.push((format!("d{}/f{i}", i % 6), data));
    }
    let mut outcomes = Vec::new();
    let mut staged_seen = 0;
    // Several early delays: a copy of 100 MiB on XFS can be done by 10 ms,
    // and at least one kill must land while the tree is being built.
    for (round, ms) in [3u64, 5, 8, 12, 20, 120].into_iter().enumerate() {
        let dst = d.path().join(format!("dst{round}"));
        let mut child = under_std(&[], &[])
            .current_dir(d.path())
            .args(["-r", "--reflink=never", "src"])
            .arg(&dst)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let status = child.wait().unwrap();
        let pid = child.id();
        let complete = dst.exists();
        if complete {
            for (rel, data) in &files {
                assert_content(&dst.join(rel), data);
            }
        }
        let left = temporaries(d.path());
        assert!(left.len() <= 1, "{fs_} {ms} ms: {left:?}");
        for t in &left {
            assert!(
                !complete,
                "{fs_} {ms} ms: staging {t} beside a complete copy"
            );
            assert!(
                t.starts_with(&format!(".dst{round}{}", fastcopy::TEMP_MARKER)),
                "{t}"
            );
            assert_eq!(
                fastcopy::stale::temporary_owner(t.as_ref()),
                Some(pid),
                "{t}"
            );
            assert!(d.path().join(t).is_dir(), "{t}");
            staged_seen += 1;
        }
        crate::util::fastcopy()
            .arg("--clean")
            .arg(d.path())
            .assert()
            .success();
        assert!(temporaries(d.path()).is_empty(), "{fs_} {ms} ms");
        outcomes.push((ms, status.signal(), complete));
        // The same copy again: it completes (into DEST/src when the killed
        // one had finished, cp's rule for an existing DEST).
        crate::util::fastcopy()
            .current_dir(d.path())
            .args(["-r", "src"])
            .arg(&dst)
            .assert()
            .success();
        let again = if complete {
            dst.join("src")
        } else {
            dst.clone()
        };
        for (rel, data) in &files {
            assert_content(&again.join(rel), data);
        }
        assert!(temporaries(d.path()).is_empty(), "{fs_} {ms} ms");
    }
    assert!(
        staged_seen >= 1,
        "{fs_}: never killed mid-copy: {outcomes:?}"
    );
    eprintln!("{fs_}: (delay ms, signal, destination complete) = {outcomes:?}");
}

#[test]
fn tree_killed_by_the_clock_ext4() {
    tree_killed_by_the_clock(Fs::Ext4, "cli_tree_crash_ext4");
}

#[test]
fn tree_killed_by_the_clock_btrfs() {
    tree_killed_by_the_clock(Fs::Btrfs, "cli_tree_crash_btrfs");
}

#[test]
fn tree_killed_by_the_clock_xfs() {
    tree_killed_by_the_clock(Fs::Xfs, "cli_tree_crash_xfs");
}

/// A tree copy where `FICLONE` answers success without cloning (a filter
/// returning 0): the first clone's size check catches it, cloning stops for
/// that pair of filesystems, and every file is copied whole.
#[test]
fn tree_clone_that_copies_nothing_is_caught_btrfs() {
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_tree_fake_clone") else {
        return;
    };
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    let mut files = Vec::new();
    for i in 0..20 {
        let data = testfs::pattern(64 * 1024 + i * 977, 70 + i as u64);
        fs::write(src.join(format!("f{i}")), &data).unwrap();
        files.push((format!("f{i}"), data));
    }
    under(&["ioctl:FICLONE=0"], &[])
        .current_dir(d.path())
        .args(["-r", "-j", "1", "src", "dst"])
        .assert()
        .success();
    for (name, data) in &files {
        assert_content(&d.path().join("dst").join(name), data);
    }
}
