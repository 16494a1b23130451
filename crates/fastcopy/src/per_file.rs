//! The one per-file pipeline as the platforms see it: what a tree walker
//! of the platform ([`crate::sys`]) hands to it and gets back, without
//! reaching into the core. The core passes its pipeline in as a
//! [`PerFile`] (dependency inversion: the core calls sys, sys calls only
//! what it was given).

use std::fs::{File, Metadata};
use std::io;
use std::time::SystemTime;

use crate::error::Operation;
use crate::ladder::Step;
use crate::options::{CopyOptions, Overwrite};
use crate::report::{Fallback, Method, Skipped, Warning};

/// The portable part of a temporary file's name: `.NAME.fastcopy-tmp-UNIQUE`.
/// Leftovers of a killed copy can be found by this marker.
pub const TEMP_MARKER: &str = ".fastcopy-tmp-";

/// An error of one step, without a path: the caller names the file.
pub(crate) type StepError = (Operation, io::Error);

/// Where the data of one copy goes until it is complete. Dropping one that
/// was not persisted removes whatever name it created.
pub(crate) trait NewFile {
    /// The open file the data is written into.
    fn file(&self) -> &File;
    /// Whether this is a new file, which gets the source's owner and
    /// permissions, or an existing destination written in place, which
    /// keeps its own.
    fn is_new(&self) -> bool {
        true
    }
    /// Puts the complete file in place as `overwrite` says. `Ok(false)`:
    /// [`Overwrite::Skip`] found a destination that appeared meanwhile and
    /// kept it.
    fn persist(&mut self, overwrite: Overwrite) -> Result<bool, StepError>;
}

/// How one file's data is moved: the platform's plan and methods, with
/// whatever is remembered between files.
pub(crate) trait Mover {
    /// The methods to try for this file, in order.
    fn plan(&self, opts: &CopyOptions, src: &Metadata, dst: &File) -> Vec<Method>;
    /// Runs one method from offset `at`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        method: Method,
        at: u64,
        src: &File,
        src_meta: &Metadata,
        dst: &File,
        opts: &CopyOptions,
        warnings: &mut Vec<Warning>,
    ) -> Step;
}

/// What the caller knows of the new file before it is written, so that
/// owner and permissions are set only where they differ: the umask it was
/// created under, the group it got from its directory, and whether the
/// process runs as root (asked once per tree, not once per file). `None`:
/// not known, so find out or set them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Defaults {
    pub(crate) umask: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) root: Option<bool>,
}

/// Whether an error of `op` concerns the source (its path names it) rather
/// than the destination.
pub(crate) fn names_source(op: Operation) -> bool {
    matches!(
        op,
        Operation::OpenSource | Operation::StatSource | Operation::Clone | Operation::SourceChanged
    )
}

/// The outcome of [`crate::pipeline::copy_open`].
#[derive(Debug)]
pub(crate) struct Copied {
    pub(crate) method: Method,
    pub(crate) bytes: u64,
    pub(crate) fallbacks: Vec<Fallback>,
    /// Whether the file was put in place (see [`NewFile::persist`]).
    pub(crate) placed: bool,
}

/// What to do with an existing regular file at the destination.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Copy and replace it.
    Replace,
    /// Leave it alone; the copy succeeds without copying.
    Keep(Skipped),
    /// Fail with [`exists_error`].
    Refuse,
}

/// The error for an existing destination that must not be replaced,
/// without the path.
pub(crate) fn exists_error() -> (Operation, io::Error) {
    (
        Operation::DestinationExists,
        io::Error::new(io::ErrorKind::AlreadyExists, "File exists"),
    )
}

/// The core's per-file work, handed to a platform's tree walker (only
/// platforms with a walker of their own call it).
#[allow(dead_code)]
pub(crate) trait PerFile: Sync {
    /// Copies the open `src` into `new` and puts it in place (the
    /// pipeline's `copy_open`).
    #[allow(clippy::too_many_arguments)]
    fn copy_open(
        &self,
        src: &File,
        src_meta: &Metadata,
        new: &mut dyn NewFile,
        mover: &dyn Mover,
        opts: &CopyOptions,
        defaults: Defaults,
        warnings: &mut Vec<Warning>,
    ) -> Result<Copied, StepError>;

    /// What `mode` does with an existing destination, given the two
    /// modification times (the policy's decision).
    fn on_existing(
        &self,
        mode: Overwrite,
        src_mtime: Option<SystemTime>,
        dst_mtime: Option<SystemTime>,
    ) -> Existing;
}
