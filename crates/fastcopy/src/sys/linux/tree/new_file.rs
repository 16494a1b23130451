//! The new file of one tree entry, inside an open destination directory:
//! anonymous (`O_TMPFILE`), under a temporary name, under its own name in
//! a staging tree, or the existing destination written in place. The
//! tree's [`NewFile`].

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use super::super::{create_anonymous, link_anonymous};
use super::{DirFds, Engine};
use crate::error::Operation;
use crate::options::Overwrite;
use crate::per_file::TEMP_MARKER;
use crate::per_file::{self, NewFile, StepError};

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
        Err(Errno::EXIST) => Err(per_file::exists_error()),
        Err(e) => Err((Operation::Rename, e.into())),
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
                    Errno::EXIST => per_file::exists_error(),
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
