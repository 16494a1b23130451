//! Platform backends. Each exposes the same crate-private functions; the
//! rest of the crate is portable and free of `cfg`.
//!
//! | function | what it does |
//! |---|---|
//! | `open_source` | open for reading without blocking on FIFOs |
//! | `special_kind` | names a FIFO, socket or device |
//! | `same_file` | whether two metadata describe one file |
//! | `initial_mode` | permission bits of the temporary file |
//! | `create_temp` | create the temporary file exclusively |
//! | `plan` | the methods to try, in order |
//! | `run_method` | run one method, answer a ladder `Step` |
//! | `final_permissions` | the permissions to apply when keeping the mode |
//! | `copy_xattrs` | extended attributes |
//! | `rename_noclobber` | atomic rename that fails if the target exists |
//! | `process_alive` | whether a process id names a live process (for stale temporaries) |
//! | `create_private_dir` | a directory only its owner can use (tree root) |
//! | `copy_symlink` | recreate one symbolic link |
//! | `PARALLEL_TREE`, `copy_dir` | whether the platform walks trees itself (Linux: parallel, relative to directory descriptors), and that walk |
//! | `make_symlink`, `file_identity` | what the portable tree walk needs |
//! | `STAGES_NEW_TREES` | whether a new tree is built in a staging directory |
//! | `rename_dir_noclobber` | move a finished staging directory into place |
//! | `may_write` | whether the caller may write an existing destination |
//! | `other_links` | further hard links of a destination about to be replaced |
//! | `keep_owner` | as root, the source's owner and group on the new file |
//! | `needs_permissions` | whether the new file's bits still differ from the source's |
//! | `changed` | whether the source changed while it was copied |
//! | `anonymous_in`, `name_anonymous` | a file without a name (`O_TMPFILE`), named once complete |

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::{
    changed, keep_owner, make_tree_removable, may_write, needs_permissions, other_links,
    process_alive,
};

/// Whether the caller may write the existing file at `path`: its
/// read-only attribute.
#[cfg(not(unix))]
pub(crate) fn may_write(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().readonly() => Err(std::io::ErrorKind::PermissionDenied.into()),
        _ => Ok(()),
    }
}

/// Other names of a file: not told here.
#[cfg(not(unix))]
pub(crate) fn other_links(_meta: &std::fs::Metadata) -> u64 {
    0
}

/// Owners are not copied here.
#[cfg(not(unix))]
pub(crate) fn keep_owner(
    _file: &std::fs::File,
    _src: &std::fs::Metadata,
    _gid: Option<u32>,
    _root: Option<bool>,
) -> std::io::Result<bool> {
    Ok(false)
}

/// Permissions are always set here.
#[cfg(not(unix))]
pub(crate) fn needs_permissions(
    _perm: &std::fs::Permissions,
    _src: &std::fs::Metadata,
    _umask: Option<u32>,
    _chowned: bool,
) -> bool {
    true
}

/// Whether the source changed while copied: size, modification time, or
/// bytes copied other than its size.
#[cfg(not(unix))]
pub(crate) fn changed(start: &std::fs::Metadata, now: &std::fs::Metadata, copied: u64) -> bool {
    now.len() != start.len()
        || now.modified().ok() != start.modified().ok()
        || copied != start.len()
}

/// Read-only directories do not keep their entries from being removed here.
#[cfg(not(unix))]
pub(crate) fn make_tree_removable(_dir: &std::path::Path) {}

/// Whether a process is alive cannot be told here yet: stale temporaries
/// are kept.
#[cfg(not(unix))]
pub(crate) fn process_alive(_pid: u32) -> Option<bool> {
    None
}

/// Files without a name exist only on Linux: elsewhere a temporary name is
/// used.
#[cfg(not(target_os = "linux"))]
pub(crate) fn anonymous_in(
    _dir: &std::path::Path,
    _mode: u32,
) -> std::io::Result<Option<std::fs::File>> {
    Ok(None)
}

/// Never called where [`anonymous_in`] gives `None`.
#[cfg(not(target_os = "linux"))]
pub(crate) fn name_anonymous(_file: &std::fs::File, _to: &std::path::Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

// Pure arithmetic, compiled everywhere so that its tests run everywhere;
// only the Windows backend uses it.
#[cfg_attr(not(windows), allow(dead_code))]
mod block_clone_plan;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::{
    METHODS, SPLICE_MIN_SIZE, allocated_bytes, anonymous_in, copy_dir, copy_symlink, copy_xattrs,
    create_private_dir, direct_write_alignment, evict, filesystem_name, name_anonymous, plan,
    rename_exclusive, run_method, shared_bytes,
};
#[cfg(target_os = "linux")]
pub use linux::{Sharing, extent_sharing};

/// What `fastcopy::probe` asks of the platform, where only Linux answers.
#[cfg(not(target_os = "linux"))]
mod probe_elsewhere {
    use std::io;
    use std::path::Path;

    pub(crate) fn filesystem_name(_dir: &Path) -> String {
        "unknown".into()
    }

    pub(crate) fn shared_bytes(_path: &Path) -> Option<io::Result<u64>> {
        None
    }

    pub(crate) fn direct_write_alignment(_path: &Path) -> Option<io::Result<u64>> {
        None
    }

    #[cfg(unix)]
    pub(crate) fn allocated_bytes(path: &Path) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.blocks() * 512)
    }

    #[cfg(not(unix))]
    pub(crate) fn allocated_bytes(_path: &Path) -> Option<u64> {
        None
    }

    pub(crate) fn rename_exclusive(from: &Path, to: &Path) -> io::Result<()> {
        super::rename_noclobber(from, to)
    }

    pub(crate) fn evict(_path: &Path) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "dropping a file's cached pages is not implemented on this platform",
        ))
    }
}
#[cfg(not(target_os = "linux"))]
pub(crate) use probe_elsewhere::{
    allocated_bytes, direct_write_alignment, evict, filesystem_name, rename_exclusive, shared_bytes,
};
// The sizes the crate's own tests check.
#[cfg(all(test, target_os = "linux"))]
pub(crate) use linux::{AUTO_PREALLOCATE_MIN, DIRECT_BUFFER, MAX_BUFFER, MIN_BUFFER};
#[cfg(target_os = "linux")]
pub(crate) use unix::{
    create_temp, final_permissions, initial_mode, open_source, rename_noclobber, same_file,
    special_kind,
};
/// A new tree is built in a staging directory next to the destination and
/// renamed into place when done: inside it, files are created under their
/// own names (cheaper than an anonymous file linked in, and no reader can
/// see them before the whole tree is complete).
#[cfg(target_os = "linux")]
pub(crate) const STAGES_NEW_TREES: bool = true;
/// The sequential walk writes files through the single-file copy (a
/// temporary name each) and gains nothing from staging; on Windows a
/// directory cannot be renamed while another process (a virus scanner)
/// holds one of its new files open.
#[cfg(not(target_os = "linux"))]
pub(crate) const STAGES_NEW_TREES: bool = false;
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "ios"))]
pub(crate) use unix::rename_dir_noclobber;
/// Not atomic; never called where [`STAGES_NEW_TREES`] is false.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
pub(crate) fn rename_dir_noclobber(
    from: &std::path::Path,
    to: &std::path::Path,
) -> std::io::Result<()> {
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    std::fs::rename(from, to)
}

// What the portable tree walk needs (compiled everywhere: the walk is).
mod std_fs;
#[cfg(not(target_os = "linux"))]
pub(crate) use std_fs::create_private_dir;
pub(crate) use std_fs::{file_identity, make_symlink};

/// Whether this platform copies trees with its own parallel walk
/// ([`copy_dir`]); elsewhere `crate::tree::sequential` walks them.
pub(crate) const PARALLEL_TREE: bool = cfg!(target_os = "linux");

/// No parallel walk here ([`PARALLEL_TREE`] is false): never called.
#[cfg(not(target_os = "linux"))]
pub(crate) fn copy_dir(
    _from: &std::path::Path,
    _target: &crate::tree::Target<'_>,
    _opts: &crate::tree::TreeOptions,
    _per_file: &dyn crate::per_file::PerFile,
    _report: &mut crate::tree::TreeReport,
) -> crate::Result<()> {
    unreachable!("no parallel tree walk on this platform")
}

/// No parallel walk here ([`PARALLEL_TREE`] is false): never called.
#[cfg(not(target_os = "linux"))]
pub(crate) fn copy_symlink(
    _from: &std::path::Path,
    _to: &std::path::Path,
    _opts: &crate::tree::TreeOptions,
) -> crate::Result<()> {
    unreachable!("no parallel tree walk on this platform")
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
mod macos;
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) use macos::{
    METHODS, copy_xattrs, create_temp, final_permissions, initial_mode, open_source, plan,
    rename_noclobber, run_method, same_file, special_kind,
};

// The std read/write loop of the backends without one of their own.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
mod rw_loop;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows::{
    METHODS, copy_xattrs, create_temp, final_permissions, initial_mode, open_source, plan,
    rename_noclobber, run_method, same_file, special_kind,
};

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios", windows)))]
mod generic;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios", windows)))]
pub(crate) use generic::{
    METHODS, copy_xattrs, create_temp, final_permissions, initial_mode, open_source, plan,
    rename_noclobber, run_method, same_file, special_kind,
};
