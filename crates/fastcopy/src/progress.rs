//! Progress reporting.

/// Receives progress while a file's data is copied. Every method has a
/// do-nothing default, so an implementation overrides only what it needs.
/// Called from the copying thread; keep it cheap.
pub trait Progress: Send + Sync {
    /// A copy of `total` bytes (the source's size when it started) begins.
    fn start(&self, _total: u64) {}
    /// `done` bytes of the current file have been copied so far.
    fn advance(&self, _done: u64, _total: u64) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
