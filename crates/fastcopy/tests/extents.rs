//! `fastcopy::extent_sharing` (FIEMAP) against cp's own clones and
//! copies, on the loop filesystems: what the other tests use to prove a
//! clone shared its extents, or a copy did not.

use std::path::Path;
use std::process::Command;

use fastcopy::{Sharing, extent_sharing};
use testfs::{Fs, dir, pattern, write_sparse};

fn cp(args: &[&str], from: &Path, to: &Path) {
    let out = Command::new("cp")
        .args(args)
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cp {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_reflink(fs: Fs, test: &str) {
    let Some(d) = dir(fs, test) else { return };
    let a = d.path().join("a");
    // Big enough to never be inlined in the metadata (btrfs inlines small files).
    std::fs::write(&a, pattern(3 << 20, 42)).unwrap();

    let clone = d.path().join("clone");
    cp(&["--reflink=always"], &a, &clone);
    let s = extent_sharing(&clone).unwrap();
    assert!(s.mapped >= 3 << 20, "{s:?}");
    assert_eq!(s.shared, s.mapped, "clone not fully shared: {s:?}");
    let s = extent_sharing(&a).unwrap();
    assert_eq!(
        s.shared, s.mapped,
        "source not fully shared after clone: {s:?}"
    );

    let copy = d.path().join("copy");
    cp(&["--reflink=never"], &a, &copy);
    let s = extent_sharing(&copy).unwrap();
    assert!(s.mapped >= 3 << 20, "{s:?}");
    assert_eq!(s.shared, 0, "plain copy shares extents: {s:?}");
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&clone).unwrap()
    );
}

#[test]
fn reflink_shares_extents_btrfs() {
    check_reflink(Fs::Btrfs, "reflink_shares_extents_btrfs");
}

#[test]
fn reflink_shares_extents_xfs() {
    check_reflink(Fs::Xfs, "reflink_shares_extents_xfs");
}

#[test]
fn unshared_file_on_ext4() {
    let Some(d) = dir(Fs::Ext4, "unshared_file_on_ext4") else {
        return;
    };
    let a = d.path().join("a");
    std::fs::write(&a, pattern(1 << 20, 1)).unwrap();
    let s = extent_sharing(&a).unwrap();
    assert_eq!(s.mapped, 1 << 20);
    assert_eq!(s.shared, 0);
    let e = d.path().join("empty");
    std::fs::write(&e, b"").unwrap();
    assert_eq!(
        extent_sharing(&e).unwrap(),
        Sharing {
            shared: 0,
            mapped: 0
        }
    );
}

#[test]
fn many_extents_are_all_counted() {
    // More extents than one FIEMAP call returns (512), to exercise the loop.
    let Some(d) = dir(Fs::Ext4, "many_extents_are_all_counted") else {
        return;
    };
    let p = d.path().join("sparse");
    let ranges: Vec<(u64, u64)> = (0..1500).map(|i| (i * 65536, 4096)).collect();
    write_sparse(&p, 1500 * 65536, &ranges).unwrap();
    let s = extent_sharing(&p).unwrap();
    // FIEMAP maps only the data, whatever the filesystem allocated.
    assert_eq!(s.mapped, 1500 * 4096);
    assert_eq!(s.shared, 0);
}

#[test]
fn extent_sharing_on_tmpfs_is_an_error_not_a_lie() {
    let Some(d) = dir(Fs::Tmpfs, "extent_sharing_on_tmpfs") else {
        return;
    };
    let p = d.path().join("a");
    std::fs::write(&p, pattern(8192, 3)).unwrap();
    // tmpfs has no FIEMAP; callers must not mistake that for "nothing shared".
    assert!(extent_sharing(&p).is_err());
}
