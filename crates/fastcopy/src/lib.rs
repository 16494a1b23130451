//! Copy files as fast as the platform and filesystem allow, without ever
//! losing data, and say how it was done.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
//! # std::fs::write(&src, b"hello")?;
//! // Called like std::fs::copy (see below for what differs) ...
//! let report = fastcopy::copy(&src, &dst)?;
//! assert_eq!(report.bytes, 5);
//! println!("copied with {} after {} fallbacks", report.method, report.fallbacks.len());
//!
//! // ... with options when needed.
//! use fastcopy::{CopyOptions, Overwrite, Reflink};
//! let opts = CopyOptions::new().overwrite(Overwrite::NoClobber).reflink(Reflink::Never);
//! let err = fastcopy::copy_with(&src, &dst, &opts).unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
//! # Ok(()) }
//! ```
//!
//! # Methods, in the order they are tried
//!
//! | platform | order | verified by |
//! |---|---|---|
//! | Linux | `FICLONE` clone → `copy_file_range` (to end of file, ≤ 1 GiB a call; with [`Reflink::Never`] only where it cannot clone by itself: ext2/3/4, tmpfs, ramfs, f2fs) → `splice` through a 1 MiB pipe (files of at least [`SPLICE_MIN_SIZE`], where `copy_file_range` is left out by [`Reflink::Never`] or refused, e.g. between filesystems) → read/write loop; with [`DirectIo::Always`] an `O_DIRECT` loop takes the place of `copy_file_range` and `splice` | tests on Btrfs, XFS, ext4, tmpfs |
//! | macOS, iOS | `fclonefileat` clone (APFS) → `fcopyfile` (data, holes kept); `F_NOCACHE` on both files with [`DirectIo::Always`]; [`Reflink::Never`] skips the clone, [`Reflink::Always`] skips `fcopyfile` | compiled and linted only |
//! | Windows | block cloning with `FSCTL_DUPLICATE_EXTENTS_TO_FILE` (only where the volume reports `FILE_SUPPORTS_BLOCK_REFCOUNTING`: ReFS, Dev Drive; a file smaller than one cluster is left to the next method) → `CopyFileExW` (`COPY_FILE_NO_BUFFERING` with [`DirectIo::Always`]; left out with [`Reflink::Never`] where it could clone) → read/write loop | tests run under wine (no ReFS there) |
//! | others | read/write loop | |
//!
//! A method hands over to the next one only when the system said it is not
//! supported there; every other error ends the copy. [`CopyReport::method`]
//! says which method ran and [`CopyReport::fallbacks`] why the ones before
//! it did not. Why each step, which errors count as "not supported" and
//! why, and what was measured to choose the order: `docs/design.md` in the
//! repository (the source for those details; this page is the source for
//! the API).
//!
//! # Compared with `std::fs::copy`
//!
//! [`copy()`] takes the same arguments and, like [`std::fs::copy`], replaces
//! an existing destination, copies the permission bits, follows a symbolic
//! link given as the source, writes through a symbolic link that is the
//! destination, and refuses a source that is not a regular file. It
//! differs in these ways:
//!
//! - It returns a [`CopyReport`] (the byte count is [`CopyReport::bytes`])
//!   and an [`Error`] that names the operation and path; `?` converts it
//!   into [`std::io::Error`], keeping the kind and the OS error code.
//! - `to` may be an existing directory: the file is copied into it under
//!   its own name, as `cp` does (`std::fs::copy` fails).
//! - An existing destination is replaced by a new file renamed over it: a
//!   new inode. Other hard links to the old file keep the old content, and
//!   the old file's owner and ACLs are not carried over (std writes into
//!   the existing file, keeping its inode, owner and links).
//! - Access and modification times are kept, to the nanosecond (std sets
//!   none); set-user-ID and set-group-ID bits only when running as root.
//! - A failed copy leaves no partial file: the old destination is kept,
//!   or no destination at all (std may leave a truncated or partial one).
//! - The same file as source and destination (any path, hard link or
//!   symlink) is an error, and nothing is written.
//! - It clones where the filesystem can (std's `copy_file_range` does too
//!   on Btrfs and XFS), and [`Reflink::Never`] makes a real copy instead.
//!
//! # Guarantees
//!
//! - The destination path never holds a partial file: data goes into a
//!   file without a name (`O_TMPFILE` on Linux; elsewhere, or where that is
//!   refused, a temporary `.NAME.fastcopy-tmp-…` next to it), created with
//!   permissions no wider than the source's, and named once complete. A
//!   process killed while it writes leaves nothing on Linux.
//! - An existing destination is replaced atomically (a new inode; other
//!   hard links keep the old content, with a warning), or written in place
//!   with [`CopyOptions::in_place`]. [`Overwrite::Older`] never replaces a
//!   newer destination; [`Overwrite::NoClobber`] and [`Overwrite::Skip`]
//!   are atomic (`renameat2(RENAME_NOREPLACE)`, or a link of the unnamed
//!   file). A destination the caller may not write is refused unless
//!   [`CopyOptions::force`].
//! - A source that changed while it was copied is an error
//!   ([`Operation::SourceChanged`]) unless
//!   [`CopyOptions::accept_changing_source`]; the old destination stays.
//! - A method that answers "not supported" hands over to the next, which
//!   carries on from where the data ends; real errors end the copy.
//! - Source and destination being the same file (any path, hard link or
//!   symlink) is an error; the source is never written.
//! - Directories, FIFOs, sockets and devices are refused as sources without
//!   blocking; FIFOs and devices are never replaced as destinations.
//! - Holes of sparse files stay holes on the methods that copy data.
//! - Modification and access times are kept to the nanosecond, permissions
//!   too (set-user-ID/set-group-ID only for root); as root, owner and group.
//! - A tree copy in which any entry failed is an error
//!   ([`Operation::Incomplete`]) carrying its report.
//!
//! How each is kept, and the test that proves it: `docs/design.md`.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod copy;
mod error;
mod fault;
mod ladder;
mod metrics;
mod options;
mod per_file;
mod pipeline;
mod policy;
pub mod probe;
mod progress;
mod report;
pub mod stale;
mod sys;
mod tree;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use copy::TEMP_MARKER;
pub use error::{Error, Operation, Result};
/// Files at least this large are copied with `splice` through a pipe
/// where `copy_file_range` is excluded or refused (Linux); smaller ones
/// with the read/write loop.
#[cfg(target_os = "linux")]
#[cfg_attr(docsrs, doc(cfg(target_os = "linux")))]
pub const SPLICE_MIN_SIZE: u64 = sys::SPLICE_MIN_SIZE;
pub use metrics::{MethodStats, Metrics, SIZE_BUCKET_LIMITS, SizeBucket};
pub use options::{CopyOptions, DirectIo, Overwrite, ParseModeError, Preallocate, Reflink};
pub use probe::{Probe, Support, probe};
pub use progress::{NoProgress, Progress};
pub use report::{CopyReport, Fallback, Method, Skipped, Warning};
#[cfg(target_os = "linux")]
#[cfg_attr(docsrs, doc(cfg(target_os = "linux")))]
pub use sys::{Sharing, extent_sharing};
pub use tree::{EntryKind, TreeEntry, TreeOptions, TreeProgress, TreeReport, TreeWarning};

/// Copies the file `from` to `to` with default options.
///
/// Called like [`std::fs::copy`] and, like it, replaces an existing
/// destination and keeps the permission bits; unlike it, keeps the times,
/// replaces the destination with a new file (a new inode) renamed into
/// place, clones where it can, and reports how (the differences are listed
/// in the [crate documentation](crate#compared-with-stdfscopy)).
///
/// `to` may be an existing directory: the file is copied into it under its
/// own name.
pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<CopyReport> {
    copy::copy_file(from.as_ref(), to.as_ref(), &CopyOptions::default())
}

/// Copies the file `from` to `to` with `options`.
pub fn copy_with(
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
    options: &CopyOptions,
) -> Result<CopyReport> {
    copy::copy_file(from.as_ref(), to.as_ref(), options)
}

/// Copies the directory tree `from` to `to` (which becomes the copy; an
/// existing directory `to` is filled). Every regular file goes through the
/// same methods and guarantees as [`copy_with`]; directories, symbolic links
/// (not followed unless [`TreeOptions::follow_links`]), hard links within
/// the tree and FIFOs are recreated; sockets and devices are skipped with a
/// warning. Directory permissions and times are applied once their contents
/// are complete; owners are kept when running as root.
///
/// Several worker threads copy at once. On Linux every entry is created
/// relative to an open directory without following symbolic links, so
/// nothing is written outside `to` even if it holds links planted to point
/// elsewhere. A `from` that is a file or a symlink is copied as one entry.
///
/// On Linux a new `to` is built in a staging directory beside it
/// (`.NAME.fastcopy-tmp-…`, see [`stale`]) and renamed to `to` when the walk
/// ends: while it runs, `to` does not exist. After entry errors it appears
/// with what was copied (and the copy fails, see below). If something
/// creates `to` meanwhile, the copy fails with
/// [`Operation::DestinationExists`] and removes its staging directory; if
/// the rename itself fails, the error names the staging directory, which is
/// kept.
///
/// Fails when the copy cannot start (no source, `to` inside `from`, `to`
/// not creatable), when a new `to` cannot be put in place at the end (see
/// above), when [`TreeProgress::cancelled`] stopped it
/// ([`Operation::Cancelled`]; a new `to`'s staging directory is removed),
/// and when any entry failed: the copy goes on with the rest (unless
/// [`TreeOptions::fail_fast`]) and then returns [`Operation::Incomplete`],
/// whose [`Error::tree_report`] has what was copied and every failure with
/// its path. A partial copy is never `Ok`.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let (src, dst) = (dir.path().join("a"), dir.path().join("b"));
/// std::fs::create_dir_all(src.join("sub"))?;
/// std::fs::write(src.join("sub/file"), b"hello")?;
/// let report = fastcopy::copy_tree(&src, &dst, &fastcopy::TreeOptions::new())?;
/// assert_eq!(report.metrics.files(), 1);
/// assert_eq!(std::fs::read(dst.join("sub/file"))?, b"hello");
/// # Ok(()) }
/// ```
pub fn copy_tree(
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
    options: &TreeOptions,
) -> Result<TreeReport> {
    tree::copy_tree(from.as_ref(), to.as_ref(), options)
}
