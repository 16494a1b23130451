//! What a directory's filesystem can do, each capability tried for real on
//! small temporary files (removed afterwards): cloning, `copy_file_range`
//! (and whether it clones by itself), direct I/O and its alignment, holes,
//! and the atomic no-clobber rename.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::options::{CopyOptions, Reflink};
use crate::report::Method;
use crate::sys;

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
    let (direct_io, direct_io_alignment) = probe_direct_io(&work.path);
    let (sparse_holes, copy_keeps_holes) = probe_holes(&work.path)?;
    let noclobber_rename = probe_noclobber(&work.path)?;

    Ok(Probe {
        path: dir.to_path_buf(),
        filesystem: sys::filesystem_name(dir),
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
    let shares = match sys::shared_bytes(&dst) {
        Some(Ok(shared)) if shared > 0 => Support::Yes,
        Some(Ok(_)) => Support::No("its extents are not shared".into()),
        Some(Err(e)) => Support::Unknown(format!("FIEMAP: {e}")),
        None => Support::Unknown("no extent map on this platform".into()),
    };
    (Support::Yes, shares)
}

/// Direct I/O: one aligned block written with `O_DIRECT` where the
/// platform can say so, else a copy through the library's own direct path.
fn probe_direct_io(work: &Path) -> (Support, Option<u64>) {
    if let Some(r) = sys::direct_write_alignment(&work.join("direct")) {
        return match r {
            Ok(align) => (Support::Yes, Some(align)),
            Err(e) => (Support::No(e.to_string()), None),
        };
    }
    let opts = CopyOptions::new()
        .reflink(Reflink::Never)
        .direct_io(crate::DirectIo::Always);
    match crate::copy_with(work.join("source"), work.join("direct"), &opts) {
        Ok(report) if report.fallbacks.is_empty() => (Support::Yes, None),
        Ok(report) => (Support::No(report.fallbacks[0].error.to_string()), None),
        Err(e) => (Support::No(e.io_error().to_string()), None),
    }
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
    let holes = match sys::allocated_bytes(&sparse) {
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
        Ok(_) => match sys::allocated_bytes(&copy) {
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
    Ok(match sys::rename_exclusive(&a, &b) {
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

/// Writes `path`'s dirty pages out and drops its cached pages, so that the
/// next read of it comes from the device (a "cold cache" for benchmarks).
/// Needs no privileges.
///
/// # Errors
///
/// `Unsupported` where the platform has no such call (only Linux has one
/// here); the error of `open`, `fsync` or `posix_fadvise` otherwise.
pub fn evict_from_cache(path: impl AsRef<Path>) -> io::Result<()> {
    sys::evict(path.as_ref())
}
