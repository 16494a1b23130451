//! Linux: a directory tree copied by worker threads, every entry opened or
//! created relative to an open directory and never through a symbolic link
//! on the destination side.
//!
//! The work is two stacks shared by the workers: directories to list, and
//! chunks of up to [`CHUNK`] non-directory entries of one listed directory.
//! Chunks go first, so a directory is opened only when no listed one has
//! work left: at most about two listed directories per worker hold
//! descriptors, which bounds open files whatever the tree's shape. A
//! directory's permissions and times are applied when its last entry and
//! its last subdirectory are done (a count of pending work per directory).
//!
//! A regular file of a new tree costs 7 system calls: `openat` source,
//! `statx`, `openat` the destination under its name (the tree is built in
//! a staging directory that no one else knows of, renamed into place at
//! the end), `FICLONE` or `copy_file_range` (once, stopping at the size),
//! `futimens`, two `close`. In a directory this copy created inside an
//! existing destination, the file is anonymous (`O_TMPFILE`) and `linkat`
//! names it when complete; in a directory that existed before, it gets a
//! temporary name and is renamed over the old one. `fchmod` only when the umask took bits away,
//! `fchown` only as root and when the owner differs; a `FICLONE` or
//! `copy_file_range` that was refused as unsupported once is not tried
//! again for that pair of devices.
//!
//! This module schedules: the queue, the workers, counting and reporting.
//! [`dirs`] opens and lists directories, [`finish`] applies their metadata
//! when their work is done; [`mod@file`] copies one regular file through
//! the one per-file pipeline (the core's `pipeline`, handed in as a `PerFile`) into the new file of
//! [`new_file`];
//! [`links`] makes hard links, symbolic links and FIFOs; [`memo`] is what
//! is remembered per device pair; [`meta`] what is kept of an entry.

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::FsKind;
use crate::error::{Error, Operation, Result};
use crate::per_file::PerFile;
use crate::progress::Progress;
use crate::report::{CopyReport, Method, Skipped, Warning};
use crate::tree::{
    EntryKind, Target, TreeEntry, TreeOptions, TreeProgress, TreeReport, TreeWarning,
};

mod dirs;
mod file;
mod finish;
mod links;
mod memo;
mod meta;
mod new_file;

use dirs::{DirFds, DirNode};
use links::{Claim, LinkState};
use meta::Meta;

/// Non-directory entries handed to a worker at once.
const CHUNK: usize = 64;
/// Descriptors one worker may hold at once (two listed directories, a
/// source and a temporary file, one reopened directory, and slack).
const FDS_PER_WORKER: u64 = 8;
/// Descriptors left for the rest of the process.
const FDS_RESERVED: u64 = 24;

/// Creates `path` as a directory only its owner can enter, until its
/// contents are copied and its own mode is applied.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    Ok(rustix::fs::mkdir(path, Mode::from_raw_mode(0o700))?)
}

/// Recreates the symbolic link `from` at `to` (which must not exist).
pub(crate) fn copy_symlink(from: &Path, to: &Path, opts: &TreeOptions) -> Result<()> {
    let target = std::fs::read_link(from).map_err(|e| Error::new(Operation::Symlink, from, e))?;
    std::os::unix::fs::symlink(&target, to).map_err(|e| Error::new(Operation::Symlink, to, e))?;
    let st =
        rustix::fs::lstat(from).map_err(|e| Error::new(Operation::StatSource, from, e.into()))?;
    let meta = Meta::of(&st);
    if rustix::process::geteuid().is_root() {
        let _ = rustix::fs::chownat(
            rustix::fs::CWD,
            to,
            Some(rustix::fs::Uid::from_raw(meta.uid)),
            Some(rustix::fs::Gid::from_raw(meta.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        );
    }
    if opts.copy.preserve_times {
        rustix::fs::utimensat(
            rustix::fs::CWD,
            to,
            &meta.times(),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::new(Operation::SetTimes, to, e.into()))?;
    }
    Ok(())
}

/// Copies the directory `from` into the directory `target.dir` (created by
/// the caller when `target.created`).
pub(crate) fn copy_dir(
    from: &Path,
    target: &Target<'_>,
    opts: &TreeOptions,
    per_file: &dyn PerFile,
    report: &mut TreeReport,
) -> Result<()> {
    let to = target.shown;
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let src_root = rustix::fs::open(from, dir_flags, Mode::empty())
        .map_err(|e| Error::new(Operation::ReadDirectory, from, e.into()))?;
    let dst_root = rustix::fs::open(target.dir, dir_flags, Mode::empty())
        .map_err(|e| Error::new(Operation::CreateDirectory, to, e.into()))?;
    let workers = workers(opts);
    report.jobs = workers;
    let engine = Engine::new(from, target, opts, per_file, src_root, dst_root);
    let root = Arc::new(DirNode {
        parent: None,
        rel: PathBuf::new(),
        created: target.created,
        pending: AtomicUsize::new(1),
        meta: OnceLock::new(),
    });
    engine.lock_queue().dirs.push(root);

    let reports: Vec<TreeReport> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| engine.work())).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    for r in reports {
        report.merge(r);
    }
    if engine.cancelled.load(Ordering::Relaxed) {
        return Err(Error::new(
            Operation::Cancelled,
            to,
            io::Error::new(io::ErrorKind::Interrupted, "cancelled"),
        ));
    }
    Ok(())
}

/// The workers to start: the ones asked for, fewer when the open-files
/// limit cannot give each its descriptors.
fn workers(opts: &TreeOptions) -> usize {
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let cap = (nofile.saturating_sub(FDS_RESERVED) / FDS_PER_WORKER).max(1);
    opts.workers()
        .min(usize::try_from(cap).unwrap_or(usize::MAX))
}

impl<'a> Engine<'a> {
    fn new(
        from: &Path,
        target: &Target<'_>,
        opts: &'a TreeOptions,
        per_file: &'a dyn PerFile,
        src_root: OwnedFd,
        dst_root: OwnedFd,
    ) -> Engine<'a> {
        let mut copy = opts.copy.clone();
        // Inside a file, the tree's cancellation is polled through the
        // per-file progress (after every chunk of a large file).
        copy.progress = opts
            .progress
            .clone()
            .map(|p| Arc::new(Cancel(p)) as Arc<dyn Progress>);
        let euid = rustix::process::geteuid();
        Engine {
            opts,
            per_file,
            copy,
            src_root,
            dst_root,
            src_path: from.to_path_buf(),
            dst_path: target.shown.to_path_buf(),
            staged: target.staged,
            umask: super::super::unix::umask(),
            root: euid.is_root(),
            euid: euid.as_raw(),
            egid: rustix::process::getegid().as_raw(),
            refused: RwLock::new(HashSet::new()),
            clone_verified: RwLock::new(HashSet::new()),
            fs_kinds: RwLock::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            links_cv: Condvar::new(),
            queue: Mutex::new(Queue::default()),
            queue_cv: Condvar::new(),
            stop: AtomicBool::new(false),
            openat2: AtomicBool::new(true),
            // Without CAP_DAC_READ_SEARCH an anonymous file is named
            // through /proc; without /proc either, files are created under
            // their names.
            tmpfile: AtomicBool::new(true),
            cancelled: AtomicBool::new(false),
        }
    }
}

/// The tree's cancellation, as the per-file progress of its files.
struct Cancel(Arc<dyn TreeProgress>);

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cancel")
    }
}

impl Progress for Cancel {
    fn cancelled(&self) -> bool {
        self.0.cancelled()
    }
}

struct Chunk {
    node: Arc<DirNode>,
    fds: Arc<DirFds>,
    entries: Vec<(CString, FileType)>,
}

#[derive(Default)]
struct Queue {
    chunks: Vec<Chunk>,
    dirs: Vec<Arc<DirNode>>,
    busy: usize,
}

enum Job {
    List(Arc<DirNode>),
    Chunk(Chunk),
}

struct Engine<'a> {
    /// The core's per-file work: the pipeline and the overwrite policy.
    per_file: &'a dyn PerFile,
    opts: &'a TreeOptions,
    copy: crate::options::CopyOptions,
    src_root: OwnedFd,
    dst_root: OwnedFd,
    src_path: PathBuf,
    /// The destination as the caller named it (the staging directory's
    /// name never shows in messages).
    dst_path: PathBuf,
    /// The destination root is a staging directory: new directories in it
    /// are seen by no one else until the end.
    staged: bool,
    umask: u32,
    root: bool,
    euid: u32,
    egid: u32,
    /// (source device, destination device, method): `FICLONE` or
    /// `copy_file_range` refused between these filesystems for good
    /// (`refused_for_the_pair`), or a clone that copied nothing.
    refused: RwLock<HashSet<(u64, u64, Method)>>,
    /// Pairs where a successful `FICLONE` was seen to really copy (the size
    /// checked once): later clones there are trusted without a `statx`.
    clone_verified: RwLock<HashSet<(u64, u64)>>,
    /// Per destination device: its filesystem.
    fs_kinds: RwLock<HashMap<u64, FsKind>>,
    links: Mutex<HashMap<(u64, u64), LinkState>>,
    links_cv: Condvar,
    queue: Mutex<Queue>,
    queue_cv: Condvar,
    stop: AtomicBool,
    /// Whether `openat2` is worth trying (false after ENOSYS and the like).
    openat2: AtomicBool,
    /// Whether new files start anonymous (`O_TMPFILE`), until refused.
    tmpfile: AtomicBool,
    /// Set once the caller's progress said to stop.
    cancelled: AtomicBool,
}

/// One entry's outcome, counted by the worker.
enum Done {
    File(CopyReport),
    Symlink,
    HardLink,
    Fifo,
    Skipped(&'static str),
    /// A destination left alone by the overwrite mode.
    UpToDate(Skipped),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn os(name: &CStr) -> &OsStr {
    OsStr::from_bytes(name.to_bytes())
}

/// Stops the other workers when this one unwinds (a panic in a progress
/// callback): they would otherwise wait forever for the job it held. The
/// panic itself is passed on when the threads are joined.
struct StopOnUnwind<'e, 'a>(&'e Engine<'a>);

impl Drop for StopOnUnwind<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop.store(true, Ordering::SeqCst);
            let _queue = self.0.lock_queue();
            self.0.queue_cv.notify_all();
        }
    }
}

impl Engine<'_> {
    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// A worker: takes jobs until none is left and no one is busy (one
    /// could still add some).
    fn work(&self) -> TreeReport {
        let _unwind = StopOnUnwind(self);
        let mut report = TreeReport::default();
        loop {
            let job = {
                let mut q = self.lock_queue();
                loop {
                    if self.stopped() {
                        self.queue_cv.notify_all();
                        return report;
                    }
                    if let Some(c) = q.chunks.pop() {
                        q.busy += 1;
                        break Job::Chunk(c);
                    }
                    if let Some(d) = q.dirs.pop() {
                        q.busy += 1;
                        break Job::List(d);
                    }
                    if q.busy == 0 {
                        self.queue_cv.notify_all();
                        return report;
                    }
                    q = self.queue_cv.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            match job {
                Job::List(node) => self.list(node, &mut report),
                Job::Chunk(chunk) => self.chunk(chunk, &mut report),
            }
            let mut q = self.lock_queue();
            q.busy -= 1;
            if q.busy == 0 && q.chunks.is_empty() && q.dirs.is_empty() {
                self.queue_cv.notify_all();
            }
        }
    }

    /// Whether the workers should stop: after a failure with `fail_fast`,
    /// or once the caller's progress says to cancel.
    fn stopped(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        if self.opts.progress.as_ref().is_some_and(|p| p.cancelled()) {
            self.cancelled.store(true, Ordering::Relaxed);
            self.stop.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    fn push_chunk(&self, chunk: Chunk) {
        chunk.node.pending.fetch_add(1, Ordering::Relaxed);
        self.lock_queue().chunks.push(chunk);
        self.queue_cv.notify_one();
    }

    fn fail(&self, report: &mut TreeReport, err: Error) {
        if self.opts.fail_fast {
            self.stop.store(true, Ordering::Relaxed);
        }
        report.metrics.record_failure();
        report.errors.push(err);
        if let Some(p) = &self.opts.progress {
            p.entry_done();
        }
    }

    fn src_of(&self, rel: &Path, name: Option<&CStr>) -> PathBuf {
        let mut p = self.src_path.join(rel);
        if let Some(n) = name {
            p.push(os(n));
        }
        p
    }

    fn dst_of(&self, rel: &Path, name: Option<&CStr>) -> PathBuf {
        let mut p = self.dst_path.join(rel);
        if let Some(n) = name {
            p.push(os(n));
        }
        p
    }

    fn chunk(&self, chunk: Chunk, report: &mut TreeReport) {
        let Chunk { node, fds, entries } = chunk;
        for (name, ftype) in &entries {
            if self.stopped() {
                return;
            }
            match self.entry(&node, &fds, name, *ftype) {
                Ok(done) => self.count(report, &node, name, done),
                Err(e) => self.fail(report, e),
            }
        }
        self.finish_work(&node, Some(&fds), report);
    }

    fn count(&self, report: &mut TreeReport, node: &DirNode, name: &CStr, done: Done) {
        if let Some(p) = self.opts.progress.as_ref().filter(|p| p.wants_entries()) {
            let (source, destination) = (
                self.src_of(&node.rel, Some(name)),
                self.dst_of(&node.rel, Some(name)),
            );
            let mut entry = TreeEntry {
                source: &source,
                destination: &destination,
                kind: EntryKind::Skipped,
                method: None,
                bytes: 0,
                fallbacks: &[],
                skipped: None,
            };
            match &done {
                Done::File(r) => {
                    entry.kind = EntryKind::File;
                    entry.method = Some(r.method);
                    entry.bytes = r.bytes;
                    entry.fallbacks = &r.fallbacks;
                }
                Done::Symlink => entry.kind = EntryKind::Symlink,
                Done::HardLink => entry.kind = EntryKind::HardLink,
                Done::Fifo => entry.kind = EntryKind::Special,
                Done::UpToDate(why) => entry.skipped = Some(*why),
                Done::Skipped(_) => {}
            }
            p.entry(&entry);
        }
        let mut bytes = None;
        match done {
            Done::File(r) => {
                bytes = Some(r.bytes);
                report.metrics.record(&r);
                for w in r.warnings {
                    report.warnings.push(TreeWarning {
                        path: self.src_of(&node.rel, Some(name)),
                        warning: w,
                    });
                }
            }
            Done::Symlink => report.symlinks += 1,
            Done::HardLink => report.hard_links += 1,
            Done::Fifo => report.special_files += 1,
            Done::UpToDate(_) => report.up_to_date += 1,
            Done::Skipped(what) => {
                report.skipped += 1;
                report.warnings.push(TreeWarning {
                    path: self.src_of(&node.rel, Some(name)),
                    warning: Warning::SpecialFileSkipped(what),
                });
            }
        }
        if let Some(p) = &self.opts.progress {
            match bytes {
                Some(b) => p.file_copied(b),
                None => p.entry_done(),
            }
        }
    }

    fn entry(&self, node: &DirNode, fds: &DirFds, name: &CStr, ftype: FileType) -> Result<Done> {
        match ftype {
            FileType::RegularFile => self.file(node, fds, name),
            FileType::Symlink => self.symlink(node, fds, name),
            FileType::Fifo => self.fifo(node, fds, name),
            FileType::Socket => Ok(Done::Skipped("a socket")),
            FileType::BlockDevice => Ok(Done::Skipped("a block device")),
            FileType::CharacterDevice => Ok(Done::Skipped("a character device")),
            // A directory that appeared between the listing and now, or a
            // type this system does not know.
            _ => Err(Error::other(
                Operation::SourceNotRegular,
                self.src_of(&node.rel, Some(name)),
                io::ErrorKind::InvalidInput,
                "changed type during the copy",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    /// `fastcopy --clean` (stale::temporary_owner) must recognise what a tree
    /// copy leaves when it is killed.
    #[test]
    fn tree_temporary_names_are_recognised_as_ours() {
        let name = super::Engine::temp_name(c"file.txt");
        let name = OsStr::from_bytes(name.to_bytes());
        assert_eq!(
            crate::stale::temporary_owner(name),
            Some(std::process::id()),
            "{name:?}"
        );
    }
}
