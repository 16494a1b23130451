//! The portable core of a single-file copy: checks, temporary file, the
//! platform's ladder, metadata, and the rename into place.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::{Error, Operation, Result};
use crate::ladder;
use crate::options::{CopyOptions, Overwrite};
use crate::policy::{self, Existing};
use crate::progress;
use crate::report::{CopyReport, Fallback, Method, Skipped, Warning};
use crate::sys;

/// The portable part of a temporary file's name: `.NAME.fastcopy-tmp-UNIQUE`.
/// Leftovers of a killed copy can be found by this marker.
pub const TEMP_MARKER: &str = ".fastcopy-tmp-";

pub(crate) fn copy_file(from: &Path, to: &Path, opts: &CopyOptions) -> Result<CopyReport> {
    let start = Instant::now();
    let mut warnings = Vec::new();

    let (src, src_meta) = open_source(from)?;
    let (dest, existing) = resolve_destination(from, to, &src, &src_meta, opts)?;
    let report = |bytes, method, fallbacks, warnings, skipped| CopyReport {
        destination: dest.clone(),
        bytes,
        method,
        fallbacks,
        elapsed: start.elapsed(),
        warnings,
        skipped,
    };

    if let Some(meta) = &existing {
        match policy::on_existing(opts.overwrite, &src_meta, meta) {
            Existing::Keep(why) => {
                return Ok(report(
                    0,
                    Method::ReadWrite,
                    Vec::new(),
                    warnings,
                    Some(why),
                ));
            }
            Existing::Refuse => return Err(policy::exists(&dest)),
            Existing::Replace => {}
        }
        let writable = sys::may_write(&dest);
        if !writable && !opts.force {
            return Err(policy::not_writable(&dest));
        }
        if opts.in_place && writable {
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .truncate(true)
                .open(&dest)
                .map_err(|e| Error::new(Operation::CreateFile, &dest, e))?;
            let (method, bytes, fallbacks) =
                copy_data(from, &src, &src_meta, &file, &dest, opts, &mut warnings)?;
            // The destination keeps its owner, permissions, ACLs and
            // attributes: only its data and times are the source's.
            let in_place = CopyOptions {
                preserve_mode: false,
                preserve_xattrs: false,
                ..opts.clone()
            };
            finish_metadata(
                from,
                &src,
                &src_meta,
                &file,
                &dest,
                &in_place,
                false,
                &mut warnings,
            )?;
            return Ok(report(bytes, method, fallbacks, warnings, None));
        }
        let links = sys::other_links(meta);
        if links > 0 {
            warnings.push(Warning::ReplacedHardLinks { links });
        }
    }

    let mut new = NewFile::create(&dest, sys::initial_mode(&src_meta), &mut warnings)?;
    let (method, bytes, fallbacks) =
        copy_data(from, &src, &src_meta, &new.file, &dest, opts, &mut warnings)?;
    finish_metadata(
        from,
        &src,
        &src_meta,
        &new.file,
        &dest,
        opts,
        true,
        &mut warnings,
    )?;
    let skipped = match new.persist(&dest, opts.overwrite)? {
        Placed::Yes => None,
        // Skip: the destination appeared during the copy and is kept.
        Placed::Kept => Some(Skipped::Exists),
    };
    let bytes = if skipped.is_some() { 0 } else { bytes };
    Ok(report(bytes, method, fallbacks, warnings, skipped))
}

/// Runs the platform's ladder from `src` into `dst` and checks that the
/// source did not change meanwhile. Returns the method, the bytes and the
/// methods that declined.
fn copy_data(
    from: &Path,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    dest: &Path,
    opts: &CopyOptions,
    warnings: &mut Vec<Warning>,
) -> Result<(Method, u64, Vec<Fallback>)> {
    let mut fallbacks = Vec::new();
    let mut plan = sys::plan(opts, src_meta, dst);
    if let Some(only) = opts.only_method {
        if !plan.contains(&only) {
            return Err(Error::other(
                Operation::CopyData,
                dest,
                io::ErrorKind::Unsupported,
                &format!("method {only} is not available here with these options"),
            ));
        }
        plan = vec![only];
    }
    if let Some(p) = &opts.progress {
        p.start(src_meta.len());
    }
    progress::check(opts.progress.as_deref())
        .map_err(|e| Error::new(Operation::Cancelled, dest, e))?;
    let outcome = ladder::run(&plan, opts.reflink, &mut fallbacks, |method, at| {
        sys::run_method(method, at, src, src_meta, dst, opts, warnings)
    });
    let (method, bytes) = outcome.map_err(|(op, e)| {
        if progress::is_cancelled(&e) {
            return Error::new(Operation::Cancelled, dest, e);
        }
        let path = if op == Operation::Clone { from } else { dest };
        Error::new(op, path, e)
    })?;
    policy::check_unchanged(src, src_meta, bytes, opts, warnings)
        .map_err(|(op, e)| Error::new(op, from, e))?;
    Ok((method, bytes, fallbacks))
}

/// Extended attributes, owner (as root, for a new file), permissions and
/// times of the source onto `dst`, then `fsync` when asked.
#[allow(clippy::too_many_arguments)]
fn finish_metadata(
    from: &Path,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    dest: &Path,
    opts: &CopyOptions,
    new_file: bool,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    if opts.preserve_xattrs {
        sys::copy_xattrs(src, dst, warnings);
    }
    if new_file {
        sys::keep_owner(dst, src_meta).map_err(|e| Error::new(Operation::SetOwner, dest, e))?;
    }
    if opts.preserve_mode
        && let Some(perm) = sys::final_permissions(src_meta, warnings)
    {
        dst.set_permissions(perm)
            .map_err(|e| Error::new(Operation::SetPermissions, dest, e))?;
    }
    if opts.preserve_times {
        let mut times = fs::FileTimes::new().set_modified(
            src_meta
                .modified()
                .map_err(|e| Error::new(Operation::StatSource, from, e))?,
        );
        if let Ok(atime) = src_meta.accessed() {
            times = times.set_accessed(atime);
        }
        dst.set_times(times)
            .map_err(|e| Error::new(Operation::SetTimes, dest, e))?;
    }
    if opts.fsync {
        dst.sync_all()
            .map_err(|e| Error::new(Operation::Sync, dest, e))?;
    }
    Ok(())
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

/// The new file a copy writes: without a name where the platform allows
/// it (`O_TMPFILE` on Linux: a process killed while writing leaves
/// nothing), otherwise under a temporary name next to the destination.
/// Named once complete by [`NewFile::persist`]; a temporary name is
/// removed on drop unless it was moved into place.
pub(crate) struct NewFile {
    pub(crate) file: File,
    /// The temporary name, if it has one.
    name: Option<PathBuf>,
    persisted: bool,
}

/// Whether [`NewFile::persist`] put the file in place.
pub(crate) enum Placed {
    Yes,
    /// [`Overwrite::Skip`] found a destination made meanwhile and kept it.
    Kept,
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

impl NewFile {
    fn create(dest: &Path, mode: u32, warnings: &mut Vec<Warning>) -> Result<NewFile> {
        let new = |file, name| NewFile {
            file,
            name,
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

    /// Puts the complete file at `dest` as `overwrite` says: replacing what
    /// is there (a rename), or only if nothing is (an exclusive link or
    /// rename, atomic).
    fn persist(&mut self, dest: &Path, overwrite: Overwrite) -> Result<Placed> {
        let exclusive = matches!(overwrite, Overwrite::NoClobber | Overwrite::Skip);
        let res = match &self.name {
            None if exclusive => sys::name_anonymous(&self.file, dest),
            None => {
                // No rename over a name for a file without one: it gets a
                // temporary name first.
                let mut res = Err(io::Error::from(io::ErrorKind::AlreadyExists));
                for _ in 0..16 {
                    let path = temp_path_for(dest);
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
                res.map_err(|e| Error::new(Operation::Rename, dest, e))?;
                return self.persist(dest, overwrite);
            }
            Some(name) if exclusive => sys::rename_noclobber(name, dest),
            Some(name) => fs::rename(name, dest),
        };
        match res {
            Ok(()) => {
                self.persisted = true;
                Ok(Placed::Yes)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if overwrite == Overwrite::Skip {
                    Ok(Placed::Kept)
                } else {
                    Err(policy::exists(dest))
                }
            }
            Err(e) => Err(Error::new(Operation::Rename, dest, e)),
        }
    }
}

impl Drop for NewFile {
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
