//! Tests that need the real mounts (they skip, or panic under
//! `FASTCOPY_REQUIRE_TESTFS=1`, when a filesystem cannot be had).

use std::os::unix::fs::PermissionsExt;

use crate::mount::{fs_magic, magic_of, mount_point, mounted_fstype};
use crate::{Fs, allocated_bytes, dir, supports_holes, write_sparse};

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
}
