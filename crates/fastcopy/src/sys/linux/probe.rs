//! Linux: what [`crate::probe()`] asks of the platform, answered with the
//! system calls themselves.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{CWD, Mode, OFlags, RenameFlags};

use super::FsKind;

/// The name of the filesystem at `dir`.
pub(crate) fn filesystem_name(dir: &Path) -> String {
    FsKind::at(dir).name()
}

/// Bytes of `path` in shared extents (`FIEMAP`); `None` where no extent
/// map can be read on this platform.
pub(crate) fn shared_bytes(path: &Path) -> Option<io::Result<u64>> {
    Some(super::extent_sharing(path).map(|s| s.shared))
}

/// Opens a file with `O_DIRECT` and writes one aligned block, trying 512
/// then 4096 bytes: the alignment that worked, or the last refusal.
/// `None` where the platform has no such test (Linux has).
pub(crate) fn direct_write_alignment(path: &Path) -> Option<io::Result<u64>> {
    let fd = match rustix::fs::openat(
        CWD,
        path,
        OFlags::CREATE | OFlags::WRONLY | OFlags::DIRECT | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    ) {
        Ok(fd) => fd,
        Err(e) => return Some(Err(e.into())),
    };
    let mut last = io::Error::from(io::ErrorKind::Unsupported);
    for align in [512u64, 4096] {
        let mut buf = vec![0u8; 2 * align as usize];
        let start = buf.as_ptr().align_offset(align as usize);
        let block = &mut buf[start..start + align as usize];
        block.fill(1);
        match rustix::io::pwrite(&fd, block, align) {
            Ok(_) => return Some(Ok(align)),
            Err(e) => last = e.into(),
        }
    }
    Some(Err(last))
}

/// Bytes allocated to `path` (its blocks).
pub(crate) fn allocated_bytes(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|m| m.blocks() * 512)
}

/// `renameat2(RENAME_NOREPLACE)` alone, without the hard-link fallback of
/// [`super::super::rename_noclobber`]: whether the atomic call works here.
pub(crate) fn rename_exclusive(from: &Path, to: &Path) -> io::Result<()> {
    Ok(rustix::fs::renameat_with(
        CWD,
        from,
        CWD,
        to,
        RenameFlags::NOREPLACE,
    )?)
}

/// `fsync` (dirty pages cannot be dropped), then `POSIX_FADV_DONTNEED`.
pub(crate) fn evict(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    f.sync_all()?;
    rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed)?;
    Ok(())
}
