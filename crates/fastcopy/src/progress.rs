//! Progress reporting, and cancelling a copy from its progress callback.

use std::fmt;
use std::io;

/// Receives progress while a file's data is copied. Every method has a
/// do-nothing default, so an implementation overrides only what it needs.
/// Called from the copying thread; keep it cheap.
pub trait Progress: Send + Sync {
    /// A copy of `total` bytes (the source's size when it started) begins.
    fn start(&self, _total: u64) {}
    /// `done` bytes of the current file have been copied so far.
    fn advance(&self, _done: u64, _total: u64) {}
    /// Asked before the data is copied and after every chunk (on Windows
    /// from `CopyFileExW`'s progress routine too). Returning `true` stops
    /// the copy: it fails with [`Operation::Cancelled`](crate::Operation),
    /// the temporary file is removed and the destination keeps what it
    /// held. A clone or `fcopyfile` (macOS) is one call and is not
    /// interrupted once started.
    fn cancelled(&self) -> bool {
        false
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// The error a copy stopped by [`Progress::cancelled`] carries inside its
/// `io::Error` until the copy maps it to `Operation::Cancelled`.
#[derive(Debug)]
pub(crate) struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped on request")
    }
}

impl std::error::Error for Cancelled {}

/// `Err` when `progress` asks to stop.
pub(crate) fn check(progress: Option<&dyn Progress>) -> io::Result<()> {
    match progress {
        Some(p) if p.cancelled() => Err(cancelled()),
        _ => Ok(()),
    }
}

pub(crate) fn cancelled() -> io::Error {
    io::Error::other(Cancelled)
}

/// Whether `e` is the error made by [`cancelled`].
pub(crate) fn is_cancelled(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Cancelled>())
}
