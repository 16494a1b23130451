//! The library's error: which operation failed, on which path, and why.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The step of a copy that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening the source for reading.
    OpenSource,
    /// Reading the source's metadata.
    StatSource,
    /// The source is not a regular file (a directory, FIFO, socket, device).
    SourceNotRegular,
    /// Source and destination are the same file.
    SameFile,
    /// Looking at the destination (what it is, where a link points).
    StatDestination,
    /// The destination exists and [`Overwrite::NoClobber`](crate::Overwrite) was asked.
    DestinationExists,
    /// Creating the destination's missing parent directories.
    CreateParents,
    /// Creating the temporary file next to the destination.
    CreateTemporary,
    /// Cloning the source's blocks ([`Reflink::Always`](crate::Reflink) failed).
    Clone,
    /// Copying data.
    CopyData,
    /// Applying permission bits.
    SetPermissions,
    /// Applying access and modification times.
    SetTimes,
    /// Flushing the new file to stable storage.
    Sync,
    /// Renaming the finished file into place.
    Rename,
    /// Creating a file under its final name (tree copies, in a directory
    /// the copy created).
    CreateFile,
    /// Opening or listing a source directory (tree copies).
    ReadDirectory,
    /// Creating or opening a destination directory (tree copies).
    CreateDirectory,
    /// Reading or recreating a symbolic link (tree copies).
    Symlink,
    /// Recreating a hard link between two copied files (tree copies).
    HardLink,
    /// Recreating a FIFO (tree copies).
    CreateSpecial,
    /// Applying the owner and group (tree copies, as root).
    SetOwner,
    /// The destination lies inside the source directory.
    IntoItself,
    /// [`Progress::cancelled`](crate::Progress::cancelled) asked to stop.
    Cancelled,
    /// The destination exists and the caller may not write it; see
    /// [`CopyOptions::force`](crate::CopyOptions::force).
    DestinationNotWritable,
    /// The source changed while it was copied; see
    /// [`CopyOptions::accept_changing_source`](crate::CopyOptions::accept_changing_source).
    SourceChanged,
    /// A tree copy in which some entries failed; the error carries the
    /// whole report ([`Error::tree_report`]).
    Incomplete,
}

impl Operation {
    /// A short phrase saying what was being done.
    pub fn describe(self) -> &'static str {
        match self {
            Operation::OpenSource => "cannot open source",
            Operation::StatSource => "cannot read metadata of source",
            Operation::SourceNotRegular => "not a regular file",
            Operation::SameFile => "cannot overwrite the source",
            Operation::StatDestination => "cannot use destination",
            Operation::DestinationExists => "destination exists",
            Operation::CreateParents => "cannot create parent directories of",
            Operation::CreateTemporary => "cannot create temporary file for",
            Operation::Clone => "cannot clone",
            Operation::CopyData => "cannot copy data of",
            Operation::SetPermissions => "cannot set permissions of",
            Operation::SetTimes => "cannot set times of",
            Operation::Sync => "cannot flush",
            Operation::Rename => "cannot move new file into place at",
            Operation::CreateFile => "cannot create",
            Operation::ReadDirectory => "cannot read directory",
            Operation::CreateDirectory => "cannot create directory",
            Operation::Symlink => "cannot copy symbolic link",
            Operation::HardLink => "cannot create hard link",
            Operation::CreateSpecial => "cannot create special file",
            Operation::SetOwner => "cannot set owner of",
            Operation::IntoItself => "cannot copy a directory into itself",
            Operation::Cancelled => "cancelled the copy to",
            Operation::DestinationNotWritable => "cannot overwrite",
            Operation::SourceChanged => "source changed while it was being copied:",
            Operation::Incomplete => "incomplete copy to",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failed copy: the operation, the path it concerned and the system's
/// error. Converts into [`io::Error`], keeping its kind and OS error code
/// (see the `From` impl for what is dropped).
#[derive(Debug, thiserror::Error)]
#[error("{op} '{}': {source}", path.display())]
pub struct Error {
    op: Operation,
    path: PathBuf,
    #[source]
    source: io::Error,
    /// The report of a tree copy that failed part way.
    tree: Option<Box<crate::TreeReport>>,
}

impl Error {
    pub(crate) fn new(op: Operation, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error {
            op,
            path: path.into(),
            source,
            tree: None,
        }
    }

    /// An error of `kind` with `message`, for conditions the system did not
    /// report itself (same file, not a regular file, ...).
    pub(crate) fn other(
        op: Operation,
        path: impl Into<PathBuf>,
        kind: io::ErrorKind,
        message: &str,
    ) -> Error {
        Error::new(op, path, io::Error::new(kind, message.to_owned()))
    }

    /// The step that failed.
    pub fn operation(&self) -> Operation {
        self.op
    }

    /// The path the failed step concerned.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The kind of the underlying I/O error.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The OS error code, where the system gave one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// For [`Operation::Incomplete`]: the report of the tree copy, with
    /// what was copied and every failure
    /// ([`TreeReport::errors`](crate::TreeReport::errors)).
    pub fn tree_report(&self) -> Option<&crate::TreeReport> {
        self.tree.as_deref()
    }

    /// [`Error::tree_report`], by value.
    pub fn into_tree_report(self) -> Option<crate::TreeReport> {
        self.tree.map(|b| *b)
    }

    pub(crate) fn with_tree_report(mut self, report: crate::TreeReport) -> Error {
        self.tree = Some(Box::new(report));
        self
    }

    /// The underlying I/O error, dropping the operation and path.
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

/// Into an [`io::Error`] for callers that return `io::Result`.
///
/// An `io::Error` holds either an OS error code or a custom payload, never
/// both, so one of the two must go:
///
/// - When the system gave an error code ([`Error::raw_os_error`] is
///   `Some`), the result is that OS error itself: `raw_os_error()` and
///   `kind()` are kept, as `?` from [`std::fs::copy`] would give them, and
///   the operation and path are dropped (its message is the system's,
///   e.g. "No such file or directory (os error 2)").
/// - Otherwise (conditions fastcopy detects itself: the same file, not a
///   regular file, a cancelled copy, ...) the result has the same kind and
///   carries this `Error` as its payload, so its message names the
///   operation and the path, and `get_ref()`/`into_inner()` give it back.
///
/// To keep the operation and path with an OS error, keep the `Error` (or
/// format it) before converting.
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(e.kind(), e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_operation_path_and_cause() {
        let e = Error::new(
            Operation::OpenSource,
            "/no/such",
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(e.operation(), Operation::OpenSource);
        let msg = e.to_string();
        assert!(msg.starts_with("cannot open source '/no/such': "), "{msg}");
        let io: io::Error = e.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert!(io.to_string().contains("/no/such"));
    }

    #[test]
    fn into_io_error_keeps_the_os_error_code_and_kind() {
        // ENOENT is 2 on Linux, macOS and Windows (ERROR_FILE_NOT_FOUND).
        let e = Error::new(
            Operation::OpenSource,
            "/no/such",
            io::Error::from_raw_os_error(2),
        );
        let kind = e.kind();
        assert_eq!(kind, io::ErrorKind::NotFound);
        let io: io::Error = e.into();
        assert_eq!(io.raw_os_error(), Some(2));
        assert_eq!(io.kind(), kind);
    }

    #[test]
    fn into_io_error_without_os_code_keeps_kind_and_message() {
        let e = Error::other(
            Operation::SameFile,
            "/a/b",
            io::ErrorKind::InvalidInput,
            "source and destination are the same file",
        );
        let io: io::Error = e.into();
        assert_eq!(io.raw_os_error(), None);
        assert_eq!(io.kind(), io::ErrorKind::InvalidInput);
        assert!(io.to_string().contains("/a/b"), "{io}");
        let inner = io.get_ref().and_then(|i| i.downcast_ref::<Error>());
        assert_eq!(inner.map(Error::operation), Some(Operation::SameFile));
    }
}
