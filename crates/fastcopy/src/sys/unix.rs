//! Pieces shared by the Unix backends.

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rustix::fs::OFlags;

use crate::report::Warning;

/// Opens `path` read-only with `O_NONBLOCK`, so that a FIFO does not block
/// the open (regular files ignore the flag), and `O_NOCTTY`, so that a
/// terminal does not become ours.
pub(crate) fn open_source(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32)
        .open(path)
}

/// What kind of special file `meta` describes, if it is one.
pub(crate) fn special_kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    Some(if t.is_dir() {
        "is a directory"
    } else if t.is_fifo() {
        "is a FIFO"
    } else if t.is_socket() {
        "is a socket"
    } else if t.is_block_device() {
        "is a block device"
    } else if t.is_char_device() {
        "is a character device"
    } else {
        return None;
    })
}

/// Same device and inode: the same file, whatever the paths. (The open
/// source and the destination's path are for platforms whose metadata
/// lacks a file identity.)
pub(crate) fn same_file(
    _src: &std::fs::File,
    a: &Metadata,
    _dest: &std::path::Path,
    b: &Metadata,
) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// The temporary file is created with the source's permission bits (the
/// umask applies), never wider than the source while it is written.
pub(crate) fn initial_mode(src: &Metadata) -> u32 {
    src.mode() & 0o777
}

/// Creates `path` exclusively, for writing (and reading: some clone calls
/// want it), close-on-exec, with `mode` minus the umask.
pub(crate) fn create_temp(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

/// The permission bits to apply: the source's, without set-user-ID and
/// set-group-ID unless running as root (a copy must not hand out
/// privileges its owner never had).
pub(crate) fn final_permissions(
    src: &Metadata,
    warnings: &mut Vec<Warning>,
) -> Option<Permissions> {
    let mut mode = src.mode() & 0o7777;
    if mode & 0o6000 != 0 && !rustix::process::geteuid().is_root() {
        mode &= !0o6000;
        warnings.push(Warning::SetidDropped);
    }
    Some(fs::Permissions::from_mode(mode))
}

/// Whether process `pid` of this host (and PID namespace) is alive:
/// `kill(pid, 0)` succeeds or is refused for permission (it exists), or
/// fails with `ESRCH` (it does not). `None` when that cannot be told.
pub(crate) fn process_alive(pid: u32) -> Option<bool> {
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
    match rustix::process::test_kill_process(pid) {
        Ok(()) | Err(rustix::io::Errno::PERM) => Some(true),
        Err(rustix::io::Errno::SRCH) => Some(false),
        Err(_) => None,
    }
}

/// `renameat2(RENAME_NOREPLACE)` on Linux, `renameatx_np(RENAME_EXCL)` on
/// macOS: renames `from` to `to` unless `to` exists, atomically. `None`
/// where the filesystem lacks it (EINVAL, ENOTSUP) or the system is older
/// (ENOSYS).
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "ios"))]
fn rename_exclusive(from: &Path, to: &Path) -> Option<io::Result<()>> {
    use rustix::fs::{CWD, RenameFlags};
    use rustix::io::Errno;
    match rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Some(Ok(())),
        // (ENOTSUP and EOPNOTSUPP are one number on Linux, two on macOS.)
        Err(e)
            if e == Errno::INVAL
                || e == Errno::NOSYS
                || e == Errno::NOTSUP
                || e == Errno::OPNOTSUPP =>
        {
            None
        }
        Err(e) => Some(Err(e.into())),
    }
}

/// Renames the file `from` to `to` unless `to` exists, atomically
/// ([`rename_exclusive`]); where that is missing, a hard link (which also
/// fails if the name exists) and an unlink of the temporary name.
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "ios"))]
pub(crate) fn rename_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(r) = rename_exclusive(from, to) {
        return r;
    }
    fs::hard_link(from, to)?;
    fs::remove_file(from)
}

/// Renames the directory `from` to `to` unless `to` exists, atomically
/// ([`rename_exclusive`]); where that is missing, the name is claimed with
/// an empty directory (`mkdir` fails if it exists) that `rename` then
/// replaces (it replaces an empty directory atomically).
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "ios"))]
pub(crate) fn rename_dir_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(r) = rename_exclusive(from, to) {
        return r;
    }
    fs::create_dir(to)?;
    fs::rename(from, to).inspect_err(|_| {
        let _ = fs::remove_dir(to);
    })
}

/// Gives the owner write and search permission on every directory of the
/// tree at `dir`, so that it can be removed. Every directory is opened
/// relative to its parent with `O_NOFOLLOW` and changed through its
/// descriptor: a link put in place of one is never followed (`fastcopy
/// clean` may run as root in a directory others write to). Best effort:
/// what cannot be changed is left for the removal to report.
pub(crate) fn make_tree_removable(dir: &Path) {
    let flags = dir_flags();
    if let Ok(fd) = rustix::fs::open(dir, flags, rustix::fs::Mode::empty()) {
        open_up(fd);
    }
}

fn dir_flags() -> rustix::fs::OFlags {
    use rustix::fs::OFlags;
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn open_up(fd: std::os::fd::OwnedFd) {
    use rustix::fs::{AtFlags, FileType, Mode};
    use rustix::io::Errno;
    let owner_only = Mode::from_raw_mode(0o700);
    let _ = rustix::fs::fchmod(&fd, owner_only);
    let Ok(mut entries) = rustix::fs::Dir::read_from(&fd) else {
        return;
    };
    let mut subdirs = Vec::new();
    while let Some(Ok(e)) = entries.next() {
        let name = e.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        if matches!(e.file_type(), FileType::Directory | FileType::Unknown) {
            subdirs.push(name.to_owned());
        }
    }
    for name in subdirs {
        let sub = match rustix::fs::openat(&fd, &name, dir_flags(), Mode::empty()) {
            // A directory without read permission: opened up by name
            // (inside a directory only its owner can write to), then again.
            Err(Errno::ACCESS) => {
                let _ = rustix::fs::chmodat(&fd, &name, owner_only, AtFlags::empty());
                rustix::fs::openat(&fd, &name, dir_flags(), Mode::empty())
            }
            r => r,
        };
        if let Ok(sub) = sub {
            open_up(sub);
        }
    }
}

/// Whether the caller may write the existing file `path` (`access(W_OK)`
/// with the effective ids, as `cp` asks by opening it): the refusal, if
/// any. Only a refusal for permission says no; any other answer is left to
/// the operation that follows, which reports its own error.
pub(crate) fn may_write(path: &Path) -> io::Result<()> {
    use rustix::fs::{Access, AtFlags, CWD};
    refused(rustix::fs::accessat(
        CWD,
        path,
        Access::WRITE_OK,
        AtFlags::EACCESS,
    ))
}

/// The refusals of `access(W_OK)` that mean "not you": EACCES, and EPERM
/// (an immutable file).
fn refused(r: rustix::io::Result<()>) -> io::Result<()> {
    match r {
        Err(e @ (rustix::io::Errno::ACCESS | rustix::io::Errno::PERM)) => Err(e.into()),
        _ => Ok(()),
    }
}

/// The names a file has besides the one being replaced.
pub(crate) fn other_links(meta: &Metadata) -> u64 {
    meta.nlink().saturating_sub(1)
}

/// As root, gives `file` the owner and group of `src` (as `cp -p` does;
/// fastcopy keeps mode and times by default, and a root copy that handed a
/// user's file to root would change who may read it), unless they are
/// already the file's: root's, and the group it got from its directory
/// (`gid`, the effective group when not known). Otherwise (`root`, asked
/// when not known) the new file belongs to the caller and nothing is
/// done. Returns whether the owner was changed (a chown clears
/// set-user-ID and set-group-ID).
pub(crate) fn keep_owner(
    file: &File,
    src: &Metadata,
    gid: Option<u32>,
    root: Option<bool>,
) -> io::Result<bool> {
    use rustix::fs::{Gid, Uid};
    if !root.unwrap_or_else(|| rustix::process::geteuid().is_root()) {
        return Ok(false);
    }
    let gid = gid.unwrap_or_else(|| rustix::process::getegid().as_raw());
    if src.uid() == 0 && src.gid() == gid {
        return Ok(false);
    }
    rustix::fs::fchown(
        file,
        Some(Uid::from_raw(src.uid())),
        Some(Gid::from_raw(src.gid())),
    )?;
    Ok(true)
}

/// Whether a new file created with the source's permission bits under
/// `umask` still needs `perm` set: the umask took bits away, or a chown
/// cleared set-user-ID/set-group-ID bits that are wanted. Unknown umask:
/// yes.
pub(crate) fn needs_permissions(
    perm: &Permissions,
    src: &Metadata,
    umask: Option<u32>,
    chowned: bool,
) -> bool {
    let want = perm.mode() & 0o7777;
    match umask {
        None => true,
        Some(mask) => want != initial_mode(src) & !mask || (chowned && want & 0o6000 != 0),
    }
}

/// The process's umask, read without changing it (`/proc/self/status`,
/// Linux 4.7), or by setting and restoring it where that is missing.
#[cfg(target_os = "linux")]
pub(crate) fn umask() -> u32 {
    use rustix::fs::Mode;
    if let Ok(status) = fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Umask:"))
        && let Ok(mask) = u32::from_str_radix(line["Umask:".len()..].trim(), 8)
    {
        return mask;
    }
    let old = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(old);
    old.as_raw_mode()
}

/// Whether the source changed between `start` (when it was opened) and
/// `now` (after its data was copied, `copied` bytes): another size,
/// modification time or status-change time, or a file with blocks that
/// gave another number of bytes than its size. Pseudo files (procfs says
/// 0 bytes, sysfs 4096) have no blocks, read differently from their size
/// and keep their times: they have not changed.
pub(crate) fn changed(start: &Metadata, now: &Metadata, copied: u64) -> bool {
    now.len() != start.len()
        || now.mtime() != start.mtime()
        || now.mtime_nsec() != start.mtime_nsec()
        || now.ctime() != start.ctime()
        || now.ctime_nsec() != start.ctime_nsec()
        || (copied != start.len() && start.blocks() > 0)
}

/// [`may_write`] for the entry `name` of the open directory `dir`.
#[cfg(target_os = "linux")]
pub(crate) fn may_write_at<Fd: std::os::fd::AsFd>(
    dir: Fd,
    name: &std::ffi::CStr,
) -> io::Result<()> {
    use rustix::fs::{Access, AtFlags};
    refused(rustix::fs::accessat(
        dir,
        name,
        Access::WRITE_OK,
        AtFlags::EACCESS,
    ))
}
