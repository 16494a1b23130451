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

use std::collections::{HashMap, HashSet};
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Instant;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps};
use rustix::io::Errno;

use super::linux::{FsKind, create_anonymous};
use crate::copy::TEMP_MARKER;
use crate::error::{Error, Operation, Result};
use crate::options::Overwrite;
use crate::pipeline::{self, Defaults};
use crate::policy::{self, Existing};
use crate::progress::Progress;
use crate::report::{CopyReport, Method, Skipped, Warning};
use crate::tree::{
    EntryKind, Target, TreeEntry, TreeOptions, TreeProgress, TreeReport, TreeWarning,
};

mod file;
use file::{DirTarget, Finish, TreeMover};

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
    report: &mut TreeReport,
) -> Result<()> {
    let (to, created) = (target.shown, target.created);
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let src_root = rustix::fs::open(from, dir_flags, Mode::empty())
        .map_err(|e| Error::new(Operation::ReadDirectory, from, e.into()))?;
    let dst_root = rustix::fs::open(target.dir, dir_flags, Mode::empty())
        .map_err(|e| Error::new(Operation::CreateDirectory, to, e.into()))?;

    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let cap = (nofile.saturating_sub(FDS_RESERVED) / FDS_PER_WORKER).max(1);
    let workers = opts
        .workers()
        .min(usize::try_from(cap).unwrap_or(usize::MAX));
    report.jobs = workers;

    let mut copy = opts.copy.clone();
    // Inside a file, the tree's cancellation is polled through the
    // per-file progress (after every chunk of a large file).
    copy.progress = opts
        .progress
        .clone()
        .map(|p| Arc::new(Cancel(p)) as Arc<dyn Progress>);
    let euid = rustix::process::geteuid();
    let engine = Engine {
        opts,
        copy,
        src_root,
        dst_root,
        src_path: from.to_path_buf(),
        dst_path: to.to_path_buf(),
        staged: target.staged,
        umask: super::unix::umask(),
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
        // Without CAP_DAC_READ_SEARCH an anonymous file is named through
        // /proc; without /proc either, files are created under their names.
        tmpfile: AtomicBool::new(true),
        cancelled: AtomicBool::new(false),
    };
    let root = Arc::new(DirNode {
        parent: None,
        rel: PathBuf::new(),
        created,
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

/// What is kept of an entry's metadata.
#[derive(Clone, Copy, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: (i64, i64),
    mtime: (i64, i64),
    dev: u64,
    ino: u64,
}

impl Meta {
    #[allow(clippy::unnecessary_cast)] // the field types differ by architecture
    fn of(st: &rustix::fs::Stat) -> Meta {
        Meta {
            mode: st.st_mode as u32,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            atime: (st.st_atime as i64, st.st_atime_nsec as i64),
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }

    fn of_file(m: &Metadata) -> Meta {
        Meta {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            atime: (m.atime(), m.atime_nsec()),
            mtime: (m.mtime(), m.mtime_nsec()),
            dev: m.dev(),
            ino: m.ino(),
        }
    }

    fn times(&self) -> Timestamps {
        Timestamps {
            last_access: Timespec {
                tv_sec: self.atime.0,
                tv_nsec: self.atime.1 as _,
            },
            last_modification: Timespec {
                tv_sec: self.mtime.0,
                tv_nsec: self.mtime.1 as _,
            },
        }
    }
}

/// A source directory being copied: counts the work still to do in it
/// (its listing, its chunks, its subdirectories).
struct DirNode {
    parent: Option<Arc<DirNode>>,
    /// The path below both roots.
    rel: PathBuf,
    /// Whether the copy created the destination directory (otherwise it
    /// existed; without `preserve_mode` its mode is then left alone).
    created: bool,
    pending: AtomicUsize,
    /// The source directory's metadata, once listed.
    meta: OnceLock<Meta>,
}

/// The open directories of a listed [`DirNode`], shared by its chunks and
/// closed with the last of them.
struct DirFds {
    src: OwnedFd,
    dst: OwnedFd,
    /// The destination's device (for the per-filesystem caches).
    dst_dev: u64,
    /// Whether this copy created the destination directory: files are then
    /// written anonymously (`O_TMPFILE`) and linked in when complete.
    fresh: bool,
    /// The group a new file gets in the destination directory.
    dst_gid: u32,
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

/// A file with several names in the source: where its first copy went.
enum LinkState {
    Copying,
    Copied(PathBuf),
    Failed,
}

enum Claim {
    /// This name is the first: copy the data, then call `link_done`.
    First,
    /// Link to this copy (relative to the destination root).
    LinkTo(PathBuf),
    /// The first copy failed: copy the data independently.
    Alone,
}

struct Engine<'a> {
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
    /// ([`refused_for_the_pair`]), or a clone that copied nothing.
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

    /// Opens `rel` below `root` without following any symbolic link on the
    /// way (`openat2` with `RESOLVE_NO_SYMLINKS`; one component at a time
    /// with `O_NOFOLLOW` where the kernel lacks it).
    fn open_beneath(&self, root: BorrowedFd<'_>, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let rel: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if self.openat2.load(Ordering::Relaxed) {
            match rustix::fs::openat2(
                root,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                Err(Errno::NOSYS | Errno::PERM | Errno::INVAL | Errno::TOOBIG) => {
                    self.openat2.store(false, Ordering::Relaxed);
                }
                r => return Ok(r?),
            }
        }
        let mut cur: Option<OwnedFd> = None;
        let mut comps = rel.components().peekable();
        while let Some(c) = comps.next() {
            let last = comps.peek().is_none();
            let f = if last {
                flags
            } else {
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
            };
            let at = cur.as_ref().map_or(root, |fd| fd.as_fd());
            cur = Some(rustix::fs::openat(at, c.as_os_str(), f, Mode::empty())?);
        }
        cur.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    /// Opens a source directory: like the destination's without `-L`; with
    /// it, following links.
    fn open_src_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        if self.opts.follow_links {
            let rel: &Path = if rel.as_os_str().is_empty() {
                Path::new(".")
            } else {
                rel
            };
            Ok(rustix::fs::openat(
                &self.src_root,
                rel,
                flags | OFlags::CLOEXEC,
                Mode::empty(),
            )?)
        } else {
            self.open_beneath(self.src_root.as_fd(), rel, flags)
        }
    }

    /// Lists a directory: creates its subdirectories and queues them, and
    /// queues its other entries in chunks.
    fn list(&self, node: Arc<DirNode>, report: &mut TreeReport) {
        match self.open_listed(&node) {
            Ok(fds) => {
                report.directories += 1;
                if let Some(p) = &self.opts.progress {
                    p.entry_done();
                }
                let fds = Arc::new(fds);
                self.read_entries(&node, &fds, report);
                self.finish_work(&node, Some(&fds), report);
            }
            Err(e) => {
                self.fail(report, e);
                // Nothing of it will be done; its parent may still finish.
                self.finish_work(&node, None, report);
            }
        }
    }

    fn open_listed(&self, node: &Arc<DirNode>) -> Result<DirFds> {
        let src = self
            .open_src_dir(&node.rel)
            .map_err(|e| Error::new(Operation::ReadDirectory, self.src_of(&node.rel, None), e))?;
        let st = rustix::fs::fstat(&src).map_err(|e| {
            Error::new(
                Operation::StatSource,
                self.src_of(&node.rel, None),
                e.into(),
            )
        })?;
        let meta = Meta::of(&st);
        if self.opts.follow_links {
            let mut up = node.parent.as_ref();
            while let Some(p) = up {
                if p.meta
                    .get()
                    .is_some_and(|m| m.dev == meta.dev && m.ino == meta.ino)
                {
                    return Err(Error::other(
                        Operation::ReadDirectory,
                        self.src_of(&node.rel, None),
                        io::ErrorKind::InvalidInput,
                        "symbolic link loop: the directory contains itself",
                    ));
                }
                up = p.parent.as_ref();
            }
        }
        let dst = self
            .open_beneath(
                self.dst_root.as_fd(),
                &node.rel,
                OFlags::RDONLY | OFlags::DIRECTORY,
            )
            .map_err(|e| {
                let in_the_way = [Errno::LOOP, Errno::NOTDIR].map(|e| Some(e.raw_os_error()));
                let e = if in_the_way.contains(&e.raw_os_error()) {
                    io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "a symbolic link or a non-directory is in the way (not followed)",
                    )
                } else {
                    e
                };
                Error::new(Operation::CreateDirectory, self.dst_of(&node.rel, None), e)
            })?;
        let dst_st = rustix::fs::fstat(&dst).map_err(|e| {
            Error::new(
                Operation::StatDestination,
                self.dst_of(&node.rel, None),
                e.into(),
            )
        })?;
        // Only now may its metadata be applied at the end: the
        // destination is really a directory of ours.
        let _ = node.meta.set(meta);
        let dst_gid = if dst_st.st_mode & 0o2000 != 0 {
            dst_st.st_gid
        } else {
            self.egid
        };
        #[allow(clippy::unnecessary_cast)]
        Ok(DirFds {
            src,
            dst,
            dst_dev: dst_st.st_dev as u64,
            fresh: node.created,
            dst_gid: dst_gid as u32,
        })
    }

    fn read_entries(&self, node: &Arc<DirNode>, fds: &Arc<DirFds>, report: &mut TreeReport) {
        // The listing reads through a descriptor of its own; the shared one
        // is only used to open entries.
        let unreadable = |e: Errno| {
            Error::new(
                Operation::ReadDirectory,
                self.src_of(&node.rel, None),
                e.into(),
            )
        };
        let mut dir = match Dir::read_from(&fds.src) {
            Ok(d) => d,
            Err(e) => return self.fail(report, unreadable(e)),
        };
        let mut entries = Vec::new();
        while let Some(entry) = dir.read() {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => return self.fail(report, unreadable(e)),
            };
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let mut ftype = entry.file_type();
            let follow = self.opts.follow_links && ftype == FileType::Symlink;
            if ftype == FileType::Unknown || follow {
                let flags = if follow {
                    AtFlags::empty()
                } else {
                    AtFlags::SYMLINK_NOFOLLOW
                };
                match rustix::fs::statat(fds.src.as_fd(), name, flags) {
                    Ok(st) => ftype = FileType::from_raw_mode(st.st_mode as _),
                    Err(e) => {
                        let err = Error::new(
                            Operation::StatSource,
                            self.src_of(&node.rel, Some(name)),
                            e.into(),
                        );
                        self.fail(report, err);
                        continue;
                    }
                }
            }
            if ftype == FileType::Directory {
                self.subdir(node, fds, name, report);
            } else {
                entries.push((name.to_owned(), ftype));
                if entries.len() == CHUNK {
                    self.push_chunk(Chunk {
                        node: node.clone(),
                        fds: fds.clone(),
                        entries: std::mem::take(&mut entries),
                    });
                }
            }
        }
        if !entries.is_empty() {
            self.push_chunk(Chunk {
                node: node.clone(),
                fds: fds.clone(),
                entries,
            });
        }
    }

    /// Creates the destination of a subdirectory and queues its listing.
    fn subdir(&self, node: &Arc<DirNode>, fds: &DirFds, name: &CStr, report: &mut TreeReport) {
        let created = match rustix::fs::mkdirat(&fds.dst, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => true,
            // Whether it is a directory (and not a link) is checked when
            // it is opened.
            Err(Errno::EXIST) => false,
            Err(e) => {
                let err = Error::new(
                    Operation::CreateDirectory,
                    self.dst_of(&node.rel, Some(name)),
                    e.into(),
                );
                return self.fail(report, err);
            }
        };
        node.pending.fetch_add(1, Ordering::Relaxed);
        let child = Arc::new(DirNode {
            parent: Some(node.clone()),
            rel: node.rel.join(os(name)),
            created,
            pending: AtomicUsize::new(1),
            meta: OnceLock::new(),
        });
        self.lock_queue().dirs.push(child);
        self.queue_cv.notify_one();
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

    /// One unit of `node`'s work is done; when it was the last, applies the
    /// directory's metadata, and so on up the tree.
    fn finish_work(&self, node: &Arc<DirNode>, fds: Option<&DirFds>, report: &mut TreeReport) {
        if node.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.apply_dir_meta(node, fds) {
            self.fail(report, e);
        }
        let mut up = node.parent.clone();
        while let Some(p) = up {
            if p.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
            if let Err(e) = self.apply_dir_meta(&p, None) {
                self.fail(report, e);
            }
            up = p.parent.clone();
        }
    }

    fn apply_dir_meta(&self, node: &DirNode, fds: Option<&DirFds>) -> Result<()> {
        // A directory that could not be listed keeps what it has.
        let Some(meta) = node.meta.get() else {
            return Ok(());
        };
        let path = || self.dst_of(&node.rel, None);
        let reopened;
        let dst = match fds {
            Some(f) => f.dst.as_fd(),
            None => {
                reopened = self
                    .open_beneath(
                        self.dst_root.as_fd(),
                        &node.rel,
                        OFlags::RDONLY | OFlags::DIRECTORY,
                    )
                    .map_err(|e| Error::new(Operation::CreateDirectory, path(), e))?;
                reopened.as_fd()
            }
        };
        if self.root && (meta.uid != self.euid || meta.gid != self.egid) {
            rustix::fs::fchown(
                dst,
                Some(rustix::fs::Uid::from_raw(meta.uid)),
                Some(rustix::fs::Gid::from_raw(meta.gid)),
            )
            .map_err(|e| Error::new(Operation::SetOwner, path(), e.into()))?;
        }
        let mode = if self.copy.preserve_mode {
            Some(self.keep_mode(meta.mode))
        } else if node.created {
            Some(meta.mode & 0o777 & !self.umask)
        } else {
            None
        };
        if let Some(mode) = mode {
            rustix::fs::fchmod(dst, Mode::from_raw_mode(mode as _))
                .map_err(|e| Error::new(Operation::SetPermissions, path(), e.into()))?;
        }
        if self.copy.preserve_times {
            rustix::fs::futimens(dst, &meta.times())
                .map_err(|e| Error::new(Operation::SetTimes, path(), e.into()))?;
        }
        Ok(())
    }

    /// The permission bits to keep: set-user-ID and set-group-ID only as
    /// root, and sticky.
    fn keep_mode(&self, mode: u32) -> u32 {
        if self.root {
            mode & 0o7777
        } else {
            mode & 0o1777
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

    /// A name for a temporary entry in a destination directory.
    fn temp_name(name: &CStr) -> CString {
        use std::sync::atomic::AtomicU64;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let bytes = name.to_bytes();
        let mut cut = bytes.len().min(180);
        // Cut at a character boundary where the name is UTF-8.
        while cut > 0 && cut < bytes.len() && (bytes[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        let mut v = Vec::with_capacity(cut + 48);
        v.push(b'.');
        v.extend_from_slice(&bytes[..cut]);
        v.extend_from_slice(TEMP_MARKER.as_bytes());
        // The process id once: it does not change while we run.
        static PID: OnceLock<u32> = OnceLock::new();
        let pid = *PID.get_or_init(std::process::id);
        v.extend_from_slice(format!("{pid:x}-{n:x}").as_bytes());
        CString::new(v).expect("no NUL in a file name")
    }

    fn file(&self, node: &DirNode, fds: &DirFds, name: &CStr) -> Result<Done> {
        let start = Instant::now();
        let src_path = || self.src_of(&node.rel, Some(name));
        let dst_path = || self.dst_of(&node.rel, Some(name));
        let src_dir = fds.src.as_fd();

        // In a directory that existed before, something may be in the way:
        // the overwrite mode decides for any entry but a directory (a link
        // or FIFO newer than the source stays under `Older`, as with cp -u).
        let mut warnings = Vec::new();
        let mut in_place = None;
        if !fds.fresh
            && let Ok(dst) = rustix::fs::statat(&fds.dst, name, AtFlags::SYMLINK_NOFOLLOW)
            && FileType::from_raw_mode(dst.st_mode as _) != FileType::Directory
        {
            let regular = FileType::from_raw_mode(dst.st_mode as _) == FileType::RegularFile;
            let decision = if self.copy.overwrite == Overwrite::Older {
                let flags = if self.opts.follow_links {
                    AtFlags::empty()
                } else {
                    AtFlags::SYMLINK_NOFOLLOW
                };
                let src = rustix::fs::statat(src_dir, name, flags)
                    .map_err(|e| Error::new(Operation::StatSource, src_path(), e.into()))?;
                policy::decide(
                    Overwrite::Older,
                    Some(Meta::of(&src).mtime),
                    Some(Meta::of(&dst).mtime),
                )
            } else {
                policy::decide::<(i64, i64)>(self.copy.overwrite, None, None)
            };
            match decision {
                Existing::Keep(why) => return Ok(Done::UpToDate(why)),
                Existing::Refuse => return Err(policy::exists(&dst_path())),
                Existing::Replace => {}
            }
            // A link or FIFO is replaced by the rename, never written to.
            let refusal = regular
                .then(|| super::unix::may_write_at(&fds.dst, name).err())
                .flatten();
            let writable = refusal.is_none();
            if let Some(e) = refusal.filter(|_| !self.copy.force) {
                return Err(policy::not_writable(&dst_path(), e));
            }
            if self.copy.in_place && writable && regular {
                let flags = OFlags::RDWR | OFlags::TRUNC | OFlags::CLOEXEC | OFlags::NOFOLLOW;
                let fd = rustix::fs::openat(&fds.dst, name, flags, Mode::empty())
                    .map_err(|e| Error::new(Operation::CreateFile, dst_path(), e.into()))?;
                in_place = Some(fd);
            } else if regular && dst.st_nlink > 1 {
                // `st_nlink` is not the same integer type everywhere.
                #[allow(clippy::unnecessary_cast)]
                let links = dst.st_nlink as u64 - 1;
                warnings.push(Warning::ReplacedHardLinks { links });
            }
        }

        let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        if !self.opts.follow_links {
            flags |= OFlags::NOFOLLOW;
        }
        let src = rustix::fs::openat(src_dir, name, flags, Mode::empty())
            .map_err(|e| Error::new(Operation::OpenSource, src_path(), e.into()))?;
        let src = File::from(src);
        let src_meta = src
            .metadata()
            .map_err(|e| Error::new(Operation::StatSource, src_path(), e))?;
        if !src_meta.is_file() {
            return Err(Error::other(
                Operation::SourceNotRegular,
                src_path(),
                io::ErrorKind::InvalidInput,
                "changed type during the copy",
            ));
        }
        let meta = Meta::of_file(&src_meta);

        let claim = if src_meta.nlink() > 1 {
            self.claim_link(meta.dev, meta.ino)
        } else {
            Claim::Alone
        };
        if let Claim::LinkTo(first) = &claim {
            self.hard_link(fds, name, first)
                .map_err(|e| Error::new(Operation::HardLink, dst_path(), e))?;
            return Ok(Done::HardLink);
        }
        let result = self.copy_regular(fds, name, &src, &src_meta, start, in_place, warnings);
        if let Claim::First = claim {
            self.link_done(
                (meta.dev, meta.ino),
                result.as_ref().ok().map(|_| node.rel.join(os(name))),
            );
        }
        match result {
            Ok(r) if r.skipped.is_some() => Ok(Done::UpToDate(Skipped::Exists)),
            Ok(mut r) => {
                r.destination = dst_path();
                Ok(Done::File(r))
            }
            Err((op, e)) => {
                let path = if op == Operation::OpenSource || op == Operation::Clone {
                    src_path()
                } else {
                    dst_path()
                };
                Err(Error::new(op, path, e))
            }
        }
    }

    /// Copies an open regular file into the destination directory through
    /// the one per-file pipeline ([`crate::pipeline`]), with a
    /// [`DirTarget`] for the new file and the tree's memory of refusals.
    #[allow(clippy::too_many_arguments)]
    fn copy_regular(
        &self,
        fds: &DirFds,
        name: &CStr,
        src: &File,
        src_meta: &Metadata,
        start: Instant,
        in_place: Option<OwnedFd>,
        mut warnings: Vec<Warning>,
    ) -> std::result::Result<CopyReport, (Operation, io::Error)> {
        let mut target = self.target(fds, name, src_meta.mode() & 0o777, in_place)?;
        let mover = TreeMover {
            engine: self,
            fds,
            pair: (src_meta.dev(), fds.dst_dev),
        };
        let defaults = Defaults {
            umask: Some(self.umask),
            gid: Some(fds.dst_gid),
        };
        let copied = pipeline::copy_open(
            src,
            src_meta,
            &mut target,
            &mover,
            &self.copy,
            defaults,
            &mut warnings,
        )?;
        Ok(CopyReport {
            destination: PathBuf::new(),
            bytes: copied.bytes,
            method: copied.method,
            fallbacks: copied.fallbacks,
            elapsed: start.elapsed(),
            warnings,
            // `Skip`: a file that appeared meanwhile is kept.
            skipped: (!copied.placed).then_some(Skipped::Exists),
        })
    }

    /// The new file for `name` in `fds.dst`, created with `mode` minus the
    /// umask. In a directory this copy created, nothing is there to
    /// replace: the data goes into an anonymous file (`O_TMPFILE`) that
    /// `linkat` names once complete. A reader never sees a partial file, a
    /// crash leaves none, and the directory is updated once (a temporary
    /// name and a rename update it twice more: on ext4 the largest cost of
    /// a small file). Where it is refused, and in a directory that existed
    /// before, the file is written under a temporary name and renamed into
    /// place. Never under its final name: a crash would leave a partial
    /// file there. (On Btrfs an anonymous file costs more than a named one;
    /// the guarantee wins.) In a new directory of a staging tree, no one
    /// can see the file before the tree is renamed into place: it is
    /// created under its own name (one `linkat` less per file). Timings:
    /// bench/RESULTS.md, "Staging, anonymous files and temporary names".
    fn target<'f>(
        &self,
        fds: &'f DirFds,
        name: &'f CStr,
        mode: u32,
        in_place: Option<OwnedFd>,
    ) -> std::result::Result<DirTarget<'f>, (Operation, io::Error)> {
        let target = |file: OwnedFd, finish, tmp_name| DirTarget {
            dir: fds.dst.as_fd(),
            name,
            file: File::from(file),
            finish,
            tmp_name,
            placed: false,
        };
        if let Some(fd) = in_place {
            return Ok(target(fd, Finish::InPlace, name.to_owned()));
        }
        if self.staged && fds.fresh {
            let flags =
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW;
            let fd = rustix::fs::openat(&fds.dst, name, flags, Mode::from_raw_mode(mode as _))
                .map_err(|e| match e {
                    Errno::EXIST => policy::exists_error(),
                    e => (Operation::CreateFile, e.into()),
                })?;
            return Ok(target(fd, Finish::Named, name.to_owned()));
        }
        if fds.fresh && self.tmpfile.load(Ordering::Relaxed) {
            match create_anonymous(&fds.dst, c".", mode) {
                Ok(Some(file)) => return Ok(target(file.into(), Finish::Link, CString::default())),
                // Kernels before 3.11 and filesystems without it.
                Ok(None) => self.tmpfile.store(false, Ordering::Relaxed),
                Err(e) => return Err((Operation::CreateFile, e)),
            }
        }
        let (tmp_name, fd) = self.create_temp(fds, name, mode)?;
        Ok(target(fd, Finish::Rename, tmp_name))
    }

    fn create_temp(
        &self,
        fds: &DirFds,
        name: &CStr,
        mode: u32,
    ) -> std::result::Result<(CString, OwnedFd), (Operation, io::Error)> {
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let mut last = Errno::EXIST;
        for _ in 0..16 {
            let tmp_name = Self::temp_name(name);
            match rustix::fs::openat(&fds.dst, &tmp_name, flags, Mode::from_raw_mode(mode as _)) {
                Ok(fd) => return Ok((tmp_name, fd)),
                Err(Errno::EXIST) => last = Errno::EXIST,
                Err(e) => return Err((Operation::CreateTemporary, e.into())),
            }
        }
        Err((Operation::CreateTemporary, last.into()))
    }

    /// The methods to try for one file: [`super::linux::plan_for`] with the
    /// per-filesystem answers remembered.
    fn plan(&self, src: &Metadata, fds: &DirFds, dst: &File) -> Vec<Method> {
        let pair = (src.dev(), fds.dst_dev);
        super::linux::plan_for(
            &self.copy,
            src.len(),
            |m| self.is_refused(pair, m),
            || self.fs_kind(fds, dst),
        )
    }

    /// Whether `method` was refused for good between this (source,
    /// destination) device pair.
    fn is_refused(&self, (from, to): (u64, u64), method: Method) -> bool {
        self.refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(from, to, method))
    }

    fn refuse(&self, (from, to): (u64, u64), method: Method) {
        self.refused
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((from, to, method));
    }

    /// Remembers that a clone between this device pair copied for real.
    fn verify(&self, pair: (u64, u64)) {
        self.clone_verified
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pair);
    }

    /// Whether a clone between this (source, destination) device pair was
    /// already seen to copy for real.
    fn verified(&self, pair: (u64, u64)) -> bool {
        self.clone_verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pair)
    }

    /// The destination's filesystem, asked once per device.
    fn fs_kind(&self, fds: &DirFds, dst: &File) -> FsKind {
        if let Some(&v) = self
            .fs_kinds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fds.dst_dev)
        {
            return v;
        }
        let v = FsKind::of(dst);
        self.fs_kinds
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fds.dst_dev, v);
        v
    }

    fn claim_link(&self, dev: u64, ino: u64) -> Claim {
        let mut links = lock(&self.links);
        loop {
            match links.get(&(dev, ino)) {
                None => {
                    links.insert((dev, ino), LinkState::Copying);
                    return Claim::First;
                }
                Some(LinkState::Copied(p)) => return Claim::LinkTo(p.clone()),
                Some(LinkState::Failed) => return Claim::Alone,
                Some(LinkState::Copying) => {
                    links = self.links_cv.wait(links).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    fn link_done(&self, key: (u64, u64), copied: Option<PathBuf>) {
        let state = match copied {
            Some(p) => LinkState::Copied(p),
            None => LinkState::Failed,
        };
        lock(&self.links).insert(key, state);
        self.links_cv.notify_all();
    }

    /// Makes `name` another name of the copy at `first` (relative to the
    /// destination root); replaces an existing `name` through a temporary
    /// name.
    fn hard_link(&self, fds: &DirFds, name: &CStr, first: &Path) -> io::Result<()> {
        match rustix::fs::linkat(&self.dst_root, first, &fds.dst, name, AtFlags::empty()) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) if self.copy.overwrite == Overwrite::Replace => {
                let tmp = Self::temp_name(name);
                rustix::fs::linkat(&self.dst_root, first, &fds.dst, &tmp, AtFlags::empty())?;
                rustix::fs::renameat(&fds.dst, &tmp, &fds.dst, name).inspect_err(|_| {
                    let _ = rustix::fs::unlinkat(&fds.dst, &tmp, AtFlags::empty());
                })?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Creates an entry with `make(dir, name)`, through a temporary name
    /// and a rename when `name` exists.
    fn create_entry(
        &self,
        fds: &DirFds,
        name: &CStr,
        make: impl Fn(BorrowedFd<'_>, &CStr) -> rustix::io::Result<()>,
    ) -> std::result::Result<bool, (Operation, io::Error)> {
        match make(fds.dst.as_fd(), name) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) if self.copy.overwrite == Overwrite::Replace => {
                let tmp = Self::temp_name(name);
                make(fds.dst.as_fd(), &tmp).map_err(|e| (Operation::CreateTemporary, e.into()))?;
                let placed = file::rename(fds.dst.as_fd(), &tmp, name, self.copy.overwrite);
                if !matches!(placed, Ok(true)) {
                    let _ = rustix::fs::unlinkat(&fds.dst, &tmp, AtFlags::empty());
                }
                placed
            }
            // Links and FIFOs have no age to compare: `Older` keeps them
            // as `Skip` does (it never overwrites what may be newer).
            Err(Errno::EXIST)
                if matches!(self.copy.overwrite, Overwrite::Skip | Overwrite::Older) =>
            {
                Ok(false)
            }
            Err(Errno::EXIST) => Err((
                Operation::DestinationExists,
                io::Error::new(io::ErrorKind::AlreadyExists, "File exists"),
            )),
            Err(e) => Err((Operation::Symlink, e.into())),
        }
    }

    /// Owner and times of an entry just created (not followed).
    fn finish_entry(
        &self,
        fds: &DirFds,
        name: &CStr,
        meta: &Meta,
    ) -> std::result::Result<(), (Operation, io::Error)> {
        if self.root && (meta.uid != self.euid || meta.gid != fds.dst_gid) {
            rustix::fs::chownat(
                &fds.dst,
                name,
                Some(rustix::fs::Uid::from_raw(meta.uid)),
                Some(rustix::fs::Gid::from_raw(meta.gid)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(|e| (Operation::SetOwner, e.into()))?;
        }
        if self.copy.preserve_times {
            rustix::fs::utimensat(&fds.dst, name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| (Operation::SetTimes, e.into()))?;
        }
        Ok(())
    }

    fn symlink(&self, node: &DirNode, fds: &DirFds, name: &CStr) -> Result<Done> {
        let src_dir = fds.src.as_fd();
        let src_path = || self.src_of(&node.rel, Some(name));
        let target = rustix::fs::readlinkat(src_dir, name, Vec::new())
            .map_err(|e| Error::new(Operation::Symlink, src_path(), e.into()))?;
        let st = rustix::fs::statat(src_dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| Error::new(Operation::StatSource, src_path(), e.into()))?;
        let meta = Meta::of(&st);
        let dst_path = || self.dst_of(&node.rel, Some(name));
        let placed = self
            .create_entry(fds, name, |dir, n| rustix::fs::symlinkat(&*target, dir, n))
            .and_then(|placed| {
                if placed {
                    self.finish_entry(fds, name, &meta)?;
                }
                Ok(placed)
            })
            .map_err(|(op, e)| Error::new(op, dst_path(), e))?;
        if !placed {
            return Ok(Done::UpToDate(Skipped::Exists));
        }
        Ok(Done::Symlink)
    }

    fn fifo(&self, node: &DirNode, fds: &DirFds, name: &CStr) -> Result<Done> {
        let src_dir = fds.src.as_fd();
        let flags = if self.opts.follow_links {
            AtFlags::empty()
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        let st = rustix::fs::statat(src_dir, name, flags).map_err(|e| {
            Error::new(
                Operation::StatSource,
                self.src_of(&node.rel, Some(name)),
                e.into(),
            )
        })?;
        let meta = Meta::of(&st);
        let dst_path = || self.dst_of(&node.rel, Some(name));
        let mode = Mode::from_raw_mode((meta.mode & 0o777) as _);
        let placed = self
            .create_entry(fds, name, |dir, n| {
                rustix::fs::mknodat(dir, n, FileType::Fifo, mode, 0)
            })
            .map_err(|(op, e)| {
                let op = if op == Operation::Symlink {
                    Operation::CreateSpecial
                } else {
                    op
                };
                Error::new(op, dst_path(), e)
            })?;
        if !placed {
            return Ok(Done::UpToDate(Skipped::Exists));
        }
        if self.copy.preserve_mode {
            let want = self.keep_mode(meta.mode);
            if want != meta.mode & 0o777 & !self.umask {
                // Just created as a FIFO by us; chmod does not open it.
                rustix::fs::chmodat(
                    &fds.dst,
                    name,
                    Mode::from_raw_mode(want as _),
                    AtFlags::empty(),
                )
                .map_err(|e| Error::new(Operation::SetPermissions, dst_path(), e.into()))?;
            }
        }
        self.finish_entry(fds, name, &meta)
            .map_err(|(op, e)| Error::new(op, dst_path(), e))?;
        Ok(Done::Fifo)
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    /// `fastcopy clean` (stale::temporary_owner) must recognise what a tree
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
