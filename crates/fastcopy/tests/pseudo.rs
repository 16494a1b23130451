//! Pseudo files: procfs says 0 bytes, sysfs says 4096, neither is true. The
//! copy holds what reading them gives.

use std::path::Path;

use fastcopy::{CopyOptions, Reflink};

use crate::common::*;

fn proc_version(fs: Fs, dir: &Path) {
    let src = Path::new("/proc/version");
    let want = std::fs::read(src).unwrap();
    assert!(!want.is_empty());
    for (name, opts) in [
        ("default", CopyOptions::new()),
        ("never", CopyOptions::new().reflink(Reflink::Never)),
        ("prealloc", CopyOptions::new().preallocate(true)),
    ] {
        let dst = dir.join(name);
        let r =
            fastcopy::copy_with(src, &dst, &opts).unwrap_or_else(|e| panic!("{fs} {name}: {e}"));
        assert_content(&dst, &want);
        assert_eq!(r.bytes, want.len() as u64, "{fs} {name}");
        // Its size did not change (it always says 0): no warning.
        assert!(r.warnings.is_empty(), "{fs} {name}: {:?}", r.warnings);
    }
    assert_no_temp(dir);
}

/// /proc/self/status changes between reads (memory figures), so compare its
/// shape: the same fields in the same order, and the fields that cannot
/// change while we run equal.
fn proc_self_status(fs: Fs, dir: &Path) {
    let src = Path::new("/proc/self/status");
    let dst = dir.join("status");
    let r = fastcopy::copy(src, &dst).unwrap();
    let want = std::fs::read_to_string(src).unwrap();
    let got = std::fs::read_to_string(&dst).unwrap();
    assert!(!got.is_empty(), "{fs}");
    assert_eq!(r.bytes, got.len() as u64, "{fs}");
    let keys = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys(&got), keys(&want), "{fs}");
    assert!(keys(&got).len() > 10, "{fs}: {got}");
    for field in ["Name:", "Tgid:", "Pid:", "PPid:", "Uid:", "Gid:"] {
        let line = |s: &str| s.lines().find(|l| l.starts_with(field)).map(str::to_owned);
        assert_eq!(line(&got), line(&want), "{fs}: {field}");
        assert!(line(&got).is_some(), "{fs}: {field}");
    }
}

/// A sysfs file: says 4096 bytes, holds a line.
fn sysfs_file(fs: Fs, dir: &Path) {
    let candidates = [
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/kernel/mm/transparent_hugepage/defrag",
        "/sys/power/state",
        "/sys/kernel/profiling",
    ];
    let Some(src) = candidates
        .iter()
        .map(Path::new)
        .find(|p| std::fs::read(p).is_ok())
    else {
        testfs::skipped(
            &format!("sysfs_file::{fs}"),
            &format!("none of {candidates:?} is readable"),
        );
        return;
    };
    let want = std::fs::read(src).unwrap();
    assert!(!want.is_empty() && want.len() < 4096);
    for (name, opts) in [
        ("default", CopyOptions::new()),
        ("never", CopyOptions::new().reflink(Reflink::Never)),
        (
            "direct",
            CopyOptions::new().direct_io(fastcopy::DirectIo::Always),
        ),
    ] {
        let dst = dir.join(name);
        let r = fastcopy::copy_with(src, &dst, &opts)
            .unwrap_or_else(|e| panic!("{fs} {name} {}: {e}", src.display()));
        // Not 4096 bytes with a tail of zeros: what reading gives.
        assert_content(&dst, &want);
        assert_eq!(r.bytes, want.len() as u64, "{fs} {name}");
        assert!(r.warnings.is_empty(), "{fs} {name}: {:?}", r.warnings);
    }
}

per_fs!(proc_version, proc_self_status, sysfs_file);
