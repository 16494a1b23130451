//! What a tree remembers per (source, destination) device pair: methods
//! refused for good, clones seen to copy for real, and each destination
//! device's filesystem, consulted by the plan (`sys::linux::plan_for`).

use std::fs::File;
use std::os::unix::fs::MetadataExt;

use super::super::FsKind;
use super::{DirFds, Engine};
use crate::report::Method;
use std::fs::Metadata;

impl Engine<'_> {
    /// The methods to try for one file: [`super::super::plan_for`] with the
    /// per-filesystem answers remembered.
    pub(super) fn plan(&self, src: &Metadata, fds: &DirFds, dst: &File) -> Vec<Method> {
        let pair = (src.dev(), fds.dst_dev);
        super::super::plan_for(
            &self.copy,
            src.len(),
            |m| self.is_refused(pair, m),
            || self.fs_kind(fds, dst),
        )
    }

    /// Whether `method` was refused for good between this (source,
    /// destination) device pair.
    pub(super) fn is_refused(&self, (from, to): (u64, u64), method: Method) -> bool {
        self.refused
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(from, to, method))
    }

    pub(super) fn refuse(&self, (from, to): (u64, u64), method: Method) {
        self.refused
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((from, to, method));
    }

    /// Remembers that a clone between this device pair copied for real.
    pub(super) fn verify(&self, pair: (u64, u64)) {
        self.clone_verified
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pair);
    }

    /// Whether a clone between this (source, destination) device pair was
    /// already seen to copy for real.
    pub(super) fn verified(&self, pair: (u64, u64)) -> bool {
        self.clone_verified
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&pair)
    }

    /// The destination's filesystem, asked once per device.
    pub(super) fn fs_kind(&self, fds: &DirFds, dst: &File) -> FsKind {
        if let Some(&v) = self
            .fs_kinds
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&fds.dst_dev)
        {
            return v;
        }
        let v = FsKind::of(dst);
        self.fs_kinds
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fds.dst_dev, v);
        v
    }
}
