//! The copy contract of issue 13, through the library: `--update` with
//! cp's meaning for files and trees alike, a partial tree copy is an error
//! that carries its report, a destination the caller may not write is
//! refused unless forced, one ownership rule for files and trees, writing
//! in place, cancelling a tree, and no named temporary while a file is
//! copied.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use fastcopy::{
    CopyOptions, EntryKind, Method, Operation, Overwrite, Progress, Reflink, Skipped, TreeEntry,
    TreeOptions, TreeProgress, Warning,
};

use crate::common::*;
use crate::tree::{child_paths, run_as_nobody, unprivileged_setup};
use testfs::is_root;

fn ino(path: &Path) -> u64 {
    fs::symlink_metadata(path).unwrap().ino()
}

fn owner(path: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid())
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
}

/// Writes `data` to `path` with modification time `mtime`.
fn write_at(path: &Path, data: &[u8], mtime: SystemTime) {
    write(path, data);
    set_times(path, mtime, mtime);
}

fn mkfifo(path: &Path, mode: u32) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(mode as _),
        0,
    )
    .unwrap();
    chmod(path, mode);
}

fn is_fifo(path: &Path) -> bool {
    fs::symlink_metadata(path).unwrap().file_type().is_fifo()
}

/// A tmpfs of `size` (mount's syntax, `1m`) mounted on a fresh directory,
/// unmounted when dropped: a filesystem that fills up when the test wants.
struct SmallTmpfs {
    dir: tempfile::TempDir,
}

impl SmallTmpfs {
    /// `None` (skipped) unless running as root with `mount`.
    fn mount(test: &str, size: &str) -> Option<SmallTmpfs> {
        if !is_root() {
            testfs::skipped(test, "needs root to mount a small tmpfs");
            return None;
        }
        let dir = tempfile::Builder::new().prefix(test).tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallTmpfs { dir }),
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr).into_owned();
                testfs::skipped(test, &format!("mount -t tmpfs failed: {why}"));
                None
            }
            Err(e) => {
                testfs::skipped(test, &format!("cannot run mount: {e}"));
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

// ---------------------------------------------------------------------
// 1. Overwrite::{Older, Skip, NoClobber}, single files and trees.
// ---------------------------------------------------------------------

/// `Older` (cp -u): a newer destination is never replaced, whatever its
/// size; an equally old one is kept; an older one is replaced; a missing
/// one is created.
fn older_replaces_only_an_older_destination(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    let data = testfs::pattern(5000, 1);
    let src_time = time_ago(10_000, 123_456_789);
    write_at(&src, &data, src_time);
    let opts = CopyOptions::new().overwrite(Overwrite::Older);

    // Newer and of another size (larger and smaller): kept.
    for (name, len) in [("newer_big", 7000), ("newer_small", 3000)] {
        let dst = dir.join(name);
        let old = testfs::pattern(len, 2);
        let t = time_ago(100, 987_654_321);
        write_at(&dst, &old, t);
        let before = ino(&dst);
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
        assert_eq!(r.skipped, Some(Skipped::NotOlder), "{fs} {name}");
        assert_eq!(r.bytes, 0, "{fs} {name}");
        assert_content(&dst, &old);
        assert_eq!(mtime(&dst), t, "{fs} {name}: mtime touched");
        assert_eq!(ino(&dst), before, "{fs} {name}: replaced");
    }

    // Exactly as old, to the nanosecond: kept.
    let equal = dir.join("equal");
    let old = testfs::pattern(7000, 3);
    write_at(&equal, &old, src_time);
    let before = ino(&equal);
    let r = fastcopy::copy_with(&src, &equal, &opts).unwrap();
    assert_eq!(r.skipped, Some(Skipped::NotOlder), "{fs}");
    assert_content(&equal, &old);
    assert_eq!(ino(&equal), before, "{fs}");

    // Older (by one nanosecond): replaced, with the source's mtime.
    let older = dir.join("older");
    let one_ns_older = src_time - std::time::Duration::from_nanos(1);
    write_at(&older, &testfs::pattern(9000, 4), one_ns_older);
    let r = fastcopy::copy_with(&src, &older, &opts).unwrap();
    assert_eq!(r.skipped, None, "{fs}");
    assert_eq!(r.bytes, 5000, "{fs}");
    assert_content(&older, &data);
    assert_eq!(mtime(&older), src_time, "{fs}");

    // Missing: created.
    let missing = dir.join("missing");
    let r = fastcopy::copy_with(&src, &missing, &opts).unwrap();
    assert_eq!(r.skipped, None, "{fs}");
    assert_content(&missing, &data);
    assert_eq!(mtime(&missing), src_time, "{fs}");

    assert_names(
        dir,
        &[
            "equal",
            "missing",
            "newer_big",
            "newer_small",
            "older",
            "src",
        ],
    );
}

/// `Skip` (cp --update=none): an existing destination, even an older one,
/// is kept and the copy succeeds; a missing one is created.
fn skip_keeps_any_existing_destination(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    let data = testfs::pattern(5000, 5);
    write_at(&src, &data, time_ago(10, 0));
    let dst = dir.join("dst");
    let old = testfs::pattern(100, 6);
    let t = time_ago(100_000, 5);
    write_at(&dst, &old, t);
    let before = ino(&dst);
    let opts = CopyOptions::new().overwrite(Overwrite::Skip);
    let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
    assert_eq!(r.skipped, Some(Skipped::Exists), "{fs}");
    assert_eq!(r.bytes, 0, "{fs}");
    assert_content(&dst, &old);
    assert_eq!(mtime(&dst), t, "{fs}");
    assert_eq!(ino(&dst), before, "{fs}");

    let new = dir.join("new");
    let r = fastcopy::copy_with(&src, &new, &opts).unwrap();
    assert_eq!(r.skipped, None, "{fs}");
    assert_content(&new, &data);
    assert_names(dir, &["dst", "new", "src"]);
}

/// `NoClobber` (cp --update=none-fail): an existing destination is an
/// error, untouched, and nothing is created.
fn no_clobber_fails_on_an_existing_destination(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    write(&src, &testfs::pattern(5000, 7));
    let dst = dir.join("dst");
    let old = testfs::pattern(100, 8);
    let t = time_ago(100_000, 5);
    write_at(&dst, &old, t);
    let opts = CopyOptions::new().overwrite(Overwrite::NoClobber);
    let e = fastcopy::copy_with(&src, &dst, &opts).unwrap_err();
    assert_eq!(e.operation(), Operation::DestinationExists, "{fs}: {e}");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{fs}: {e}");
    assert_content(&dst, &old);
    assert_eq!(mtime(&dst), t, "{fs}");
    assert_names(dir, &["dst", "src"]);
}

/// Source and destination trees for the overwrite-mode tree tests:
/// regular files newer / older / as old as the source's, one missing, one
/// in a subdirectory; a symbolic link and a FIFO of the same names as in
/// the source; and a FIFO in the way of a regular file (`in_the_way`).
/// Contents: [`src_bytes`] and [`dst_bytes`].
struct Trees {
    src: PathBuf,
    dst: PathBuf,
    src_time: SystemTime,
    newer_time: SystemTime,
    older_time: SystemTime,
}

fn update_trees(dir: &Path) -> Trees {
    let (src, dst) = (dir.join("src"), dir.join("dst"));
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::create_dir_all(dst.join("sub")).unwrap();
    let src_time = time_ago(10_000, 111_111_111);
    let newer_time = time_ago(100, 222_222_222);
    let older_time = time_ago(20_000, 333_333_333);
    for name in [
        "newer",
        "older",
        "equal",
        "missing",
        "sub/newer",
        "in_the_way",
    ] {
        write_at(&src.join(name), &src_bytes(name), src_time);
    }
    write_at(&dst.join("newer"), &dst_bytes("newer"), newer_time);
    write_at(&dst.join("sub/newer"), &dst_bytes("sub/newer"), newer_time);
    write_at(&dst.join("older"), &dst_bytes("older"), older_time);
    write_at(&dst.join("equal"), &dst_bytes("equal"), src_time);
    symlink("a", src.join("link")).unwrap();
    symlink("other", dst.join("link")).unwrap();
    mkfifo(&src.join("fifo"), 0o644);
    mkfifo(&dst.join("fifo"), 0o600);
    mkfifo(&dst.join("in_the_way"), 0o600);
    Trees {
        src,
        dst,
        src_time,
        newer_time,
        older_time,
    }
}

/// The source's content of `name`: 5000 bytes.
fn src_bytes(name: &str) -> Vec<u8> {
    testfs::pattern(5000, name.len() as u64)
}

/// An existing destination's content of `name`: another size (7000).
fn dst_bytes(name: &str) -> Vec<u8> {
    testfs::pattern(7000, 100 + name.len() as u64)
}

/// The link and the FIFOs of the destination are as they were.
#[track_caller]
fn links_and_fifos_kept(t: &Trees) {
    assert_eq!(
        fs::read_link(t.dst.join("link")).unwrap(),
        Path::new("other")
    );
    assert!(is_fifo(&t.dst.join("fifo")));
    assert_eq!(mode(&t.dst.join("fifo")), 0o600);
    assert!(is_fifo(&t.dst.join("in_the_way")));
}

/// `Older` through `copy_tree`: the same rule as a single copy (newer or
/// equally old kept whatever the size, older replaced, missing created);
/// a symlink and a FIFO in the way are kept, not errors.
fn tree_older_follows_the_same_rule(fs: Fs, dir: &Path) {
    let t = update_trees(dir);
    // `in_the_way` (a FIFO where the source has a file) is left out here:
    // it has no age; see the `Skip` test.
    fs::remove_file(t.src.join("in_the_way")).unwrap();
    let opts = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::Older));
    let r = fastcopy::copy_tree(&t.src, &t.dst, &opts)
        .unwrap_or_else(|e| panic!("{fs}: {e}: {:?}", e.tree_report()));
    for name in ["newer", "sub/newer"] {
        assert_content(&t.dst.join(name), &dst_bytes(name));
        assert_eq!(mtime(&t.dst.join(name)), t.newer_time, "{fs} {name}");
    }
    assert_content(&t.dst.join("equal"), &dst_bytes("equal"));
    for name in ["older", "missing"] {
        assert_content(&t.dst.join(name), &src_bytes(name));
        assert_eq!(mtime(&t.dst.join(name)), t.src_time, "{fs} {name}");
    }
    links_and_fifos_kept(&t);
    assert_eq!(r.metrics.files(), 2, "{fs}: {r:?}");
    // TreeReport::up_to_date: the entries left alone by the overwrite
    // mode: 3 files, and the symlink and FIFO kept in place of others.
    assert_eq!(r.up_to_date, 5, "{fs}: {r:?}");
    assert!(r.errors.is_empty());
    assert_no_temp(&t.dst);
    assert_no_temp(&t.dst.join("sub"));
}

/// `Older` through `copy_tree`, a newer entry of another kind where the
/// source has a regular file (a FIFO, a symbolic link to a newer file):
/// kept, as `cp -u` keeps them (coreutils 9.1: `cp -r -u` leaves both, exit
/// 0), and not an error. (A single copy refuses a special file whatever
/// the mode.)
fn tree_older_keeps_a_newer_entry_of_another_kind(fs: Fs, dir: &Path) {
    let (src, dst) = (dir.join("src"), dir.join("dst"));
    fs::create_dir(&src).unwrap();
    fs::create_dir(&dst).unwrap();
    for name in ["fifo", "link"] {
        write_at(&src.join(name), b"old source", time_ago(10_000, 0));
    }
    // Made now: newer than the source.
    mkfifo(&dst.join("fifo"), 0o600);
    write(&dst.join("target"), b"newer");
    symlink("target", dst.join("link")).unwrap();
    let opts = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::Older));
    let r = fastcopy::copy_tree(&src, &dst, &opts)
        .unwrap_or_else(|e| panic!("{fs}: {e}: {:?}", e.tree_report()));
    let fifo_kept = is_fifo(&dst.join("fifo"));
    let link_kept = fs::read_link(dst.join("link")).ok() == Some(PathBuf::from("target"));
    assert!(
        fifo_kept && link_kept,
        "{fs}: newer FIFO kept: {fifo_kept}, newer symlink kept: {link_kept}"
    );
    assert_content(&dst.join("target"), b"newer");
    assert_eq!(r.metrics.files(), 0, "{fs}: {r:?}");
    assert_no_temp(&dst);
}

/// `Skip` through `copy_tree`: every existing entry is kept (an older
/// file, a link, a FIFO, a FIFO where the source has a file), only the
/// missing file is copied.
fn tree_skip_keeps_every_existing_entry(fs: Fs, dir: &Path) {
    let t = update_trees(dir);
    let opts = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::Skip));
    let r = fastcopy::copy_tree(&t.src, &t.dst, &opts)
        .unwrap_or_else(|e| panic!("{fs}: {e}: {:?}", e.tree_report()));
    for name in ["newer", "sub/newer", "older", "equal"] {
        assert_content(&t.dst.join(name), &dst_bytes(name));
    }
    assert_eq!(mtime(&t.dst.join("older")), t.older_time, "{fs}");
    assert_content(&t.dst.join("missing"), &src_bytes("missing"));
    links_and_fifos_kept(&t);
    assert_eq!(r.metrics.files(), 1, "{fs}: {r:?}");
    assert!(r.errors.is_empty());
    assert_no_temp(&t.dst);
}

/// `NoClobber` through `copy_tree`: each existing file is a failure named
/// in the report, the copy is `Err`, the rest is copied.
fn tree_no_clobber_fails_on_existing_files(fs: Fs, dir: &Path) {
    let t = update_trees(dir);
    for name in ["link", "fifo", "in_the_way"] {
        fs::remove_file(t.src.join(name)).unwrap();
    }
    let opts = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::NoClobber));
    let e = fastcopy::copy_tree(&t.src, &t.dst, &opts).unwrap_err();
    assert_eq!(e.operation(), Operation::Incomplete, "{fs}: {e}");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{fs}: {e}");
    let r = e.tree_report().expect("the report");
    let failed: BTreeSet<PathBuf> = r.errors.iter().map(|e| e.path().to_path_buf()).collect();
    let want: BTreeSet<PathBuf> = ["newer", "sub/newer", "older", "equal"]
        .iter()
        .map(|n| t.dst.join(n))
        .collect();
    assert_eq!(failed, want, "{fs}");
    for e in &r.errors {
        assert_eq!(e.operation(), Operation::DestinationExists, "{fs}: {e}");
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{fs}: {e}");
    }
    for name in ["newer", "sub/newer", "older", "equal"] {
        assert_content(&t.dst.join(name), &dst_bytes(name));
    }
    assert_content(&t.dst.join("missing"), &src_bytes("missing"));
    assert_eq!(r.metrics.files(), 1, "{fs}");
    assert_no_temp(&t.dst);
    assert_no_temp(&t.dst.join("sub"));
}

per_fs!(
    older_replaces_only_an_older_destination,
    skip_keeps_any_existing_destination,
    no_clobber_fails_on_an_existing_destination,
    tree_older_follows_the_same_rule,
    tree_older_keeps_a_newer_entry_of_another_kind,
    tree_skip_keeps_every_existing_entry,
    tree_no_clobber_fails_on_existing_files,
);

// ---------------------------------------------------------------------
// 2. A partial tree copy is an error carrying its report.
// ---------------------------------------------------------------------

const FILE_400K: usize = 400 << 10;

/// A source directory of `n` files `f1..fn` of 400 KiB each, in a fresh
/// directory (not on the small tmpfs).
fn source_of(n: usize) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 1..=n {
        write(
            &src.join(format!("f{i}")),
            &testfs::pattern(FILE_400K, i as u64),
        );
    }
    (d, src)
}

/// Checks a tree copy of [`source_of`] to `dst` that failed for lack of
/// room: `Err(Incomplete)` of kind `StorageFull`, every failure named with
/// its destination path, counts that add up, every copied file complete,
/// no failed file and no temporary or staging directory left.
#[track_caller]
fn check_full(err: fastcopy::Error, dst: &Path, n: usize) -> (u64, usize) {
    assert_eq!(err.operation(), Operation::Incomplete, "{err}");
    assert_eq!(err.kind(), ErrorKind::StorageFull, "{err}");
    assert_eq!(err.path(), dst);
    let r = err.tree_report().expect("Incomplete carries the report");
    assert!(!r.is_complete());
    assert!(!r.errors.is_empty(), "{r:?}");
    let mut failed = BTreeSet::new();
    for e in &r.errors {
        assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
        assert_eq!(e.operation(), Operation::CopyData, "{e}");
        assert_eq!(e.path().parent(), Some(dst), "{e}");
        assert!(failed.insert(e.path().to_path_buf()), "twice: {e}");
    }
    let copied = r.metrics.files();
    assert_eq!(r.metrics.failures(), r.errors.len() as u64, "{r:?}");
    assert!(copied as usize + r.errors.len() <= n, "{r:?}");
    assert_eq!(r.metrics.bytes(), copied * FILE_400K as u64, "{r:?}");
    // What is in the destination: exactly the files copied, each complete.
    let mut present = 0;
    if dst.exists() {
        for name in names(dst) {
            assert!(!name.contains(fastcopy::TEMP_MARKER), "left: {name}");
            let i: u64 = name[1..].parse().unwrap();
            assert!(
                !failed.contains(&dst.join(&name)),
                "failed but there: {name}"
            );
            assert_content(&dst.join(&name), &testfs::pattern(FILE_400K, i));
            present += 1;
        }
    }
    assert_eq!(present, copied, "files in the destination vs report");
    assert_no_temp(dst.parent().unwrap());
    (copied, r.errors.len())
}

/// Five files of 400 KiB onto a 1 MiB tmpfs: some fail with ENOSPC. The
/// copy is `Err(Incomplete)` whose report names each failure; the files
/// that fit are there and complete; nothing else is left.
#[test]
fn a_tree_that_runs_out_of_room_is_an_error_with_its_report() {
    const TEST: &str = "contract_tree_enospc";
    let Some(small) = SmallTmpfs::mount(TEST, "1m") else {
        return;
    };
    let (_d, src) = source_of(5);
    let dst = small.path().join("dst");
    let e = fastcopy::copy_tree(&src, &dst, &TreeOptions::new()).unwrap_err();
    let (copied, failed) = check_full(e, &dst, 5);
    assert!(copied >= 1, "room for two, {copied} copied");
    assert_eq!(copied as usize + failed, 5, "every file copied or failed");
    assert_names(small.path(), &["dst"]);

    // The same with `?`: the error converts to io::Error of the same kind.
    fs::remove_dir_all(&dst).unwrap();
    let via_io = || -> std::io::Result<()> {
        fastcopy::copy_tree(&src, &dst, &TreeOptions::new())?;
        Ok(())
    };
    assert_eq!(via_io().unwrap_err().kind(), ErrorKind::StorageFull);

    // A tree that fits: Ok, complete.
    fs::remove_dir_all(&dst).unwrap();
    let (_d2, fits) = source_of(2);
    let r = fastcopy::copy_tree(&fits, &dst, &TreeOptions::new()).unwrap();
    assert!(r.is_complete());
    assert_eq!(r.metrics.files(), 2);
    assert_same_content(&fits.join("f1"), &dst.join("f1"));
    assert_same_content(&fits.join("f2"), &dst.join("f2"));
    assert_names(small.path(), &["dst"]);
}

/// `fail_fast`: the first failure stops the copy; one error, some files
/// never tried, nothing half-written left.
#[test]
fn a_tree_that_runs_out_of_room_stops_at_once_with_fail_fast() {
    const TEST: &str = "contract_tree_enospc_fail_fast";
    let Some(small) = SmallTmpfs::mount(TEST, "1m") else {
        return;
    };
    let (_d, src) = source_of(5);
    let dst = small.path().join("dst");
    let opts = TreeOptions::new().jobs(1).fail_fast(true);
    let e = fastcopy::copy_tree(&src, &dst, &opts).unwrap_err();
    let (copied, failed) = check_full(e, &dst, 5);
    assert_eq!(failed, 1, "fail_fast stops at the first failure");
    assert!(copied as usize + failed < 5, "some files never tried");
}

/// The same into an existing directory (its files are written as
/// anonymous files and named when complete, not in a staging directory):
/// the failed ones leave nothing, the directory's other entries stay.
#[test]
fn a_tree_into_an_existing_directory_that_runs_out_of_room() {
    const TEST: &str = "contract_tree_enospc_existing";
    let Some(small) = SmallTmpfs::mount(TEST, "1m") else {
        return;
    };
    let (_d, src) = source_of(5);
    let dst = small.path().join("dst");
    fs::create_dir(&dst).unwrap();
    let e = fastcopy::copy_tree(&src, &dst, &TreeOptions::new()).unwrap_err();
    let (copied, failed) = check_full(e, &dst, 5);
    assert!(copied >= 1, "room for two, {copied} copied");
    assert_eq!(copied as usize + failed, 5, "every file copied or failed");
    assert_names(small.path(), &["dst"]);
}

// ---------------------------------------------------------------------
// 3. A destination the caller may not write.
// ---------------------------------------------------------------------

/// As `nobody`: a root-owned 0444 file in a directory `nobody` may write
/// to is refused (single copy and tree) with PermissionDenied and left
/// untouched; with `force` it is replaced.
#[test]
fn nobody_may_not_replace_a_file_it_may_not_write() {
    const TEST: &str = "contract::nobody_may_not_replace_a_file_it_may_not_write";
    if let Some((src, dst)) = child_paths() {
        assert!(!is_root());
        let (f, h) = (dst.join("f"), dst.join("h"));
        let old = b"old, root's".to_vec();
        let (ino_f, ino_h) = (ino(&f), ino(&h));

        let e = fastcopy::copy(src.join("f"), &f).unwrap_err();
        assert_eq!(e.operation(), Operation::DestinationNotWritable, "{e}");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        assert_eq!(e.path(), f);
        assert_content(&f, &old);
        assert_eq!(ino(&f), ino_f);

        // The tree: f and h refused, g (new) copied.
        let e = fastcopy::copy_tree(&src, &dst, &TreeOptions::new()).unwrap_err();
        assert_eq!(e.operation(), Operation::Incomplete, "{e}");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        let r = e.tree_report().unwrap();
        let failed: BTreeSet<PathBuf> = r.errors.iter().map(|e| e.path().to_path_buf()).collect();
        assert_eq!(
            failed,
            BTreeSet::from([f.clone(), h.clone()]),
            "{:?}",
            r.errors
        );
        for e in &r.errors {
            assert_eq!(e.operation(), Operation::DestinationNotWritable, "{e}");
            assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        }
        assert_content(&f, &old);
        assert_content(&h, &old);
        assert_eq!((ino(&f), ino(&h)), (ino_f, ino_h));
        assert_content(&dst.join("g"), b"new g");
        assert_no_temp(&dst);

        // Forced: replaced.
        let r = fastcopy::copy_with(src.join("f"), &f, &CopyOptions::new().force(true)).unwrap();
        assert_eq!(r.skipped, None);
        assert_content(&f, b"new f");
        let opts = TreeOptions::new().copy_options(CopyOptions::new().force(true));
        fastcopy::copy_tree(&src, &dst, &opts).unwrap_or_else(|e| panic!("{e}"));
        assert_content(&h, b"new h");
        assert_no_temp(&dst);
        return;
    }
    let Some((d, src, dst)) = unprivileged_setup(TEST) else {
        return;
    };
    fs::create_dir(&src).unwrap();
    fs::create_dir(&dst).unwrap();
    chmod(&src, 0o755);
    // A directory nobody may write to (its own: a tree copy sets the
    // directory's mode and times), no sticky bit: nobody could rename over
    // root's file, which is exactly what must not happen.
    chown(&dst, 65534, 65534);
    chmod(&dst, 0o777);
    for name in ["f", "g", "h"] {
        write(&src.join(name), format!("new {name}").as_bytes());
        chmod(&src.join(name), 0o644);
    }
    for name in ["f", "h"] {
        write(&dst.join(name), b"old, root's");
        chmod(&dst.join(name), 0o444);
    }
    run_as_nobody(TEST, &src, &dst);
    // Replaced by nobody: a new file of its own.
    for name in ["f", "h"] {
        assert_content(&dst.join(name), format!("new {name}").as_bytes());
        assert_eq!(owner(&dst.join(name)), (65534, 65534), "{name}");
        assert_eq!(mode(&dst.join(name)), 0o644, "{name}");
    }
    assert_no_temp(&dst);
    assert_no_temp(d.path());
}

/// As root, a 0444 destination is replaced without `force`, as `cp` does
/// as root (root may write it).
fn root_replaces_a_read_only_destination(fs: Fs, dir: &Path) {
    if !is_root() {
        testfs::skipped("root_replaces_a_read_only_destination", "needs root");
        return;
    }
    let (src, dst) = (dir.join("src"), dir.join("dst"));
    let data = testfs::pattern(20_000, 9);
    write(&src, &data);
    chmod(&src, 0o640);
    write(&dst, b"read-only");
    chmod(&dst, 0o444);
    let r = fastcopy::copy(&src, &dst).unwrap_or_else(|e| panic!("{fs}: {e}"));
    assert_eq!(r.skipped, None);
    assert_content(&dst, &data);
    assert_eq!(mode(&dst), 0o640, "{fs}");
    // Trees too.
    let (s, t) = (dir.join("s"), dir.join("t"));
    fs::create_dir(&s).unwrap();
    fs::create_dir(&t).unwrap();
    write(&s.join("f"), &data);
    write(&t.join("f"), b"read-only");
    chmod(&t.join("f"), 0o444);
    fastcopy::copy_tree(&s, &t, &TreeOptions::new()).unwrap_or_else(|e| panic!("{fs}: {e}"));
    assert_content(&t.join("f"), &data);
    assert_names(dir, &["dst", "s", "src", "t"]);
}

// ---------------------------------------------------------------------
// 4. Ownership: one rule for files and trees.
// ---------------------------------------------------------------------

/// As root, the copy of nobody's 0600 file onto an existing root-owned
/// 0644 file belongs to nobody, mode 0600: by `copy_with` and by
/// `copy_tree`, replacing and creating alike.
fn root_copies_keep_the_source_owner(fs: Fs, dir: &Path) {
    if !is_root() {
        testfs::skipped("root_copies_keep_the_source_owner", "needs root");
        return;
    }
    let data = testfs::pattern(30_000, 10);
    let src = dir.join("src");
    write(&src, &data);
    chown(&src, 65534, 65534);
    chmod(&src, 0o600);
    let check = |p: &Path| {
        assert_content(p, &data);
        assert_eq!(owner(p), (65534, 65534), "{fs}: {}", p.display());
        assert_eq!(mode(p), 0o600, "{fs}: {}", p.display());
    };

    let dst = dir.join("dst");
    write(&dst, b"root's");
    chmod(&dst, 0o644);
    fastcopy::copy_with(&src, &dst, &CopyOptions::new()).unwrap();
    check(&dst);
    let new = dir.join("new");
    fastcopy::copy_with(&src, &new, &CopyOptions::new()).unwrap();
    check(&new);

    let (s, t) = (dir.join("s"), dir.join("t"));
    fs::create_dir(&s).unwrap();
    fs::create_dir(&t).unwrap();
    for name in ["f", "g"] {
        write(&s.join(name), &data);
        chown(&s.join(name), 65534, 65534);
        chmod(&s.join(name), 0o600);
    }
    write(&t.join("f"), b"root's");
    chmod(&t.join("f"), 0o644);
    fastcopy::copy_tree(&s, &t, &TreeOptions::new()).unwrap_or_else(|e| panic!("{fs}: {e}"));
    check(&t.join("f"));
    check(&t.join("g"));
    assert_no_temp(dir);
    assert_no_temp(&t);
}

// ---------------------------------------------------------------------
// 5. In place.
// ---------------------------------------------------------------------

/// `in_place`: the destination keeps its inode, so its other hard link
/// sees the new content, and its owner and mode; its mtime is the
/// source's to the nanosecond. Without it: a new inode, the other link
/// keeps the old content, and the report says so.
fn in_place_keeps_the_inode_and_its_links(fs: Fs, dir: &Path) {
    if !is_root() {
        testfs::skipped("in_place_keeps_the_inode_and_its_links", "needs root");
        return;
    }
    let src = dir.join("src");
    let data = testfs::pattern(100_000, 11);
    let src_time = time_ago(5000, 123_456_789);
    write_at(&src, &data, src_time);
    chmod(&src, 0o644);
    // Longer than the source: the tail must go.
    let old = testfs::pattern(300_000, 12);
    let linked = |name: &str, other: &str| {
        let (d, o) = (dir.join(name), dir.join(other));
        write(&d, &old);
        chown(&d, 65534, 65534);
        chmod(&d, 0o640);
        fs::hard_link(&d, &o).unwrap();
        (d, o)
    };

    let (dst, other) = linked("dst", "other");
    let before = ino(&dst);
    let r = fastcopy::copy_with(&src, &dst, &CopyOptions::new().in_place(true))
        .unwrap_or_else(|e| panic!("{fs}: {e}"));
    assert_eq!(r.bytes, 100_000);
    assert_eq!(ino(&dst), before, "{fs}: not in place");
    assert_content(&dst, &data);
    assert_content(&other, &data);
    assert_eq!(owner(&dst), (65534, 65534), "{fs}");
    assert_eq!(mode(&dst), 0o640, "{fs}");
    assert_eq!(mtime(&dst), src_time, "{fs}");
    assert!(
        !r.warnings
            .iter()
            .any(|w| matches!(w, Warning::ReplacedHardLinks { .. })),
        "{fs}: {:?}",
        r.warnings
    );

    let (dst2, other2) = linked("dst2", "other2");
    let before = ino(&dst2);
    let r = fastcopy::copy_with(&src, &dst2, &CopyOptions::new()).unwrap();
    assert_ne!(ino(&dst2), before, "{fs}");
    assert_content(&dst2, &data);
    assert_content(&other2, &old);
    assert_eq!(mtime(&dst2), src_time, "{fs}");
    assert!(
        r.warnings
            .iter()
            .any(|w| matches!(w, Warning::ReplacedHardLinks { links: 1 })),
        "{fs}: {:?}",
        r.warnings
    );

    // Trees: the same, for a file with a link outside the tree.
    let (s, t) = (dir.join("s"), dir.join("t"));
    fs::create_dir(&s).unwrap();
    fs::create_dir(&t).unwrap();
    write_at(&s.join("f"), &data, src_time);
    write(&t.join("f"), &old);
    chown(&t.join("f"), 65534, 65534);
    chmod(&t.join("f"), 0o640);
    fs::hard_link(t.join("f"), dir.join("outside")).unwrap();
    let before = ino(&t.join("f"));
    let opts = TreeOptions::new().copy_options(CopyOptions::new().in_place(true));
    fastcopy::copy_tree(&s, &t, &opts).unwrap_or_else(|e| panic!("{fs}: {e}"));
    assert_eq!(ino(&t.join("f")), before, "{fs}: tree not in place");
    assert_content(&dir.join("outside"), &data);
    assert_eq!(owner(&t.join("f")), (65534, 65534), "{fs}");
    assert_eq!(mode(&t.join("f")), 0o640, "{fs}");
    assert_eq!(mtime(&t.join("f")), src_time, "{fs}");
    assert_no_temp(dir);
    assert_no_temp(&t);
}

/// On a tmpfs with room for the file once but not twice: replacing fails
/// with StorageFull and keeps the old destination, with no temporary;
/// writing in place succeeds.
#[test]
fn in_place_needs_room_for_one_copy_only() {
    const TEST: &str = "contract_in_place_room";
    let Some(small) = SmallTmpfs::mount(TEST, "1m") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let data = testfs::pattern(600 << 10, 13);
    write(&src, &data);
    let dst = small.path().join("dst");
    let old = testfs::pattern(600 << 10, 14);
    write(&dst, &old);
    let before = ino(&dst);
    let e = fastcopy::copy(&src, &dst).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StorageFull, "{e}");
    assert_content(&dst, &old);
    assert_eq!(ino(&dst), before);
    assert_names(small.path(), &["dst"]);

    let r = fastcopy::copy_with(&src, &dst, &CopyOptions::new().in_place(true))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.bytes, 600 << 10);
    assert_content(&dst, &data);
    assert_eq!(ino(&dst), before);
    assert_names(small.path(), &["dst"]);
}

// ---------------------------------------------------------------------
// 6. Tree cancellation and the per-entry callback.
// ---------------------------------------------------------------------

/// Cancels once `after` entries were done.
struct CancelAfter {
    after: usize,
    done: AtomicUsize,
}

impl TreeProgress for CancelAfter {
    fn file_copied(&self, _bytes: u64) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
    fn entry_done(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
    }
    fn cancelled(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.after
    }
}

/// A cancelled copy to a new destination is `Err(Cancelled)` and leaves
/// nothing: no destination, no staging directory.
fn cancelling_a_new_tree_leaves_nothing(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    const FILES: usize = 100;
    for i in 0..FILES {
        let sub = src.join(format!("d{}", i % 4));
        fs::create_dir_all(&sub).unwrap();
        write(
            &sub.join(format!("f{i}")),
            &testfs::pattern(1000 + i, i as u64),
        );
    }
    let dst = dir.join("dst");
    let p = Arc::new(CancelAfter {
        after: 5,
        done: AtomicUsize::new(0),
    });
    let opts = TreeOptions::new().progress(p.clone());
    let e = fastcopy::copy_tree(&src, &dst, &opts).unwrap_err();
    assert_eq!(e.operation(), Operation::Cancelled, "{fs}: {e}");
    let done = p.done.load(Ordering::SeqCst);
    assert!(done < FILES, "{fs}: not stopped early: {done} entries");
    assert!(!dst.exists(), "{fs}: the destination appeared");
    assert_names(dir, &["src"]);
}

/// Cancelled while filling an existing directory: `Err(Cancelled)`, the
/// files already there untouched, no temporary left.
fn cancelling_into_an_existing_tree_leaves_no_temporary(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    const FILES: usize = 100;
    fs::create_dir(&src).unwrap();
    for i in 0..FILES {
        write(
            &src.join(format!("f{i}")),
            &testfs::pattern(1000 + i, i as u64),
        );
    }
    let dst = dir.join("dst");
    fs::create_dir(&dst).unwrap();
    write(&dst.join("mine"), b"kept");
    let p = Arc::new(CancelAfter {
        after: 5,
        done: AtomicUsize::new(0),
    });
    let opts = TreeOptions::new().progress(p.clone());
    let e = fastcopy::copy_tree(&src, &dst, &opts).unwrap_err();
    assert_eq!(e.operation(), Operation::Cancelled, "{fs}: {e}");
    assert!(
        p.done.load(Ordering::SeqCst) < FILES,
        "{fs}: not stopped early"
    );
    assert_content(&dst.join("mine"), b"kept");
    let there = names(&dst);
    assert!(there.len() < FILES + 1, "{fs}: everything copied");
    for name in there.iter().filter(|n| *n != "mine") {
        let i: usize = name[1..].parse().unwrap();
        assert_content(&dst.join(name), &testfs::pattern(1000 + i, i as u64));
    }
    assert_no_temp(&dst);
    assert_names(dir, &["dst", "src"]);
}

/// Cancels once the file being copied into the staging directory beside
/// `dst` holds some but not all of its bytes; remembers that size.
struct CancelMidFile {
    dst: PathBuf,
    total: u64,
    at: Mutex<Option<u64>>,
}

impl CancelMidFile {
    /// The size of the first file found in the staging directory.
    fn staged_size(&self) -> Option<u64> {
        let parent = self.dst.parent().unwrap();
        let staging = temp_files(parent).into_iter().next()?;
        let dir = fs::read_dir(parent.join(staging)).ok()?;
        dir.filter_map(|e| e.ok()?.metadata().ok())
            .find(|m| m.is_file())
            .map(|m| m.len())
    }
}

impl TreeProgress for CancelMidFile {
    fn cancelled(&self) -> bool {
        let mut at = self.at.lock().unwrap();
        if at.is_none()
            && let Some(n) = self.staged_size().filter(|&n| n > 0 && n < self.total)
        {
            *at = Some(n);
        }
        at.is_some()
    }
}

/// Cancelled inside a large file (the tree's cancellation is polled
/// between the chunks of a file): `Err(Cancelled)`, nothing left.
fn cancelling_inside_a_large_file_leaves_nothing(fs: Fs, dir: &Path) {
    const SIZE: u64 = 64 << 20;
    let src = dir.join("src");
    fs::create_dir(&src).unwrap();
    write(&src.join("big"), &testfs::pattern(SIZE as usize, 16));
    let dst = dir.join("dst");
    let p = Arc::new(CancelMidFile {
        dst: dst.clone(),
        total: SIZE,
        at: Mutex::new(None),
    });
    let opts = TreeOptions::new()
        .copy_options(CopyOptions::new().reflink(Reflink::Never))
        .progress(p.clone());
    let e = fastcopy::copy_tree(&src, &dst, &opts).unwrap_err();
    assert_eq!(e.operation(), Operation::Cancelled, "{fs}: {e}");
    let at = p.at.lock().unwrap().expect("never saw a partial file");
    assert!(at > 0 && at < SIZE, "{fs}: {at}");
    assert_names(dir, &["src"]);
}

/// What the per-entry callback received.
#[derive(Debug)]
struct Seen {
    source: PathBuf,
    destination: PathBuf,
    kind: EntryKind,
    method: Option<Method>,
    bytes: u64,
}

#[derive(Default)]
struct Entries(Mutex<Vec<Seen>>);

impl TreeProgress for Entries {
    fn wants_entries(&self) -> bool {
        true
    }
    fn entry(&self, e: &TreeEntry<'_>) {
        self.0.lock().unwrap().push(Seen {
            source: e.source.to_path_buf(),
            destination: e.destination.to_path_buf(),
            kind: e.kind,
            method: e.method,
            bytes: e.bytes,
        });
    }
}

/// With `wants_entries`, every file is reported once, with its source,
/// its final destination path (never the staging directory's), the method
/// and the bytes.
fn every_entry_is_reported_with_its_final_path(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    let files = [
        ("a", 0usize),
        ("b", 1000),
        ("sub/c", 70_000),
        ("sub/deep/d", 300_000),
    ];
    for (rel, len) in files {
        let p = src.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        write(&p, &testfs::pattern(len, len as u64));
    }
    symlink("a", src.join("link")).unwrap();
    let dst = dir.join("dst");
    let p = Arc::new(Entries::default());
    let opts = TreeOptions::new().progress(p.clone());
    let r = fastcopy::copy_tree(&src, &dst, &opts).unwrap_or_else(|e| panic!("{fs}: {e}"));
    let seen = p.0.lock().unwrap();
    for (rel, len) in files {
        let mine: Vec<&Seen> = seen.iter().filter(|s| s.source == src.join(rel)).collect();
        assert_eq!(mine.len(), 1, "{fs} {rel}: {seen:?}");
        let s = mine[0];
        assert_eq!(s.destination, dst.join(rel), "{fs}: {s:?}");
        assert_eq!(s.kind, EntryKind::File, "{fs}: {s:?}");
        assert!(s.method.is_some(), "{fs}: {s:?}");
        assert_eq!(s.bytes, len as u64, "{fs}: {s:?}");
        assert_same_content(&src.join(rel), &dst.join(rel));
    }
    let link: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.source == src.join("link"))
        .collect();
    assert_eq!(link.len(), 1, "{fs}: {seen:?}");
    assert_eq!(link[0].kind, EntryKind::Symlink);
    assert_eq!(link[0].destination, dst.join("link"));
    for s in seen.iter() {
        assert!(
            s.destination.starts_with(&dst)
                && !s
                    .destination
                    .to_string_lossy()
                    .contains(fastcopy::TEMP_MARKER),
            "{fs}: staging path reported: {s:?}"
        );
    }
    let files_seen = seen.iter().filter(|s| s.kind == EntryKind::File).count();
    assert_eq!(files_seen as u64, r.metrics.files(), "{fs}");
    assert_eq!(files_seen, files.len(), "{fs}");
    // Methods as the metrics counted them.
    for (m, stats) in r.metrics.per_method() {
        let n = seen.iter().filter(|s| s.method == Some(m)).count() as u64;
        assert_eq!(n, stats.files, "{fs}: {m}");
    }
    assert_names(dir, &["dst", "src"]);
}

// ---------------------------------------------------------------------
// 7. No named temporary while a file is copied.
// ---------------------------------------------------------------------

/// Lists the destination directory each time progress advances.
struct Lister {
    dir: PathBuf,
    listings: Mutex<Vec<Vec<String>>>,
}

impl Progress for Lister {
    fn advance(&self, _done: u64, _total: u64) {
        self.listings.lock().unwrap().push(names(&self.dir));
    }
}

/// While the data of a single copy is written, the directory shows no
/// `.fastcopy-tmp` entry and no destination (a new one) or only the old
/// one: the file is anonymous (`O_TMPFILE`) until complete.
fn a_single_copy_writes_no_named_temporary(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    let data = testfs::pattern(24 << 20, 15);
    write(&src, &data);
    let dst = dir.join("dst");
    for (existing, want) in [(false, vec!["src"]), (true, vec!["dst", "src"])] {
        let lister = Arc::new(Lister {
            dir: dir.to_path_buf(),
            listings: Mutex::new(Vec::new()),
        });
        let opts = CopyOptions::new()
            .reflink(Reflink::Never)
            .progress(lister.clone());
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap_or_else(|e| panic!("{fs}: {e}"));
        assert_eq!(r.bytes, data.len() as u64);
        let listings = lister.listings.lock().unwrap();
        assert!(!listings.is_empty(), "{fs}: progress never advanced");
        for l in listings.iter() {
            assert_eq!(l, &want, "{fs} (existing destination: {existing})");
        }
        assert_content(&dst, &data);
        assert_names(dir, &["dst", "src"]);
    }
}

per_fs!(
    root_replaces_a_read_only_destination,
    root_copies_keep_the_source_owner,
    in_place_keeps_the_inode_and_its_links,
    cancelling_a_new_tree_leaves_nothing,
    cancelling_into_an_existing_tree_leaves_no_temporary,
    cancelling_inside_a_large_file_leaves_nothing,
    every_entry_is_reported_with_its_final_path,
    a_single_copy_writes_no_named_temporary,
);
