//! Directory trees: options, report, and the portable checks around the
//! walk: the platform's own (`sys::copy_dir`, Linux) or the portable
//! sequential one ([`sequential`]).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::copy;
use crate::error::{Error, Operation, Result};
use crate::metrics::Metrics;
use crate::options::CopyOptions;
use crate::report::Warning;
use crate::sys;

pub(crate) mod sequential;

/// Receives progress while a tree is copied. Called from the worker
/// threads, once per entry; keep it cheap (an atomic add).
pub trait TreeProgress: Send + Sync {
    /// A regular file of `bytes` bytes was copied.
    fn file_copied(&self, _bytes: u64) {}
    /// Some other entry (directory, link, FIFO) was created, or an entry was
    /// skipped or failed.
    fn entry_done(&self) {}
    /// Whether [`TreeProgress::entry`] should be called (default `false`:
    /// building an entry's paths costs time on trees of small files).
    fn wants_entries(&self) -> bool {
        false
    }
    /// One entry was finished, with its paths and how it was copied (only
    /// when [`TreeProgress::wants_entries`] says so). Entries that failed
    /// are not passed here; they are in the report's errors.
    fn entry(&self, _entry: &TreeEntry<'_>) {}
    /// Polled by the workers between entries and inside large files: once
    /// it returns `true` the copy stops, a new destination's staging
    /// directory is removed, and the copy fails with
    /// [`Operation::Cancelled`]. Default `false`.
    fn cancelled(&self) -> bool {
        false
    }
}

/// What kind of entry a [`TreeEntry`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file, copied.
    File,
    /// A directory, created (or filled, if it existed).
    Directory,
    /// A symbolic link, recreated.
    Symlink,
    /// A further name of a file already copied, made as a hard link.
    HardLink,
    /// A FIFO, recreated.
    Special,
    /// Left alone: a socket or device, or a destination kept by the
    /// overwrite mode ([`TreeEntry::skipped`]).
    Skipped,
}

/// One finished entry of a tree copy, for [`TreeProgress::entry`].
#[derive(Debug)]
#[non_exhaustive]
pub struct TreeEntry<'a> {
    /// The entry in the source tree.
    pub source: &'a Path,
    /// Where it is now (the final path, also while a new tree is still
    /// being built in its staging directory).
    pub destination: &'a Path,
    /// What it is.
    pub kind: EntryKind,
    /// For a regular file: the method that copied it.
    pub method: Option<crate::Method>,
    /// For a regular file: the bytes copied.
    pub bytes: u64,
    /// For a regular file: the methods that declined before `method`.
    pub fallbacks: &'a [crate::Fallback],
    /// Why a file was left alone.
    pub skipped: Option<crate::Skipped>,
}

/// Options for [`copy_tree`](crate::copy_tree). A by-value builder:
///
/// ```
/// use fastcopy::{CopyOptions, Reflink, TreeOptions};
/// let opts = TreeOptions::new()
///     .copy_options(CopyOptions::new().reflink(Reflink::Never))
///     .jobs(4)
///     .fail_fast(true);
/// assert_eq!(opts.job_count(), 4);
/// ```
#[derive(Clone, Default)]
pub struct TreeOptions {
    pub(crate) copy: CopyOptions,
    pub(crate) jobs: usize,
    pub(crate) follow_links: bool,
    pub(crate) fail_fast: bool,
    pub(crate) progress: Option<Arc<dyn TreeProgress>>,
}

impl fmt::Debug for TreeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TreeOptions")
            .field("copy", &self.copy)
            .field("jobs", &self.jobs)
            .field("follow_links", &self.follow_links)
            .field("fail_fast", &self.fail_fast)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl TreeOptions {
    /// The defaults: [`CopyOptions::default`] for every file, one worker per
    /// core, symlinks copied as symlinks, go on after errors, copy
    /// everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// The options every regular file is copied with (overwrite, reflink,
    /// direct I/O, mode, times, xattrs, fsync). Their per-file progress and
    /// `create_parents` (except for the top directory) are not used.
    pub fn copy_options(mut self, options: CopyOptions) -> Self {
        self.copy = options;
        self
    }

    /// Worker threads; 0 (the default) means one per core. Fewer are used
    /// when the open-files limit is too low for this many.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Follow symbolic links in the source and copy what they point to
    /// (`cp -L`). Default off: links are recreated as links.
    pub fn follow_links(mut self, on: bool) -> Self {
        self.follow_links = on;
        self
    }

    /// Stop at the first failure instead of copying the rest (default off).
    pub fn fail_fast(mut self, on: bool) -> Self {
        self.fail_fast = on;
        self
    }

    /// Report progress to `progress`.
    pub fn progress(mut self, progress: Arc<dyn TreeProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The worker count asked for (0: one per core).
    pub fn job_count(&self) -> usize {
        self.jobs
    }

    /// The number of workers to start: the one asked for, or the cores.
    // Only the parallel (Linux) walk asks.
    #[allow(dead_code)]
    pub(crate) fn workers(&self) -> usize {
        if self.jobs > 0 {
            self.jobs
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

/// Something that did not go as asked in a tree copy, with the path it
/// concerns.
#[derive(Debug)]
pub struct TreeWarning {
    /// The source path.
    pub path: PathBuf,
    /// What happened.
    pub warning: Warning,
}

impl fmt::Display for TreeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}': {}", self.path.display(), self.warning)
    }
}

/// What a tree copy did. The copy went on after failures (unless
/// [`TreeOptions::fail_fast`]); each is in [`TreeReport::errors`].
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct TreeReport {
    /// Regular files copied: counts and bytes per method, fallbacks, size
    /// histogram. Hard links made instead of copies are not in it.
    pub metrics: Metrics,
    /// Directories created or filled.
    pub directories: u64,
    /// Symbolic links recreated.
    pub symlinks: u64,
    /// Hard links recreated (second and later names of a file).
    pub hard_links: u64,
    /// FIFOs recreated.
    pub special_files: u64,
    /// Sockets and devices skipped (each also a warning).
    pub skipped: u64,
    /// Entries (regular files, and the links and FIFOs in their place)
    /// whose destination was left alone by the overwrite mode
    /// ([`Overwrite::Skip`](crate::Overwrite::Skip),
    /// [`Overwrite::Older`](crate::Overwrite::Older)).
    pub up_to_date: u64,
    /// Worker threads used.
    pub jobs: usize,
    /// Wall time of the whole copy.
    pub elapsed: Duration,
    /// Warnings, each with its path.
    pub warnings: Vec<TreeWarning>,
    /// Every failure, each naming its path and operation.
    pub errors: Vec<Error>,
}

impl TreeReport {
    /// Whether every entry was copied.
    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }

    /// Adds `other`'s counts, warnings and errors to these (for totals over
    /// several trees). `jobs` and `elapsed` are left as they are.
    pub fn merge(&mut self, other: TreeReport) {
        self.metrics.merge(&other.metrics);
        self.directories += other.directories;
        self.symlinks += other.symlinks;
        self.hard_links += other.hard_links;
        self.special_files += other.special_files;
        self.skipped += other.skipped;
        self.up_to_date += other.up_to_date;
        self.warnings.extend(other.warnings);
        self.errors.extend(other.errors);
    }
}

/// Copies `from` to `to`; `to` becomes the copy (as `cp -rT`: an existing
/// directory `to` is filled, not entered). See [`crate::copy_tree`].
pub(crate) fn copy_tree(from: &Path, to: &Path, opts: &TreeOptions) -> Result<TreeReport> {
    let start = Instant::now();
    let meta = if opts.follow_links {
        fs::metadata(from)
    } else {
        fs::symlink_metadata(from)
    }
    .map_err(|e| Error::new(Operation::StatSource, from, e))?;

    let mut report = TreeReport {
        jobs: 1,
        ..TreeReport::default()
    };
    if meta.file_type().is_symlink() {
        if sys::PARALLEL_TREE {
            sys::copy_symlink(from, to, opts)?;
        } else {
            sequential::copy_symlink(from, to, opts)?;
        }
        report.symlinks = 1;
    } else if !meta.is_dir() {
        let mut copy_opts = opts.copy.clone();
        copy_opts.progress = None;
        let r = copy::copy_file(from, to, &copy_opts)?;
        if let Some(p) = &opts.progress {
            p.file_copied(r.bytes);
        }
        if r.skipped.is_some() {
            report.up_to_date += 1;
        } else {
            report.metrics.record(&r);
        }
        report
            .warnings
            .extend(r.warnings.into_iter().map(|w| TreeWarning {
                path: from.to_path_buf(),
                warning: w,
            }));
    } else {
        refuse_into_itself(from, to)?;
        match prepare_root(to, opts)? {
            root @ (Root::Existing | Root::Created) => {
                let target = Target {
                    dir: to,
                    shown: to,
                    created: matches!(root, Root::Created),
                    staged: false,
                };
                walk(from, &target, opts, &mut report)?;
            }
            Root::Staged(staging) => {
                // Removed if the walk fails or panics (a progress callback).
                let mut guard = Staging(Some(staging.clone()));
                let target = Target {
                    dir: &staging,
                    shown: to,
                    created: true,
                    staged: true,
                };
                walk(from, &target, opts, &mut report)?;
                // From here on `publish` decides what becomes of it.
                guard.0 = None;
                publish(&staging, to)?;
            }
        }
    }
    report.elapsed = start.elapsed();
    into_result(to, report)
}

/// A report with failures becomes an error that carries it: a tree copy
/// is complete or it failed.
fn into_result(to: &Path, report: TreeReport) -> Result<TreeReport> {
    let Some(first) = report.errors.first() else {
        return Ok(report);
    };
    let failed = report.errors.len();
    let message = format!(
        "{failed} entr{} failed; the first: {first}",
        if failed == 1 { "y" } else { "ies" }
    );
    let kind = first.kind();
    Err(Error::other(Operation::Incomplete, to, kind, &message).with_tree_report(report))
}

/// The platform's own walk where it has one, else the sequential one.
fn walk(
    from: &Path,
    target: &Target<'_>,
    opts: &TreeOptions,
    report: &mut TreeReport,
) -> Result<()> {
    if sys::PARALLEL_TREE {
        sys::copy_dir(from, target, opts, &crate::pipeline::Pipeline, report)
    } else {
        sequential::copy_dir(from, target, opts, report)
    }
}

/// Refuses a destination inside the source (or the source itself): the copy
/// would never end.
fn refuse_into_itself(from: &Path, to: &Path) -> Result<()> {
    let src = fs::canonicalize(from).map_err(|e| Error::new(Operation::StatSource, from, e))?;
    let dst = match fs::canonicalize(to) {
        Ok(d) => Some(d),
        Err(_) => match (to.parent(), to.file_name()) {
            (Some(p), Some(name)) => {
                let p = if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                };
                fs::canonicalize(p).ok().map(|p| p.join(name))
            }
            _ => None,
        },
    };
    match dst {
        Some(dst) if dst.starts_with(&src) => Err(Error::other(
            Operation::IntoItself,
            to,
            io::ErrorKind::InvalidInput,
            &format!("it is inside the source '{}'", from.display()),
        )),
        _ => Ok(()),
    }
}

/// Where a tree is written.
pub(crate) struct Target<'a> {
    /// The directory written into: the destination, or its staging
    /// directory.
    pub(crate) dir: &'a Path,
    /// The destination as named by the caller, for messages and reports.
    pub(crate) shown: &'a Path,
    /// Whether this copy created `dir`.
    pub(crate) created: bool,
    /// Whether `dir` is a staging directory that only this copy knows of
    /// and that is renamed to `shown` at the end: new entries in the
    /// directories it creates may then be written under their own names.
    pub(crate) staged: bool,
}

enum Root {
    /// An existing directory, filled in place.
    Existing,
    /// A directory created under its own name (platforms that do not stage).
    Created,
    /// A new, private staging directory next to the destination, renamed
    /// into place by [`publish`] when the copy ends.
    Staged(PathBuf),
}

/// Makes sure there is a directory to copy into: accepts an existing `to`,
/// or creates a new one, owner-only until its contents are complete. Where
/// the platform stages new trees ([`sys::STAGES_NEW_TREES`]), the new
/// directory is a temporary sibling of `to` (`.NAME.fastcopy-tmp-…`, which
/// `fastcopy --clean` recognises), and `to` appears only when the copy ends.
fn prepare_root(to: &Path, opts: &TreeOptions) -> Result<Root> {
    match fs::metadata(to) {
        Ok(m) if m.is_dir() => return Ok(Root::Existing),
        Ok(_) => {
            return Err(Error::other(
                Operation::CreateDirectory,
                to,
                io::ErrorKind::AlreadyExists,
                "cannot overwrite a non-directory with a directory",
            ));
        }
        // Something that is not followed to a directory (a dangling
        // symbolic link) is in the way, as mkdir would say.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if fs::symlink_metadata(to).is_ok() {
                return Err(Error::other(
                    Operation::CreateDirectory,
                    to,
                    io::ErrorKind::AlreadyExists,
                    "a symbolic link to nothing is in the way",
                ));
            }
        }
        Err(e) => return Err(Error::new(Operation::StatDestination, to, e)),
    }
    if opts.copy.create_parents
        && let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty())
    {
        fs::create_dir_all(parent).map_err(|e| Error::new(Operation::CreateParents, to, e))?;
    }
    if !sys::STAGES_NEW_TREES {
        sys::create_private_dir(to).map_err(|e| Error::new(Operation::CreateDirectory, to, e))?;
        return Ok(Root::Created);
    }
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for _ in 0..16 {
        let staging = copy::temp_path_for(to);
        match sys::create_private_dir(&staging) {
            Ok(()) => return Ok(Root::Staged(staging)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(Error::new(Operation::CreateDirectory, to, e)),
        }
    }
    Err(Error::new(Operation::CreateDirectory, to, last))
}

/// A staging directory, removed with its contents when dropped.
struct Staging(Option<PathBuf>);

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = crate::stale::remove_tree(&p);
        }
    }
}

/// Renames the finished staging directory to `to`. If something has taken
/// that name meanwhile, the copy is removed and the error says so (or says
/// where the copy is, if it could not be removed). If the rename fails
/// otherwise (a filesystem that cannot rename directories), the complete
/// copy is kept and the error names it.
fn publish(staging: &Path, to: &Path) -> Result<()> {
    let Err(e) = sys::rename_dir_noclobber(staging, to) else {
        return Ok(());
    };
    if e.kind() != io::ErrorKind::AlreadyExists {
        return Err(Error::other(
            Operation::Rename,
            to,
            e.kind(),
            &format!("{e}; the copy is kept in '{}'", staging.display()),
        ));
    }
    let what = match crate::stale::remove_tree(staging) {
        Ok(()) => "it appeared while the tree was copied; the copy was removed".to_owned(),
        Err(r) => format!(
            "it appeared while the tree was copied; the copy is left in '{}' (removing it failed: {r})",
            staging.display()
        ),
    };
    Err(Error::other(
        Operation::DestinationExists,
        to,
        io::ErrorKind::AlreadyExists,
        &what,
    ))
}
