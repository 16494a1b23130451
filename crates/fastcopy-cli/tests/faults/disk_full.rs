//! Disk full: copies onto small filesystems of their own (ext4 64 MiB,
//! Btrfs 128 MiB, XFS 300 MiB) that run out of space mid-copy. Each must
//! end with an error naming ENOSPC, no destination, no temporary file, and
//! the free space back.

use std::fs;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use testfs::Fs;

use super::{LoopFs, MIB, assert_only, under};

/// Free space is back within this much after a failed copy (metadata:
/// journals, logs, directory blocks).
const TOLERANCE: u64 = 2 * MIB as u64;

fn disk_full(fstype: &str, mib: u64, test: &str) {
    let Some(small) = LoopFs::new(fstype, mib, test, "") else {
        return;
    };
    let Some(srcdir) = testfs::dir(Fs::Ext4, test) else {
        return;
    };
    let dst_dir = small.mnt.join("d");
    fs::create_dir(&dst_dir).unwrap();
    let before = small.free();
    // 16 MiB more than fits.
    let size = before as usize + 16 * MIB;
    let src = srcdir.path().join("big");
    fs::write(&src, testfs::pattern(size, 9)).unwrap();
    // Also a source on the small filesystem itself, copied there without
    // cloning (a clone would need no space).
    let cases: [(&[&str], &str); 4] = [
        (&[], "default"),
        (&["--reflink=never"], "never"),
        (&["--preallocate"], "preallocate"),
        (&["--direct-io=always"], "direct"),
    ];
    for (flags, what) in cases {
        let dst = dst_dir.join("copy");
        under(&[], &[])
            .args(flags)
            .arg(&src)
            .arg(&dst)
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("No space left on device")
                    .and(predicate::str::contains("error copying")),
            );
        assert_only(&dst_dir, &[]);
        let after = wait_for_free(&small, before);
        assert!(
            after + TOLERANCE >= before,
            "{fstype} {what}: {before} bytes free before, {after} after"
        );
    }
}

/// The free space, polled until it is back to `want` or 10 s passed.
fn wait_for_free(fs_: &LoopFs, want: u64) -> u64 {
    let start = Instant::now();
    loop {
        let free = fs_.free();
        if free + TOLERANCE >= want || start.elapsed() > Duration::from_secs(10) {
            return free;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn disk_full_ext4() {
    disk_full("ext4", 64, "cli_disk_full_ext4");
}

#[test]
fn disk_full_btrfs() {
    disk_full("btrfs", 128, "cli_disk_full_btrfs");
}

#[test]
fn disk_full_xfs() {
    disk_full("xfs", 300, "cli_disk_full_xfs");
}

/// On the full filesystem itself, without a clone: the same.
#[test]
fn disk_full_same_fs_btrfs_never() {
    let Some(small) = LoopFs::new("btrfs", 128, "cli_disk_full_same_btrfs", "") else {
        return;
    };
    let free = small.free();
    // A source of 60% of the free space: a second copy cannot fit.
    let size = (free as usize * 6 / 10) & !4095;
    let src = small.mnt.join("src");
    fs::write(&src, testfs::pattern(size, 10)).unwrap();
    let before = small.free();
    under(&[], &[])
        .current_dir(&small.mnt)
        .args(["--reflink=never", "src", "dst"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("No space left on device"));
    assert_only(&small.mnt, &["src"]);
    let after = wait_for_free(&small, before);
    assert!(
        after + TOLERANCE >= before,
        "{before} free before, {after} after"
    );
    // A clone needs no data space: it still works there.
    under(&[], &[])
        .current_dir(&small.mnt)
        .args(["--reflink=always", "src", "dst"])
        .assert()
        .success();
    super::assert_content(&small.mnt.join("dst"), &fs::read(&src).unwrap());
}
