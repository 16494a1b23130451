//! What a directory's filesystem can do, each capability tried for real on
//! small temporary files (removed afterwards): cloning, `copy_file_range`
//! (and whether it clones by itself), direct I/O and its alignment, holes,
//! and the atomic no-clobber rename.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::options::{CopyOptions, Reflink};
use crate::report::Method;

/// The answer for one capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// It worked.
    Yes,
    /// It was tried and refused, for this reason.
    No(String),
    /// Not tried: the platform has no such thing, or an earlier step
    /// failed (the reason says which).
    Unknown(String),
}

impl Support {
    /// Whether the capability worked.
    pub fn works(&self) -> bool {
        matches!(self, Support::Yes)
    }

    /// The reason it did not work, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Support::Yes => None,
            Support::No(r) | Support::Unknown(r) => Some(r),
        }
    }

    fn from_copy(r: crate::Result<crate::CopyReport>) -> Support {
        match r {
            Ok(_) => Support::Yes,
            Err(e) => Support::No(e.io_error().to_string()),
        }
    }
}

/// What [`probe`] found.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The directory probed.
    pub path: PathBuf,
    /// The filesystem's name (`ext4`, `btrfs`, `xfs`, `tmpfs`, ...), or
    /// `unknown`.
    pub filesystem: String,
    /// A copy-on-write clone of a whole file (`FICLONE`, `clonefile`,
    /// block cloning).
    pub clone: Support,
    /// `copy_file_range` copies data (Linux).
    pub copy_file_range: Support,
    /// `copy_file_range`'s copy shares its blocks with the source (it
    /// clones by itself: Btrfs, XFS), as FIEMAP shows.
    pub copy_file_range_clones: Support,
    /// Files open with direct I/O (`O_DIRECT`) can be written.
    pub direct_io: Support,
    /// The smallest alignment of offsets, lengths and buffers direct I/O
    /// took, in bytes.
    pub direct_io_alignment: Option<u64>,
    /// A file with a hole takes less space than its size.
    pub sparse_holes: Support,
    /// fastcopy's own copy of a sparse file keeps its holes.
    pub copy_keeps_holes: Support,
    /// An atomic rename that refuses an existing name
    /// (`renameat2(RENAME_NOREPLACE)`, `renamex_np(RENAME_EXCL)`,
    /// `MoveFileExW`); without it, no-clobber uses a hard link.
    pub noclobber_rename: Support,
}

/// Size of the probe files: larger than Btrfs' inline limit, so that their
/// data lives in real extents.
const PROBE_SIZE: usize = 256 << 10;

/// Probes the filesystem holding `dir`, with temporary files in a
/// temporary directory inside it, which is removed afterwards.
///
/// # Errors
///
/// Only when `dir` cannot hold the probe's files: it does not exist, is
/// not a writable directory, or is full. Every capability that fails is an
/// answer, not an error.
pub fn probe(dir: impl AsRef<Path>) -> io::Result<Probe> {
    let dir = dir.as_ref();
    let work = Workdir::create(dir)?;
    let src = work.path.join("source");
    let data: Vec<u8> = (0..PROBE_SIZE).map(|i| (i % 251) as u8).collect();
    fs::write(&src, &data)?;
    File::open(&src)?.sync_all()?;

    let clone = Support::from_copy(crate::copy_with(
        &src,
        work.path.join("clone"),
        &CopyOptions::new().reflink(Reflink::Always),
    ));
    let (copy_file_range, mut copy_file_range_clones) = probe_copy_file_range(&work.path, &src);
    if copy_file_range.works() && !clone.works() {
        // Where nothing can share blocks, copy_file_range cannot either.
        copy_file_range_clones = Support::No("the filesystem cannot clone".into());
    }
    let (direct_io, direct_io_alignment) = platform::direct_io(&work.path);
    let (sparse_holes, copy_keeps_holes) = probe_holes(&work.path)?;
    let noclobber_rename = probe_noclobber(&work.path)?;

    Ok(Probe {
        path: dir.to_path_buf(),
        filesystem: platform::filesystem(dir),
        clone,
        copy_file_range,
        copy_file_range_clones,
        direct_io,
        direct_io_alignment,
        sparse_holes,
        copy_keeps_holes,
        noclobber_rename,
    })
}

/// `copy_file_range` alone, then FIEMAP on its copy.
fn probe_copy_file_range(work: &Path, src: &Path) -> (Support, Support) {
    if !Method::available().contains(&Method::CopyFileRange) {
        let none = || Support::Unknown("not on this platform".into());
        return (none(), none());
    }
    let dst = work.join("copy_file_range");
    let copied = crate::copy_with(
        src,
        &dst,
        &CopyOptions::new().only_method(Method::CopyFileRange),
    );
    if let Err(e) = copied {
        let reason = e.io_error().to_string();
        return (
            Support::No(reason.clone()),
            Support::Unknown(format!("copy_file_range failed: {reason}")),
        );
    }
    (Support::Yes, platform::shares_blocks(&dst))
}

/// A file with a 1 MiB hole, then a copy of it by the data-copying path.
fn probe_holes(work: &Path) -> io::Result<(Support, Support)> {
    const HOLE: u64 = 1 << 20;
    let sparse = work.join("sparse");
    {
        let mut f = File::create(&sparse)?;
        f.set_len(HOLE)?;
        std::io::Seek::seek(&mut f, io::SeekFrom::Start(HOLE))?;
        f.write_all(&[7u8; 4096])?;
        f.sync_all()?;
    }
    let size = HOLE + 4096;
    let holes = match platform::allocated(&sparse) {
        Some(bytes) if bytes < size => Support::Yes,
        Some(bytes) => Support::No(format!("{bytes} bytes allocated for {size}")),
        None => return Ok((Support::Unknown("no block count here".into()), unknown())),
    };
    if !holes.works() {
        let why = Support::Unknown("the filesystem keeps no holes".into());
        return Ok((holes, why));
    }
    let copy = work.join("sparse-copy");
    let kept = match crate::copy_with(&sparse, &copy, &CopyOptions::new().reflink(Reflink::Never)) {
        Ok(_) => match platform::allocated(&copy) {
            Some(bytes) if bytes < size => Support::Yes,
            Some(bytes) => Support::No(format!("the copy has {bytes} bytes allocated")),
            None => unknown(),
        },
        Err(e) => Support::No(e.io_error().to_string()),
    };
    Ok((holes, kept))
}

fn unknown() -> Support {
    Support::Unknown("not measurable here".into())
}

/// The library's no-clobber rename refuses an existing name, and says
/// whether it needed the hard-link fallback.
fn probe_noclobber(work: &Path) -> io::Result<Support> {
    let (a, b) = (work.join("rename-a"), work.join("rename-b"));
    fs::write(&a, b"a")?;
    fs::write(&b, b"b")?;
    Ok(match platform::atomic_noreplace(&a, &b) {
        Ok(()) => Support::No("an existing name was replaced".into()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // Refused, and the existing file is untouched: check it is.
            match fs::read(&b) {
                Ok(content) if content == b"b" => Support::Yes,
                _ => Support::No("the existing file changed".into()),
            }
        }
        Err(e) => Support::No(e.to_string()),
    })
}

/// A temporary directory inside the probed one, removed on drop.
struct Workdir {
    path: PathBuf,
}

impl Workdir {
    fn create(dir: &Path) -> io::Result<Workdir> {
        let path = dir.join(format!(
            ".fastcopy-probe-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        fs::create_dir(&path)?;
        Ok(Workdir { path })
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;
    use rustix::fs::{CWD, Mode, OFlags, RenameFlags};
    use std::os::unix::fs::MetadataExt;

    /// The name of the filesystem at `dir`.
    pub(super) fn filesystem(dir: &Path) -> String {
        crate::sys::FsKind::at(dir).name()
    }

    pub(super) fn shares_blocks(path: &Path) -> Support {
        match crate::extent_sharing(path) {
            Ok(s) if s.shared > 0 => Support::Yes,
            Ok(_) => Support::No("its extents are not shared".into()),
            Err(e) => Support::Unknown(format!("FIEMAP: {e}")),
        }
    }

    /// Opens a file with `O_DIRECT` and writes one aligned block, trying
    /// 512 then 4096 bytes.
    pub(super) fn direct_io(work: &Path) -> (Support, Option<u64>) {
        let path = work.join("direct");
        let fd = match rustix::fs::openat(
            CWD,
            &path,
            OFlags::CREATE | OFlags::WRONLY | OFlags::DIRECT | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => fd,
            Err(e) => return (Support::No(io::Error::from(e).to_string()), None),
        };
        let mut last = String::new();
        for align in [512u64, 4096] {
            let mut buf = vec![0u8; 2 * align as usize];
            let start = buf.as_ptr().align_offset(align as usize);
            let block = &mut buf[start..start + align as usize];
            block.fill(1);
            match rustix::io::pwrite(&fd, block, align) {
                Ok(_) => return (Support::Yes, Some(align)),
                Err(e) => last = io::Error::from(e).to_string(),
            }
        }
        (Support::No(last), None)
    }

    pub(super) fn allocated(path: &Path) -> Option<u64> {
        fs::metadata(path).ok().map(|m| m.blocks() * 512)
    }

    pub(super) fn atomic_noreplace(from: &Path, to: &Path) -> io::Result<()> {
        rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE)
            .map_err(io::Error::from)
    }

    /// fsync (dirty pages cannot be dropped), then POSIX_FADV_DONTNEED.
    pub(super) fn evict(path: &Path) -> io::Result<()> {
        let f = File::open(path)?;
        f.sync_all()?;
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed)?;
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::*;
    use crate::options::DirectIo;

    pub(super) fn filesystem(_dir: &Path) -> String {
        "unknown".into()
    }

    pub(super) fn shares_blocks(_path: &Path) -> Support {
        Support::Unknown("no extent map on this platform".into())
    }

    /// Direct I/O through the library's own path.
    pub(super) fn direct_io(work: &Path) -> (Support, Option<u64>) {
        let src = work.join("source");
        let r = crate::copy_with(
            &src,
            work.join("direct"),
            &CopyOptions::new()
                .reflink(Reflink::Never)
                .direct_io(DirectIo::Always),
        );
        match r {
            Ok(report) if report.fallbacks.is_empty() => (Support::Yes, None),
            Ok(report) => (Support::No(report.fallbacks[0].error.to_string()), None),
            Err(e) => (Support::No(e.io_error().to_string()), None),
        }
    }

    #[cfg(unix)]
    pub(super) fn allocated(path: &Path) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).ok().map(|m| m.blocks() * 512)
    }

    #[cfg(not(unix))]
    pub(super) fn allocated(_path: &Path) -> Option<u64> {
        None
    }

    pub(super) fn atomic_noreplace(from: &Path, to: &Path) -> io::Result<()> {
        crate::sys::rename_noclobber(from, to)
    }

    pub(super) fn evict(_path: &Path) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "dropping a file's cached pages is not implemented on this platform",
        ))
    }
}

/// Writes `path`'s dirty pages out and drops its cached pages, so that the
/// next read of it comes from the device (a "cold cache" for benchmarks).
/// Needs no privileges.
///
/// # Errors
///
/// `Unsupported` where the platform has no such call (only Linux has one
/// here); the error of `open`, `fsync` or `posix_fadvise` otherwise.
pub fn evict_from_cache(path: impl AsRef<Path>) -> io::Result<()> {
    platform::evict(path.as_ref())
}
