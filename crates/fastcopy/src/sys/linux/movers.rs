//! Linux: the data movers of the ladder (`copy_file_range`, `splice`
//! through a pipe, a buffered and an `O_DIRECT` read/write loop) and the
//! walk over a file's data segments that keeps holes.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{OFlags, SeekFrom};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, SpliceFlags};

use super::errno::is_unsupported;
use super::syscalls::{copy_file_range, read, retry, write_all};
use super::{DIRECT_ALIGN, DIRECT_BUFFER, PIPE_SIZE, buffer_size};
use crate::fault::{Point, hit};
use crate::progress::{self, Progress};

/// One data-moving technique, used by the segment walk.
pub(super) enum Mover {
    Kernel {
        chunk: u64,
    },
    Buffered {
        buf: Vec<u8>,
    },
    Direct {
        buf: Vec<u8>,
        src_direct: bool,
        dst_direct: bool,
    },
    /// `splice` source → pipe → destination, from the current offsets.
    Pipe {
        read: OwnedFd,
        write: OwnedFd,
        capacity: usize,
    },
}

impl Mover {
    /// Switches both descriptors to `O_DIRECT`.
    pub(super) fn direct(src: &File, dst: &File) -> io::Result<Mover> {
        set_direct(src, true)?;
        set_direct(dst, true).inspect_err(|_| {
            let _ = set_direct(src, false);
        })?;
        Ok(Mover::Direct {
            buf: vec![0; DIRECT_BUFFER + DIRECT_ALIGN as usize],
            src_direct: true,
            dst_direct: true,
        })
    }
}

impl Mover {
    /// A close-on-exec pipe, enlarged to [`PIPE_SIZE`] where allowed.
    pub(super) fn pipe() -> io::Result<Mover> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?;
        let capacity = rustix::pipe::fcntl_setpipe_size(&write, PIPE_SIZE)
            .or_else(|_| rustix::pipe::fcntl_getpipe_size(&write))
            .unwrap_or(64 << 10);
        Ok(Mover::Pipe {
            read,
            write,
            capacity,
        })
    }
}

pub(super) fn set_direct(fd: &File, on: bool) -> io::Result<()> {
    hit(Point::DirectIo)?;
    let flags = rustix::fs::fcntl_getfl(fd)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    Ok(rustix::fs::fcntl_setfl(fd, flags)?)
}

pub(super) struct Copy<'a> {
    pub(super) src: &'a File,
    pub(super) dst: &'a File,
    pub(super) mover: &'a mut Mover,
    pub(super) size: u64,
    /// Bytes written to the destination so far. While 0, an "unsupported"
    /// error may still fall back.
    pub(super) written: u64,
    /// Stop once this many bytes are written (a whole-file copy only).
    pub(super) stop_at: Option<u64>,
    pub(super) progress: Option<&'a dyn Progress>,
}

impl Copy<'_> {
    /// Copies the data segments of a sparse source at their offsets from
    /// `from` on, then sets the destination's size, so holes (one at the
    /// end too) stay holes. Returns the final size.
    pub(super) fn sparse(&mut self, from: u64) -> io::Result<u64> {
        // Give the destination its size first, so that every segment is
        // written inside the file, not at its end: XFS preallocates
        // speculatively past the end of a file growing by writes, and that
        // preallocation would stay behind in the next hole. The size is set
        // to the real end again below.
        rustix::fs::ftruncate(self.dst, self.size.max(from))?;
        let mut pos = from;
        loop {
            let data = match rustix::fs::seek(self.src, SeekFrom::Data(pos)) {
                Ok(d) => d,
                // No data after pos: the rest is a hole.
                Err(Errno::NXIO) => break,
                // The filesystem cannot tell holes apart: copy it whole.
                Err(e) if pos == from && is_unsupported(e) => {
                    rustix::fs::seek(self.src, SeekFrom::Start(from))?;
                    return self.range(None).map(|_| self.written);
                }
                Err(e) => return Err(e.into()),
            };
            let hole = rustix::fs::seek(self.src, SeekFrom::Hole(data))?;
            rustix::fs::seek(self.src, SeekFrom::Start(data))?;
            rustix::fs::seek(self.dst, SeekFrom::Start(data))?;
            let got = self.range(Some(hole - data))?;
            pos = data + got;
            if got < hole - data {
                // End of file before the hole: the file ends here. Pseudo
                // files (sysfs says 4096 bytes, has no blocks) and a source
                // that shrank end up here; taking their stated size would
                // add a tail of zeros.
                rustix::fs::ftruncate(self.dst, pos)?;
                return Ok(pos);
            }
        }
        // The rest is a hole up to the size: keep it one.
        let size = self.src.metadata()?.len().max(pos);
        rustix::fs::ftruncate(self.dst, size)?;
        Ok(size)
    }

    /// Copies from the current offsets: `limit` bytes, or to end of file.
    /// Returns the bytes copied.
    pub(super) fn range(&mut self, limit: Option<u64>) -> io::Result<u64> {
        let mut done = 0u64;
        loop {
            let want = match limit {
                Some(l) if done >= l => break,
                Some(l) => l - done,
                None => u64::MAX,
            };
            let n = self.step(want)?;
            if n == 0 {
                break;
            }
            done += n;
            if let Some(p) = self.progress {
                p.advance(self.written, self.size);
                progress::check(Some(p))?;
            }
            if limit.is_none() && self.stop_at.is_some_and(|s| self.written >= s) {
                break;
            }
        }
        Ok(done)
    }

    /// What a 0 from `copy_file_range` or `splice` (named `call`) means.
    /// From a non-empty file before anything was written, a refusal
    /// (procfs, sysfs, old overlayfs "copy" nothing instead of failing): the
    /// next method copies. At the real end of the file, the end. Before it,
    /// a filter or filesystem that gave up part way: the read/write loop
    /// carries on from the same offsets, rather than a short copy passing
    /// for a whole one.
    fn after_zero(&mut self, call: &str, want: u64) -> io::Result<u64> {
        if self.written == 0 && self.size > 0 {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{call} copied nothing from a non-empty file"),
            ));
        }
        if at_end_of_file(self.src)? {
            return Ok(0);
        }
        *self.mover = Mover::Buffered {
            buf: vec![0; buffer_size(self.size)],
        };
        self.step(want)
    }

    /// Moves up to `want` bytes once; 0 at end of file.
    fn step(&mut self, want: u64) -> io::Result<u64> {
        match self.mover {
            Mover::Kernel { chunk } => {
                let len = want.min(*chunk) as usize;
                let n = copy_file_range(self.src, self.dst, len)? as u64;
                if n == 0 {
                    return self.after_zero("copy_file_range", want);
                }
                self.written += n;
                Ok(n)
            }
            Mover::Buffered { buf } => {
                let len = buf.len().min(usize::try_from(want).unwrap_or(usize::MAX));
                let n = read(self.src, &mut buf[..len])?;
                write_all(self.dst, &buf[..n], &mut self.written)?;
                Ok(n as u64)
            }
            Mover::Pipe {
                read,
                write,
                capacity,
            } => match splice_once(
                self.src,
                self.dst,
                read,
                write,
                *capacity,
                want,
                &mut self.written,
            )? {
                0 => self.after_zero("splice", want),
                n => Ok(n),
            },
            Mover::Direct {
                buf,
                src_direct,
                dst_direct,
            } => direct_once(
                self.src,
                self.dst,
                buf,
                (src_direct, dst_direct),
                want,
                &mut self.written,
            ),
        }
    }
}

/// Whether `src`'s offset is at its end of file: a one-byte `pread` there
/// finds nothing (what counts is what reading gives, not the size, which
/// pseudo files misstate).
pub(super) fn at_end_of_file(src: &File) -> io::Result<bool> {
    let pos = rustix::fs::seek(src, SeekFrom::Current(0))?;
    let mut byte = [0u8; 1];
    Ok(retry(|| rustix::io::pread(src, &mut byte, pos))? == 0)
}

/// One pipe load: up to `want` bytes (at most the pipe's `capacity`) from
/// `src` into the pipe, then all of them out into `dst`, counted in
/// `written`. 0 at the end of the source (or from a refusal: the caller
/// judges). The pipe is drained completely before the next read: data left
/// in it would be lost on an error, and must not be.
#[allow(clippy::too_many_arguments)]
fn splice_once(
    src: &File,
    dst: &File,
    read: &OwnedFd,
    write: &OwnedFd,
    capacity: usize,
    want: u64,
    written: &mut u64,
) -> io::Result<u64> {
    let len = want.min(capacity as u64) as usize;
    let n = match hit(Point::Read)? {
        Some(n) => n,
        None => retry(|| rustix::pipe::splice(src, None, write, None, len, SpliceFlags::MOVE))?,
    };
    let mut left = n;
    while left > 0 {
        let m = match hit(Point::Write)? {
            Some(m) => m,
            None => retry(|| rustix::pipe::splice(read, None, dst, None, left, SpliceFlags::MOVE))?,
        };
        if m == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        left -= m;
        *written += m as u64;
    }
    Ok(n as u64)
}

/// One `O_DIRECT` transfer of up to `want` bytes through the aligned
/// buffer. Direct reads need an aligned offset and length; reading a whole
/// block past the segment's end is harmless (only what was asked is
/// written), past end of file it comes back short. An unaligned source
/// offset, or the unaligned tail, switches that side to the page cache for
/// good (`direct`: whether source and destination are still direct).
fn direct_once(
    src: &File,
    dst: &File,
    buf: &mut [u8],
    direct: (&mut bool, &mut bool),
    want: u64,
    written: &mut u64,
) -> io::Result<u64> {
    let (src_direct, dst_direct) = direct;
    let off = buf.as_ptr().align_offset(DIRECT_ALIGN as usize);
    let buf = &mut buf[off..off + DIRECT_BUFFER];
    let src_pos = rustix::fs::seek(src, SeekFrom::Current(0))?;
    if *src_direct && src_pos % DIRECT_ALIGN != 0 {
        set_direct(src, false)?;
        *src_direct = false;
    }
    let len = want
        .min(DIRECT_BUFFER as u64)
        .next_multiple_of(DIRECT_ALIGN) as usize;
    let mut n = read(src, &mut buf[..len])?;
    if n as u64 > want {
        n = want as usize;
        rustix::fs::seek(src, SeekFrom::Start(src_pos + want))?;
    }
    if *dst_direct && n % DIRECT_ALIGN as usize != 0 {
        set_direct(dst, false)?;
        *dst_direct = false;
    }
    write_all(dst, &buf[..n], written)?;
    Ok(n as u64)
}
