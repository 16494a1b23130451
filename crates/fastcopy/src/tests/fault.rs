//! Tests of the fault seam: "call N of system call S fails with errno E".
//!
//! Each test plans faults for its own thread with [`inject`] and copies on
//! a real ext4 mount (Btrfs where a working clone matters) from `testfs`;
//! when the filesystem cannot be had, testfs prints a SKIPPED line.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use testfs::{Fs, assert_content, assert_names};

use crate::fault::{Effect, Fault, Point, calls, inject};
use crate::{
    CopyOptions, CopyReport, DirectIo, Method, NoProgress, Operation, Progress, Reflink,
    TEMP_MARKER, Warning, copy_with,
};

const EPERM: i32 = 1;
const EIO: i32 = 5;
const EBADF: i32 = 9;
const ENOMEM: i32 = 12;
const EXDEV: i32 = 18;
const EINVAL: i32 = 22;
const ETXTBSY: i32 = 26;
const ENOSPC: i32 = 28;
const ENOSYS: i32 = 38;
const EOPNOTSUPP: i32 = 95;
const EDQUOT: i32 = 122;

/// Errors that mean "this method cannot work here": the next one is tried.
const UNSUPPORTED: [i32; 7] = [ENOSYS, EXDEV, EOPNOTSUPP, EINVAL, EPERM, EBADF, ETXTBSY];
/// Errors that end the copy.
const FATAL: [i32; 4] = [EIO, ENOSPC, EDQUOT, ENOMEM];

const MIB: usize = 1 << 20;

fn fail(point: Point, call: usize, errno: i32) -> Fault {
    Fault {
        point,
        call,
        effect: Effect::Errno(errno),
    }
}

fn zero(point: Point, call: usize) -> Fault {
    Fault {
        point,
        call,
        effect: Effect::ReturnZero,
    }
}

/// A test directory on `fs`, or `None` (testfs printed SKIPPED).
fn dir_on(fs: Fs, test: &str) -> Option<tempfile::TempDir> {
    testfs::dir(fs, test)
}

/// Writes a source of `len` pattern bytes in `dir`.
fn source(dir: &Path, len: usize, seed: u64) -> (PathBuf, Vec<u8>) {
    let data = testfs::pattern(len, seed);
    let p = dir.join("src");
    fs::write(&p, &data).unwrap();
    (p, data)
}

fn fallbacks(r: &CopyReport) -> Vec<(Method, Option<i32>)> {
    r.fallbacks
        .iter()
        .map(|f| (f.method, f.error.raw_os_error()))
        .collect()
}

fn never() -> CopyOptions {
    CopyOptions::new().reflink(Reflink::Never)
}

// ---------------------------------------------------------------------
// "Unsupported" errors fall back to the next method.

fn clone_unsupported_falls_back(fs: Fs, test: &str) {
    let Some(d) = dir_on(fs, test) else { return };
    let (src, data) = source(d.path(), 300_001, 1);
    for errno in UNSUPPORTED {
        let dst = d.path().join(format!("dst-{errno}"));
        let _g = inject(vec![fail(Point::Clone, 1, errno)]);
        let r = copy_with(&src, &dst, &CopyOptions::new())
            .unwrap_or_else(|e| panic!("{fs} errno {errno}: {e}"));
        assert_eq!(calls(Point::Clone), 1);
        assert_eq!(fallbacks(&r), [(Method::Reflink, Some(errno))], "{fs}");
        assert_eq!(r.method, Method::CopyFileRange, "{fs} errno {errno}");
        assert_eq!(r.bytes, data.len() as u64);
        assert_content(&dst, &data);
    }
}

#[test]
fn clone_unsupported_falls_back_xfs() {
    clone_unsupported_falls_back(Fs::Xfs, "clone_unsupported_xfs");
}

/// On a filesystem whose driver cannot clone (ext4, tmpfs), no clone is
/// tried: no call, no fallback in the report (an expected "no" is not one).
#[test]
fn no_clone_is_tried_where_the_filesystem_cannot_clone() {
    for fs in [Fs::Ext4, Fs::Tmpfs] {
        let Some(d) = dir_on(fs, "no_clone_tried") else {
            continue;
        };
        let (src, data) = source(d.path(), 300_001, 1);
        let _g = inject(vec![]);
        let r = copy_with(&src, d.path().join("dst"), &CopyOptions::new()).unwrap();
        assert_eq!(calls(Point::Clone), 0, "{fs}");
        assert!(r.fallbacks.is_empty(), "{fs}: {:?}", r.fallbacks);
        assert_eq!(r.method, Method::CopyFileRange, "{fs}");
        assert_content(&d.path().join("dst"), &data);
        // Asked for, the clone is tried and fails cleanly.
        let always = CopyOptions::new().reflink(Reflink::Always);
        let e = copy_with(&src, d.path().join("clone"), &always).unwrap_err();
        assert_eq!(e.operation(), Operation::Clone, "{fs}: {e}");
        assert_eq!(calls(Point::Clone), 1, "{fs}");
        assert!(!d.path().join("clone").exists());
    }
}

/// On Btrfs the clone would work: the injected error alone makes it fall
/// back.
#[test]
fn clone_unsupported_falls_back_btrfs() {
    clone_unsupported_falls_back(Fs::Btrfs, "clone_unsupported_btrfs");
}

#[test]
fn copy_file_range_unsupported_falls_back() {
    let Some(d) = dir_on(Fs::Ext4, "cfr_unsupported") else {
        return;
    };
    let (src, data) = source(d.path(), 300_001, 2);
    for errno in UNSUPPORTED {
        let dst = d.path().join(format!("dst-{errno}"));
        let _g = inject(vec![fail(Point::CopyFileRange, 1, errno)]);
        let r = copy_with(&src, &dst, &never()).unwrap_or_else(|e| panic!("errno {errno}: {e}"));
        assert_eq!(fallbacks(&r), [(Method::CopyFileRange, Some(errno))]);
        assert_eq!(r.method, Method::Splice, "errno {errno}");
        assert_eq!(calls(Point::CopyFileRange), 1, "no second try");
        assert!(calls(Point::Read) > 0);
        assert_eq!(r.bytes, data.len() as u64);
        assert_content(&dst, &data);
    }
    // The same with default options: no clone is tried on ext4.
    let dst = d.path().join("auto");
    let _g = inject(vec![fail(Point::CopyFileRange, 1, ENOSYS)]);
    let r = copy_with(&src, &dst, &CopyOptions::new()).unwrap();
    assert_eq!(fallbacks(&r), [(Method::CopyFileRange, Some(ENOSYS))]);
    assert_eq!(r.method, Method::Splice);
    assert_content(&dst, &data);
}

/// procfs-like behaviour: the first copy_file_range copies nothing from a
/// non-empty file.
#[test]
fn copy_file_range_returning_zero_falls_back() {
    let Some(d) = dir_on(Fs::Ext4, "cfr_zero") else {
        return;
    };
    let (src, data) = source(d.path(), 5 * MIB + 3, 3);
    let dst = d.path().join("dst");
    let _g = inject(vec![zero(Point::CopyFileRange, 1)]);
    let r = copy_with(&src, &dst, &never()).unwrap();
    assert_eq!(r.method, Method::Splice);
    assert_eq!(r.fallbacks.len(), 1);
    assert_eq!(r.fallbacks[0].method, Method::CopyFileRange);
    assert_eq!(r.fallbacks[0].error.kind(), io::ErrorKind::Unsupported);
    assert_eq!(r.bytes, data.len() as u64);
    assert_content(&dst, &data);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// ---------------------------------------------------------------------
// Real failures end the copy, without a fallback, leaving nothing.

#[test]
fn copy_file_range_fatal_errors_end_the_copy() {
    let Some(d) = dir_on(Fs::Ext4, "cfr_fatal") else {
        return;
    };
    let (src, data) = source(d.path(), 300_001, 4);
    for opts in [CopyOptions::new(), never()] {
        for errno in FATAL {
            let dst = d.path().join("dst");
            let _g = inject(vec![fail(Point::CopyFileRange, 1, errno)]);
            let err = copy_with(&src, &dst, &opts).unwrap_err();
            assert_eq!(err.operation(), Operation::CopyData, "errno {errno}: {err}");
            assert_eq!(err.raw_os_error(), Some(errno), "{err}");
            assert_eq!(err.path(), dst, "{err}");
            assert_eq!(
                calls(Point::Read),
                0,
                "errno {errno}: fell back to read/write"
            );
            assert_eq!(calls(Point::Write), 0);
            assert_names(d.path(), &["src"]);
        }
    }
    assert_content(&src, &data);
}

#[test]
fn clone_fatal_error_ends_the_copy() {
    for fs in [Fs::Xfs, Fs::Btrfs] {
        let Some(d) = dir_on(fs, "clone_fatal") else {
            continue;
        };
        let (src, _) = source(d.path(), 300_001, 5);
        for errno in FATAL {
            let _g = inject(vec![fail(Point::Clone, 1, errno)]);
            let err = copy_with(&src, d.path().join("dst"), &CopyOptions::new()).unwrap_err();
            assert_eq!(err.operation(), Operation::Clone, "{fs} {errno}: {err}");
            assert_eq!(err.raw_os_error(), Some(errno));
            assert_eq!(err.path(), src, "a clone error names the source");
            assert_eq!(calls(Point::CopyFileRange), 0, "{fs}: fell back");
            assert_eq!(calls(Point::Read), 0, "{fs}: fell back");
            assert_names(d.path(), &["src"]);
        }
    }
}

/// Reflink::Always never falls back, even for "unsupported" errors, on a
/// filesystem where the clone would otherwise work.
#[test]
fn always_does_not_fall_back() {
    let Some(d) = dir_on(Fs::Btrfs, "always_no_fallback") else {
        return;
    };
    let (src, _) = source(d.path(), 300_001, 6);
    fs::write(d.path().join("dst"), b"old").unwrap();
    for errno in [EOPNOTSUPP, EXDEV, EINVAL, EIO] {
        let _g = inject(vec![fail(Point::Clone, 1, errno)]);
        let opts = CopyOptions::new().reflink(Reflink::Always);
        let err = copy_with(&src, d.path().join("dst"), &opts).unwrap_err();
        assert_eq!(err.operation(), Operation::Clone);
        assert_eq!(err.raw_os_error(), Some(errno));
        assert_eq!(calls(Point::CopyFileRange) + calls(Point::Read), 0);
        assert_content(&d.path().join("dst"), b"old");
        assert_names(d.path(), &["dst", "src"]);
    }
}

// ---------------------------------------------------------------------
// After data was written: "not supported" carries on from the offset with
// the next method (as GNU cp does); a real failure ends the copy.

#[test]
fn copy_file_range_fails_in_the_middle() {
    let Some(d) = dir_on(Fs::Ext4, "cfr_middle") else {
        return;
    };
    // With a progress callback the kernel copy goes in 16 MiB steps: 40 MiB
    // is 3 calls, and a 4th that finds the end.
    let (src, data) = source(d.path(), 40 * MIB, 7);
    let opts = never().progress(Arc::new(NoProgress));
    {
        let _g = inject(vec![]);
        copy_with(&src, d.path().join("probe"), &opts).unwrap();
        assert_eq!(
            calls(Point::CopyFileRange),
            4,
            "the steps this test relies on"
        );
        fs::remove_file(d.path().join("probe")).unwrap();
    }
    for errno in [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP] {
        let _g = inject(vec![fail(Point::CopyFileRange, 2, errno)]);
        let dst = d.path().join("dst");
        let r = copy_with(&src, &dst, &opts).unwrap_or_else(|e| panic!("{errno}: {e}"));
        assert_eq!(calls(Point::CopyFileRange), 2);
        assert_eq!(r.method, Method::Splice, "{errno}: the next method");
        assert_eq!(fallbacks(&r), [(Method::CopyFileRange, Some(errno))]);
        assert_eq!(
            r.fallbacks[0].offset,
            16 * MIB as u64,
            "{errno}: carried on from"
        );
        assert_eq!(r.bytes, 40 * MIB as u64);
        assert_content(&dst, &data);
        fs::remove_file(&dst).unwrap();
        assert_names(d.path(), &["src"]);
    }
    {
        let _g = inject(vec![fail(Point::CopyFileRange, 2, EIO)]);
        let err = copy_with(&src, d.path().join("dst"), &opts).unwrap_err();
        assert_eq!(err.operation(), Operation::CopyData, "{err}");
        assert_eq!(err.raw_os_error(), Some(EIO));
        assert_eq!(calls(Point::CopyFileRange), 2);
        assert_eq!(calls(Point::Read), 0, "fell back after EIO");
        assert_names(d.path(), &["src"]);
    }
    // The same over an existing destination: it stays as it was.
    let old = testfs::pattern(777_777, 8);
    fs::write(d.path().join("dst"), &old).unwrap();
    let _g = inject(vec![fail(Point::CopyFileRange, 3, EIO)]);
    assert!(copy_with(&src, d.path().join("dst"), &opts).is_err());
    assert_content(&d.path().join("dst"), &old);
    assert_names(d.path(), &["dst", "src"]);
    assert_content(&src, &data);
}

#[test]
fn read_write_fails_in_the_middle() {
    let Some(d) = dir_on(Fs::Ext4, "rw_middle") else {
        return;
    };
    let (src, _) = source(d.path(), 3 * MIB, 9);
    // copy_file_range unavailable, so the read/write loop runs.
    for (point, errno) in [
        (Point::Write, EIO),
        (Point::Write, ENOSPC),
        (Point::Read, EIO),
    ] {
        let _g = inject(vec![
            fail(Point::CopyFileRange, 1, ENOSYS),
            fail(point, 3, errno),
        ]);
        let err = copy_with(&src, d.path().join("dst"), &never()).unwrap_err();
        assert_eq!(
            err.operation(),
            Operation::CopyData,
            "{point:?} {errno}: {err}"
        );
        assert_eq!(err.raw_os_error(), Some(errno));
        assert_eq!(calls(point), 3, "stopped at the failure");
        assert!(calls(Point::Write) <= 3);
        assert_names(d.path(), &["src"]);
    }
    let old = b"previous content".to_vec();
    fs::write(d.path().join("dst"), &old).unwrap();
    let _g = inject(vec![
        fail(Point::CopyFileRange, 1, ENOSYS),
        fail(Point::Write, 3, EIO),
    ]);
    assert!(copy_with(&src, d.path().join("dst"), &never()).is_err());
    assert_content(&d.path().join("dst"), &old);
    assert_names(d.path(), &["dst", "src"]);
}

/// "Not supported" part way through splice (the third of its writes, after
/// two pipe loads): the read/write loop carries on from that offset and the
/// copy is whole.
#[test]
fn a_late_refusal_carries_on_from_the_offset() {
    let Some(d) = dir_on(Fs::Ext4, "late_refusal") else {
        return;
    };
    let (src, data) = source(d.path(), 3 * MIB, 19);
    let dst = d.path().join("dst");
    let _g = inject(vec![
        fail(Point::CopyFileRange, 1, ENOSYS),
        fail(Point::Write, 3, EINVAL),
    ]);
    let r = copy_with(&src, &dst, &never()).unwrap();
    assert_eq!(r.method, Method::ReadWrite);
    assert_eq!(
        fallbacks(&r),
        [
            (Method::CopyFileRange, Some(ENOSYS)),
            (Method::Splice, Some(EINVAL))
        ]
    );
    assert_eq!(r.fallbacks[0].offset, 0);
    let at = r.fallbacks[1].offset;
    assert!(at > 0 && at < 3 * MIB as u64, "splice stopped at {at}");
    assert_content(&dst, &data);
    assert_names(d.path(), &["dst", "src"]);
}

/// Where `O_TMPFILE` is refused, the copy writes a named temporary, and
/// first removes the leftovers of dead processes for the same destination
/// (saying so), never those of other names or of live processes.
#[test]
fn without_anonymous_files_dead_leftovers_of_the_destination_go() {
    let Some(d) = dir_on(Fs::Ext4, "no_tmpfile") else {
        return;
    };
    let (src, data) = source(d.path(), 100_000, 21);
    // 0x7ffffffe: above any pid_max, so no live process has it.
    let dead = d.path().join(".dst.fastcopy-tmp-7ffffffe-0-0");
    let live = d
        .path()
        .join(format!(".dst.fastcopy-tmp-{:x}-0-0", std::process::id()));
    let other = d.path().join(".other.fastcopy-tmp-7ffffffe-0-0");
    for p in [&dead, &live, &other] {
        fs::write(p, b"partial").unwrap();
    }
    let _g = inject(vec![fail(Point::TmpFile, 0, EOPNOTSUPP)]);
    let r = copy_with(&src, d.path().join("dst"), &CopyOptions::new()).unwrap();
    assert_eq!(calls(Point::TmpFile), 1);
    assert_content(&d.path().join("dst"), &data);
    let removed: Vec<_> = r
        .warnings
        .iter()
        .filter_map(|w| match w {
            crate::Warning::RemovedStale { path } => Some(path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(removed, std::slice::from_ref(&dead));
    assert!(!dead.exists() && live.exists() && other.exists());
    for p in [&live, &other] {
        fs::remove_file(p).unwrap();
    }
    assert_names(d.path(), &["dst", "src"]);
}

/// The last method refusing (nothing written, "unsupported") is an error
/// too, with that method's reason.
#[test]
fn every_method_declining_is_an_error() {
    let Some(d) = dir_on(Fs::Ext4, "all_decline") else {
        return;
    };
    let (src, _) = source(d.path(), 100_000, 10);
    let _g = inject(vec![
        fail(Point::Clone, 1, EOPNOTSUPP),
        fail(Point::CopyFileRange, 1, EXDEV),
        fail(Point::Read, 1, EINVAL),
    ]);
    let err = copy_with(&src, d.path().join("dst"), &CopyOptions::new()).unwrap_err();
    assert_eq!(err.operation(), Operation::CopyData, "{err}");
    assert_eq!(err.raw_os_error(), Some(EINVAL), "{err}");
    assert_names(d.path(), &["src"]);
}

// ---------------------------------------------------------------------
// Preallocation.

#[test]
fn preallocation_refused_is_a_warning() {
    let Some(d) = dir_on(Fs::Ext4, "prealloc_refused") else {
        return;
    };
    let (src, data) = source(d.path(), 2 * MIB + 1, 11);
    for opts in [never(), CopyOptions::new()] {
        let dst = d.path().join("dst");
        let _g = inject(vec![fail(Point::Fallocate, 1, EOPNOTSUPP)]);
        let r = copy_with(&src, &dst, &opts.preallocate(true)).unwrap();
        assert_eq!(calls(Point::Fallocate), 1);
        assert!(
            matches!(&r.warnings[..], [Warning::Preallocate(e)] if e.raw_os_error() == Some(EOPNOTSUPP)),
            "{:?}",
            r.warnings
        );
        assert_content(&dst, &data);
    }
}

#[test]
fn preallocation_out_of_space_is_an_error() {
    let Some(d) = dir_on(Fs::Ext4, "prealloc_nospc") else {
        return;
    };
    let (src, _) = source(d.path(), 2 * MIB + 1, 12);
    for errno in [ENOSPC, EDQUOT, EIO] {
        let _g = inject(vec![fail(Point::Fallocate, 1, errno)]);
        let err = copy_with(&src, d.path().join("dst"), &never().preallocate(true)).unwrap_err();
        assert_eq!(err.operation(), Operation::CopyData, "{err}");
        assert_eq!(err.raw_os_error(), Some(errno));
        assert_eq!(calls(Point::CopyFileRange) + calls(Point::Read), 0);
        assert_names(d.path(), &["src"]);
    }
    // With Preallocate::Never fallocate is never called.
    let _g = inject(vec![fail(Point::Fallocate, 0, ENOSPC)]);
    copy_with(&src, d.path().join("dst"), &never().preallocate(false)).unwrap();
    assert_eq!(calls(Point::Fallocate), 0);
}

/// Preallocate::Auto reserves space only for `copy_file_range` within one ext4 filesystem,
/// from `AUTO_PREALLOCATE_MIN` up: where it was measured to win.
#[test]
fn automatic_preallocation_only_for_large_copies_onto_ext4() {
    use crate::sys::AUTO_PREALLOCATE_MIN;
    let big = AUTO_PREALLOCATE_MIN as usize;
    for (fs, len, opts, want) in [
        // ext4: copy_file_range from the threshold up.
        (Fs::Ext4, big, CopyOptions::new(), 1),
        (Fs::Ext4, big - 1, CopyOptions::new(), 0),
        (Fs::Ext4, big, never(), 1),
        (Fs::Ext4, big, never().direct_io(DirectIo::Always), 0),
        (Fs::Ext4, big, never().only_method(Method::ReadWrite), 0),
        (Fs::Ext4, big, never().preallocate(false), 0),
        // Elsewhere: never chosen (a clone on Btrfs and XFS; splice or
        // copy_file_range with --reflink=never; tmpfs).
        (Fs::Btrfs, big, CopyOptions::new(), 0),
        (Fs::Btrfs, big, never(), 0),
        (Fs::Xfs, big, never(), 0),
        (Fs::Tmpfs, big, CopyOptions::new(), 0),
    ] {
        let Some(d) = dir_on(fs, "prealloc_auto") else {
            continue;
        };
        let (src, data) = source(d.path(), len, 13);
        let _g = inject(vec![]);
        let dst = d.path().join("dst");
        let r = copy_with(&src, &dst, &opts).unwrap();
        assert_eq!(calls(Point::Fallocate), want, "{fs} {len} {opts:?}: {r:?}");
        assert!(r.warnings.is_empty(), "{r:?}");
        assert_content(&dst, &data);
        // The reserved blocks are the file's, no more: its size is the
        // source's and it uses about as many blocks.
        let m = fs::metadata(&dst).unwrap();
        assert_eq!(m.len(), len as u64);
        assert!(
            m.blocks() * 512 <= (len as u64 + (1 << 20)),
            "{fs}: {} blocks",
            m.blocks()
        );
    }
    // Onto ext4 from another filesystem: copy_file_range is refused there
    // (and splice into reserved space is slow), so nothing is reserved.
    let (Some(from), Some(onto)) = (
        dir_on(Fs::Tmpfs, "prealloc_from"),
        dir_on(Fs::Ext4, "prealloc_onto"),
    ) else {
        return;
    };
    let (src, data) = source(from.path(), big, 14);
    let _g = inject(vec![]);
    let dst = onto.path().join("dst");
    let r = copy_with(&src, &dst, &CopyOptions::new()).unwrap();
    assert_eq!(calls(Point::Fallocate), 0, "{r:?}");
    assert_content(&dst, &data);
}

// ---------------------------------------------------------------------
// Direct I/O.

/// `O_DIRECT` is on for any open descriptor of `path` in this process.
/// Panics when no descriptor of it is open.
fn direct_flag_on(path: &Path) -> bool {
    let path = fs::canonicalize(path).unwrap();
    let mut seen = false;
    let mut direct = false;
    for e in fs::read_dir("/proc/self/fd").unwrap() {
        let e = e.unwrap();
        if fs::read_link(e.path()).ok().as_deref() != Some(&path) {
            continue;
        }
        let Ok(info) = fs::read_to_string(Path::new("/proc/self/fdinfo").join(e.file_name()))
        else {
            continue;
        };
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .map(|f| u32::from_str_radix(f.trim(), 8).unwrap())
            .unwrap();
        seen = true;
        direct |= flags & rustix::fs::OFlags::DIRECT.bits() != 0;
    }
    assert!(seen, "no open descriptor of {}", path.display());
    direct
}

/// Looks at the source's descriptors at every progress step.
struct WatchDirect {
    src: PathBuf,
    seen_direct: Mutex<Vec<bool>>,
}

impl Progress for WatchDirect {
    fn advance(&self, _done: u64, _total: u64) {
        self.seen_direct
            .lock()
            .unwrap()
            .push(direct_flag_on(&self.src));
    }
}

/// Switching to direct I/O refused at one of its steps: the read/write loop
/// runs instead, on descriptors that are no longer `O_DIRECT` (an odd-size
/// file read into an unaligned buffer), and the copy is right.
#[test]
fn direct_io_refused_falls_back_to_buffered() {
    let Some(d) = dir_on(Fs::Ext4, "direct_refused") else {
        return;
    };
    let (src, data) = source(d.path(), 3 * MIB + 12_345, 13);
    // DirectIo calls: 1 source on, 2 destination on, 3 source off again
    // when 2 failed (then the ladder's reset).
    let cases: [&[Fault]; 3] = [
        &[fail(Point::DirectIo, 1, EINVAL)],
        &[fail(Point::DirectIo, 2, EINVAL)],
        &[
            fail(Point::DirectIo, 2, EINVAL),
            fail(Point::DirectIo, 3, EINVAL),
        ],
    ];
    for faults in cases {
        let dst = d.path().join("dst");
        let watch = Arc::new(WatchDirect {
            src: src.clone(),
            seen_direct: Mutex::new(Vec::new()),
        });
        let opts = never().direct_io(DirectIo::Always).progress(watch.clone());
        let _g = inject(faults.to_vec());
        let r = copy_with(&src, &dst, &opts).unwrap_or_else(|e| panic!("{faults:?}: {e}"));
        assert_eq!(r.method, Method::ReadWrite, "{faults:?}");
        assert_eq!(
            fallbacks(&r),
            [(Method::DirectIo, Some(EINVAL))],
            "{faults:?}"
        );
        assert_content(&dst, &data);
        let seen = watch.seen_direct.lock().unwrap();
        assert!(!seen.is_empty());
        assert!(
            !seen.iter().any(|&x| x),
            "{faults:?}: source still O_DIRECT during read/write"
        );
    }
}

/// Switching the destination back to buffered I/O for the unaligned tail
/// fails: before anything was written it falls back, after it fails.
#[test]
fn direct_io_tail_switch_fails() {
    let Some(d) = dir_on(Fs::Ext4, "direct_tail") else {
        return;
    };
    // 100 bytes: the first and only read is the unaligned tail.
    let (src, data) = source(d.path(), 100, 14);
    let dst = d.path().join("dst");
    let opts = never().direct_io(DirectIo::Always);
    let _g = inject(vec![fail(Point::DirectIo, 3, EINVAL)]);
    let r = copy_with(&src, &dst, &opts).unwrap();
    assert_eq!(r.method, Method::ReadWrite);
    assert_eq!(fallbacks(&r), [(Method::DirectIo, Some(EINVAL))]);
    assert_content(&dst, &data);
    fs::remove_file(&dst).unwrap();
    drop(_g);

    // 2 MiB + 100: the tail comes after 2 MiB were written.
    let (src, data) = source(d.path(), 2 * MIB + 100, 15);
    {
        let _g = inject(vec![]);
        let r = copy_with(&src, &dst, &opts).unwrap();
        assert_eq!(r.method, Method::DirectIo);
        assert_content(&dst, &data);
        fs::remove_file(&dst).unwrap();
    }
    // Refused after 2 MiB were written: the read/write loop carries on
    // from there.
    let _g = inject(vec![fail(Point::DirectIo, 3, EINVAL)]);
    let r = copy_with(&src, &dst, &opts).unwrap();
    assert_eq!(r.method, Method::ReadWrite);
    assert_eq!(fallbacks(&r), [(Method::DirectIo, Some(EINVAL))]);
    assert_eq!(r.fallbacks[0].offset, 2 * MIB as u64);
    assert_content(&dst, &data);
    fs::remove_file(&dst).unwrap();
    drop(_g);
    // A real failure there ends it.
    let _g = inject(vec![fail(Point::DirectIo, 3, EIO)]);
    let err = copy_with(&src, &dst, &opts).unwrap_err();
    assert_eq!(err.operation(), Operation::CopyData);
    assert_eq!(err.raw_os_error(), Some(EIO));
    assert_eq!(calls(Point::Read), 3, "no read/write loop after EIO");
    assert_names(d.path(), &["src"]);
}

// ---------------------------------------------------------------------
// Sparse files.

const SPARSE_SIZE: u64 = 16 << 20;
const SPARSE_DATA: [(u64, u64); 3] = [(1 << 20, 1 << 20), (6 << 20, 3 << 20), (15 << 20, 4096)];

#[test]
fn sparse_copy_file_range_zero_falls_back_keeping_holes() {
    let Some(d) = dir_on(Fs::Ext4, "sparse_cfr_zero") else {
        return;
    };
    let src = d.path().join("src");
    testfs::write_sparse(&src, SPARSE_SIZE, &SPARSE_DATA).unwrap();
    let dst = d.path().join("dst");
    let _g = inject(vec![zero(Point::CopyFileRange, 1)]);
    let r = copy_with(&src, &dst, &never()).unwrap();
    assert_eq!(r.method, Method::Splice);
    assert_eq!(r.fallbacks.len(), 1);
    assert_eq!(r.bytes, SPARSE_SIZE);
    assert_content(&dst, &fs::read(&src).unwrap());
    let (a_src, a_dst) = (testfs::allocated_bytes(&src), testfs::allocated_bytes(&dst));
    assert!(
        a_dst <= a_src + (64 << 10),
        "holes filled: {a_dst} allocated, source {a_src}"
    );
    assert!(a_dst < SPARSE_SIZE / 2);
    // Also on the data layout: the first 1 MiB is still a hole.
    let f = fs::File::open(&dst).unwrap();
    let first = rustix::fs::seek(&f, rustix::fs::SeekFrom::Data(0)).unwrap();
    assert!(first >= 1 << 20, "data at {first}");
}

#[test]
fn sparse_failure_in_a_later_segment() {
    let Some(d) = dir_on(Fs::Ext4, "sparse_later") else {
        return;
    };
    let src = d.path().join("src");
    testfs::write_sparse(&src, SPARSE_SIZE, &SPARSE_DATA).unwrap();
    for (faults, what) in [
        (vec![fail(Point::CopyFileRange, 2, EIO)], "kernel copy"),
        (
            vec![
                fail(Point::CopyFileRange, 1, ENOSYS),
                fail(Point::Read, 2, EIO),
            ],
            "read/write",
        ),
    ] {
        let _g = inject(faults);
        let err = copy_with(&src, d.path().join("dst"), &never()).unwrap_err();
        assert_eq!(err.operation(), Operation::CopyData, "{what}: {err}");
        assert_names(d.path(), &["src"]);
    }
    // "Not supported" in the second segment: the next method carries on
    // from there, and the holes after it stay holes.
    let _g = inject(vec![fail(Point::CopyFileRange, 2, EXDEV)]);
    let dst = d.path().join("dst");
    let r = copy_with(&src, &dst, &never()).unwrap();
    assert_eq!(fallbacks(&r), [(Method::CopyFileRange, Some(EXDEV))]);
    assert!(r.fallbacks[0].offset >= 2 << 20, "{:?}", r.fallbacks);
    assert_content(&dst, &fs::read(&src).unwrap());
    let (a_src, a_dst) = (testfs::allocated_bytes(&src), testfs::allocated_bytes(&dst));
    assert!(
        a_dst <= a_src + (64 << 10),
        "holes filled: {a_dst} against {a_src}"
    );
}

/// A kernel copy that stops (returns 0) in the middle of a file whose size
/// did not change must not pass for a complete copy.
#[test]
fn copy_file_range_stopping_early_is_not_success() {
    let Some(d) = dir_on(Fs::Ext4, "cfr_stops_early") else {
        return;
    };
    let (src, data) = source(d.path(), 40 * MIB, 16);
    let dst = d.path().join("dst");
    let opts = never().progress(Arc::new(NoProgress));
    let _g = inject(vec![zero(Point::CopyFileRange, 2)]);
    match copy_with(&src, &dst, &opts) {
        Err(_) => assert_names(d.path(), &["src"]),
        Ok(r) => {
            assert_eq!(
                r.bytes,
                data.len() as u64,
                "short copy reported as success: {r:?}"
            );
            assert_content(&dst, &data);
        }
    }
    assert_eq!(fs::metadata(&src).unwrap().size(), data.len() as u64);
}

// ---------------------------------------------------------------------
// The splice path (source → pipe → destination).

/// With Reflink::Never on a cloning filesystem, splice is the first method;
/// its refusal before the first byte falls back to read/write, a fatal
/// error does not, and a failure after some data leaves nothing behind.
#[test]
fn splice_falls_back_only_when_unsupported() {
    let Some(d) = dir_on(Fs::Btrfs, "splice_faults") else {
        return;
    };
    let (src, data) = source(d.path(), 3 * MIB + 7, 9);

    // Plain: splice copies, in several pipe-sized steps.
    let dst = d.path().join("plain");
    let r = copy_with(&src, &dst, &never()).unwrap();
    assert_eq!(r.method, Method::Splice);
    assert!(r.fallbacks.is_empty(), "{:?}", r.fallbacks);
    assert_content(&dst, &data);
    assert_eq!(
        crate::extent_sharing(&dst).unwrap().shared,
        0,
        "splice shared blocks"
    );

    for errno in UNSUPPORTED {
        let dst = d.path().join(format!("unsupported-{errno}"));
        let _g = inject(vec![fail(Point::Read, 1, errno)]);
        let r = copy_with(&src, &dst, &never()).unwrap_or_else(|e| panic!("{errno}: {e}"));
        assert_eq!(fallbacks(&r), [(Method::Splice, Some(errno))]);
        assert_eq!(r.method, Method::ReadWrite);
        assert_content(&dst, &data);
    }
    for errno in FATAL {
        for (point, call) in [(Point::Read, 1), (Point::Write, 1), (Point::Write, 3)] {
            let _g = inject(vec![fail(point, call, errno)]);
            let err = copy_with(&src, d.path().join("dst"), &never()).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(errno), "{point:?} {call}: {err}");
            assert_eq!(err.operation(), Operation::CopyData);
            assert!(!d.path().join("dst").exists());
            testfs::assert_none_containing(d.path(), TEMP_MARKER);
        }
    }
    // "Not supported" after data was written: read/write carries on.
    let _g = inject(vec![fail(Point::Write, 2, EINVAL)]);
    let dst = d.path().join("late");
    let r = copy_with(&src, &dst, &never()).unwrap();
    assert_eq!(r.method, Method::ReadWrite);
    assert_eq!(fallbacks(&r), [(Method::Splice, Some(EINVAL))]);
    assert!(r.fallbacks[0].offset > 0);
    assert_content(&dst, &data);
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
    assert_content(&src, &data);
}

/// Small files skip splice (the pipe costs more than it saves).
#[test]
fn small_files_do_not_splice() {
    let Some(d) = dir_on(Fs::Btrfs, "splice_small") else {
        return;
    };
    let (src, data) = source(d.path(), 100_000, 10);
    let r = copy_with(&src, d.path().join("dst"), &never()).unwrap();
    assert_eq!(r.method, Method::ReadWrite);
    assert_content(&d.path().join("dst"), &data);
}
