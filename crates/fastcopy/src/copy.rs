//! The portable core of a single-file copy: checks, temporary file, the
//! platform's ladder, metadata, and the rename into place.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::{Error, Operation, Result};
use crate::options::{CopyOptions, Overwrite};
pub use crate::per_file::TEMP_MARKER;
use crate::pipeline::{self, Copied, Defaults, NewFile, Plain, StepError};
use crate::policy::{self, Existing};
use crate::report::{CopyReport, Method, Skipped, Warning};
use crate::sys;

pub(crate) fn copy_file(from: &Path, to: &Path, opts: &CopyOptions) -> Result<CopyReport> {
    let start = Instant::now();
    let mut warnings = Vec::new();

    let (src, src_meta) = open_source(from)?;
    let (dest, existing) = resolve_destination(from, to, &src, &src_meta, opts)?;
    let report = |copied: Option<Copied>, warnings, skipped: Option<Skipped>| {
        let (method, bytes, fallbacks) = match copied {
            Some(c) if skipped.is_none() => (c.method, c.bytes, c.fallbacks),
            Some(c) => (c.method, 0, c.fallbacks),
            None => (Method::ReadWrite, 0, Vec::new()),
        };
        CopyReport {
            destination: dest.clone(),
            bytes,
            method,
            fallbacks,
            elapsed: start.elapsed(),
            warnings,
            skipped,
        }
    };

    let mut in_place = None;
    if let Some(meta) = &existing {
        match policy::on_existing(opts.overwrite, &src_meta, meta) {
            Existing::Keep(why) => return Ok(report(None, warnings, Some(why))),
            Existing::Refuse => return Err(policy::exists(&dest)),
            Existing::Replace => {}
        }
        let refusal = sys::may_write(&dest).err();
        let writable = refusal.is_none();
        if let Some(e) = refusal.filter(|_| !opts.force) {
            return Err(policy::not_writable(&dest, e));
        }
        if opts.in_place && writable {
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .truncate(true)
                .open(&dest)
                .map_err(|e| Error::new(Operation::CreateFile, &dest, e))?;
            in_place = Some(InPlace(file));
        } else if sys::other_links(meta) > 0 {
            let links = sys::other_links(meta);
            warnings.push(Warning::ReplacedHardLinks { links });
        }
    }
    let mut path_target;
    let new: &mut dyn NewFile = match &mut in_place {
        Some(file) => file,
        None => {
            let mode = sys::initial_mode(&src_meta);
            path_target = PathTarget::create(&dest, existing.is_some(), mode, &mut warnings)?;
            &mut path_target
        }
    };
    let copied = pipeline::copy_open(
        &src,
        &src_meta,
        new,
        &Plain,
        opts,
        Defaults::default(),
        &mut warnings,
    )
    .map_err(|(op, e)| {
        let path = if pipeline::names_source(op) {
            from
        } else {
            &dest
        };
        Error::new(op, path, e)
    })?;
    // Skip: the destination appeared during the copy and is kept.
    let skipped = (!copied.placed).then_some(Skipped::Exists);
    Ok(report(Some(copied), warnings, skipped))
}

/// Opens the source without blocking (a FIFO would block an ordinary open)
/// and insists on a regular file.
fn open_source(from: &Path) -> Result<(File, Metadata)> {
    let file = match sys::open_source(from) {
        Ok(f) => f,
        Err(e) => {
            // Sockets cannot be opened at all (ENXIO): name what it is.
            if let Ok(meta) = fs::metadata(from)
                && let Some(what) = sys::special_kind(&meta)
            {
                return Err(not_regular(from, &meta, what));
            }
            return Err(Error::new(Operation::OpenSource, from, e));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::new(Operation::StatSource, from, e))?;
    if !meta.is_file() {
        let what = sys::special_kind(&meta).unwrap_or("not a regular file");
        return Err(not_regular(from, &meta, what));
    }
    Ok((file, meta))
}

fn not_regular(path: &Path, meta: &Metadata, what: &str) -> Error {
    let kind = if meta.is_dir() {
        io::ErrorKind::IsADirectory
    } else {
        io::ErrorKind::InvalidInput
    };
    Error::other(Operation::SourceNotRegular, path, kind, what)
}

/// Where the file will be written: `to`, or `to/NAME` when `to` is a
/// directory; through a symlink to its target, as `cp` does, but never
/// through a dangling one. Refuses the same file and special files.
/// Returns the path and, when a regular file is there, its metadata.
fn resolve_destination(
    from: &Path,
    to: &Path,
    src: &File,
    src_meta: &Metadata,
    opts: &CopyOptions,
) -> Result<(PathBuf, Option<Metadata>)> {
    let mut dest = to.to_path_buf();
    let mut meta = stat_destination(&dest, opts)?;
    if meta.as_ref().is_some_and(|m| m.is_dir()) {
        let name = from.file_name().ok_or_else(|| {
            Error::other(
                Operation::StatSource,
                from,
                io::ErrorKind::InvalidInput,
                "source has no file name",
            )
        })?;
        dest.push(name);
        meta = stat_destination(&dest, opts)?;
    }
    let Some(meta) = meta else {
        return Ok((dest, None));
    };
    if sys::same_file(src, src_meta, &dest, &meta) {
        return Err(Error::other(
            Operation::SameFile,
            &dest,
            io::ErrorKind::InvalidInput,
            &format!("it is the same file as '{}'", from.display()),
        ));
    }
    if meta.is_dir() {
        return Err(Error::other(
            Operation::StatDestination,
            &dest,
            io::ErrorKind::IsADirectory,
            "cannot overwrite a directory with a file",
        ));
    }
    if !meta.is_file() {
        let what = sys::special_kind(&meta).unwrap_or("not a regular file");
        return Err(Error::other(
            Operation::StatDestination,
            &dest,
            io::ErrorKind::InvalidInput,
            &format!("will not replace a special file ({what})"),
        ));
    }
    // Write where a symlink points, leaving the link itself alone.
    if fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink()) {
        dest = fs::canonicalize(&dest)
            .map_err(|e| Error::new(Operation::StatDestination, &dest, e))?;
    }
    Ok((dest, Some(meta)))
}

/// The destination's metadata following links, `None` when nothing is there.
/// Creates missing parents when asked.
fn stat_destination(dest: &Path, opts: &CopyOptions) -> Result<Option<Metadata>> {
    match fs::metadata(dest) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match fs::symlink_metadata(dest) {
                // A symlink whose target is missing: do not create the
                // target through it. Look once more, in case the target
                // appeared since.
                Ok(link) if link.file_type().is_symlink() => {
                    return match fs::metadata(dest) {
                        Ok(m) => Ok(Some(m)),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::other(
                            Operation::StatDestination,
                            dest,
                            io::ErrorKind::NotFound,
                            "not writing through a dangling symlink",
                        )),
                        Err(e) => Err(Error::new(Operation::StatDestination, dest, e)),
                    };
                }
                // Another writer created it between the two looks.
                Ok(m) => return Ok(Some(m)),
                Err(_) => {}
            }
            if opts.create_parents
                && let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty())
            {
                fs::create_dir_all(parent)
                    .map_err(|e| Error::new(Operation::CreateParents, dest, e))?;
            }
            Ok(None)
        }
        Err(e) => Err(Error::new(Operation::StatDestination, dest, e)),
    }
}

/// The new file of a single copy: without a name where the platform
/// allows it (`O_TMPFILE` on Linux: a process killed while writing leaves
/// nothing), otherwise under a temporary name next to the destination.
/// Named once complete by [`NewFile::persist`]; a temporary name is
/// removed on drop unless it was moved into place.
pub(crate) struct PathTarget {
    file: File,
    /// The temporary name, if it has one.
    name: Option<PathBuf>,
    dest: PathBuf,
    /// Whether a destination existed when the copy started.
    existed: bool,
    persisted: bool,
}

/// An existing destination written in place ([`CopyOptions::in_place`]).
struct InPlace(File);

impl NewFile for InPlace {
    fn file(&self) -> &File {
        &self.0
    }

    fn is_new(&self) -> bool {
        false
    }

    fn persist(&mut self, _overwrite: Overwrite) -> std::result::Result<bool, StepError> {
        Ok(true)
    }
}

/// The start of every temporary name for `dest`: `.NAME.fastcopy-tmp-`,
/// NAME cut to keep the whole under 255 bytes.
fn temp_prefix(dest: &Path) -> OsString {
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let mut cut = name.len().min(180);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut prefix = OsString::from(".");
    prefix.push(&name[..cut]);
    prefix.push(TEMP_MARKER);
    prefix
}

fn parent_of(dest: &Path) -> &Path {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A new temporary name next to `dest`: `.NAME.fastcopy-tmp-PID-N-NANOS`
/// (see [`crate::stale`]).
pub(crate) fn temp_path_for(dest: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = temp_prefix(dest);
    name.push(unique_suffix(n));
    parent_of(dest).join(name)
}

impl PathTarget {
    fn create(
        dest: &Path,
        existed: bool,
        mode: u32,
        warnings: &mut Vec<Warning>,
    ) -> Result<PathTarget> {
        let new = |file, name| PathTarget {
            file,
            name,
            dest: dest.to_path_buf(),
            existed,
            persisted: false,
        };
        match sys::anonymous_in(parent_of(dest), mode) {
            Ok(Some(file)) => return Ok(new(file, None)),
            Ok(None) => {}
            Err(e) => return Err(Error::new(Operation::CreateTemporary, dest, e)),
        }
        // Named temporaries can be left by a killed copy: those of dead
        // processes for this destination go now.
        for path in crate::stale::remove_stale_for(parent_of(dest), &temp_prefix(dest)) {
            warnings.push(Warning::RemovedStale { path });
        }
        let mut last = None;
        for _ in 0..16 {
            let path = temp_path_for(dest);
            match sys::create_temp(&path, mode) {
                Ok(file) => return Ok(new(file, Some(path))),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::new(Operation::CreateTemporary, dest, e)),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        Err(Error::new(Operation::CreateTemporary, dest, e))
    }

    /// Gives the file without a name a temporary one next to the
    /// destination, to rename it over what is there.
    fn name_it(&mut self) -> io::Result<()> {
        let mut res = Err(io::Error::from(io::ErrorKind::AlreadyExists));
        for _ in 0..16 {
            let path = temp_path_for(&self.dest);
            res = sys::name_anonymous(&self.file, &path);
            match &res {
                Ok(()) => {
                    self.name = Some(path);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(_) => break,
            }
        }
        res
    }
}

impl NewFile for PathTarget {
    fn file(&self) -> &File {
        &self.file
    }

    /// Puts the complete file at the destination as `overwrite` says:
    /// replacing what is there (a rename), or only if nothing is (an
    /// exclusive link or rename, atomic). A file without a name where
    /// nothing existed is linked in directly (no temporary name at any
    /// moment); if something appeared meanwhile, it is replaced as
    /// `overwrite` says.
    fn persist(&mut self, overwrite: Overwrite) -> std::result::Result<bool, StepError> {
        let exclusive = matches!(overwrite, Overwrite::NoClobber | Overwrite::Skip);
        let dest = self.dest.clone();
        let mut res = if self.name.is_none() && (exclusive || !self.existed) {
            sys::name_anonymous(&self.file, &dest)
        } else {
            Err(io::ErrorKind::AlreadyExists.into())
        };
        let taken = matches!(&res, Err(e) if e.kind() == io::ErrorKind::AlreadyExists);
        if taken && !exclusive {
            if self.name.is_none() {
                self.name_it().map_err(|e| (Operation::Rename, e))?;
            }
            let name = self.name.as_deref().unwrap_or(&dest);
            res = fs::rename(name, &dest);
        } else if taken && let Some(name) = &self.name {
            res = sys::rename_noclobber(name, &dest);
        }
        match res {
            Ok(()) => {
                self.persisted = true;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if overwrite == Overwrite::Skip {
                    Ok(false)
                } else {
                    Err(policy::exists_error())
                }
            }
            Err(e) => Err((Operation::Rename, e)),
        }
    }
}

impl Drop for PathTarget {
    fn drop(&mut self) {
        if !self.persisted
            && let Some(name) = &self.name
        {
            let _ = fs::remove_file(name);
        }
    }
}

/// A name part unique within this process (counter) and across processes
/// (process id and clock).
fn unique_suffix(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}-{:x}-{:x}", std::process::id(), n, nanos)
}
