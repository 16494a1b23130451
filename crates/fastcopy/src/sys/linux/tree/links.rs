//! Entries that are not regular files: hard links within the tree (a
//! group copied once, its further names linked), symbolic links and FIFOs,
//! created through a temporary name where something is in the way.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;

use super::meta::Meta;
use super::new_file;
use super::{DirFds, DirNode, Done, Engine, lock};
use crate::error::{Error, Operation, Result};
use crate::options::Overwrite;
use crate::report::Skipped;

/// A file with several names in the source: where its first copy went.
pub(super) enum LinkState {
    Copying,
    Copied(PathBuf),
    Failed,
}

pub(super) enum Claim {
    /// This name is the first: copy the data, then call `link_done`.
    First,
    /// Link to this copy (relative to the destination root).
    LinkTo(PathBuf),
    /// The first copy failed: copy the data independently.
    Alone,
}

impl Engine<'_> {
    pub(super) fn claim_link(&self, dev: u64, ino: u64) -> Claim {
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

    pub(super) fn link_done(&self, key: (u64, u64), copied: Option<PathBuf>) {
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
    pub(super) fn hard_link(&self, fds: &DirFds, name: &CStr, first: &Path) -> io::Result<()> {
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
    pub(super) fn create_entry(
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
                let placed = new_file::rename(fds.dst.as_fd(), &tmp, name, self.copy.overwrite);
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
    pub(super) fn finish_entry(
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

    pub(super) fn symlink(&self, node: &DirNode, fds: &DirFds, name: &CStr) -> Result<Done> {
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

    pub(super) fn fifo(&self, node: &DirNode, fds: &DirFds, name: &CStr) -> Result<Done> {
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
