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
use crate::progress;
use crate::report::CopyReport;
use crate::sys;

/// The portable part of a temporary file's name: `.NAME.fastcopy-tmp-UNIQUE`.
/// Leftovers of a killed copy can be found by this marker.
pub const TEMP_MARKER: &str = ".fastcopy-tmp-";

pub(crate) fn copy_file(from: &Path, to: &Path, opts: &CopyOptions) -> Result<CopyReport> {
    let start = Instant::now();
    let mut warnings = Vec::new();
    let mut fallbacks = Vec::new();

    let (src, src_meta) = open_source(from)?;
    let dest = resolve_destination(from, to, &src, &src_meta, opts)?;

    let mode = sys::initial_mode(&src_meta);
    let mut tmp = TempFile::create(&dest, mode)?;

    let mut plan = sys::plan(opts, &src_meta, &tmp.file);
    if let Some(only) = opts.only_method {
        if !plan.contains(&only) {
            return Err(Error::other(
                Operation::CopyData,
                &dest,
                io::ErrorKind::Unsupported,
                &format!("method {only} is not available here with these options"),
            ));
        }
        plan = vec![only];
    }
    let total = src_meta.len();
    if let Some(p) = &opts.progress {
        p.start(total);
    }
    progress::check(opts.progress.as_deref())
        .map_err(|e| Error::new(Operation::Cancelled, &dest, e))?;
    let outcome = ladder::run(&plan, opts.reflink, &mut fallbacks, |method| {
        sys::run_method(method, &src, &src_meta, &tmp.file, opts, &mut warnings)
    });
    let (method, bytes) = outcome.map_err(|(op, e)| {
        if progress::is_cancelled(&e) {
            return Error::new(Operation::Cancelled, &dest, e);
        }
        let path = if op == Operation::Clone { from } else { &dest };
        Error::new(op, path, e)
    })?;

    if opts.preserve_xattrs {
        sys::copy_xattrs(&src, &tmp.file, &mut warnings);
    }
    if opts.preserve_mode
        && let Some(perm) = sys::final_permissions(&src_meta, &mut warnings)
    {
        tmp.file
            .set_permissions(perm)
            .map_err(|e| Error::new(Operation::SetPermissions, &dest, e))?;
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
        tmp.file
            .set_times(times)
            .map_err(|e| Error::new(Operation::SetTimes, &dest, e))?;
    }
    if opts.fsync {
        tmp.file
            .sync_all()
            .map_err(|e| Error::new(Operation::Sync, &dest, e))?;
    }
    tmp.persist(&dest, opts.overwrite)?;

    Ok(CopyReport {
        destination: dest,
        bytes,
        method,
        fallbacks,
        elapsed: start.elapsed(),
        warnings,
    })
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
/// through a dangling one. Refuses the same file and special files, and
/// an existing destination under [`Overwrite::NoClobber`].
fn resolve_destination(
    from: &Path,
    to: &Path,
    src: &File,
    src_meta: &Metadata,
    opts: &CopyOptions,
) -> Result<PathBuf> {
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
        return Ok(dest);
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
    if opts.overwrite == Overwrite::NoClobber {
        return Err(Error::other(
            Operation::DestinationExists,
            &dest,
            io::ErrorKind::AlreadyExists,
            "file exists",
        ));
    }
    // Write where a symlink points, leaving the link itself alone.
    if fs::symlink_metadata(&dest).is_ok_and(|m| m.file_type().is_symlink()) {
        dest = fs::canonicalize(&dest)
            .map_err(|e| Error::new(Operation::StatDestination, &dest, e))?;
    }
    Ok(dest)
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

/// A file being written next to its destination. Removed on drop unless
/// [`TempFile::persist`] moved it into place.
pub(crate) struct TempFile {
    pub(crate) file: File,
    path: PathBuf,
    persisted: bool,
}

/// A new temporary name next to `dest`: `.NAME.fastcopy-tmp-PID-N-NANOS`
/// (see [`crate::stale`]), NAME cut to keep the whole under 255 bytes.
pub(crate) fn temp_path_for(dest: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let mut cut = name.len().min(180);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = OsString::from(".");
    tmp_name.push(&name[..cut]);
    tmp_name.push(TEMP_MARKER);
    tmp_name.push(unique_suffix(n));
    dir.join(tmp_name)
}

impl TempFile {
    fn create(dest: &Path, mode: u32) -> Result<TempFile> {
        let mut last = None;
        for _ in 0..16 {
            let path = temp_path_for(dest);
            match sys::create_temp(&path, mode) {
                Ok(file) => {
                    return Ok(TempFile {
                        file,
                        path,
                        persisted: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::new(Operation::CreateTemporary, dest, e)),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
        Err(Error::new(Operation::CreateTemporary, dest, e))
    }

    fn persist(&mut self, dest: &Path, overwrite: Overwrite) -> Result<()> {
        let res = match overwrite {
            Overwrite::Replace => fs::rename(&self.path, dest),
            Overwrite::NoClobber => sys::rename_noclobber(&self.path, dest),
        };
        match res {
            Ok(()) => {
                self.persisted = true;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Error::new(
                Operation::DestinationExists,
                dest,
                io::Error::new(io::ErrorKind::AlreadyExists, "file exists"),
            )),
            Err(e) => Err(Error::new(Operation::Rename, dest, e)),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
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
