//! Times to the nanosecond and permission bits.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fastcopy::{CopyOptions, Reflink, Warning};

use crate::common::*;

/// Source with an mtime two hours ago and an atime one hour ago (after the
/// mtime and recent, so relatime does not touch it when the file is read),
/// both with nanoseconds.
fn source(
    dir: &Path,
    name: &str,
    mode: u32,
    size: usize,
) -> (std::path::PathBuf, SystemTime, SystemTime) {
    let src = dir.join(name);
    write(&src, &testfs::pattern(size, 31));
    chmod(&src, mode);
    let (at, mt) = (time_ago(3600, 987_654_321), time_ago(7200, 123_456_789));
    set_times(&src, at, mt);
    assert_eq!(mtime(&src), mt, "the filesystem keeps nanoseconds");
    (src, at, mt)
}

fn times_and_mode_kept(fs: Fs, dir: &Path) {
    for (name, opts) in [
        ("default", CopyOptions::new()),
        ("never", CopyOptions::new().reflink(Reflink::Never)),
    ] {
        for size in [0, 70_000] {
            let (src, at, mt) = source(dir, &format!("src-{name}-{size}"), 0o640, size);
            let dst = dir.join(format!("dst-{name}-{size}"));
            let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
            let what = format!("{fs} {name} {size} via {}", r.method);
            // Times first: reading the copy could move its atime.
            assert_eq!(mtime(&dst), mt, "{what}: mtime");
            assert_eq!(atime(&dst), at, "{what}: atime");
            assert_eq!(mode(&dst), 0o640, "{what}: mode");
            assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings);
            assert_same_content(&src, &dst);
        }
    }
}

fn times_before_1970(fs: Fs, dir: &Path) {
    let src = dir.join("old");
    write(&src, b"old");
    // -1.5 s and -2e9 s: negative seconds with nanoseconds.
    let mt = UNIX_EPOCH - Duration::new(1, 500_000_001);
    let at = UNIX_EPOCH - Duration::new(2_000_000_000, 1);
    set_times(&src, at, mt);
    if mtime(&src) != mt || atime(&src) != at {
        testfs::skipped(
            &format!("times_before_1970::{fs}"),
            "it does not store such times",
        );
        return;
    }
    let dst = dir.join("dst");
    fastcopy::copy(&src, &dst).unwrap();
    assert_eq!(mtime(&dst), mt, "{fs}");
    assert_eq!(atime(&dst), at, "{fs}");
}

fn preserve_times_off(fs: Fs, dir: &Path) {
    let (src, _, mt) = source(dir, "src", 0o640, 5000);
    let dst = dir.join("dst");
    let before = SystemTime::now() - Duration::from_secs(1);
    fastcopy::copy_with(&src, &dst, &CopyOptions::new().preserve_times(false)).unwrap();
    let got = mtime(&dst);
    assert_ne!(got, mt, "{fs}");
    assert!(
        got >= before,
        "{fs}: mtime {got:?} is not the time of the copy"
    );
    assert_eq!(mode(&dst), 0o640, "{fs}: mode still kept");
}

fn preserve_mode_off(fs: Fs, dir: &Path) {
    let umask = umask();
    // set-user-ID and set-group-ID so that the result differs from "kept"
    // whatever the umask.
    for src_mode in [0o6777, 0o640, 0o666] {
        let (src, _, mt) = source(dir, &format!("src-{src_mode:o}"), src_mode, 100);
        let dst = dir.join(format!("dst-{src_mode:o}"));
        let r = fastcopy::copy_with(&src, &dst, &CopyOptions::new().preserve_mode(false)).unwrap();
        assert_eq!(
            mode(&dst),
            src_mode & 0o777 & !umask,
            "{fs}: source {src_mode:o}, umask {umask:o}"
        );
        assert_eq!(mtime(&dst), mt, "{fs}: times still kept");
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
}

/// As root, set-user-ID and set-group-ID are copied.
fn setid_kept_as_root(fs: Fs, dir: &Path) {
    if !testfs::is_root() {
        testfs::skipped(&format!("setid_kept_as_root::{fs}"), "not root");
        return;
    }
    for m in [0o4755, 0o2750, 0o6711, 0o1777] {
        let (src, _, _) = source(dir, &format!("src-{m:o}"), m, 10);
        let dst = dir.join(format!("dst-{m:o}"));
        let r = fastcopy::copy(&src, &dst).unwrap();
        assert_eq!(mode(&dst), m, "{fs}");
        assert!(r.warnings.is_empty(), "{fs}: {:?}", r.warnings);
    }
}

per_fs!(
    times_and_mode_kept,
    times_before_1970,
    preserve_times_off,
    preserve_mode_off,
    setid_kept_as_root
);

const SETID_TEST: &str = "metadata::setid_dropped_for_non_root";

/// Not root: the set-user-ID bit is dropped with a warning. Run as root, it
/// starts itself again as user and group 65534 (nobody) in a child process.
#[test]
fn setid_dropped_for_non_root() {
    if in_child() {
        let src = std::env::var_os("SETID_SRC").unwrap();
        let dst = std::env::var_os("SETID_DST").unwrap();
        assert!(!testfs::is_root());
        let r = fastcopy::copy(&src, &dst).unwrap();
        assert_eq!(mode(Path::new(&dst)), 0o755);
        assert!(
            matches!(r.warnings[..], [Warning::SetidDropped]),
            "{:?}",
            r.warnings
        );
        return;
    }
    if !testfs::is_root() {
        testfs::skipped(
            "setid_dropped_for_non_root",
            "needs root to start a non-root child",
        );
        return;
    }
    let Some(d) = testfs::dir(Fs::Ext4, "setid_dropped") else {
        return;
    };
    chmod(d.path(), 0o777);
    let (src, _, _) = source(d.path(), "src", 0o4755, 1000);
    let dst = d.path().join("dst");
    run_child(SETID_TEST, |c| {
        use std::os::unix::process::CommandExt;
        c.uid(65534)
            .gid(65534)
            .env("SETID_SRC", &src)
            .env("SETID_DST", &dst);
    });
    assert_eq!(mode(&dst), 0o755);
    assert_same_content(&src, &dst);
}
