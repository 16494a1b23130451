//! Linux: which errors of a copy method mean "not supported here, try the
//! next method" and which end the copy. The one place that decides it.

use std::io;

use rustix::io::Errno;

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

pub(super) fn errno_of(e: &io::Error) -> Option<Errno> {
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
}
