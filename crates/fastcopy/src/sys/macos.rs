//! macOS (and iOS): an APFS clone with `fclonefileat`, then `fcopyfile`
//! (data, keeping holes); `F_NOCACHE` for direct I/O;
//! `renamex_np(RENAME_EXCL)` for no-clobber.
//!
//! Compiled and linted for `aarch64-apple-darwin` and `x86_64-apple-darwin`;
//! not executed by this project's CI (no Mac). It follows the man pages:
//! `clonefile(2)`, `copyfile(3)`, `fcntl(2)`, `rename(2)`.

use std::ffi::{CStr, CString};
use std::fs::{File, Metadata};
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use rustix::fs::{CWD, CloneFlags, CopyfileFlags, Mode, OFlags, SeekFrom};
use rustix::io::{Errno, FdFlags};

pub(crate) use super::unix::{
    create_temp, final_permissions, initial_mode, open_source, rename_noclobber, same_file,
    special_kind,
};
use crate::fault::{Point, hit};
use crate::ladder::Step;
use crate::options::{CopyOptions, DirectIo, Reflink};
use crate::report::{Method, Warning};

/// `COPYFILE_DATA_SPARSE` from `<copyfile.h>` (macOS 10.15): copy data with
/// `SEEK_HOLE`/`SEEK_DATA`, so holes stay holes; copyfile falls back to a
/// plain data copy where the source cannot tell holes apart. rustix does
/// not name it.
const COPYFILE_DATA_SPARSE: u32 = 1 << 27;

/// Suffix of the name the clone is made under before it replaces the empty
/// temporary file; it keeps the temporary name (and so its marker).
const CLONE_SUFFIX: &str = ".clone";

/// Whether `errno`, returned by `fclonefileat` or `fcopyfile` before
/// anything was written, means "this method cannot work here, try the next
/// one". Everything else is a real failure and ends the copy.
pub(crate) fn is_unsupported(errno: Errno) -> bool {
    match errno {
        // clonefile: "the underlying filesystem does not support this
        // call": HFS+, exFAT, FAT, SMB, NFS, most FUSE filesystems.
        Errno::NOTSUP => true,
        // The same refusal as answered by some network and FUSE
        // filesystems (a different value from ENOTSUP on Darwin).
        Errno::OPNOTSUPP => true,
        // clonefile: source and destination on different volumes (APFS
        // clones only within one container volume).
        Errno::XDEV => true,
        // clonefile: a flag this kernel does not know (CLONE_NOOWNERCOPY
        // before macOS 10.13), or a file it cannot clone.
        Errno::INVAL => true,
        // The call does not exist (before macOS 10.12), or a sandbox
        // answers ENOSYS for it.
        Errno::NOSYS => true,
        // clonefile: "the calling process does not have appropriate
        // privileges" (sandbox profiles, protected files). Nothing was
        // written, so copying instead is safe.
        Errno::PERM => true,
        // EIO, ENOSPC, EDQUOT, EACCES, EEXIST (someone raced us to our own
        // unique name), EROFS, EINTR and anything unknown: fatal.
        _ => false,
    }
}

fn may_fall_back(e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(raw) => is_unsupported(Errno::from_raw_os_error(raw)),
        None => e.kind() == io::ErrorKind::Unsupported,
    }
}

/// The methods of this ladder, in the order they are tried.
pub(crate) const METHODS: &[Method] = &[Method::Clonefile, Method::Fcopyfile];

/// The methods to try, in order.
pub(crate) fn plan(opts: &CopyOptions, src: &Metadata, _dst: &File) -> Vec<Method> {
    match opts.reflink {
        // Only a clone will do; the ladder turns its refusal into an error.
        Reflink::Always => vec![Method::Clonefile],
        // An empty file has nothing to share.
        Reflink::Auto if src.len() > 0 => vec![Method::Clonefile, Method::Fcopyfile],
        // fcopyfile never clones (only copyfile(3) with COPYFILE_CLONE does).
        Reflink::Auto | Reflink::Never => vec![Method::Fcopyfile],
    }
}

/// Runs one method of the ladder.
pub(crate) fn run_method(
    method: Method,
    // Only Linux methods decline part way; the others start at 0.
    _from: u64,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
    _warnings: &mut Vec<Warning>,
) -> Step {
    let step = match method {
        Method::Clonefile => clone_into(src, dst, opts),
        Method::Fcopyfile => copy_data(src, dst, opts),
        _ => {
            return Step::Unsupported(io::Error::new(
                io::ErrorKind::Unsupported,
                "not available on this platform",
            ));
        }
    };
    match step {
        Ok(bytes) => {
            if let Some(p) = &opts.progress {
                p.advance(bytes, src_meta.len());
            }
            Step::Done(bytes)
        }
        Err(Attempt::Declined(e)) => Step::Unsupported(e),
        Err(Attempt::Failed(e)) => Step::Failed(e),
    }
}

/// How a method that did not finish ended.
enum Attempt {
    /// Nothing written, and the error means "not here": try the next one.
    Declined(io::Error),
    /// Stop the copy.
    Failed(io::Error),
}

impl Attempt {
    /// Classifies an error of the call that does the work, made before
    /// anything was written.
    fn before_writing(e: impl Into<io::Error>) -> Attempt {
        let e = e.into();
        if may_fall_back(&e) {
            Attempt::Declined(e)
        } else {
            Attempt::Failed(e)
        }
    }
}

fn failed(e: impl Into<io::Error>) -> Attempt {
    Attempt::Failed(e.into())
}

/// Clones `src` into the temporary file `dst`.
///
/// `clonefile` creates its destination and refuses an existing one, but the
/// portable core has already created the temporary file (empty, with the
/// umask-reduced mode). So the clone is made under a sibling name, opened,
/// given the temporary file's mode, renamed over the empty temporary file
/// (atomically: the temporary name never disappears), and finally `dup2`ed
/// onto `dst`'s descriptor, so the core's `File` now refers to the clone.
/// Until the rename, a refusal leaves the temporary file untouched and the
/// next method can run.
fn clone_into(src: &File, dst: &File, opts: &CopyOptions) -> Result<u64, Attempt> {
    if hit(Point::Clone)
        .map_err(Attempt::before_writing)?
        .is_some()
    {
        return Ok(0);
    }
    // F_GETPATH: where the temporary file is now (absolute).
    let tmp_path = rustix::fs::getpath(dst).map_err(failed)?;
    let clone_path = sibling(&tmp_path, CLONE_SUFFIX);
    // CLONE_NOFOLLOW: never clone through a link (the source is a
    // descriptor anyway); CLONE_NOOWNERCOPY: the copy belongs to us, as a
    // file we create does (without it, root would copy the owner).
    rustix::fs::fclonefileat(
        src,
        CWD,
        &clone_path,
        CloneFlags::NOFOLLOW | CloneFlags::NOOWNERCOPY,
    )
    .map_err(Attempt::before_writing)?;

    // The clone exists from here on: remove it on every early return.
    let mut pending = RemoveOnDrop(Some(&clone_path));
    let clone = rustix::fs::open(
        &clone_path,
        OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(failed)?;
    let st = rustix::fs::fstat(&clone).map_err(failed)?;
    // The clone carries the source's mode bits (less set-id); the
    // temporary file has the mode the core chose (umask applied): keep it,
    // so that the final mode is decided by the core as on Linux.
    let tmp_mode = rustix::fs::fstat(dst).map_err(failed)?.st_mode;
    rustix::fs::fchmod(
        &clone,
        Mode::from_raw_mode(tmp_mode) & Mode::from_bits_truncate(0o7777),
    )
    .map_err(failed)?;
    if !opts.preserve_times {
        // The clone also carries the source's times; a new file's are now.
        let now = rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        };
        let times = rustix::fs::Timestamps {
            last_access: now,
            last_modification: now,
        };
        rustix::fs::futimens(&clone, &times).map_err(failed)?;
    }
    rustix::fs::renameat(CWD, &clone_path, CWD, &tmp_path).map_err(failed)?;
    pending.0 = None;
    replace_descriptor(dst, &clone).map_err(failed)?;
    Ok(st.st_size as u64)
}

/// Makes `dst`'s descriptor number refer to `new`'s open file (`dup2`),
/// close-on-exec like every descriptor std opens.
fn replace_descriptor(dst: &File, new: &OwnedFd) -> io::Result<()> {
    // SAFETY: `dst` owns this descriptor and stays alive (it is borrowed
    // for the whole call). The `OwnedFd` is only a view for `dup2`, which
    // needs `&mut OwnedFd`; `ManuallyDrop` keeps it from closing the
    // descriptor, which `dst` still owns afterwards. `dup2` atomically
    // closes the old open file behind the number and makes it refer to
    // `new`'s, so the number stays valid throughout.
    let mut target = ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(dst.as_raw_fd()) });
    rustix::io::dup2(new, &mut target)?;
    // dup2 clears FD_CLOEXEC on the new descriptor.
    rustix::io::fcntl_setfd(dst, FdFlags::CLOEXEC)?;
    Ok(())
}

/// Removes a path when dropped, unless emptied.
struct RemoveOnDrop<'a>(Option<&'a CStr>);

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.0 {
            let _ = rustix::fs::unlink(path);
        }
    }
}

/// `path` with `suffix` appended to its last component.
fn sibling(path: &CStr, suffix: &str) -> CString {
    let mut bytes = path.to_bytes().to_vec();
    bytes.extend_from_slice(suffix.as_bytes());
    CString::new(bytes).expect("a C string plus a suffix without NUL has no NUL")
}

/// Copies the data with `fcopyfile(src, dst, state, COPYFILE_DATA |
/// COPYFILE_DATA_SPARSE)`; `F_NOCACHE` on both descriptors first when
/// direct I/O is asked.
fn copy_data(src: &File, dst: &File, opts: &CopyOptions) -> Result<u64, Attempt> {
    if opts.direct_io == DirectIo::Always {
        // F_NOCACHE is a flag of the open file in the VFS, not of the
        // filesystem: every filesystem takes it, so an error is real.
        for fd in [src.as_fd(), dst.as_fd()] {
            hit(Point::DirectIo).map_err(failed)?;
            rustix::fs::fcntl_nocache(fd, true).map_err(failed)?;
        }
    }
    hit(Point::Read).map_err(Attempt::before_writing)?;
    // fcopyfile copies from the current offsets and does not reset them;
    // a method that declined before left them at 0, but be sure.
    for fd in [src.as_fd(), dst.as_fd()] {
        rustix::fs::seek(fd, SeekFrom::Start(0)).map_err(failed)?;
    }
    let state = rustix::fs::copyfile_state_alloc().map_err(failed)?;
    let flags = CopyfileFlags::DATA | CopyfileFlags::from_bits_retain(COPYFILE_DATA_SPARSE);
    // SAFETY: `state` was just allocated by `copyfile_state_alloc` and is
    // freed only below, after this call returns.
    let result = unsafe { rustix::fs::fcopyfile(src, dst, state, flags) };
    // SAFETY: `state` came from `copyfile_state_alloc` and is freed once.
    let _ = unsafe { rustix::fs::copyfile_state_free(state) };
    let size = rustix::fs::fstat(dst).map_err(failed)?.st_size as u64;
    match result {
        Ok(()) => Ok(size),
        Err(e) if size == 0 => Err(Attempt::before_writing(e)),
        Err(e) => Err(failed(e)),
    }
}

/// Copies the extended attributes (and the resource fork, which macOS keeps
/// as one) with `fcopyfile(COPYFILE_XATTR)`. A clone already has the
/// source's attributes; copying them again is harmless.
pub(crate) fn copy_xattrs(src: &File, dst: &File, warnings: &mut Vec<Warning>) {
    let result = rustix::fs::copyfile_state_alloc().and_then(|state| {
        // SAFETY: `state` was just allocated and is freed right after.
        let r = unsafe { rustix::fs::fcopyfile(src, dst, state, CopyfileFlags::XATTR) };
        // SAFETY: `state` came from `copyfile_state_alloc` and is freed once.
        let _ = unsafe { rustix::fs::copyfile_state_free(state) };
        r
    });
    match result {
        Ok(()) => {}
        // The filesystem keeps no extended attributes: nothing to copy.
        Err(Errno::NOTSUP | Errno::OPNOTSUPP) => {}
        Err(e) => warnings.push(Warning::Xattr {
            name: "*".into(),
            error: e.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_errnos_fall_back() {
        for e in [
            Errno::NOTSUP,
            Errno::OPNOTSUPP,
            Errno::XDEV,
            Errno::INVAL,
            Errno::NOSYS,
            Errno::PERM,
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
            Errno::ACCESS,
            Errno::EXIST,
            Errno::ROFS,
            Errno::INTR,
            Errno::NOMEM,
        ] {
            assert!(!is_unsupported(e), "{e:?} must not fall back");
        }
    }

    #[test]
    fn clone_name_keeps_the_temporary_name() {
        let tmp = CString::new("/d/.a.fastcopy-tmp-1-2-3").unwrap();
        let got = sibling(&tmp, CLONE_SUFFIX);
        assert_eq!(got.to_str().unwrap(), "/d/.a.fastcopy-tmp-1-2-3.clone");
        assert!(got.to_str().unwrap().contains(crate::TEMP_MARKER));
    }
}
