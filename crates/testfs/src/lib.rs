//! Test support shared by the workspace's crates: real directories on real
//! filesystems (Linux only), and the file helpers every test suite uses
//! (entries of a directory, content, mode, times, "needs root"; any
//! platform).
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
//!
//! On every platform: [`names`], [`names_containing`] (fastcopy's
//! temporaries, given its marker), [`assert_names`],
//! [`assert_none_containing`], [`assert_content`], [`assert_bytes_eq`],
//! [`mtime`], and on Unix [`mode`], [`is_root`] and [`root_or_skip`].

mod files;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
mod mount;
#[cfg(target_os = "linux")]
mod sparse;
#[cfg(all(test, target_os = "linux"))]
mod tests;

pub use files::{
    assert_bytes_eq, assert_content, assert_names, assert_none_containing, mtime, names,
    names_containing,
};
#[cfg(unix)]
pub use files::{is_root, mode, root_or_skip};
#[cfg(target_os = "linux")]
pub use linux::{Fs, Immutable, dir, xattr};
#[cfg(target_os = "linux")]
pub use sparse::{allocated_bytes, pattern, supports_holes, write_sparse};

/// Name of the environment variable that turns a skip into a panic.
const REQUIRE_ENV: &str = "FASTCOPY_REQUIRE_TESTFS";

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
