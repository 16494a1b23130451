//! Tests that need the real mounts (they skip, or panic under
//! `FASTCOPY_REQUIRE_TESTFS=1`, when a filesystem cannot be had).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::mount::{fs_magic, magic_of, mount_point, mounted_fstype};
use crate::{Fs, allocated_bytes, dir, extent_sharing, pattern, supports_holes, write_sparse};

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

fn check_dir(fs: Fs, test: &str) {
    let Some(d) = dir(fs, test) else { return };
    let p = d.path();
    assert_eq!(
        fs_magic(p).unwrap(),
        magic_of(fs),
        "{} is not on {fs}",
        p.display()
    );
    assert!(std::fs::read_dir(p).unwrap().next().is_none(), "not empty");
    assert!(p.file_name().unwrap().to_str().unwrap().starts_with(test));
    let root = p.parent().unwrap();
    if root == mount_point(fs) {
        assert_eq!(mounted_fstype(root).as_deref(), Some(fs.name()));
        let mode = std::fs::metadata(root).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o1777, "mount root mode {mode:o}");
    }
    // Unique per call, and removed on drop.
    let other = dir(fs, test).unwrap();
    assert_ne!(other.path(), p);
    let kept = p.to_path_buf();
    drop(d);
    assert!(!kept.exists());
    assert!(supports_holes(other.path()), "{fs} should support holes");
}

#[test]
fn dir_ext4() {
    check_dir(Fs::Ext4, "dir_ext4");
}

#[test]
fn dir_btrfs() {
    check_dir(Fs::Btrfs, "dir_btrfs");
}

#[test]
fn dir_xfs() {
    check_dir(Fs::Xfs, "dir_xfs");
}

#[test]
fn dir_tmpfs() {
    check_dir(Fs::Tmpfs, "dir_tmpfs");
}

#[test]
fn names_and_all() {
    let names: Vec<_> = Fs::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["ext4", "btrfs", "xfs", "tmpfs"]);
    assert_eq!(Fs::Xfs.to_string(), "xfs");
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
        crate::Sharing {
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
    assert_eq!(s.mapped, 1500 * 4096);
    assert_eq!(s.shared, 0);
}

#[test]
fn write_sparse_is_sparse_on_ext4() {
    let Some(d) = dir(Fs::Ext4, "write_sparse_is_sparse_on_ext4") else {
        return;
    };
    let p = d.path().join("sparse");
    let size = 256 << 20;
    write_sparse(
        &p,
        size,
        &[(0, 4096), (100 << 20, 64 << 10), (size - 8192, 8192)],
    )
    .unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
    let allocated = allocated_bytes(&p);
    assert!(allocated > 0);
    assert!(allocated < 1 << 20, "allocated {allocated} of {size}");
    // Whatever the allocation, FIEMAP maps only the data.
    assert_eq!(extent_sharing(&p).unwrap().mapped, 4096 + (64 << 10) + 8192);
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
