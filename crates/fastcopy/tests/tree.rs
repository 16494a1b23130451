//! Directory trees: `copy_tree` reproduces content, modes, times to the
//! nanosecond, symlinks, hard-link groups and FIFOs; it never writes
//! outside the destination; it goes on after failures and reports them.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};

use fastcopy::{CopyOptions, Method, Operation, Overwrite, Reflink, TreeOptions, TreeReport};

use crate::common::*;

/// What is compared of one entry.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
    Fifo,
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    kind: Kind,
    /// Permission bits (not for symlinks).
    mode: u32,
    /// Modification time in ns since the epoch.
    mtime: i128,
    /// For a file with several names: the first of its names (sorted).
    group: Option<PathBuf>,
}

/// Every entry below `root` (not `root` itself unless `with_root`), by
/// relative path.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, PathBuf> = BTreeMap::new();
    walk(root, root, &mut out, &mut inodes);
    out
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<PathBuf, Entry>,
    inodes: &mut BTreeMap<u64, PathBuf>,
) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let m = fs::symlink_metadata(&path).unwrap();
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            Kind::Link(fs::read_link(&path).unwrap())
        } else if ft.is_file() {
            Kind::File(fs::read(&path).unwrap())
        } else {
            use std::os::unix::fs::FileTypeExt;
            assert!(ft.is_fifo(), "{}: unexpected type", path.display());
            Kind::Fifo
        };
        let group = (ft.is_file() && m.nlink() > 1)
            .then(|| inodes.entry(m.ino()).or_insert_with(|| rel.clone()).clone());
        let mode = if ft.is_symlink() {
            0
        } else {
            m.mode() & 0o7777
        };
        out.insert(
            rel,
            Entry {
                kind,
                mode,
                mtime: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                group,
            },
        );
        if ft.is_dir() {
            walk(root, &path, out, inodes);
        }
    }
}

fn assert_same_tree(src: &Path, dst: &Path) {
    let (a, b) = (snapshot(src), snapshot(dst));
    let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "only in source: {only_a:?}; only in copy: {only_b:?}"
    );
    for (k, e) in &a {
        assert_eq!(Some(e), b.get(k), "{}", k.display());
    }
    let root_a = fs::metadata(src).unwrap();
    let root_b = fs::metadata(dst).unwrap();
    assert_eq!(root_a.mode() & 0o7777, root_b.mode() & 0o7777, "root mode");
    assert_eq!(
        (root_a.mtime(), root_a.mtime_nsec()),
        (root_b.mtime(), root_b.mtime_nsec()),
        "root mtime"
    );
}

/// Sets both times of anything (a link itself, not its target), without
/// opening it.
fn set_mtime(path: &Path, secs_ago: u64, nanos: u32) {
    let secs = time_ago(secs_ago, 0)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = rustix::fs::Timespec {
        tv_sec: secs,
        tv_nsec: nanos as _,
    };
    let times = rustix::fs::Timestamps {
        last_access: t,
        last_modification: t,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &times,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o640),
        0,
    )
    .unwrap();
}

/// A tree with every kind of entry: files of several sizes and modes, a
/// read-only directory, relative/absolute/dangling symlinks, a hard-link
/// group across directories, a FIFO; times with nanoseconds everywhere.
fn sample_tree(root: &Path) {
    let dirs = ["", "a", "a/deep", "a/deep/er", "b", "ro", "empty"];
    for d in dirs {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    write(&root.join("zero"), b"");
    write(&root.join("small"), b"hello tree");
    write(&root.join("a/page"), &testfs::pattern(4096, 1));
    write(
        &root.join("a/deep/big"),
        &testfs::pattern(MIB as usize + 17, 2),
    );
    write(&root.join("a/deep/er/odd"), &testfs::pattern(70_001, 3));
    write(&root.join("ro/inside"), b"in a read-only directory");
    write(&root.join("b/linked"), b"one inode, three names");
    fs::hard_link(root.join("b/linked"), root.join("a/second")).unwrap();
    fs::hard_link(root.join("b/linked"), root.join("third")).unwrap();
    symlink("../small", root.join("a/rel")).unwrap();
    symlink("/etc/hostname", root.join("abs")).unwrap();
    symlink("no/such/target", root.join("b/dangling")).unwrap();
    symlink("a", root.join("dirlink")).unwrap();
    mkfifo(&root.join("b/fifo"));
    chmod(&root.join("small"), 0o600);
    chmod(&root.join("a/page"), 0o755);
    chmod(&root.join("a/deep/er/odd"), 0o640);
    chmod(&root.join("a/deep"), 0o750);
    chmod(&root.join("b/fifo"), 0o620);
    // Files and links first, directories bottom-up, so that nothing
    // written afterwards changes a directory's time.
    let snap = snapshot(root);
    for (i, rel) in snap.keys().rev().enumerate() {
        set_mtime(&root.join(rel), 1000 + i as u64, 123_456_789 - i as u32);
    }
    chmod(&root.join("ro"), 0o555);
    set_mtime(&root.join("ro"), 5000, 1);
    set_mtime(root, 6000, 999_999_999);
}

fn copy(src: &Path, dst: &Path, opts: &TreeOptions) -> TreeReport {
    let r = fastcopy::copy_tree(src, dst, opts).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

/// A copy in which some entries fail: an error, `Incomplete`, that carries
/// the report (a partial copy is never `Ok`).
fn partial(src: &Path, dst: &Path, opts: &TreeOptions) -> TreeReport {
    let e = fastcopy::copy_tree(src, dst, opts).unwrap_err();
    assert_eq!(e.operation(), Operation::Incomplete, "{e}");
    let r = e.into_tree_report().expect("the report of a partial copy");
    assert!(!r.errors.is_empty());
    r
}

fn tree_is_copied(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    sample_tree(&src);
    let before = snapshot(&src);
    for jobs in [1, 0] {
        let dst = dir.join(format!("dst-{jobs}"));
        let r = copy(&src, &dst, &TreeOptions::new().jobs(jobs));
        assert_same_tree(&src, &dst);
        assert_eq!(r.metrics.files(), 7, "{fs}: {r:?}");
        assert_eq!(r.hard_links, 2);
        assert_eq!(r.symlinks, 4);
        assert_eq!(r.special_files, 1);
        assert_eq!(r.directories, 7);
        assert_eq!((r.skipped, r.up_to_date), (0, 0));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert!(r.jobs >= 1);
        if clones(fs) {
            assert_eq!(r.metrics.method(Method::Reflink).files, 6, "{fs}: {r:?}");
        }
        assert_no_temp_below(&dst);
    }
    assert_no_temp_below(dir);
    assert_eq!(snapshot(&src), before, "the source changed");
}
per_fs!(tree_is_copied);

/// Names of fastcopy temporaries directly in `dir`.
fn temporaries_in(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(fastcopy::TEMP_MARKER))
        .collect()
}

/// A new destination appears only when its tree is complete: Linux builds
/// it in a staging directory beside it. Checked from the progress callback
/// after every entry: `dst` is absent, and exactly one staging directory
/// named after it is there. Afterwards `dst` equals the source and the
/// staging directory is gone.
#[cfg(target_os = "linux")]
fn a_new_tree_appears_only_when_complete(fs_: Fs, dir: &Path) {
    use std::sync::{Arc, Mutex};
    struct Watch {
        dst: PathBuf,
        checks: Mutex<(usize, Vec<String>)>,
    }
    impl Watch {
        fn check(&self) {
            let mut problems = Vec::new();
            if self.dst.exists() {
                problems.push("the destination is visible".to_owned());
            }
            let staging = temporaries_in(self.dst.parent().unwrap());
            if staging.len() != 1 || !staging[0].starts_with(".dst.fastcopy-tmp-") {
                problems.push(format!("staging entries: {staging:?}"));
            }
            let mut c = self.checks.lock().unwrap();
            c.0 += 1;
            c.1.extend(problems);
        }
    }
    impl fastcopy::TreeProgress for Watch {
        fn file_copied(&self, _bytes: u64) {
            self.check();
        }
        fn entry_done(&self) {
            self.check();
        }
    }
    let src = dir.join("src");
    sample_tree(&src);
    let dst = dir.join("dst");
    let watch = Arc::new(Watch {
        dst: dst.clone(),
        checks: Mutex::new((0, Vec::new())),
    });
    copy(&src, &dst, &TreeOptions::new().progress(watch.clone()));
    let (checks, problems) = &*watch.checks.lock().unwrap();
    assert!(*checks >= 13, "{fs_}: {checks} checks");
    assert!(problems.is_empty(), "{fs_}: {problems:?}");
    assert_same_tree(&src, &dst);
    assert!(
        temporaries_in(dir).is_empty(),
        "{fs_}: {:?}",
        temporaries_in(dir)
    );
}
#[cfg(target_os = "linux")]
per_fs!(a_new_tree_appears_only_when_complete);

/// The same as an unprivileged user, with a read-only (0555) directory in
/// the source: the staging directory is still removed (its copied
/// directories are made writable again first).
#[cfg(target_os = "linux")]
#[test]
fn a_staging_tree_with_read_only_directories_is_removed() {
    const TEST: &str = "tree::a_staging_tree_with_read_only_directories_is_removed";
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    struct Squat {
        dst: PathBuf,
        done: AtomicBool,
    }
    impl fastcopy::TreeProgress for Squat {
        fn entry_done(&self) {
            self.file_copied(0);
        }
        fn file_copied(&self, _bytes: u64) {
            if !self.done.swap(true, Ordering::SeqCst) {
                fs::create_dir(&self.dst).unwrap();
            }
        }
    }
    if let Some((src, dst)) = child_paths() {
        let squat = Arc::new(Squat {
            dst: dst.clone(),
            done: AtomicBool::new(false),
        });
        let opts = TreeOptions::new().jobs(1).progress(squat);
        let e = fastcopy::copy_tree(&src, &dst, &opts).unwrap_err();
        assert_eq!(e.operation(), Operation::DestinationExists, "{e}");
        assert!(temporaries_in(dst.parent().unwrap()).is_empty());
        return;
    }
    let Some((d, src, dst)) = unprivileged_setup(TEST) else {
        return;
    };
    fs::create_dir_all(src.join("ro/deeper")).unwrap();
    write(&src.join("ro/deeper/f"), b"x");
    write(&src.join("ro/g"), b"y");
    for p in ["", "ro", "ro/deeper"] {
        chmod(&src.join(p), 0o755);
    }
    chmod(&src.join("ro/deeper"), 0o555);
    chmod(&src.join("ro"), 0o555);
    run_as_nobody(TEST, &src, &dst);
    assert!(temporaries_in(d.path()).is_empty());
}

/// A dangling symbolic link where the new tree goes: refused at once, as
/// mkdir would, nothing copied.
#[test]
fn a_dangling_link_in_the_way_of_the_root_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir(&src).unwrap();
    write(&src.join("f"), b"x");
    let dst = d.path().join("dst");
    symlink(d.path().join("nowhere"), &dst).unwrap();
    let e = fastcopy::copy_tree(&src, &dst, &TreeOptions::new()).unwrap_err();
    assert_eq!(e.operation(), Operation::CreateDirectory, "{e}");
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(!d.path().join("nowhere").exists());
    assert!(temporaries_in(d.path()).is_empty());
}

/// A progress callback that panics: the panic reaches the caller (the
/// other workers stop instead of waiting for it), and no staging directory
/// or temporary file is left.
#[test]
fn a_panicking_progress_callback_ends_the_copy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    /// Panics once: the other workers go on, and must not wait for the
    /// job the panicking one held.
    struct Boom(AtomicBool);
    impl fastcopy::TreeProgress for Boom {
        fn file_copied(&self, _bytes: u64) {
            if !self.0.swap(true, Ordering::SeqCst) {
                panic!("boom");
            }
        }
    }
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..40 {
        fs::create_dir_all(src.join(format!("d{}", i % 4))).unwrap();
        write(&src.join(format!("d{}/f{i}", i % 4)), b"data");
    }
    for jobs in [1, 4] {
        let dst = d.path().join(format!("dst{jobs}"));
        let boom = Arc::new(Boom(AtomicBool::new(false)));
        let opts = TreeOptions::new().jobs(jobs).progress(boom);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fastcopy::copy_tree(&src, &dst, &opts)
        }));
        assert!(r.is_err(), "jobs {jobs}: no panic");
        assert!(
            !dst.exists() || cfg!(not(target_os = "linux")),
            "jobs {jobs}"
        );
        assert!(
            temporaries_in(d.path()).is_empty(),
            "{:?}",
            temporaries_in(d.path())
        );
    }
}

/// Something else creates the destination while the tree is copied: the
/// copy fails (destination exists, naming it), what the other made is
/// untouched, and the staging directory is removed.
#[cfg(target_os = "linux")]
#[test]
fn a_destination_made_meanwhile_is_not_replaced() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    struct Squat {
        dst: PathBuf,
        done: AtomicBool,
    }
    impl fastcopy::TreeProgress for Squat {
        fn file_copied(&self, _bytes: u64) {
            if !self.done.swap(true, Ordering::SeqCst) {
                fs::create_dir(&self.dst).unwrap();
                fs::write(self.dst.join("theirs"), b"t").unwrap();
            }
        }
    }
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    sample_tree(&src);
    let dst = d.path().join("dst");
    let squat = Arc::new(Squat {
        dst: dst.clone(),
        done: AtomicBool::new(false),
    });
    let e = fastcopy::copy_tree(&src, &dst, &TreeOptions::new().progress(squat)).unwrap_err();
    assert_eq!(e.operation(), Operation::DestinationExists, "{e}");
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(e.path(), dst);
    let names: Vec<_> = fs::read_dir(&dst)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["theirs"]);
    assert_content(&dst.join("theirs"), b"t");
    assert!(
        temporaries_in(d.path()).is_empty(),
        "{:?}",
        temporaries_in(d.path())
    );
}

/// Panics if a temporary file is anywhere below `dir`.
fn assert_no_temp_below(dir: &Path) {
    for (rel, _) in snapshot(dir) {
        let name = rel.to_string_lossy().into_owned();
        assert!(!name.contains(fastcopy::TEMP_MARKER), "left behind: {name}");
    }
}

#[test]
fn copies_into_an_existing_directory_and_replaces_files() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    sample_tree(&src);
    fs::create_dir_all(dst.join("a")).unwrap();
    write(&dst.join("small"), b"old content, longer than the new one");
    write(&dst.join("a/extra"), b"kept");
    symlink("elsewhere", dst.join("abs")).unwrap();
    copy(&src, &dst, &TreeOptions::new());
    assert_content(&dst.join("small"), b"hello tree");
    assert_content(&dst.join("a/extra"), b"kept");
    assert_eq!(
        fs::read_link(dst.join("abs")).unwrap(),
        Path::new("/etc/hostname")
    );
    fs::remove_file(dst.join("a/extra")).unwrap();
    // Its directory's time changed with the removal: compare the rest.
    let (a, b) = (snapshot(&src), snapshot(&dst));
    for (k, e) in &a {
        if k != Path::new("a") {
            assert_eq!(Some(e), b.get(k), "{}", k.display());
        }
    }
}

#[test]
fn planted_symlinks_in_the_destination_are_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst, outside) = (
        d.path().join("src"),
        d.path().join("dst"),
        d.path().join("outside"),
    );
    fs::create_dir_all(src.join("sub")).unwrap();
    write(&src.join("sub/file"), b"copied");
    write(&src.join("victim"), b"new");
    write(&src.join("other"), b"x");
    fs::create_dir_all(&outside).unwrap();
    write(&outside.join("victim"), b"must stay");
    fs::create_dir_all(&dst).unwrap();
    // A directory of the source is a link to elsewhere in the destination,
    // and so is a file.
    symlink(&outside, dst.join("sub")).unwrap();
    symlink(outside.join("victim"), dst.join("victim")).unwrap();

    let r = partial(&src, &dst, &TreeOptions::new());

    assert_eq!(names(&outside), ["victim"], "written outside");
    assert_content(&outside.join("victim"), b"must stay");
    // The file link was replaced by the copy, not written through.
    assert!(fs::symlink_metadata(dst.join("victim")).unwrap().is_file());
    assert_content(&dst.join("victim"), b"new");
    assert_content(&dst.join("other"), b"x");
    // The directory link is in the way: an error naming it; the rest copied.
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].operation(), Operation::CreateDirectory);
    assert_eq!(r.errors[0].path(), dst.join("sub"));
    assert!(fs::symlink_metadata(dst.join("sub")).unwrap().is_symlink());
}

#[test]
fn a_directory_is_not_copied_into_itself() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    write(&src.join("f"), b"x");
    for to in [src.join("sub/copy"), src.join("new"), src.clone()] {
        let e = fastcopy::copy_tree(&src, &to, &TreeOptions::new()).unwrap_err();
        assert_eq!(e.operation(), Operation::IntoItself, "{to:?}");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    }
    assert_eq!(names(&src), ["f", "sub"]);
    assert_eq!(names(&src.join("sub")), Vec::<String>::new());
}

#[test]
fn a_file_in_the_way_of_the_root_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::create_dir(&src).unwrap();
    write(&dst, b"file");
    let e = fastcopy::copy_tree(&src, &dst, &TreeOptions::new()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_content(&dst, b"file");
}

/// In the child of a test run as `nobody`: its source and destination.
pub(crate) fn child_paths() -> Option<(PathBuf, PathBuf)> {
    in_child().then(|| {
        let var = |k| PathBuf::from(std::env::var_os(k).unwrap());
        (var("TREE_SRC"), var("TREE_DST"))
    })
}

/// For a test run as the unprivileged user `nobody` (root reads and
/// removes anything): a directory everyone may write to, with the source
/// and destination paths in it. `None` (skipped) unless running as root.
pub(crate) fn unprivileged_setup(test: &str) -> Option<(tempfile::TempDir, PathBuf, PathBuf)> {
    if !testfs::is_root() {
        testfs::skipped(test, "needs root to switch to an unprivileged user");
        return None;
    }
    let d = tempfile::tempdir().unwrap();
    chmod(d.path(), 0o777);
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    Some((d, src, dst))
}

/// Runs `test` again in a child process as `nobody`, with `src` and `dst`.
pub(crate) fn run_as_nobody(test: &str, src: &Path, dst: &Path) {
    run_child(test, |c| {
        use std::os::unix::process::CommandExt;
        c.uid(65534)
            .gid(65534)
            .env("TREE_SRC", src)
            .env("TREE_DST", dst);
    });
}

/// Run as an unprivileged user (root reads anything): the unreadable
/// directory is reported, everything else is copied.
#[test]
fn unreadable_directory_is_reported_and_the_rest_copied() {
    const TEST: &str = "tree::unreadable_directory_is_reported_and_the_rest_copied";
    if let Some((src, dst)) = child_paths() {
        let r = partial(&src, &dst, &TreeOptions::new());
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert_eq!(r.errors[0].operation(), Operation::ReadDirectory);
        assert_eq!(r.errors[0].path(), src.join("closed"));
        // The destination appeared (built in a staging directory beside it,
        // whose name never shows), without the staging directory.
        assert!(temporaries_in(dst.parent().unwrap()).is_empty());
        assert_eq!(r.errors[0].kind(), std::io::ErrorKind::PermissionDenied);
        assert_content(&dst.join("open/f"), b"readable");
        assert_content(&dst.join("g"), b"also");
        return;
    }
    let Some((_dir, src, dst)) = unprivileged_setup(TEST) else {
        return;
    };
    fs::create_dir_all(src.join("open")).unwrap();
    fs::create_dir_all(src.join("closed")).unwrap();
    write(&src.join("open/f"), b"readable");
    write(&src.join("closed/secret"), b"no");
    write(&src.join("g"), b"also");
    for p in ["", "open", "closed"] {
        chmod(&src.join(p), 0o755);
    }
    chmod(&src.join("closed"), 0o000);
    run_as_nobody(TEST, &src, &dst);
    assert!(!dst.join("closed/secret").exists());
}

/// On tmpfs: creating 200,000 files on a disk filesystem takes long, and
/// on one without a journal deleting them slows down the next tests.
#[test]
fn a_hundred_thousand_files() {
    let Some(d) = testfs::dir(Fs::Tmpfs, "tree_100k") else {
        return;
    };
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    const DIRS: usize = 100;
    const PER_DIR: usize = 1000;
    for i in 0..DIRS {
        let dir = src.join(format!("d{i:03}"));
        fs::create_dir_all(&dir).unwrap();
        for j in 0..PER_DIR {
            // Every 100th file has a byte: the rest are empty.
            let data: &[u8] = if j % 100 == 0 { b"x" } else { b"" };
            fs::write(dir.join(format!("f{j:04}")), data).unwrap();
        }
    }
    let r = copy(&src, &dst, &TreeOptions::new());
    assert_eq!(r.metrics.files(), (DIRS * PER_DIR) as u64);
    assert_eq!(r.metrics.bytes(), (DIRS * PER_DIR / 100) as u64);
    assert_eq!(r.directories, DIRS as u64 + 1);
    for i in [0, 57, DIRS - 1] {
        let dir = dst.join(format!("d{i:03}"));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), PER_DIR);
        assert_content(&dir.join("f0100"), b"x");
        assert_content(&dir.join("f0999"), b"");
    }
}

#[test]
fn update_never_overwrites_a_newer_destination() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::create_dir_all(src.join("s")).unwrap();
    for name in ["same", "newer", "resized", "s/older-dst"] {
        write(&src.join(name), b"version 1");
        set_mtime(&src.join(name), 500, 1);
    }
    copy(&src, &dst, &TreeOptions::new());
    write(&src.join("newer"), b"version 2");
    set_mtime(&src.join("newer"), 100, 1);
    // Resized in the source, but the destination was edited later: kept,
    // whatever the sizes (cp -u and rsync -u compare times only).
    write(&src.join("resized"), b"v3");
    set_mtime(&src.join("resized"), 500, 1);
    write(&dst.join("resized"), b"edited in the copy, later");
    set_mtime(&dst.join("resized"), 10, 0);
    // The copy was edited after: same size, newer; left alone.
    write(&dst.join("same"), b"edited!!!");
    write(&src.join("new"), b"fresh");

    let older = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::Older));
    let r = copy(&src, &dst, &older);
    assert_eq!(r.up_to_date, 3, "{r:?}");
    assert_eq!(r.metrics.files(), 2);
    assert_content(&dst.join("same"), b"edited!!!");
    assert_content(&dst.join("newer"), b"version 2");
    assert_content(&dst.join("resized"), b"edited in the copy, later");
    assert_content(&dst.join("new"), b"fresh");
    assert_content(&dst.join("s/older-dst"), b"version 1");

    // Skip (cp -n, --update=none) leaves every existing file alone.
    write(&src.join("another"), b"another");
    let skip = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::Skip));
    let r = copy(&src, &dst, &skip);
    assert_eq!((r.up_to_date, r.metrics.files()), (5, 1), "{r:?}");
    assert_content(&dst.join("resized"), b"edited in the copy, later");
    assert_content(&dst.join("another"), b"another");

    // Without an update mode everything is copied again.
    let r = copy(&src, &dst, &TreeOptions::new());
    assert_eq!((r.up_to_date, r.metrics.files()), (0, 6));
    assert_content(&dst.join("same"), b"version 1");
    assert_content(&dst.join("resized"), b"v3");
}

#[test]
fn errors_do_not_stop_the_copy_unless_fail_fast() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..10 {
        fs::create_dir_all(src.join(format!("d{i}"))).unwrap();
        write(&src.join(format!("d{i}/f")), b"x");
    }
    let prepare = |dst: &Path| {
        fs::create_dir_all(dst).unwrap();
        for i in 0..10 {
            write(&dst.join(format!("d{i}")), b"a file where a directory goes");
        }
    };
    let dst = d.path().join("all");
    prepare(&dst);
    let r = partial(&src, &dst, &TreeOptions::new());
    assert_eq!(r.errors.len(), 10, "{:?}", r.errors);
    assert!(r.errors.iter().all(|e| e.path().starts_with(&dst)));

    let dst = d.path().join("fast");
    prepare(&dst);
    let opts = TreeOptions::new().jobs(1).fail_fast(true);
    let r = partial(&src, &dst, &opts);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
}

#[test]
fn follow_links_copies_what_links_point_to() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::create_dir_all(src.join("real")).unwrap();
    write(&src.join("real/f"), b"data");
    symlink("real", src.join("dirlink")).unwrap();
    symlink("real/f", src.join("filelink")).unwrap();
    // A loop: followed, it would never end.
    symlink("..", src.join("real/up")).unwrap();
    let r = partial(&src, &dst, &TreeOptions::new().follow_links(true));
    assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
    assert!(fs::symlink_metadata(dst.join("dirlink")).unwrap().is_dir());
    assert_content(&dst.join("dirlink/f"), b"data");
    assert!(
        fs::symlink_metadata(dst.join("filelink"))
            .unwrap()
            .is_file()
    );
    assert_eq!(r.symlinks, 0);
}

#[test]
fn sockets_are_skipped_with_a_warning() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::create_dir(&src).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(src.join("sock")).unwrap();
    write(&src.join("f"), b"x");
    let r = copy(&src, &dst, &TreeOptions::new());
    assert_eq!(r.skipped, 1);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].path, src.join("sock"));
    assert!(
        r.warnings[0].to_string().contains("socket"),
        "{}",
        r.warnings[0]
    );
    assert_eq!(names(&dst), ["f"]);
}

#[test]
fn a_file_or_symlink_source_is_one_entry() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("f"), b"x");
    symlink("f", d.path().join("l")).unwrap();
    let r = copy(
        &d.path().join("f"),
        &d.path().join("g"),
        &TreeOptions::new(),
    );
    assert_eq!(r.metrics.files(), 1);
    assert_content(&d.path().join("g"), b"x");
    let r = copy(
        &d.path().join("l"),
        &d.path().join("m"),
        &TreeOptions::new(),
    );
    assert_eq!(r.symlinks, 1);
    assert_eq!(fs::read_link(d.path().join("m")).unwrap(), Path::new("f"));
}

/// Btrfs and XFS: every file of the tree is a clone (all extents shared);
/// with Reflink::Never none is. ext4 and tmpfs: no file is, the refusal
/// costs one fallback for the tree, and the copies are whole.
fn clones_every_file(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    let files = ["a", "sub/b", "sub/c"];
    for (i, f) in files.iter().enumerate() {
        write(
            &src.join(f),
            &testfs::pattern(256 * KIB as usize + i, i as u64),
        );
    }
    let dst = dir.join("auto");
    let r = copy(&src, &dst, &TreeOptions::new().jobs(1));
    if !clones(fs) {
        assert_eq!(r.metrics.method(Method::Reflink).files, 0, "{fs}: {r:?}");
        // ext4 and tmpfs are known not to clone: not tried, no fallback.
        assert_eq!(r.metrics.fallbacks(), 0, "{fs}: {r:?}");
        for f in files {
            assert_same_content(&src.join(f), &dst.join(f));
        }
        return;
    }
    assert_eq!(r.metrics.method(Method::Reflink).files, 3, "{fs}: {r:?}");
    assert_eq!(r.metrics.fallbacks(), 0);
    for f in files {
        let s = fastcopy::extent_sharing(&dst.join(f)).unwrap();
        assert!(s.mapped > 0 && s.shared == s.mapped, "{fs} {f}: {s:?}");
        assert_same_content(&src.join(f), &dst.join(f));
    }
    let dst = dir.join("never");
    let opts = TreeOptions::new().copy_options(CopyOptions::new().reflink(Reflink::Never));
    let r = copy(&src, &dst, &opts);
    assert_eq!(r.metrics.method(Method::Reflink).files, 0, "{fs}: {r:?}");
    for f in files {
        let s = fastcopy::extent_sharing(&dst.join(f)).unwrap();
        assert!(s.mapped > 0 && s.shared == 0, "{fs} {f}: {s:?}");
        assert_same_content(&src.join(f), &dst.join(f));
    }
}
per_fs!(clones_every_file);

/// On a filesystem without clones the refusal is remembered: one fallback
/// for the whole tree, not one per file.
#[test]
fn no_clone_is_tried_where_the_filesystem_cannot_clone() {
    let Some(dir) = testfs::dir(Fs::Ext4, "tree_clone_once") else {
        return;
    };
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    for i in 0..50 {
        write(&src.join(format!("f{i}")), b"some data");
    }
    let r = copy(&src, &dir.path().join("dst"), &TreeOptions::new().jobs(1));
    assert_eq!(r.metrics.files(), 50);
    assert_eq!(r.metrics.fallbacks(), 0, "{r:?}");
    assert_eq!(r.metrics.method(Method::CopyFileRange).files, 50);
}
