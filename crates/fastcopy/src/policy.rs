//! The rules every copy of a regular file follows, single files and trees
//! alike: what happens to an existing destination, and whether a source
//! that changed while it was copied may pass.

use std::fs::{File, Metadata};
use std::io;
use std::path::Path;

use crate::error::{Error, Operation};
use crate::options::{CopyOptions, Overwrite};
use crate::report::{Skipped, Warning};
use crate::sys;

/// The decision of `mode` for a destination with metadata `dst`, the
/// source having `src`. [`Overwrite::Older`] compares modification times
/// only, never sizes: a destination edited after the source was written is
/// newer, whatever its size.
pub(crate) fn on_existing(mode: Overwrite, src: &Metadata, dst: &Metadata) -> Existing {
    decide(mode, src.modified().ok(), dst.modified().ok())
}

/// [`on_existing`] from the two modification times (any ordered form;
/// needed only for [`Overwrite::Older`]). An unknown time replaces.
pub(crate) fn decide<T: PartialOrd>(mode: Overwrite, src: Option<T>, dst: Option<T>) -> Existing {
    match mode {
        Overwrite::Replace => Existing::Replace,
        Overwrite::NoClobber => Existing::Refuse,
        Overwrite::Skip => Existing::Keep(Skipped::Exists),
        Overwrite::Older => match (src, dst) {
            (Some(s), Some(d)) if d >= s => Existing::Keep(Skipped::NotOlder),
            _ => Existing::Replace,
        },
    }
}

pub(crate) use crate::per_file::{Existing, exists_error};

/// The error for an existing destination that must not be replaced.
pub(crate) fn exists(dest: &Path) -> Error {
    let (op, e) = exists_error();
    Error::new(op, dest, e)
}

/// The error for an existing destination the caller may not write (see
/// [`CopyOptions::force`]), with the system's refusal.
pub(crate) fn not_writable(dest: &Path, refusal: io::Error) -> Error {
    Error::new(Operation::DestinationNotWritable, dest, refusal)
}

/// After the data of `src` (opened with metadata `start`) was copied,
/// `copied` bytes: an error if the source changed meanwhile, unless the
/// caller accepted it ([`CopyOptions::accept_changing_source`]), in which
/// case it becomes a warning. The error names no path: the caller adds the
/// source's.
pub(crate) fn check_unchanged(
    src: &File,
    start: &Metadata,
    copied: u64,
    opts: &CopyOptions,
    warnings: &mut Vec<Warning>,
) -> std::result::Result<(), (Operation, io::Error)> {
    let now = src.metadata().map_err(|e| (Operation::StatSource, e))?;
    if !sys::changed(start, &now, copied) {
        return Ok(());
    }
    let expected = start.len();
    if opts.accept_changing_source {
        warnings.push(Warning::SourceChanged { expected, copied });
        return Ok(());
    }
    let what = if copied == expected {
        format!("modified during the copy ({copied} bytes read)")
    } else {
        format!("{expected} bytes when the copy started, {copied} read")
    };
    Err((
        Operation::SourceChanged,
        io::Error::new(io::ErrorKind::Interrupted, what),
    ))
}
