//! Real directories on real filesystems for tests (Linux only).
//!
//! fastcopy's clone/reflink, hole and fallback paths behave differently on
//! ext4, btrfs, XFS and tmpfs, so its tests need directories on each of them
//! rather than whatever filesystem happens to hold `/tmp`. [`dir`] hands out
//! a fresh directory on a loop-mounted image (ext4, btrfs, XFS) or a tmpfs
//! mount, setting the mount up on first use:
//!
//! | fs    | image                                | mount point                         |
//! |-------|--------------------------------------|-------------------------------------|
//! | ext4  | `/var/tmp/fastcopy-testfs/ext4.img`  | `/var/tmp/fastcopy-testfs/mnt/ext4` |
//! | btrfs | `/var/tmp/fastcopy-testfs/btrfs.img` | `/var/tmp/fastcopy-testfs/mnt/btrfs`|
//! | xfs   | `/var/tmp/fastcopy-testfs/xfs.img`   | `/var/tmp/fastcopy-testfs/mnt/xfs`  |
//! | tmpfs | (none)                               | `/var/tmp/fastcopy-testfs/mnt/tmpfs`|
//!
//! The mounts are left in place so that later test runs and the other test
//! binaries reuse them; `scripts/testfs.sh up|down` sets them up or removes
//! them by hand. Setting the mounts up needs root; without root, existing
//! mounts are still used (their roots are mode 1777) and tmpfs falls back to
//! `/dev/shm`.
//!
//! When a filesystem cannot be had, [`dir`] prints
//! `SKIPPED <test>: <fs> unavailable: <reason>` to stderr and returns `None`,
//! unless `FASTCOPY_REQUIRE_TESTFS=1` is set (CI sets it), in which case it
//! panics so that no test can be skipped silently.
//!
//! The other helpers inspect and create files: [`allocated_bytes`],
//! [`write_sparse`], [`pattern`] and [`supports_holes`]. For FIEMAP
//! (shared and mapped bytes) tests call `fastcopy::extent_sharing`: testfs
//! does not depend on fastcopy, so a test binary links one copy of it.

mod mount;
mod sparse;

pub use sparse::{allocated_bytes, pattern, supports_holes, write_sparse};

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

    fn index(self) -> usize {
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

/// Name of the environment variable that turns a skip into a panic.
const REQUIRE_ENV: &str = "FASTCOPY_REQUIRE_TESTFS";

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

/// Says that `test_name` did not run what it tests, and why: a line
/// `SKIPPED <test>: <reason>` on the stderr handle (not `eprintln!`, which
/// the test harness captures and hides for passing tests), so that a skip
/// is visible in a plain `cargo test` run.
///
/// # Panics
///
/// With `FASTCOPY_REQUIRE_TESTFS=1` (CI), instead of skipping: CI runs
/// every test for real.
pub fn skipped(test_name: &str, reason: &str) {
    if std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1") {
        panic!("{test_name}: {reason} (and {REQUIRE_ENV}=1 forbids skipping)");
    }
    let line = format!("SKIPPED {test_name}: {reason}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
}

#[cfg(test)]
mod tests;

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
