//! Linux: `FICLONE`, then `copy_file_range`, then `splice` or a
//! read/write loop; `O_DIRECT` and `fallocate` on request. This file plans
//! the ladder and runs one method; the rest is split by what it does:
//!
//! | module | what |
//! |---|---|
//! | [`errno`] | which errors fall back, which end the copy |
//! | [`movers`] | the data movers and the walk over data segments |
//! | [`syscalls`] | the system calls, retried on `EINTR` |
//! | [`anonymous`] | files without a name (`O_TMPFILE`) |
//! | [`fs_kind`] | the filesystem of a file (`statfs`) |
//! | [`fiemap`] | whether a file's extents are shared (`FIEMAP`) |
//! | [`probe`] | what `fastcopy::probe` asks of the platform |
//! | [`tree`] | directory trees, copied by worker threads |

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;

use rustix::fs::{OFlags, SeekFrom};

mod anonymous;
mod errno;
mod fiemap;
mod fs_kind;
mod movers;
mod probe;
mod syscalls;
mod tree;

pub(crate) use anonymous::{anonymous_in, create_anonymous, link_anonymous, name_anonymous};
pub(crate) use errno::{may_fall_back, refused_for_the_pair};
pub use fiemap::{Sharing, extent_sharing};
pub(crate) use fs_kind::FsKind;
pub(crate) use probe::{
    allocated_bytes, direct_write_alignment, evict, filesystem_name, rename_exclusive, shared_bytes,
};
pub(crate) use syscalls::{copy_xattrs, ficlone};
pub(crate) use tree::{copy_dir, copy_symlink, create_private_dir};

use crate::ladder::Step;
use crate::options::{CopyOptions, DirectIo, Preallocate, Reflink};
use crate::report::{Method, Warning};
use movers::{Copy, Mover, set_direct};
use syscalls::preallocate;

/// The methods of this ladder, in the order they are tried.
pub(crate) const METHODS: &[Method] = &[
    Method::Reflink,
    Method::CopyFileRange,
    Method::DirectIo,
    Method::Splice,
    Method::ReadWrite,
];

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
        return clone(src, src_meta, dst, true);
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
    let mut mover = match mover(method, src, dst, opts, size) {
        Ok(m) => m,
        Err(e) if method == Method::DirectIo && may_fall_back(&e) => {
            return decline(src, dst, e, from);
        }
        Err(e) => return Step::Failed(e),
    };
    let reserve = !sparse && size > 0 && reserves(method, src_meta, dst, opts);
    if reserve && let Err(e) = preallocate(dst, size) {
        if !may_fall_back(&e) {
            return Step::Failed(e);
        }
        // Asked for and refused: say so. Chosen by Auto: nothing lost.
        if opts.preallocate == Preallocate::Always {
            warnings.push(Warning::Preallocate(e));
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
    let moved = copy.written != from;
    // Space reserved past what was written (a source that shrank, or a
    // method that declined) is given back: truncating to the current size
    // frees the blocks past the end of file.
    let give_back = |len: u64| if reserve { dst.set_len(len) } else { Ok(()) };
    match result {
        Ok(bytes) if bytes < size => match give_back(bytes) {
            Ok(()) => Step::Done(bytes),
            Err(e) => Step::Failed(e),
        },
        Ok(bytes) => Step::Done(bytes),
        Err(e) if may_fall_back(&e) => hand_over(src, dst, e, from, moved, give_back),
        Err(e) => Step::Failed(e),
    }
}

/// `FICLONE`. With `check`, a clone that reports success yet left the
/// file empty (a seccomp filter or a filesystem answering 0 without
/// cloning) wrote nothing: it answers `Unsupported` with an error that has
/// no errno (the only such answer of a clone), and the next method copies,
/// instead of an empty copy passing for a good one. Without `check` (a
/// tree that already saw a clone between the same two filesystems copy
/// for real) the clone is trusted: one `fstat` less.
pub(crate) fn clone(src: &File, src_meta: &Metadata, dst: &File, check: bool) -> Step {
    match ficlone(src, dst) {
        Ok(()) if !check || src_meta.len() == 0 => Step::Done(src_meta.len()),
        Ok(()) => match dst.metadata() {
            Ok(m) if m.len() == 0 => Step::Unsupported(io::Error::new(
                io::ErrorKind::Unsupported,
                "clone reported success but the copy is empty",
            )),
            Ok(m) => Step::Done(m.len()),
            Err(e) => Step::Failed(e),
        },
        Err(e) if may_fall_back(&e) => Step::Unsupported(e),
        Err(e) => Step::Failed(e),
    }
}

/// The data mover of `method` for a file of `size` bytes. No pipe (EMFILE,
/// ENFILE) is fatal, like any lack of resources; `O_DIRECT` refused is the
/// caller's to judge.
fn mover(
    method: Method,
    src: &File,
    dst: &File,
    opts: &CopyOptions,
    size: u64,
) -> io::Result<Mover> {
    Ok(match method {
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
        Method::Splice => Mover::pipe()?,
        Method::DirectIo => Mover::direct(src, dst)?,
        // The clone is handled apart; the other platforms' methods are
        // never planned here.
        Method::Reflink
        | Method::Clonefile
        | Method::Fcopyfile
        | Method::CopyFileEx
        | Method::BlockClone => unreachable!("{method} is not a Linux data mover"),
    })
}

/// Whether the destination's space is reserved before `method` copies.
/// `Auto`: only where it was measured to win: copy_file_range within one
/// ext4 filesystem (between two it is refused, and the splice that follows
/// is much slower into reserved space), files of [`AUTO_PREALLOCATE_MIN`]
/// or more (bench/RESULTS.md, "What the measurements decided").
fn reserves(method: Method, src_meta: &Metadata, dst: &File, opts: &CopyOptions) -> bool {
    match opts.preallocate {
        Preallocate::Always => true,
        Preallocate::Never => false,
        Preallocate::Auto => {
            method == Method::CopyFileRange
                && src_meta.len() >= AUTO_PREALLOCATE_MIN
                && dst.metadata().is_ok_and(|m| m.dev() == src_meta.dev())
                && FsKind::of(dst) == FsKind::Ext4
        }
    }
}

/// A method answered "not supported" (`e`) after starting at `from`.
/// Before it wrote anything (`moved` false) the next one starts where this
/// one did. After it wrote some bytes the next one carries on from where
/// the destination's good data ends: its offset (the methods write in
/// order, and a sparse walk seeks the destination to each segment as it
/// goes). `give_back` frees reserved space past that point.
fn hand_over(
    src: &File,
    dst: &File,
    e: io::Error,
    from: u64,
    moved: bool,
    give_back: impl Fn(u64) -> io::Result<()>,
) -> Step {
    let pos = if moved {
        rustix::fs::seek(dst, SeekFrom::Current(0)).map_err(io::Error::from)
    } else {
        Ok(from)
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

#[cfg(test)]
mod tests {
    use super::*;
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
