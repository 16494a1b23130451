//! A source that grows, shrinks or is rewritten while it is copied: an
//! error by default (the old destination stays, nothing is left behind);
//! with `accept_changing_source`, the bytes as read, with a warning.
//!
//! Deterministic: the progress callback, which runs on the copying thread
//! between two steps of the data loop, changes the source, so the outcome
//! is known exactly. Racing: another thread changes the source while the
//! copy runs; only the invariant that holds for every interleaving is
//! asserted.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use fastcopy::{CopyOptions, CopyReport, DirectIo, Method, Operation, Progress, Reflink, Warning};

use crate::common::*;

/// Runs `action` once, at the first `advance` (after the first step of
/// the data loop).
struct OnFirstAdvance<F: Fn() + Send + Sync> {
    action: F,
    done: AtomicBool,
    /// Sends on `start`, for the racing tests.
    started: Mutex<Option<mpsc::Sender<()>>>,
}

impl<F: Fn() + Send + Sync> Progress for OnFirstAdvance<F> {
    fn start(&self, _total: u64) {
        if let Some(tx) = self.started.lock().unwrap().take() {
            let _ = tx.send(());
        }
    }
    fn advance(&self, _done: u64, _total: u64) {
        if !self.done.swap(true, Ordering::SeqCst) {
            (self.action)();
        }
    }
}

fn on_first_advance(action: impl Fn() + Send + Sync + 'static) -> Arc<dyn Progress> {
    Arc::new(OnFirstAdvance {
        action,
        done: AtomicBool::new(false),
        started: Mutex::new(None),
    })
}

/// The two data paths that are not clones, by option set: Never (kernel
/// copy on ext4/tmpfs, read/write on Btrfs/XFS) and direct I/O; changes
/// accepted.
fn paths(fs: Fs) -> [(CopyOptions, Method); 2] {
    strict_paths(fs).map(|(o, m)| (o.accept_changing_source(true), m))
}

/// [`paths`] with the default: a change is an error.
fn strict_paths(fs: Fs) -> [(CopyOptions, Method); 2] {
    // Every file here is larger than a MiB.
    let never = never_method(fs, MIB);
    [
        (CopyOptions::new().reflink(Reflink::Never), never),
        (
            CopyOptions::new()
                .reflink(Reflink::Never)
                .direct_io(DirectIo::Always),
            Method::DirectIo,
        ),
    ]
}

fn size_warning(r: &CopyReport) -> Option<(u64, u64)> {
    r.warnings.iter().find_map(|w| match w {
        Warning::SourceChanged { expected, copied } => Some((*expected, *copied)),
        _ => None,
    })
}

const SIZE: u64 = 40 * MIB;

/// Truncated to 24 MiB after the first step: the copy has exactly the 24
/// MiB that are left, and says the size changed.
fn shrinks_during_copy(fs: Fs, dir: &Path) {
    let data = testfs::pattern(SIZE as usize, 81);
    for (i, (opts, method)) in paths(fs).into_iter().enumerate() {
        let src = dir.join(format!("src{i}"));
        let dst = dir.join(format!("dst{i}"));
        write(&src, &data);
        let s = src.clone();
        let opts = opts.progress(on_first_advance(move || {
            OpenOptions::new()
                .write(true)
                .open(&s)
                .unwrap()
                .set_len(24 * MIB)
                .unwrap();
        }));
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
        let what = format!("{fs} {method}");
        assert_eq!(r.method, method, "{what}");
        assert_eq!(r.bytes, 24 * MIB, "{what}");
        assert_eq!(len(&dst), 24 * MIB, "{what}");
        // No blocks past the end: on ext4 `Auto` reserved the whole 40 MiB
        // before copy_file_range, and what the copy did not fill is given
        // back.
        let used = std::fs::metadata(&dst).unwrap().blocks() * 512;
        assert!(used <= 25 * MIB, "{what}: {used} bytes of blocks");
        assert_same_content(&src, &dst);
        assert_eq!(
            size_warning(&r),
            Some((SIZE, 24 * MIB)),
            "{what}: {:?}",
            r.warnings
        );
        std::fs::remove_file(&src).unwrap();
        std::fs::remove_file(&dst).unwrap();
    }
    assert_no_temp(dir);
}

/// 8 MiB appended after the first step: the copy goes on to the new end.
fn grows_during_copy(fs: Fs, dir: &Path) {
    let grown = testfs::pattern((SIZE + 8 * MIB) as usize, 82);
    for (i, (opts, method)) in paths(fs).into_iter().enumerate() {
        let src = dir.join(format!("src{i}"));
        let dst = dir.join(format!("dst{i}"));
        write(&src, &grown[..SIZE as usize]);
        let (s, tail) = (src.clone(), grown[SIZE as usize..].to_vec());
        let opts = opts.progress(on_first_advance(move || {
            OpenOptions::new()
                .append(true)
                .open(&s)
                .unwrap()
                .write_all(&tail)
                .unwrap();
        }));
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
        let what = format!("{fs} {method}");
        assert_eq!(r.method, method, "{what}");
        assert_eq!(r.bytes, SIZE + 8 * MIB, "{what}");
        assert_content(&dst, &grown);
        assert_eq!(
            size_warning(&r),
            Some((SIZE, SIZE + 8 * MIB)),
            "{what}: {:?}",
            r.warnings
        );
        std::fs::remove_file(&src).unwrap();
        std::fs::remove_file(&dst).unwrap();
    }
}

/// A sparse source truncated inside its first data segment.
fn sparse_shrinks_during_copy(fs: Fs, dir: &Path) {
    let size = 16 * MIB;
    for (i, (opts, method)) in paths(fs).into_iter().enumerate() {
        let src = dir.join(format!("src{i}"));
        let dst = dir.join(format!("dst{i}"));
        testfs::write_sparse(&src, size, &[(0, 2 * MIB), (8 * MIB, 2 * MIB)]).unwrap();
        let original = read_at(&src, 0, 2 * MIB as usize);
        let s = src.clone();
        let opts = opts.progress(on_first_advance(move || {
            OpenOptions::new()
                .write(true)
                .open(&s)
                .unwrap()
                .set_len(MIB)
                .unwrap();
        }));
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
        let what = format!("{fs} {method}");
        assert_eq!(r.method, method, "{what}");
        // The kernel copy moves the whole 2 MiB segment in one step, before
        // the truncation; the loops of 256 KiB / 1 MiB see the new end.
        let want = if method == Method::CopyFileRange {
            2 * MIB
        } else {
            MIB
        };
        assert_eq!(r.bytes, want, "{what}");
        assert_eq!(len(&dst), want, "{what}");
        assert_content(&dst, &original[..want as usize]);
        assert_eq!(
            size_warning(&r),
            Some((size, want)),
            "{what}: {:?}",
            r.warnings
        );
        std::fs::remove_file(&src).unwrap();
        std::fs::remove_file(&dst).unwrap();
    }
}

/// By default a source that shrinks, grows or is rewritten in place (same
/// size, new modification time) during the copy fails it: the error names
/// the source, the old destination keeps its content, no temporary stays.
fn a_changed_source_fails_and_keeps_the_old_destination(fs: Fs, dir: &Path) {
    type Change = fn(&Path);
    let changes: [(&str, Change); 3] = [
        ("shrink", |p| {
            OpenOptions::new()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(MIB)
                .unwrap()
        }),
        ("grow", |p| {
            OpenOptions::new()
                .append(true)
                .open(p)
                .unwrap()
                .write_all(&[7; 4096])
                .unwrap()
        }),
        ("rewrite", |p| {
            use std::os::unix::fs::FileExt;
            let f = OpenOptions::new().write(true).open(p).unwrap();
            f.write_all_at(b"changed", 3 * MIB).unwrap();
            // The same second as the copy started: only the nanoseconds
            // (and ctime) tell.
            f.set_modified(std::time::SystemTime::now()).unwrap();
        }),
    ];
    for (i, (opts, method)) in strict_paths(fs).into_iter().enumerate() {
        for (name, change) in changes {
            let what = format!("{fs} {method} {name}");
            let src = dir.join(format!("src{i}{name}"));
            let dst = dir.join(format!("dst{i}{name}"));
            write(&src, &testfs::pattern((8 * MIB) as usize, 84));
            write(&dst, b"the old destination");
            let s = src.clone();
            let opts = opts.clone().progress(on_first_advance(move || change(&s)));
            let err = fastcopy::copy_with(&src, &dst, &opts).unwrap_err();
            assert_eq!(err.operation(), Operation::SourceChanged, "{what}: {err}");
            assert_eq!(err.path(), src, "{what}");
            assert!(
                err.to_string()
                    .contains("changed while it was being copied"),
                "{err}"
            );
            assert_content(&dst, b"the old destination");
            std::fs::remove_file(&src).unwrap();
            std::fs::remove_file(&dst).unwrap();
            assert_no_temp(dir);
        }
    }
}

per_fs!(
    shrinks_during_copy,
    grows_during_copy,
    sparse_shrinks_during_copy,
    a_changed_source_fails_and_keeps_the_old_destination
);

/// What another thread does to the source while it is copied.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Appends 16 × 1 MiB, continuing the pattern.
    Grow,
    /// Truncates 64 → 56 → ... → 16 MiB, page-aligned.
    Shrink,
}

const RACE_SIZE: u64 = 64 * MIB;
const RACE_MAX: u64 = RACE_SIZE + 16 * MIB;

/// Copies a 64 MiB file while another thread changes it. For every
/// interleaving: Ok; the copy holds `report.bytes` bytes, which are the
/// source's bytes as written (a prefix of the grown pattern); it agrees
/// with the source's final content on what both have; and if the size
/// is not the original one, the report says the source changed size.
fn race(dir: &Path, change: Change, opts: CopyOptions, tag: &str) {
    let full = Arc::new(testfs::pattern(RACE_MAX as usize, 83));
    let src: PathBuf = dir.join(format!("src-{tag}"));
    let dst = dir.join(format!("dst-{tag}"));
    write(&src, &full[..RACE_SIZE as usize]);
    let (tx, rx) = mpsc::channel();
    let progress = Arc::new(OnFirstAdvance {
        action: || {},
        done: AtomicBool::new(false),
        started: Mutex::new(Some(tx)),
    });
    let opts = opts.progress(progress);
    let (s, f) = (src.clone(), full.clone());
    let changer = std::thread::spawn(move || {
        rx.recv().unwrap();
        let mut file = OpenOptions::new().append(true).open(&s).unwrap();
        for step in 1..=6u64 {
            match change {
                Change::Grow => {
                    for k in 0..16 / 6 + 1 {
                        let off = RACE_SIZE + ((step - 1) * 3 + k) * MIB;
                        if off < RACE_MAX {
                            file.write_all(&f[off as usize..(off + MIB) as usize])
                                .unwrap();
                        }
                    }
                }
                Change::Shrink => file.set_len(RACE_SIZE - step * 8 * MIB).unwrap(),
            }
            std::thread::yield_now();
        }
    });
    let r = fastcopy::copy_with(&src, &dst, &opts);
    changer.join().unwrap();
    let r = r.unwrap_or_else(|e| panic!("{tag}: {e}"));
    assert_eq!(len(&dst), r.bytes, "{tag}");
    assert_content(&dst, &full[..r.bytes as usize]);
    let now = std::fs::read(&src).unwrap();
    let both = now.len().min(r.bytes as usize);
    assert_bytes_eq(
        &read_at(&dst, 0, both),
        &now[..both],
        &format!("{tag}: copy vs final source"),
    );
    if r.bytes != RACE_SIZE {
        assert_eq!(
            size_warning(&r),
            Some((RACE_SIZE, r.bytes)),
            "{tag}: {:?}",
            r.warnings
        );
    }
    eprintln!(
        "{tag}: {change:?} race copied {} of {} bytes via {}",
        r.bytes, RACE_SIZE, r.method
    );
    std::fs::remove_file(&src).unwrap();
    std::fs::remove_file(&dst).unwrap();
}

fn races(fs: Fs, dir: &Path) {
    for (i, (opts, method)) in paths(fs).into_iter().enumerate() {
        for change in [Change::Grow, Change::Shrink] {
            race(
                dir,
                change,
                opts.clone(),
                &format!("{fs}-{method}-{change:?}-{i}"),
            );
        }
    }
    assert_no_temp(dir);
}

/// The same races with the default: every interleaving either copies the
/// source as it was (nothing changed before the copy ended) or fails with
/// `SourceChanged` and writes nothing.
fn strict_races(fs: Fs, dir: &Path) {
    for (opts, method) in strict_paths(fs) {
        for change in [Change::Grow, Change::Shrink] {
            let tag = format!("{fs}-{method}-{change:?}-strict");
            let full = testfs::pattern(RACE_SIZE as usize, 85);
            let src = dir.join(format!("src-{tag}"));
            let dst = dir.join(format!("dst-{tag}"));
            write(&src, &full);
            let s = src.clone();
            let changer = std::thread::spawn(move || {
                let file = OpenOptions::new().append(true).open(&s).unwrap();
                for step in 1..=6u64 {
                    match change {
                        Change::Grow => (&file).write_all(&[1; 65536]).unwrap(),
                        Change::Shrink => file.set_len(RACE_SIZE - step * 8 * MIB).unwrap(),
                    }
                    std::thread::yield_now();
                }
            });
            let r = fastcopy::copy_with(&src, &dst, &opts);
            changer.join().unwrap();
            match r {
                // Nothing changed between the open and the end: the copy is
                // the source as it was opened, which may already be after
                // some of the changes (the sizes the changer goes through).
                Ok(r) => {
                    let step = match change {
                        Change::Grow => (r.bytes - RACE_SIZE) / 65536,
                        Change::Shrink => (RACE_SIZE - r.bytes) / (8 * MIB),
                    };
                    let mut want = full.clone();
                    match change {
                        Change::Grow => want.resize((RACE_SIZE + step * 65536) as usize, 1),
                        Change::Shrink => want.truncate((RACE_SIZE - step * 8 * MIB) as usize),
                    }
                    assert!(step <= 6, "{tag}: {} bytes", r.bytes);
                    assert_content(&dst, &want);
                }
                Err(e) => {
                    assert_eq!(e.operation(), Operation::SourceChanged, "{tag}: {e}");
                    assert!(!dst.exists(), "{tag}");
                }
            }
            let _ = std::fs::remove_file(&dst);
            std::fs::remove_file(&src).unwrap();
        }
    }
    assert_no_temp(dir);
}

per_fs!(races, strict_races);
