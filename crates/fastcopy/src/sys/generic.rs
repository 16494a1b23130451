//! Platforms without a backend of their own yet: std only. A plain
//! read/write loop, `std::fs::rename`, and a hard link for no-clobber.

use std::fs::{File, Metadata};
#[cfg(not(unix))]
use std::fs::{OpenOptions, Permissions};
use std::io;
use std::path::Path;

use super::rw_loop::{self, Stop};
#[cfg(unix)]
pub(crate) use super::unix::{
    create_temp, final_permissions, initial_mode, open_source, same_file, special_kind,
};
use crate::ladder::Step;
use crate::options::{CopyOptions, Reflink};
use crate::report::{Method, Warning};

#[cfg(not(unix))]
pub(crate) fn open_source(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(not(unix))]
pub(crate) fn special_kind(meta: &Metadata) -> Option<&'static str> {
    meta.is_dir().then_some("is a directory")
}

/// Without file ids in std, compare what std offers; a hard link is not
/// detected here (the Windows backend will use the volume and file id).
#[cfg(not(unix))]
pub(crate) fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.len() == b.len()
        && a.modified().ok() == b.modified().ok()
        && a.created().ok() == b.created().ok()
        && a.file_type() == b.file_type()
}

#[cfg(not(unix))]
pub(crate) fn initial_mode(_src: &Metadata) -> u32 {
    0
}

#[cfg(not(unix))]
pub(crate) fn create_temp(path: &Path, _mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(not(unix))]
pub(crate) fn final_permissions(
    src: &Metadata,
    _warnings: &mut Vec<Warning>,
) -> Option<Permissions> {
    Some(src.permissions())
}

/// The methods of this ladder, in the order they are tried.
pub(crate) const METHODS: &[Method] = &[Method::ReadWrite];

/// Only the read/write loop; a clone is never possible here.
pub(crate) fn plan(opts: &CopyOptions, _src: &Metadata, _dst: &File) -> Vec<Method> {
    match opts.reflink {
        Reflink::Always => vec![Method::Reflink],
        _ => vec![Method::ReadWrite],
    }
}

pub(crate) fn run_method(
    method: Method,
    // Only Linux methods decline part way; the others start at 0.
    _from: u64,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
    _warnings: &mut Vec<Warning>,
) -> Step {
    if method != Method::ReadWrite {
        return Step::Unsupported(io::Error::new(
            io::ErrorKind::Unsupported,
            "not available on this platform",
        ));
    }
    let progress = opts.progress.as_deref();
    match rw_loop::copy(src, dst, 256 << 10, src_meta.len(), progress) {
        Ok(done) => Step::Done(done),
        Err(Stop::BeforeWriting(e)) if e.kind() == io::ErrorKind::Unsupported => {
            Step::Unsupported(e)
        }
        Err(Stop::BeforeWriting(e) | Stop::Failed(e)) => Step::Failed(e),
    }
}

pub(crate) fn copy_xattrs(_src: &File, _dst: &File, _warnings: &mut Vec<Warning>) {}

/// A hard link fails if the name exists, atomically; then the temporary
/// name goes.
pub(crate) fn rename_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}
