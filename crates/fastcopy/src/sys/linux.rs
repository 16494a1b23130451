//! Linux: `FICLONE`, then `copy_file_range`, then a read/write loop;
//! `O_DIRECT` and `fallocate` on request.

use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{FallocateFlags, OFlags, SeekFrom};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, SpliceFlags};

pub(crate) use super::fs_kind::FsKind;
pub(crate) use super::unix::{
    create_temp, final_permissions, initial_mode, open_source, rename_noclobber, same_file,
    special_kind,
};
use crate::fault::{Point, hit};
use crate::ladder::Step;
use crate::options::{CopyOptions, DirectIo, Preallocate, Reflink};
use crate::progress::{self, Progress};
use crate::report::{Method, Warning};

/// The most one `copy_file_range` call is asked to copy. The kernel copies
/// at most `MAX_RW_COUNT` (2 GiB minus a page) per call anyway; 1 GiB keeps
/// us well under it and the loop goes on to end of file.
pub(crate) const KERNEL_CHUNK: u64 = 1 << 30;
/// The chunk when someone watches progress: small enough for a moving bar.
pub(crate) const PROGRESS_CHUNK: u64 = 16 << 20;
/// Largest buffer of the read/write loop.
pub(crate) const MAX_BUFFER: usize = 256 << 10;
/// Smallest buffer of the read/write loop.
pub(crate) const MIN_BUFFER: usize = 16 << 10;
/// Buffer and offset alignment for `O_DIRECT`: a page, which satisfies
/// the 512-byte and 4 KiB logical block sizes of the disks we meet.
pub(crate) const DIRECT_ALIGN: u64 = 4096;
/// Size of one `O_DIRECT` transfer.
pub(crate) const DIRECT_BUFFER: usize = 1 << 20;
/// The pipe of the splice mover: 1 MiB, the default `pipe-max-size` that an
/// unprivileged process may ask for (a smaller pipe still works).
pub(crate) const PIPE_SIZE: usize = 1 << 20;
/// Files at least this large take the splice path where it is planned;
/// below it, creating the pipe costs more than the copy saves.
pub(crate) const SPLICE_MIN_SIZE: u64 = 256 << 10;
/// With `Preallocate::Auto`, `copy_file_range` onto ext4 reserves the
/// space first (`fallocate`) for files at least this large, where it was
/// measured to win (bench/RESULTS.md, "What the measurements decided").
pub(crate) const AUTO_PREALLOCATE_MIN: u64 = 16 << 20;

/// Creates a file without a name (`O_TMPFILE`) in the directory `dir`, for
/// reading and writing, with `mode` minus the umask: a process killed
/// while it writes leaves nothing behind. `None` where the kernel or the
/// filesystem cannot (kernels before 3.11, some filesystems), or where it
/// could never be named ([`link_anonymous`] needs `/proc` unless root).
pub(crate) fn create_anonymous<Fd: AsFd, P: rustix::path::Arg>(
    at: Fd,
    dir: P,
    mode: u32,
) -> io::Result<Option<File>> {
    // (The fault seam stands for a filesystem that refuses it.)
    if !can_name_anonymous() || !matches!(hit(Point::TmpFile), Ok(None)) {
        return Ok(None);
    }
    let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
    match rustix::fs::openat(at, dir, flags, rustix::fs::Mode::from_raw_mode(mode as _)) {
        Ok(fd) => Ok(Some(File::from(fd))),
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// [`create_anonymous`] in the directory at `dir`.
pub(crate) fn anonymous_in(dir: &std::path::Path, mode: u32) -> io::Result<Option<File>> {
    create_anonymous(rustix::fs::CWD, dir, mode)
}

/// [`link_anonymous`] to the path `to`.
pub(crate) fn name_anonymous(file: &File, to: &std::path::Path) -> io::Result<()> {
    link_anonymous(file, rustix::fs::CWD, to)
}

/// Whether an anonymous file can be given a name: `linkat` with
/// `AT_EMPTY_PATH` (root) or through `/proc/self/fd`.
fn can_name_anonymous() -> bool {
    static CAN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CAN.get_or_init(|| {
        rustix::process::geteuid().is_root() || std::path::Path::new("/proc/self/fd").is_dir()
    })
}

/// Gives the anonymous file `file` ([`create_anonymous`]) the name `name`
/// relative to `dir`: `linkat` with `AT_EMPTY_PATH` (needs
/// `CAP_DAC_READ_SEARCH`), else through `/proc/self/fd`. Fails with
/// `EEXIST` if the name exists (never replaces anything).
pub(crate) fn link_anonymous<Fd: AsFd, P: rustix::path::Arg>(
    file: &File,
    dir: Fd,
    name: P,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    static EMPTY_PATH: AtomicBool = AtomicBool::new(true);
    let name = name.into_c_str()?;
    if EMPTY_PATH.load(Ordering::Relaxed) {
        match rustix::fs::linkat(file, c"", &dir, &*name, rustix::fs::AtFlags::EMPTY_PATH) {
            Err(Errno::NOENT | Errno::PERM) => EMPTY_PATH.store(false, Ordering::Relaxed),
            r => return Ok(r?),
        }
    }
    let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
    Ok(rustix::fs::linkat(
        rustix::fs::CWD,
        proc.as_str(),
        &dir,
        &*name,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )?)
}

/// Whether `errno`, returned by a copy method (or by `fallocate`) before it
/// wrote anything, means "this method cannot work here, try the next one".
/// Everything else is a real failure and ends the copy.
pub(crate) fn is_unsupported(errno: Errno) -> bool {
    match errno {
        // The kernel lacks the call (copy_file_range before 4.5), or a
        // seccomp filter answers ENOSYS for calls it does not know.
        Errno::NOSYS => true,
        // The filesystem does not implement it: FICLONE on ext4 or tmpfs,
        // fallocate on some network filesystems. (ENOTSUP is the same value.)
        Errno::OPNOTSUPP => true,
        // Source and destination on different filesystems or mounts:
        // FICLONE always; copy_file_range before 5.3 and again since 5.19
        // for filesystems of different types.
        Errno::XDEV => true,
        // FICLONE: ranges not block-aligned, Btrfs NOCOW vs COW files, a
        // filesystem that cannot clone this file; copy_file_range: a
        // filesystem (FUSE, some network ones) that refuses; O_DIRECT: a
        // filesystem that refuses direct I/O.
        Errno::INVAL => true,
        // Container seccomp profiles (Docker before 20.10) answer EPERM for
        // copy_file_range; FICLONE answers it for some immutable/append-only
        // combinations. We wrote nothing, so the next method is safe.
        Errno::PERM => true,
        // copy_file_range on kernels before 5.3 for some descriptor kinds;
        // FICLONE "filesystem does not support reflink" on some kernels.
        Errno::BADF => true,
        // copy_file_range refuses swap files and files being executed.
        Errno::TXTBSY => true,
        // FICLONE on a file type without this ioctl.
        Errno::NOTTY => true,
        // EIO, ENOSPC, EDQUOT, ENOMEM, EFBIG, EROFS, EINTR (retried
        // before it gets here) and anything unknown: fatal. Falling back
        // after a device error or a full disk would hide it, or write half
        // a file twice.
        _ => false,
    }
}

fn errno_of(e: &io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw_os_error)
}

/// [`is_unsupported`] for an `io::Error`; our own "copied nothing" error
/// (kind `Unsupported`, no errno) counts too.
pub(crate) fn may_fall_back(e: &io::Error) -> bool {
    match errno_of(e) {
        Some(errno) => is_unsupported(errno),
        None => e.kind() == io::ErrorKind::Unsupported,
    }
}

/// Whether a method's refusal `e` holds for every file between the same two
/// filesystems (no such call, not on this filesystem, not between these
/// two: ENOSYS, EOPNOTSUPP, ENOTTY, EXDEV), not only for this file (EINVAL,
/// EPERM, ETXTBSY and the rest of [`may_fall_back`]'s list). A clone that
/// reported success and copied nothing is treated the same way by trees.
pub(crate) fn refused_for_the_pair(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(Errno::from_raw_os_error),
        Some(Errno::NOSYS | Errno::OPNOTSUPP | Errno::NOTTY | Errno::XDEV)
    )
}

/// The methods to try, in order.
pub(crate) fn plan(opts: &CopyOptions, src: &Metadata, dst: &File) -> Vec<Method> {
    plan_for(opts, src.len(), |_| false, || FsKind::of(dst))
}

/// The methods to try for a file of `size` bytes, in order: the one place
/// that decides the Linux ladder, for single files and trees. `refused`
/// says which of `FICLONE` and `copy_file_range` were already refused for
/// good between the same two filesystems (trees remember that, see
/// [`refused_for_the_pair`]); `fs` names the destination's filesystem
/// (asked at most once, only where it decides something): one that never
/// shares blocks is not asked to clone (no call, no fallback), and its
/// `copy_file_range` is the only one allowed with `Reflink::Never`.
pub(crate) fn plan_for(
    opts: &CopyOptions,
    size: u64,
    refused: impl Fn(Method) -> bool,
    fs: impl FnOnce() -> FsKind,
) -> Vec<Method> {
    let (mut fs, mut kind) = (Some(fs), None);
    let mut never_shares = move || {
        kind.get_or_insert_with(|| fs.take().map_or(FsKind::Other(0), |f| f()))
            .never_shares()
    };
    let mut plan = Vec::with_capacity(3);
    match opts.reflink {
        // Only a clone will do; the ladder turns its refusal into an error.
        Reflink::Always => return vec![Method::Reflink],
        // An empty file (or a procfs file, which says it is empty) has
        // nothing to clone.
        Reflink::Auto if size > 0 && !refused(Method::Reflink) && !never_shares() => {
            plan.push(Method::Reflink)
        }
        Reflink::Auto | Reflink::Never => {}
    }
    if opts.direct_io == DirectIo::Always {
        plan.push(Method::DirectIo);
    } else if size > 0 {
        if (opts.reflink != Reflink::Never || never_shares()) && !refused(Method::CopyFileRange) {
            plan.push(Method::CopyFileRange);
        }
        // A kernel-side copy that never clones: where copy_file_range is
        // excluded (--reflink=never on Btrfs/XFS) or refused (between
        // filesystems), it used less CPU than the read/write loop and was
        // as fast or faster (bench/RESULTS.md). (Asked for alone, it runs at
        // any size.)
        if size >= SPLICE_MIN_SIZE || opts.only_method == Some(Method::Splice) {
            plan.push(Method::Splice);
        }
    }
    plan.push(Method::ReadWrite);
    plan
}

/// Runs one method of the ladder, starting at offset `from` (0, or where
/// a method that declined part way stopped).
pub(crate) fn run_method(
    method: Method,
    from: u64,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
    warnings: &mut Vec<Warning>,
) -> Step {
    run_method_sized(method, from, src, src_meta, dst, opts, warnings, false)
}

/// [`run_method`], where `exact` stops the data copy once the size the
/// source had when it was opened is copied, instead of reading on to end of
/// file (one `copy_file_range` per small file instead of two). A source that
/// grows meanwhile is copied as it was when measured. Tree copies use it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_method_sized(
    method: Method,
    from: u64,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
    warnings: &mut Vec<Warning>,
    exact: bool,
) -> Step {
    if method == Method::Reflink {
        return match ficlone(src, dst) {
            Ok(()) => match dst.metadata() {
                // A clone that reports success yet left the file empty (a
                // seccomp filter or a filesystem answering 0 without
                // cloning) wrote nothing: the next method copies, instead
                // of an empty copy passing for a good one.
                Ok(m) if m.len() == 0 && src_meta.len() > 0 => Step::Unsupported(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "clone reported success but the copy is empty",
                )),
                Ok(m) => Step::Done(m.len()),
                Err(e) => Step::Failed(e),
            },
            Err(e) if may_fall_back(&e) => Step::Unsupported(e),
            Err(e) => Step::Failed(e),
        };
    }
    // Carrying on after a method that declined part way: both files at the
    // offset where the good data ends.
    if from > 0 {
        let at = |fd: &File| rustix::fs::seek(fd, SeekFrom::Start(from));
        if let Err(e) = at(src).and_then(|_| at(dst)) {
            return Step::Failed(e.into());
        }
    }

    let size = src_meta.len();
    // A file with fewer blocks than its size has holes (or is compressed,
    // or inline): walk its data with SEEK_DATA/SEEK_HOLE.
    let sparse = size > 0 && src_meta.blocks().saturating_mul(512) < size;
    let mut mover = match method {
        Method::CopyFileRange => Mover::Kernel {
            chunk: if opts.progress.is_some() {
                PROGRESS_CHUNK
            } else {
                KERNEL_CHUNK
            },
        },
        Method::ReadWrite => Mover::Buffered {
            buf: vec![0; buffer_size(size)],
        },
        Method::Splice => match Mover::pipe() {
            Ok(m) => m,
            // No pipe (EMFILE, ENFILE): fatal, like any lack of resources.
            Err(e) => return Step::Failed(e),
        },
        Method::DirectIo => match Mover::direct(src, dst) {
            Ok(m) => m,
            Err(e) if may_fall_back(&e) => return decline(src, dst, e, from),
            Err(e) => return Step::Failed(e),
        },
        // The clone is handled above; the other platforms' methods are
        // never planned here.
        Method::Reflink
        | Method::Clonefile
        | Method::Fcopyfile
        | Method::CopyFileEx
        | Method::BlockClone => unreachable!("{method} is not a Linux data mover"),
    };
    let reserve = match opts.preallocate {
        Preallocate::Always => true,
        Preallocate::Never => false,
        // Only where it was measured to win: copy_file_range within one
        // ext4 filesystem (between two it is refused, and the splice that
        // follows is much slower into reserved space), files of
        // AUTO_PREALLOCATE_MIN or more (bench/RESULTS.md, "What the
        // measurements decided").
        Preallocate::Auto => {
            method == Method::CopyFileRange
                && size >= AUTO_PREALLOCATE_MIN
                && dst.metadata().is_ok_and(|m| m.dev() == src_meta.dev())
                && FsKind::of(dst) == FsKind::Ext4
        }
    };
    let reserve = reserve && !sparse && size > 0;
    if reserve {
        if let Err(e) = preallocate(dst, size) {
            if !may_fall_back(&e) {
                return Step::Failed(e);
            }
            // Asked for and refused: say so. Chosen by Auto: nothing lost.
            if opts.preallocate == Preallocate::Always {
                warnings.push(Warning::Preallocate(e));
            }
        }
    }
    let mut copy = Copy {
        src,
        dst,
        mover: &mut mover,
        size,
        written: from,
        stop_at: exact.then_some(size),
        progress: opts.progress.as_deref(),
    };
    let result = if sparse {
        copy.sparse(from)
    } else {
        copy.range(None).map(|_| copy.written)
    };
    // Space reserved past what was written (a source that shrank, or a
    // method that declined) is given back: truncating to the current size
    // frees the blocks past the end of file.
    let give_back =
        |len: u64| -> io::Result<()> { if reserve { dst.set_len(len) } else { Ok(()) } };
    match result {
        Ok(bytes) => {
            if bytes < size
                && let Err(e) = give_back(bytes)
            {
                return Step::Failed(e);
            }
            Step::Done(bytes)
        }
        // "Not supported" before this method wrote anything: the next one
        // starts where this one did. After it wrote some bytes: the next
        // one carries on from where the destination's good data ends (its
        // offset: the methods write in order, and a sparse walk seeks the
        // destination to each segment as it goes).
        Err(e) if may_fall_back(&e) => {
            let pos = if copy.written == from {
                Ok(from)
            } else {
                rustix::fs::seek(dst, SeekFrom::Current(0)).map_err(io::Error::from)
            };
            match pos.and_then(|pos| give_back(pos).map(|()| pos)) {
                Ok(pos) if pos == from => decline(src, dst, e, from),
                Ok(pos) => match reset(src, dst, pos) {
                    Ok(()) => Step::Partial(e, pos),
                    Err(r) => Step::Failed(r),
                },
                Err(t) => Step::Failed(t),
            }
        }
        Err(e) => Step::Failed(e),
    }
}

/// Leaves both files as the next method expects them after a method gave
/// up: offsets at `at`, no `O_DIRECT`.
fn reset(src: &File, dst: &File, at: u64) -> io::Result<()> {
    for fd in [src, dst] {
        rustix::fs::seek(fd, SeekFrom::Start(at))?;
        if rustix::fs::fcntl_getfl(fd)?.contains(OFlags::DIRECT) {
            set_direct(fd, false)?;
        }
    }
    Ok(())
}

/// A method that wrote nothing past `at` declines with `e`: the next one
/// may copy, once both files are back where it expects them. If they
/// cannot be put back, the copy fails rather than risk a wrong one.
fn decline(src: &File, dst: &File, e: io::Error, at: u64) -> Step {
    match reset(src, dst, at) {
        Ok(()) => Step::Unsupported(e),
        Err(r) => Step::Failed(r),
    }
}

/// The read/write buffer: the file's size (plus room to see end of file),
/// between [`MIN_BUFFER`] and [`MAX_BUFFER`].
pub(crate) fn buffer_size(file_size: u64) -> usize {
    let want = usize::try_from(file_size)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    want.clamp(MIN_BUFFER, MAX_BUFFER).next_multiple_of(4096)
}

/// One data-moving technique, used by the segment walk.
enum Mover {
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
    fn direct(src: &File, dst: &File) -> io::Result<Mover> {
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
    fn pipe() -> io::Result<Mover> {
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

fn set_direct(fd: &File, on: bool) -> io::Result<()> {
    hit(Point::DirectIo)?;
    let flags = rustix::fs::fcntl_getfl(fd)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    Ok(rustix::fs::fcntl_setfl(fd, flags)?)
}

struct Copy<'a> {
    src: &'a File,
    dst: &'a File,
    mover: &'a mut Mover,
    size: u64,
    /// Bytes written to the destination so far. While 0, an "unsupported"
    /// error may still fall back.
    written: u64,
    /// Stop once this many bytes are written (a whole-file copy only).
    stop_at: Option<u64>,
    progress: Option<&'a dyn Progress>,
}

impl Copy<'_> {
    /// Copies the data segments of a sparse source at their offsets from
    /// `from` on, then sets the destination's size, so holes (one at the
    /// end too) stay holes. Returns the final size.
    fn sparse(&mut self, from: u64) -> io::Result<u64> {
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
    fn range(&mut self, limit: Option<u64>) -> io::Result<u64> {
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
            } => {
                let len = want.min(*capacity as u64) as usize;
                let n = match hit(Point::Read)? {
                    Some(n) => n,
                    None => retry(|| {
                        rustix::pipe::splice(self.src, None, &*write, None, len, SpliceFlags::MOVE)
                    })?,
                };
                if n == 0 {
                    return self.after_zero("splice", want);
                }
                // Drain the pipe completely before the next read: data left
                // in it would be lost on an error, and must not be.
                let mut left = n;
                while left > 0 {
                    let m = match hit(Point::Write)? {
                        Some(m) => m,
                        None => retry(|| {
                            rustix::pipe::splice(
                                &*read,
                                None,
                                self.dst,
                                None,
                                left,
                                SpliceFlags::MOVE,
                            )
                        })?,
                    };
                    if m == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    left -= m;
                    self.written += m as u64;
                }
                Ok(n as u64)
            }
            Mover::Direct {
                buf,
                src_direct,
                dst_direct,
            } => {
                let off = buf.as_ptr().align_offset(DIRECT_ALIGN as usize);
                let buf = &mut buf[off..off + DIRECT_BUFFER];
                // Direct reads need an aligned offset and length; reading a
                // whole block past the segment's end is harmless (we write
                // only what was asked), past end of file it comes back short.
                let src_pos = rustix::fs::seek(self.src, SeekFrom::Current(0))?;
                if *src_direct && src_pos % DIRECT_ALIGN != 0 {
                    set_direct(self.src, false)?;
                    *src_direct = false;
                }
                let len = want
                    .min(DIRECT_BUFFER as u64)
                    .next_multiple_of(DIRECT_ALIGN) as usize;
                let mut n = read(self.src, &mut buf[..len])?;
                if n as u64 > want {
                    n = want as usize;
                    rustix::fs::seek(self.src, SeekFrom::Start(src_pos + want))?;
                }
                // The unaligned tail (or any unaligned write) goes through
                // the page cache; from then on the destination stays there.
                if *dst_direct && n % DIRECT_ALIGN as usize != 0 {
                    set_direct(self.dst, false)?;
                    *dst_direct = false;
                }
                write_all(self.dst, &buf[..n], &mut self.written)?;
                Ok(n as u64)
            }
        }
    }
}

/// Whether `src`'s offset is at its end of file: a one-byte `pread` there
/// finds nothing (what counts is what reading gives, not the size, which
/// pseudo files misstate).
fn at_end_of_file(src: &File) -> io::Result<bool> {
    let pos = rustix::fs::seek(src, SeekFrom::Current(0))?;
    let mut byte = [0u8; 1];
    loop {
        match rustix::io::pread(src, &mut byte, pos) {
            Err(Errno::INTR) => continue,
            r => return Ok(r? == 0),
        }
    }
}

/// `ioctl(dst, FICLONE, src)`: share all of `src`'s blocks.
pub(crate) fn ficlone(src: &File, dst: &File) -> io::Result<()> {
    if hit(Point::Clone)?.is_some() {
        return Ok(());
    }
    Ok(rustix::fs::ioctl_ficlone(dst, src)?)
}

fn copy_file_range(src: &File, dst: &File, len: usize) -> io::Result<usize> {
    if let Some(n) = hit(Point::CopyFileRange)? {
        return Ok(n);
    }
    loop {
        match rustix::fs::copy_file_range(src, None, dst, None, len) {
            Err(Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Calls `f` again while it is interrupted by a signal.
fn retry(mut f: impl FnMut() -> rustix::io::Result<usize>) -> io::Result<usize> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

fn read(src: &File, buf: &mut [u8]) -> io::Result<usize> {
    if let Some(n) = hit(Point::Read)? {
        return Ok(n);
    }
    loop {
        match rustix::io::read(src, &mut *buf) {
            Err(Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

fn write_all(dst: &File, mut buf: &[u8], written: &mut u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = match hit(Point::Write)? {
            Some(n) => n,
            None => match rustix::io::write(dst, buf) {
                Err(Errno::INTR) => continue,
                r => r?,
            },
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
fn preallocate(dst: &File, len: u64) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_errnos_fall_back() {
        for e in [
            Errno::NOSYS,
            Errno::OPNOTSUPP,
            Errno::NOTSUP,
            Errno::XDEV,
            Errno::INVAL,
            Errno::PERM,
            Errno::BADF,
            Errno::TXTBSY,
            Errno::NOTTY,
        ] {
            assert!(is_unsupported(e), "{e:?} should fall back");
        }
    }

    #[test]
    fn real_failures_are_fatal() {
        for e in [
            Errno::IO,
            Errno::NOSPC,
            Errno::DQUOT,
            Errno::NOMEM,
            Errno::FBIG,
            Errno::ROFS,
            Errno::ACCESS,
            Errno::INTR,
            Errno::AGAIN,
        ] {
            assert!(!is_unsupported(e), "{e:?} must not fall back");
        }
    }

    #[test]
    fn buffer_sizes_fit_the_file() {
        assert_eq!(buffer_size(0), MIN_BUFFER);
        assert_eq!(buffer_size(1), MIN_BUFFER);
        assert_eq!(buffer_size(MIN_BUFFER as u64), MIN_BUFFER + 4096);
        assert_eq!(buffer_size(100_000), 102_400);
        assert_eq!(buffer_size(1 << 30), MAX_BUFFER);
        assert_eq!(buffer_size(u64::MAX), MAX_BUFFER);
        for s in [0, 5, 4095, 4096, 70_000, 1 << 20] {
            assert_eq!(buffer_size(s) % 4096, 0);
        }
    }

    #[test]
    fn chunks_stay_under_the_kernel_limit() {
        // MAX_RW_COUNT is INT_MAX rounded down to a page.
        // Checked when compiling: a wrong constant does not build.
        const {
            let max_rw_count = (i32::MAX as u64) & !4095;
            assert!(KERNEL_CHUNK <= max_rw_count);
            assert!(PROGRESS_CHUNK <= KERNEL_CHUNK);
            assert!(DIRECT_BUFFER as u64 % DIRECT_ALIGN == 0);
        }
    }
}
