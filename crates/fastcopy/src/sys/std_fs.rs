//! What the portable tree walk (`crate::tree::sequential`) needs of the
//! platform beyond std's common ground: private directories, symbolic
//! links, file identities.

use std::fs;
use std::io;
use std::path::Path;

/// Creates `path` as a directory only its owner can use (where modes
/// exist).
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    return std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), 0o700).create(path);
    #[cfg(not(unix))]
    fs::create_dir(path)
}

/// Makes `to` a symbolic link to `target`, copying the link at `from`
/// (Windows needs to know whether it points to a directory).
#[cfg(unix)]
pub(crate) fn make_symlink(target: &Path, _from: &Path, to: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, to)
}

#[cfg(windows)]
pub(crate) fn make_symlink(target: &Path, from: &Path, to: &Path) -> io::Result<()> {
    if fs::metadata(from).is_ok_and(|m| m.is_dir()) {
        std::os::windows::fs::symlink_dir(target, to)
    } else {
        std::os::windows::fs::symlink_file(target, to)
    }
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn make_symlink(_target: &Path, _from: &Path, _to: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A file's identity for hard links, when it has other names: device and
/// inode where std has them.
#[cfg(unix)]
pub(crate) fn file_identity(m: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    (m.nlink() > 1).then(|| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
pub(crate) fn file_identity(_m: &fs::Metadata) -> Option<(u64, u64)> {
    None
}
