//! A directory of a tree is finished when the last of its work is done:
//! then its permissions and times are applied (after its contents, so that
//! a read-only directory can be filled first), and so on up the tree.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use std::os::fd::AsFd;

use rustix::fs::{Mode, OFlags};

use super::Engine;
use super::dirs::{DirFds, DirNode};
use crate::error::{Error, Operation, Result};
use crate::tree::TreeReport;

impl Engine<'_> {
    /// One unit of `node`'s work is done; when it was the last, applies the
    /// directory's metadata, and so on up the tree.
    pub(super) fn finish_work(
        &self,
        node: &Arc<DirNode>,
        fds: Option<&DirFds>,
        report: &mut TreeReport,
    ) {
        if node.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.apply_dir_meta(node, fds) {
            self.fail(report, e);
        }
        let mut up = node.parent.clone();
        while let Some(p) = up {
            if p.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
            if let Err(e) = self.apply_dir_meta(&p, None) {
                self.fail(report, e);
            }
            up = p.parent.clone();
        }
    }

    pub(super) fn apply_dir_meta(&self, node: &DirNode, fds: Option<&DirFds>) -> Result<()> {
        // A directory that could not be listed keeps what it has.
        let Some(meta) = node.meta.get() else {
            return Ok(());
        };
        let path = || self.dst_of(&node.rel, None);
        let reopened;
        let dst = match fds {
            Some(f) => f.dst.as_fd(),
            None => {
                reopened = self
                    .open_beneath(
                        self.dst_root.as_fd(),
                        &node.rel,
                        OFlags::RDONLY | OFlags::DIRECTORY,
                    )
                    .map_err(|e| Error::new(Operation::CreateDirectory, path(), e))?;
                reopened.as_fd()
            }
        };
        if self.root && (meta.uid != self.euid || meta.gid != self.egid) {
            rustix::fs::fchown(
                dst,
                Some(rustix::fs::Uid::from_raw(meta.uid)),
                Some(rustix::fs::Gid::from_raw(meta.gid)),
            )
            .map_err(|e| Error::new(Operation::SetOwner, path(), e.into()))?;
        }
        let mode = if self.copy.preserve_mode {
            Some(self.keep_mode(meta.mode))
        } else if node.created {
            Some(meta.mode & 0o777 & !self.umask)
        } else {
            None
        };
        if let Some(mode) = mode {
            rustix::fs::fchmod(dst, Mode::from_raw_mode(mode as _))
                .map_err(|e| Error::new(Operation::SetPermissions, path(), e.into()))?;
        }
        if self.copy.preserve_times {
            rustix::fs::futimens(dst, &meta.times())
                .map_err(|e| Error::new(Operation::SetTimes, path(), e.into()))?;
        }
        Ok(())
    }

    /// The permission bits to keep: set-user-ID and set-group-ID only as
    /// root, and sticky.
    pub(super) fn keep_mode(&self, mode: u32) -> u32 {
        if self.root {
            mode & 0o7777
        } else {
            mode & 0o1777
        }
    }
}
