//! The Linux-only helpers: a directory on a real ext4, Btrfs, XFS or tmpfs
//! mount, extended attributes and `chattr +i`.

use crate::{mount, skipped};

/// A filesystem type that [`dir`] can provide a directory on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fs {
    /// ext4 on a loop-mounted image: holes, no reflink.
    Ext4,
    /// btrfs on a loop-mounted image: holes and reflink (FICLONE).
    Btrfs,
    /// XFS (created with `-m reflink=1`) on a loop-mounted image: holes and reflink.
    Xfs,
    /// tmpfs: holes, no reflink, no FIEMAP.
    Tmpfs,
}

impl Fs {
    /// Every filesystem, in a fixed order, for tests that loop over all of them.
    pub const ALL: [Fs; 4] = [Fs::Ext4, Fs::Btrfs, Fs::Xfs, Fs::Tmpfs];

    /// The kernel's name for the filesystem type (as in `/proc/self/mountinfo`
    /// and `mount -t`): `"ext4"`, `"btrfs"`, `"xfs"` or `"tmpfs"`. Also used
    /// for the image and mount point names.
    pub fn name(self) -> &'static str {
        match self {
            Fs::Ext4 => "ext4",
            Fs::Btrfs => "btrfs",
            Fs::Xfs => "xfs",
            Fs::Tmpfs => "tmpfs",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Fs::Ext4 => 0,
            Fs::Btrfs => 1,
            Fs::Xfs => 2,
            Fs::Tmpfs => 3,
        }
    }
}

impl std::fmt::Display for Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A fresh, empty, uniquely named directory on a mounted filesystem of type
/// `fs`, created for test `test_name` (used as the directory name's prefix).
///
/// The first call for each `fs` in a process finds or sets up the mount (see
/// the crate docs); the outcome, success or failure, is cached for the rest
/// of the process. The directory is removed when the returned `TempDir` is
/// dropped; the mount stays.
///
/// Returns `None` (after printing one line
/// `SKIPPED <test_name>: <fs> unavailable: <reason>` to stderr) when the
/// filesystem cannot be had: not root and no existing mount, a missing
/// `mkfs`/`mount` tool, or a failing `mkfs`/`mount` (the reason then includes
/// the command's stderr).
///
/// # Panics
///
/// Instead of returning `None`, panics with the same reason if the
/// environment variable `FASTCOPY_REQUIRE_TESTFS` is `1` (CI sets it, so a
/// silently skipped test is impossible there).
pub fn dir(fs: Fs, test_name: &str) -> Option<tempfile::TempDir> {
    let made = mount::mount_root(fs).and_then(|root| {
        tempfile::Builder::new()
            .prefix(test_name)
            .tempdir_in(&root)
            .map_err(|e| format!("cannot create a directory in {}: {e}", root.display()))
    });
    match made {
        Ok(dir) => Some(dir),
        Err(reason) => {
            skipped(test_name, &format!("{fs} unavailable: {reason}"));
            None
        }
    }
}

/// The value of the extended attribute `name` of `path`, `None` where it
/// is absent. Panics on any other error.
pub fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match rustix::fs::getxattr(path, name, &mut buf[..]) {
        Ok(n) => {
            buf.truncate(n);
            Some(buf)
        }
        Err(rustix::io::Errno::NODATA) => None,
        Err(e) => panic!("getxattr {} {name}: {e}", path.display()),
    }
}

/// A file or directory made immutable with `chattr +i` (needs root and a
/// filesystem with the attribute), made mutable again when dropped, also
/// when the test panics, so its temporary directory can be removed.
#[derive(Debug)]
pub struct Immutable(std::path::PathBuf);

impl Immutable {
    /// Sets the attribute; `None` when `chattr +i` failed.
    pub fn set(path: &std::path::Path) -> Option<Immutable> {
        chattr("+i", path).then(|| Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = chattr("-i", &self.0);
    }
}

fn chattr(flag: &str, path: &std::path::Path) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}
