//! Linux: the system calls of the ladder, each retried on `EINTR` and
//! passing through the fault seam of the crate's tests.

use std::fs::File;
use std::io;

use rustix::fs::FallocateFlags;
use rustix::io::Errno;

use crate::fault::{Point, hit};
use crate::report::Warning;

/// `ioctl(dst, FICLONE, src)`: share all of `src`'s blocks.
pub(crate) fn ficlone(src: &File, dst: &File) -> io::Result<()> {
    if hit(Point::Clone)?.is_some() {
        return Ok(());
    }
    Ok(rustix::fs::ioctl_ficlone(dst, src)?)
}

pub(super) fn copy_file_range(src: &File, dst: &File, len: usize) -> io::Result<usize> {
    if let Some(n) = hit(Point::CopyFileRange)? {
        return Ok(n);
    }
    retry(|| rustix::fs::copy_file_range(src, None, dst, None, len))
}

/// Calls `f` again while it is interrupted by a signal (std's `cvt_r`):
/// the one `EINTR` loop of the Linux backend.
pub(super) fn retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

pub(super) fn read(src: &File, buf: &mut [u8]) -> io::Result<usize> {
    if let Some(n) = hit(Point::Read)? {
        return Ok(n);
    }
    retry(|| rustix::io::read(src, &mut *buf))
}

pub(super) fn write_all(dst: &File, mut buf: &[u8], written: &mut u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = match hit(Point::Write)? {
            Some(n) => n,
            None => retry(|| rustix::io::write(dst, buf))?,
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        *written += n as u64;
        buf = &buf[n..];
    }
    Ok(())
}

/// Reserves `len` bytes without changing the size, so a source that
/// shrinks cannot leave a tail of zeros.
pub(super) fn preallocate(dst: &File, len: u64) -> io::Result<()> {
    hit(Point::Fallocate)?;
    Ok(rustix::fs::fallocate(
        dst,
        FallocateFlags::KEEP_SIZE,
        0,
        len,
    )?)
}

/// Copies the extended attributes the source has and the destination takes.
pub(crate) fn copy_xattrs(src: &File, dst: &File, warnings: &mut Vec<Warning>) {
    let names = match rustix::fs::flistxattr_query(src).and_then(|len| {
        let mut list = vec![0u8; len];
        let n = rustix::fs::flistxattr(src, &mut list[..])?;
        list.truncate(n);
        Ok(list)
    }) {
        Ok(list) => list,
        // The source's filesystem has no xattrs: nothing to copy.
        Err(Errno::OPNOTSUPP) => return,
        Err(e) => {
            warnings.push(Warning::Xattr {
                name: "*".into(),
                error: e.into(),
            });
            return;
        }
    };
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name_str = String::from_utf8_lossy(name).into_owned();
        let result = rustix::fs::fgetxattr_query(src, name).and_then(|len| {
            let mut value = vec![0u8; len];
            let n = rustix::fs::fgetxattr(src, name, &mut value[..])?;
            rustix::fs::fsetxattr(dst, name, &value[..n], rustix::fs::XattrFlags::empty())
        });
        if let Err(e) = result {
            warnings.push(Warning::Xattr {
                name: name_str,
                error: e.into(),
            });
        }
    }
}
