//! One regular file of a tree: the new file inside an open destination
//! directory ([`DirTarget`], the tree's [`NewFile`]) and the ladder with
//! the tree's memory of refusals ([`TreeMover`]). The steps themselves are
//! the one per-file pipeline's ([`crate::pipeline`]).

use std::ffi::{CStr, CString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::BorrowedFd;

use rustix::fs::{AtFlags, RenameFlags};
use rustix::io::Errno;

use super::super::linux::{
    ficlone, link_anonymous, may_fall_back, refused_for_the_pair, run_method_sized,
};
use super::{DirFds, Engine};
use crate::error::Operation;
use crate::ladder::Step;
use crate::options::{CopyOptions, Overwrite};
use crate::pipeline::{Mover, NewFile, StepError};
use crate::policy;
use crate::report::{Method, Warning};

/// How a tree's new file gets its final name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Finish {
    /// It has a temporary name: rename it over the old file.
    Rename,
    /// It is anonymous (`O_TMPFILE`): link it in.
    Link,
    /// It was created under its own name in a staging directory.
    Named,
    /// It is the existing destination, written in place.
    InPlace,
}

/// The new file of one entry, inside the open destination directory
/// `dir`. Dropped before it was placed, it removes the name it created
/// (a temporary, or its own name in a staging directory).
pub(super) struct DirTarget<'a> {
    pub(super) dir: BorrowedFd<'a>,
    /// The entry's final name.
    pub(super) name: &'a CStr,
    pub(super) file: File,
    pub(super) finish: Finish,
    /// The name it has while written (empty when anonymous).
    pub(super) tmp_name: CString,
    pub(super) placed: bool,
}

impl NewFile for DirTarget<'_> {
    fn file(&self) -> &File {
        &self.file
    }

    fn is_new(&self) -> bool {
        self.finish != Finish::InPlace
    }

    fn persist(&mut self, overwrite: Overwrite) -> Result<bool, StepError> {
        let placed = match self.finish {
            Finish::Rename => rename(self.dir, &self.tmp_name, self.name, overwrite)?,
            Finish::Link => {
                link_anonymous(&self.file, self.dir, self.name)
                    .map_err(|e| (Operation::CreateFile, e))?;
                true
            }
            Finish::Named | Finish::InPlace => true,
        };
        self.placed = placed;
        Ok(placed)
    }
}

impl Drop for DirTarget<'_> {
    fn drop(&mut self) {
        if !self.placed && matches!(self.finish, Finish::Rename | Finish::Named) {
            let _ = rustix::fs::unlinkat(self.dir, &*self.tmp_name, AtFlags::empty());
        }
    }
}

/// Renames the finished temporary entry `tmp` over `name` in `dir`, or
/// next to nothing with [`Overwrite::NoClobber`] and [`Overwrite::Skip`]
/// (`RENAME_NOREPLACE`; a hard link and an unlink where that is missing).
/// `Ok(false)`: `Skip` found `name` taken and kept it.
pub(super) fn rename(
    dir: BorrowedFd<'_>,
    tmp: &CStr,
    name: &CStr,
    overwrite: Overwrite,
) -> Result<bool, StepError> {
    let r = match overwrite {
        Overwrite::Replace | Overwrite::Older => rustix::fs::renameat(dir, tmp, dir, name),
        Overwrite::NoClobber | Overwrite::Skip => {
            match rustix::fs::renameat_with(dir, tmp, dir, name, RenameFlags::NOREPLACE) {
                Err(Errno::INVAL | Errno::NOSYS) => {
                    rustix::fs::linkat(dir, tmp, dir, name, AtFlags::empty())
                        .and_then(|()| rustix::fs::unlinkat(dir, tmp, AtFlags::empty()))
                }
                r => r,
            }
        }
    };
    match r {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) if overwrite == Overwrite::Skip => Ok(false),
        Err(Errno::EXIST) => Err(policy::exists_error()),
        Err(e) => Err((Operation::Rename, e.into())),
    }
}

/// The Linux ladder for one file of the tree, with what the tree remembers
/// per (source, destination) device pair: methods refused for good are not
/// tried again, and once one clone between the pair was seen to copy for
/// real, later clones are trusted without checking their size (one system
/// call less per file).
pub(super) struct TreeMover<'e, 'a> {
    pub(super) engine: &'e Engine<'a>,
    pub(super) fds: &'e DirFds,
    pub(super) pair: (u64, u64),
}

impl Mover for TreeMover<'_, '_> {
    fn plan(&self, _opts: &CopyOptions, src: &Metadata, dst: &File) -> Vec<Method> {
        self.engine.plan(src, self.fds, dst)
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
        let (engine, pair) = (self.engine, self.pair);
        let step = if method == Method::Reflink {
            match ficlone(src, dst) {
                // A clone that reports success but left the file empty (a
                // filter answering 0) copied nothing: fall back, and do not
                // clone between these filesystems again. The first clone of
                // each pair is checked; once one was real, the others are
                // trusted.
                Ok(()) if src_meta.len() > 0 && !engine.verified(pair) => match dst.metadata() {
                    Ok(m) if m.len() == 0 => {
                        engine.refuse(pair, Method::Reflink);
                        Step::Unsupported(io::Error::new(
                            io::ErrorKind::Unsupported,
                            "clone reported success but the copy is empty",
                        ))
                    }
                    Ok(m) => {
                        engine.verify(pair);
                        Step::Done(m.len())
                    }
                    Err(e) => Step::Failed(e),
                },
                Ok(()) => Step::Done(src_meta.len()),
                Err(e) if may_fall_back(&e) => Step::Unsupported(e),
                Err(e) => Step::Failed(e),
            }
        } else {
            run_method_sized(method, at, src, src_meta, dst, opts, warnings, true)
        };
        // Refused between these filesystems for good: not tried again for
        // this pair, which saves the call (and the reset after it) for
        // every further file.
        if let Step::Unsupported(e) = &step
            && refused_for_the_pair(e)
        {
            engine.refuse(pair, method);
        }
        step
    }
}
