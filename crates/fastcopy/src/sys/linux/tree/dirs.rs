//! Directories of a tree: opening them beneath the roots without following
//! links, listing them into chunks of work, and applying their metadata
//! once the last of their work is done.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::meta::Meta;
use super::{CHUNK, Chunk, Engine, os};
use crate::error::{Error, Operation, Result};
use crate::tree::TreeReport;

/// A source directory being copied: counts the work still to do in it
/// (its listing, its chunks, its subdirectories).
pub(super) struct DirNode {
    pub(super) parent: Option<Arc<DirNode>>,
    /// The path below both roots.
    pub(super) rel: PathBuf,
    /// Whether the copy created the destination directory (otherwise it
    /// existed; without `preserve_mode` its mode is then left alone).
    pub(super) created: bool,
    pub(super) pending: AtomicUsize,
    /// The source directory's metadata, once listed.
    pub(super) meta: OnceLock<Meta>,
}

/// The open directories of a listed [`DirNode`], shared by its chunks and
/// closed with the last of them.
pub(super) struct DirFds {
    pub(super) src: OwnedFd,
    pub(super) dst: OwnedFd,
    /// The destination's device (for the per-filesystem caches).
    pub(super) dst_dev: u64,
    /// Whether this copy created the destination directory: files are then
    /// written anonymously (`O_TMPFILE`) and linked in when complete.
    pub(super) fresh: bool,
    /// The group a new file gets in the destination directory.
    pub(super) dst_gid: u32,
}

impl Engine<'_> {
    /// Opens `rel` below `root` without following any symbolic link on the
    /// way (`openat2` with `RESOLVE_NO_SYMLINKS`; one component at a time
    /// with `O_NOFOLLOW` where the kernel lacks it).
    pub(super) fn open_beneath(
        &self,
        root: BorrowedFd<'_>,
        rel: &Path,
        flags: OFlags,
    ) -> io::Result<OwnedFd> {
        let rel: &Path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if self.openat2.load(Ordering::Relaxed) {
            match rustix::fs::openat2(
                root,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                Err(Errno::NOSYS | Errno::PERM | Errno::INVAL | Errno::TOOBIG) => {
                    self.openat2.store(false, Ordering::Relaxed);
                }
                r => return Ok(r?),
            }
        }
        let mut cur: Option<OwnedFd> = None;
        let mut comps = rel.components().peekable();
        while let Some(c) = comps.next() {
            let last = comps.peek().is_none();
            let f = if last {
                flags
            } else {
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
            };
            let at = cur.as_ref().map_or(root, |fd| fd.as_fd());
            cur = Some(rustix::fs::openat(at, c.as_os_str(), f, Mode::empty())?);
        }
        cur.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    /// Opens a source directory: like the destination's without `-L`; with
    /// it, following links.
    pub(super) fn open_src_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY;
        if self.opts.follow_links {
            let rel: &Path = if rel.as_os_str().is_empty() {
                Path::new(".")
            } else {
                rel
            };
            Ok(rustix::fs::openat(
                &self.src_root,
                rel,
                flags | OFlags::CLOEXEC,
                Mode::empty(),
            )?)
        } else {
            self.open_beneath(self.src_root.as_fd(), rel, flags)
        }
    }

    /// Lists a directory: creates its subdirectories and queues them, and
    /// queues its other entries in chunks.
    pub(super) fn list(&self, node: Arc<DirNode>, report: &mut TreeReport) {
        match self.open_listed(&node) {
            Ok(fds) => {
                report.directories += 1;
                if let Some(p) = &self.opts.progress {
                    p.entry_done();
                }
                let fds = Arc::new(fds);
                self.read_entries(&node, &fds, report);
                self.finish_work(&node, Some(&fds), report);
            }
            Err(e) => {
                self.fail(report, e);
                // Nothing of it will be done; its parent may still finish.
                self.finish_work(&node, None, report);
            }
        }
    }

    pub(super) fn open_listed(&self, node: &Arc<DirNode>) -> Result<DirFds> {
        let src = self
            .open_src_dir(&node.rel)
            .map_err(|e| Error::new(Operation::ReadDirectory, self.src_of(&node.rel, None), e))?;
        let st = rustix::fs::fstat(&src).map_err(|e| {
            Error::new(
                Operation::StatSource,
                self.src_of(&node.rel, None),
                e.into(),
            )
        })?;
        let meta = Meta::of(&st);
        if self.opts.follow_links {
            let mut up = node.parent.as_ref();
            while let Some(p) = up {
                if p.meta
                    .get()
                    .is_some_and(|m| m.dev == meta.dev && m.ino == meta.ino)
                {
                    return Err(Error::other(
                        Operation::ReadDirectory,
                        self.src_of(&node.rel, None),
                        io::ErrorKind::InvalidInput,
                        "symbolic link loop: the directory contains itself",
                    ));
                }
                up = p.parent.as_ref();
            }
        }
        let dst = self
            .open_beneath(
                self.dst_root.as_fd(),
                &node.rel,
                OFlags::RDONLY | OFlags::DIRECTORY,
            )
            .map_err(|e| {
                let in_the_way = [Errno::LOOP, Errno::NOTDIR].map(|e| Some(e.raw_os_error()));
                let e = if in_the_way.contains(&e.raw_os_error()) {
                    io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        "a symbolic link or a non-directory is in the way (not followed)",
                    )
                } else {
                    e
                };
                Error::new(Operation::CreateDirectory, self.dst_of(&node.rel, None), e)
            })?;
        let dst_st = rustix::fs::fstat(&dst).map_err(|e| {
            Error::new(
                Operation::StatDestination,
                self.dst_of(&node.rel, None),
                e.into(),
            )
        })?;
        // Only now may its metadata be applied at the end: the
        // destination is really a directory of ours.
        let _ = node.meta.set(meta);
        let dst_gid = if dst_st.st_mode & 0o2000 != 0 {
            dst_st.st_gid
        } else {
            self.egid
        };
        #[allow(clippy::unnecessary_cast)]
        Ok(DirFds {
            src,
            dst,
            dst_dev: dst_st.st_dev as u64,
            fresh: node.created,
            dst_gid: dst_gid as u32,
        })
    }

    pub(super) fn read_entries(
        &self,
        node: &Arc<DirNode>,
        fds: &Arc<DirFds>,
        report: &mut TreeReport,
    ) {
        // The listing reads through a descriptor of its own; the shared one
        // is only used to open entries.
        let unreadable = |e: Errno| {
            Error::new(
                Operation::ReadDirectory,
                self.src_of(&node.rel, None),
                e.into(),
            )
        };
        let mut dir = match Dir::read_from(&fds.src) {
            Ok(d) => d,
            Err(e) => return self.fail(report, unreadable(e)),
        };
        let mut entries = Vec::new();
        while let Some(entry) = dir.read() {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => return self.fail(report, unreadable(e)),
            };
            let name = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            let mut ftype = entry.file_type();
            let follow = self.opts.follow_links && ftype == FileType::Symlink;
            if ftype == FileType::Unknown || follow {
                let flags = if follow {
                    AtFlags::empty()
                } else {
                    AtFlags::SYMLINK_NOFOLLOW
                };
                match rustix::fs::statat(fds.src.as_fd(), name, flags) {
                    Ok(st) => ftype = FileType::from_raw_mode(st.st_mode as _),
                    Err(e) => {
                        let err = Error::new(
                            Operation::StatSource,
                            self.src_of(&node.rel, Some(name)),
                            e.into(),
                        );
                        self.fail(report, err);
                        continue;
                    }
                }
            }
            if ftype == FileType::Directory {
                self.subdir(node, fds, name, report);
            } else {
                entries.push((name.to_owned(), ftype));
                if entries.len() == CHUNK {
                    self.push_chunk(Chunk {
                        node: node.clone(),
                        fds: fds.clone(),
                        entries: std::mem::take(&mut entries),
                    });
                }
            }
        }
        if !entries.is_empty() {
            self.push_chunk(Chunk {
                node: node.clone(),
                fds: fds.clone(),
                entries,
            });
        }
    }

    /// Creates the destination of a subdirectory and queues its listing.
    pub(super) fn subdir(
        &self,
        node: &Arc<DirNode>,
        fds: &DirFds,
        name: &CStr,
        report: &mut TreeReport,
    ) {
        let created = match rustix::fs::mkdirat(&fds.dst, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => true,
            // Whether it is a directory (and not a link) is checked when
            // it is opened.
            Err(Errno::EXIST) => false,
            Err(e) => {
                let err = Error::new(
                    Operation::CreateDirectory,
                    self.dst_of(&node.rel, Some(name)),
                    e.into(),
                );
                return self.fail(report, err);
            }
        };
        node.pending.fetch_add(1, Ordering::Relaxed);
        let child = Arc::new(DirNode {
            parent: Some(node.clone()),
            rel: node.rel.join(os(name)),
            created,
            pending: AtomicUsize::new(1),
            meta: OnceLock::new(),
        });
        self.lock_queue().dirs.push(child);
        self.queue_cv.notify_one();
    }
}
