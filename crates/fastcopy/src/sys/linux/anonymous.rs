//! Linux: files without a name (`O_TMPFILE`), named once complete, so that
//! a process killed while it writes leaves nothing behind.

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::OFlags;
use rustix::io::Errno;

use crate::fault::{Point, hit};

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
pub(super) fn can_name_anonymous() -> bool {
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
