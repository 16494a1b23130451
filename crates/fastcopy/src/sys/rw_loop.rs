//! The portable read/write loop on std handles, for the backends without a
//! kernel copy loop of their own (Windows, and Unix systems other than
//! Linux and macOS). Linux has its own loop, which also walks holes.

use std::fs::File;
use std::io::{self, Read, Write};

use crate::fault::{Point, hit};
use crate::progress::{self, Progress};

/// How the loop stopped short of the end of the file.
pub(crate) enum Stop {
    /// The first read failed: nothing was written, so a "not supported
    /// here" error may hand over to another method.
    BeforeWriting(io::Error),
    /// Anything later (the destination may hold part of the data).
    Failed(io::Error),
}

/// Copies `src` to `dst` from their current offsets to the end of `src`
/// through a buffer of `buf_len` bytes, reporting to `progress` (whose
/// cancellation stops the loop) with `total` as the size. Returns the
/// bytes copied.
pub(crate) fn copy(
    mut src: &File,
    mut dst: &File,
    buf_len: usize,
    total: u64,
    progress: Option<&dyn Progress>,
) -> Result<u64, Stop> {
    let mut buf = vec![0u8; buf_len];
    let mut done = 0u64;
    loop {
        let read = match hit(Point::Read) {
            Ok(Some(n)) => Ok(n),
            Ok(None) => src.read(&mut buf),
            Err(e) => Err(e),
        };
        let n = match read {
            Ok(0) => return Ok(done),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if done == 0 => return Err(Stop::BeforeWriting(e)),
            Err(e) => return Err(Stop::Failed(e)),
        };
        let write = match hit(Point::Write) {
            Ok(Some(_)) => Err(io::ErrorKind::WriteZero.into()),
            Ok(None) => dst.write_all(&buf[..n]),
            Err(e) => Err(e),
        };
        write.map_err(Stop::Failed)?;
        done += n as u64;
        if let Some(p) = progress {
            p.advance(done, total);
            progress::check(Some(p)).map_err(Stop::Failed)?;
        }
    }
}
