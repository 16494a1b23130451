//! The one per-file pipeline: an open source into one new file, put in
//! place when complete. Single copies ([`crate::copy()`]) and every tree
//! worker call [`copy_open`]; they differ only in where the new file lives
//! ([`NewFile`]: a path next to the destination, or a name inside an open
//! directory) and in what the ladder remembers between files ([`Mover`]).
//!
//! The steps, in order: the platform's plan, the ladder (a method that
//! declines hands over to the next, see [`crate::ladder`]), the check that
//! the source did not change meanwhile, extended attributes, owner,
//! permissions, times, `fsync` when asked, and the new file's name.

use std::fs::{self, File, Metadata};
use std::io;

use crate::error::Operation;
use crate::ladder::{self, Step};
use crate::options::{CopyOptions, Overwrite, Reflink};
pub(crate) use crate::per_file::{
    Copied, Defaults, Existing, Mover, NewFile, PerFile, StepError, names_source,
};
use crate::policy;
use crate::progress;
use crate::report::{Method, Warning};
use crate::sys;

/// The platform's ladder, nothing remembered between files (single copies).
pub(crate) struct Plain;

impl Mover for Plain {
    fn plan(&self, opts: &CopyOptions, src: &Metadata, dst: &File) -> Vec<Method> {
        sys::plan(opts, src, dst)
    }

    fn step(
        &self,
        method: Method,
        at: u64,
        src: &File,
        src_meta: &Metadata,
        dst: &File,
        opts: &CopyOptions,
        warnings: &mut Vec<Warning>,
    ) -> Step {
        sys::run_method(method, at, src, src_meta, dst, opts, warnings)
    }
}

/// Copies the open regular file `src` (with the metadata it had when
/// opened) into `new` and puts it in place. Errors name the operation; the
/// caller adds the path (the source's for [`Operation::Clone`] and
/// [`Operation::SourceChanged`], the destination's otherwise).
pub(crate) fn copy_open(
    src: &File,
    src_meta: &Metadata,
    new: &mut dyn NewFile,
    mover: &dyn Mover,
    opts: &CopyOptions,
    defaults: Defaults,
    warnings: &mut Vec<Warning>,
) -> Result<Copied, StepError> {
    let dst = new.file();
    let mut plan = mover.plan(opts, src_meta, dst);
    if let Some(only) = opts.only_method {
        // A clone asked for alone is tried even where the filesystem is
        // known not to clone: its own refusal is the answer.
        let clone_asked = only.is_clone()
            && opts.reflink != Reflink::Never
            && Method::available().contains(&only);
        if !plan.contains(&only) && !clone_asked {
            let why = format!("method {only} is not available here with these options");
            return Err((
                Operation::CopyData,
                io::Error::new(io::ErrorKind::Unsupported, why),
            ));
        }
        plan = vec![only];
    }
    if let Some(p) = &opts.progress {
        p.start(src_meta.len());
    }
    let cancelled = |e: io::Error| (Operation::Cancelled, e);
    progress::check(opts.progress.as_deref()).map_err(cancelled)?;
    let mut fallbacks = Vec::new();
    let (method, bytes) = ladder::run(&plan, opts.reflink, &mut fallbacks, |m, at| {
        mover.step(m, at, src, src_meta, dst, opts, warnings)
    })
    .map_err(|(op, e)| {
        if progress::is_cancelled(&e) {
            (Operation::Cancelled, e)
        } else {
            (op, e)
        }
    })?;
    // A clone is one consistent snapshot of the source, taken under its
    // lock; data copied in steps can mix two versions.
    if !method.is_clone() {
        policy::check_unchanged(src, src_meta, bytes, opts, warnings)?;
    }
    apply_metadata(src, src_meta, dst, opts, new.is_new(), defaults, warnings)?;
    let placed = new.persist(opts.overwrite)?;
    Ok(Copied {
        method,
        bytes,
        fallbacks,
        placed,
    })
}

/// Extended attributes, owner (as root) and permissions of the source on
/// a new file; times on any; then `fsync` when asked.
fn apply_metadata(
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
    is_new: bool,
    defaults: Defaults,
    warnings: &mut Vec<Warning>,
) -> Result<(), StepError> {
    if opts.preserve_xattrs && is_new {
        sys::copy_xattrs(src, dst, warnings);
    }
    let chowned = if is_new {
        sys::keep_owner(dst, src_meta, defaults.gid, defaults.root)
            .map_err(|e| (Operation::SetOwner, e))?
    } else {
        false
    };
    if opts.preserve_mode
        && is_new
        && let Some(perm) = sys::final_permissions(src_meta, warnings)
        && sys::needs_permissions(&perm, src_meta, defaults.umask, chowned)
    {
        dst.set_permissions(perm)
            .map_err(|e| (Operation::SetPermissions, e))?;
    }
    if opts.preserve_times {
        let mtime = src_meta
            .modified()
            .map_err(|e| (Operation::StatSource, e))?;
        let mut times = fs::FileTimes::new().set_modified(mtime);
        if let Ok(atime) = src_meta.accessed() {
            times = times.set_accessed(atime);
        }
        dst.set_times(times).map_err(|e| (Operation::SetTimes, e))?;
    }
    if opts.fsync {
        dst.sync_all().map_err(|e| (Operation::Sync, e))?;
    }
    Ok(())
}

/// The pipeline and the overwrite policy, as handed to a platform's tree
/// walker.
pub(crate) struct Pipeline;

impl PerFile for Pipeline {
    fn copy_open(
        &self,
        src: &File,
        src_meta: &Metadata,
        new: &mut dyn NewFile,
        mover: &dyn Mover,
        opts: &CopyOptions,
        defaults: Defaults,
        warnings: &mut Vec<Warning>,
    ) -> Result<Copied, StepError> {
        copy_open(src, src_meta, new, mover, opts, defaults, warnings)
    }

    fn on_existing(
        &self,
        mode: Overwrite,
        src_mtime: Option<std::time::SystemTime>,
        dst_mtime: Option<std::time::SystemTime>,
    ) -> Existing {
        policy::decide(mode, src_mtime, dst_mtime)
    }
}
