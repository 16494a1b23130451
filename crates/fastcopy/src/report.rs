//! What a copy did: the method that ran, the fallbacks on the way, bytes and time.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A way of copying a file's data. Which ones a platform tries, and in which
/// order, is listed in the crate documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Method {
    /// A copy-on-write clone of the whole file (`FICLONE` on Linux): no data
    /// is copied, the blocks are shared until either file changes.
    Reflink,
    /// The kernel copies inside the kernel (`copy_file_range` on Linux).
    CopyFileRange,
    /// A plain read/write loop in user space.
    ReadWrite,
    /// A read/write loop that bypasses the page cache (`O_DIRECT`).
    DirectIo,
    /// `splice` from the source into a pipe and from the pipe into the
    /// destination (Linux): a real copy of the data, made in the kernel
    /// without a user-space buffer. Never shares blocks.
    Splice,
    /// A copy-on-write clone of the whole file with `fclonefileat` (macOS,
    /// APFS): no data is copied.
    Clonefile,
    /// `fcopyfile` (macOS): the system library copies the data, keeping
    /// holes.
    Fcopyfile,
    /// `CopyFileExW` (Windows): the system copies the data, and may clone
    /// by itself on ReFS and Dev Drive.
    CopyFileEx,
    /// Block cloning with `FSCTL_DUPLICATE_EXTENTS_TO_FILE` (Windows, ReFS):
    /// the clusters are shared with the source.
    BlockClone,
}

impl Method {
    /// Every method, in a stable order (for tables and metrics).
    pub const ALL: [Method; 9] = [
        Method::Reflink,
        Method::CopyFileRange,
        Method::ReadWrite,
        Method::DirectIo,
        Method::Splice,
        Method::Clonefile,
        Method::Fcopyfile,
        Method::CopyFileEx,
        Method::BlockClone,
    ];

    /// The methods this platform's ladder can use, in the order it tries
    /// them.
    pub fn available() -> &'static [Method] {
        crate::sys::METHODS
    }

    /// The `snake_case` name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Reflink => "reflink",
            Method::CopyFileRange => "copy_file_range",
            Method::ReadWrite => "read_write",
            Method::DirectIo => "direct_io",
            Method::Splice => "splice",
            Method::Clonefile => "clonefile",
            Method::Fcopyfile => "fcopyfile",
            Method::CopyFileEx => "copy_file_ex",
            Method::BlockClone => "block_clone",
        }
    }

    /// Whether this method shares blocks with the source instead of
    /// copying them.
    pub fn is_clone(self) -> bool {
        matches!(
            self,
            Method::Reflink | Method::Clonefile | Method::BlockClone
        )
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A method that was tried, answered "not supported here", and left the
/// copy to the next one.
#[derive(Debug)]
pub struct Fallback {
    /// The method that could not run.
    pub method: Method,
    /// Why: the error the system gave.
    pub error: io::Error,
    /// The bytes of the destination already written when it declined (0
    /// almost always): the next method carried on from this offset.
    pub offset: u64,
}

/// Something that did not go as asked but did not fail the copy.
#[derive(Debug)]
#[non_exhaustive]
pub enum Warning {
    /// An extended attribute could not be read or written.
    Xattr {
        /// The attribute's name.
        name: String,
        /// The error.
        error: io::Error,
    },
    /// Preallocation was asked for but the filesystem refused it.
    Preallocate(io::Error),
    /// The source changed while it was copied and
    /// [`CopyOptions::accept_changing_source`](crate::CopyOptions::accept_changing_source)
    /// accepted it: the copy holds the source's bytes as read during the
    /// copy.
    SourceChanged {
        /// The size when the copy started.
        expected: u64,
        /// The bytes copied.
        copied: u64,
    },
    /// The destination that was replaced had other hard links: they keep
    /// the old content (the new file is a new inode; see
    /// [`CopyOptions::in_place`](crate::CopyOptions::in_place)).
    ReplacedHardLinks {
        /// The other names the old file still has.
        links: u64,
    },
    /// A temporary file left by a copy to the same destination in a process
    /// that no longer runs was removed.
    RemovedStale {
        /// The leftover's path.
        path: PathBuf,
    },
    /// The set-user-ID or set-group-ID bit was not copied (not root).
    SetidDropped,
    /// A socket or device in a tree was not copied.
    SpecialFileSkipped(&'static str),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Xattr { name, error } => {
                write!(f, "extended attribute '{name}' not copied: {error}")
            }
            Warning::Preallocate(e) => write!(f, "preallocation failed: {e}"),
            Warning::SourceChanged { expected, copied } => write!(
                f,
                "source changed while it was being copied: {expected} bytes when it started, {copied} copied"
            ),
            Warning::ReplacedHardLinks { links } => write!(
                f,
                "the replaced destination had {links} other hard link{}, which keep{} the old content",
                if *links == 1 { "" } else { "s" },
                if *links == 1 { "s" } else { "" }
            ),
            Warning::RemovedStale { path } => write!(
                f,
                "removed '{}', left by an interrupted copy",
                path.display()
            ),
            Warning::SetidDropped => {
                f.write_str("set-user-ID/set-group-ID bits not copied (not running as root)")
            }
            Warning::SpecialFileSkipped(what) => write!(f, "skipped: {what}"),
        }
    }
}

/// Why a copy left an existing destination alone (see [`Overwrite`](crate::Overwrite)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Skipped {
    /// The destination exists ([`Overwrite::Skip`](crate::Overwrite::Skip)).
    Exists,
    /// The destination is not older than the source
    /// ([`Overwrite::Older`](crate::Overwrite::Older)).
    NotOlder,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Skipped::Exists => "destination exists",
            Skipped::NotOlder => "destination is not older than the source",
        })
    }
}

/// The outcome of one successful copy.
///
/// Only the library makes these (`#[non_exhaustive]`: fields may be added
/// without a breaking change); read its fields, or change them on a report
/// you got from a copy.
#[derive(Debug)]
#[non_exhaustive]
pub struct CopyReport {
    /// Where the file was written (for a destination directory, the path
    /// inside it).
    pub destination: PathBuf,
    /// Bytes of the source's content now in the destination (its size).
    pub bytes: u64,
    /// The method that copied the data.
    pub method: Method,
    /// Methods tried before `method`, and why each could not run.
    pub fallbacks: Vec<Fallback>,
    /// Wall time of the whole copy, metadata and rename included.
    pub elapsed: Duration,
    /// What did not go as asked but did not fail the copy.
    pub warnings: Vec<Warning>,
    /// Set when nothing was copied because the destination was left alone
    /// ([`Overwrite::Skip`](crate::Overwrite::Skip),
    /// [`Overwrite::Older`](crate::Overwrite::Older)); `bytes` is then 0.
    pub skipped: Option<Skipped>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_a_unique_snake_case_name() {
        let names: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
        for (i, n) in names.iter().enumerate() {
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
            assert!(!names[..i].contains(n), "{n} twice");
        }
        assert_eq!(Method::CopyFileEx.to_string(), "copy_file_ex");
        assert_eq!(Method::BlockClone.as_str(), "block_clone");
    }

    #[test]
    fn clones_are_the_block_sharing_methods() {
        let clones: Vec<_> = Method::ALL.into_iter().filter(|m| m.is_clone()).collect();
        assert_eq!(
            clones,
            [Method::Reflink, Method::Clonefile, Method::BlockClone]
        );
    }
}
