//! One regular file of a tree: the new file inside an open destination
//! directory ([`DirTarget`], the tree's [`NewFile`]) and the ladder with
//! the tree's memory of refusals ([`TreeMover`]). The steps themselves are
//! the one per-file pipeline's ([`crate::pipeline`]).

use std::ffi::{CStr, CString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::super::{
    create_anonymous, ficlone, link_anonymous, may_fall_back, refused_for_the_pair,
    run_method_sized,
};
use super::meta::Meta;
use super::{Claim, DirFds, DirNode, Done, Engine, os};
use crate::copy::TEMP_MARKER;
use crate::error::{Error, Operation, Result};
use crate::ladder::Step;
use crate::options::{CopyOptions, Overwrite};
use crate::pipeline::{self, Defaults, Mover, NewFile, StepError};
use crate::policy::{self, Existing};
use crate::report::{CopyReport, Method, Skipped, Warning};

/// What is known of a file's destination before it is copied: the
/// existing file to write in place, if asked, and the warnings so far.
type Prior = (Option<OwnedFd>, Vec<Warning>);

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

impl Engine<'_> {
    /// A name for a temporary entry in a destination directory.
    pub(super) fn temp_name(name: &CStr) -> CString {
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
                let path = if pipeline::names_source(op) {
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
                policy::decide(
                    Overwrite::Older,
                    Some(Meta::of(&src).mtime),
                    Some(Meta::of(&dst).mtime),
                )
            } else {
                policy::decide::<(i64, i64)>(self.copy.overwrite, None, None)
            };
            match decision {
                Existing::Keep(why) => return Ok(Err(Done::UpToDate(why))),
                Existing::Refuse => return Err(policy::exists(&dst_path())),
                Existing::Replace => {}
            }
            // A link or FIFO is replaced by the rename, never written to.
            let refusal = regular
                .then(|| super::super::super::unix::may_write_at(&fds.dst, name).err())
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

        Ok(Ok((in_place, warnings)))
    }

    /// Copies an open regular file into the destination directory through
    /// the one per-file pipeline ([`crate::pipeline`]), with a
    /// [`DirTarget`] for the new file and the tree's memory of refusals.
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
    pub(super) fn target<'f>(
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

    pub(super) fn create_temp(
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
}
