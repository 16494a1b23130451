//! One regular file of a tree: what is in the way of it, and its copy
//! through the one per-file pipeline (the core's `pipeline`) into a
//! [`DirTarget`](super::new_file::DirTarget), with the tree's memory of
//! refusals ([`TreeMover`]).

use std::ffi::CStr;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Instant;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::super::{clone, refused_for_the_pair, run_method_sized};
use super::meta::Meta;
use super::{Claim, DirFds, DirNode, Done, Engine, os};
use crate::error::{Error, Operation, Result};
use crate::ladder::Step;
use crate::options::{CopyOptions, Overwrite};
use crate::per_file::{self, Defaults, Existing, Mover};
use crate::report::{CopyReport, Method, Skipped, Warning};

/// What is known of a file's destination before it is copied: the
/// existing file to write in place, if asked, and the warnings so far.
type Prior = (Option<OwnedFd>, Vec<Warning>);

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
            // The first clone of each pair is checked; once one was real,
            // the others are trusted. One that copied nothing (the
            // errno-less refusal) stops cloning between the pair.
            let verified = engine.verified(pair);
            let step = clone(src, src_meta, dst, !verified);
            match &step {
                Step::Done(n) if !verified && *n > 0 => engine.verify(pair),
                Step::Unsupported(e) if e.raw_os_error().is_none() => {
                    engine.refuse(pair, Method::Reflink)
                }
                _ => {}
            }
            step
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

impl Engine<'_> {
    pub(super) fn file(&self, node: &DirNode, fds: &DirFds, name: &CStr) -> Result<Done> {
        let start = Instant::now();
        let src_path = || self.src_of(&node.rel, Some(name));
        let dst_path = || self.dst_of(&node.rel, Some(name));
        let src_dir = fds.src.as_fd();

        let (in_place, warnings) = match self.in_the_way(node, fds, name)? {
            Ok(prior) => prior,
            Err(kept) => return Ok(kept),
        };

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
                let path = if per_file::names_source(op) {
                    src_path()
                } else {
                    dst_path()
                };
                Err(Error::new(op, path, e))
            }
        }
    }

    /// In a directory that existed before, something may be in the way of
    /// `name`: the overwrite mode decides for any entry but a directory (a
    /// link or FIFO newer than the source stays under `Older`, as with cp
    /// -u). `Ok(Err(done))`: the entry is left alone. Otherwise the
    /// destination to write in place, if asked, and the warnings so far.
    fn in_the_way(
        &self,
        node: &DirNode,
        fds: &DirFds,
        name: &CStr,
    ) -> Result<std::result::Result<Prior, Done>> {
        let src_path = || self.src_of(&node.rel, Some(name));
        let dst_path = || self.dst_of(&node.rel, Some(name));
        let src_dir = fds.src.as_fd();
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
                self.per_file.on_existing(
                    Overwrite::Older,
                    Meta::of(&src).modified(),
                    Meta::of(&dst).modified(),
                )
            } else {
                self.per_file.on_existing(self.copy.overwrite, None, None)
            };
            match decision {
                Existing::Keep(why) => return Ok(Err(Done::UpToDate(why))),
                Existing::Refuse => {
                    let (op, e) = per_file::exists_error();
                    return Err(Error::new(op, dst_path(), e));
                }
                Existing::Replace => {}
            }
            // A link or FIFO is replaced by the rename, never written to.
            let refusal = regular
                .then(|| super::super::super::unix::may_write_at(&fds.dst, name).err())
                .flatten();
            let writable = refusal.is_none();
            if let Some(e) = refusal.filter(|_| !self.copy.force) {
                return Err(Error::new(Operation::DestinationNotWritable, dst_path(), e));
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

        Ok(Ok((in_place, warnings)))
    }

    /// Copies an open regular file into the destination directory through
    /// the one per-file pipeline (the core's `pipeline`), with a
    /// [`DirTarget`](super::new_file::DirTarget) for the new file and the tree's memory of refusals.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn copy_regular(
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
            root: Some(self.root),
        };
        let copied = self.per_file.copy_open(
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
}
