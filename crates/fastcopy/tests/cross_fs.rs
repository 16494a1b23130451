//! Source and destination on different filesystems: no clone is possible
//! (EXDEV), the copy falls back and still succeeds.

use fastcopy::{CopyOptions, Method, Operation, Reflink};

use crate::common::*;

fn across(from: Fs, to: Fs, test: &str) {
    let (Some(a), Some(b)) = (testfs::dir(from, test), testfs::dir(to, test)) else {
        return;
    };
    let data = testfs::pattern(2 * MIB as usize + 3, 21);
    let src = a.path().join("src");
    write(&src, &data);

    let dst = b.path().join("dst");
    let r = fastcopy::copy(&src, &dst).unwrap();
    assert_content(&dst, &data);
    assert_eq!(r.bytes, data.len() as u64);
    assert!(
        matches!(r.method, Method::CopyFileRange | Method::Splice),
        "{from}->{to}: {r:?}"
    );
    // A clone is tried first where the destination's filesystem can
    // clone, and refused across filesystems.
    let mut fallbacks = r.fallbacks.iter();
    if clones(to) {
        let first = fallbacks.next().expect("a clone was tried first");
        assert_eq!(first.method, Method::Reflink, "{r:?}");
        assert_eq!(first.error.raw_os_error(), Some(EXDEV), "{r:?}");
    }
    if r.method == Method::Splice {
        // copy_file_range was tried and refused across filesystems too.
        let next = fallbacks.next().expect("copy_file_range was tried");
        assert_eq!(next.method, Method::CopyFileRange, "{r:?}");
        assert_eq!(next.error.raw_os_error(), Some(EXDEV), "{r:?}");
    }
    assert!(fallbacks.next().is_none(), "{r:?}");
    if has_fiemap(to) {
        assert_eq!(fastcopy::extent_sharing(&dst).unwrap().shared, 0);
    }

    // Never: a copy as well.
    let never = b.path().join("never");
    fastcopy::copy_with(&src, &never, &CopyOptions::new().reflink(Reflink::Never)).unwrap();
    assert_content(&never, &data);

    // Always: impossible here, fails with EXDEV and leaves nothing.
    let always = b.path().join("always");
    let err = fastcopy::copy_with(&src, &always, &CopyOptions::new().reflink(Reflink::Always))
        .unwrap_err();
    assert_eq!(err.operation(), Operation::Clone, "{err}");
    assert_eq!(err.raw_os_error(), Some(EXDEV), "{err}");
    assert_names(b.path(), &["dst", "never"]);
    assert_names(a.path(), &["src"]);
}

#[test]
fn ext4_to_btrfs() {
    across(Fs::Ext4, Fs::Btrfs, "ext4_to_btrfs");
}

#[test]
fn tmpfs_to_xfs() {
    across(Fs::Tmpfs, Fs::Xfs, "tmpfs_to_xfs");
}

/// Both can clone, but not into each other.
#[test]
fn btrfs_to_xfs() {
    across(Fs::Btrfs, Fs::Xfs, "btrfs_to_xfs");
}

#[test]
fn xfs_to_ext4() {
    across(Fs::Xfs, Fs::Ext4, "xfs_to_ext4");
}

/// A tree across filesystems: the clone and `copy_file_range` refused for
/// the first file (EXDEV) are not tried again for the others.
fn tree_across(from: Fs, to: Fs, test: &str) {
    let (Some(a), Some(b)) = (testfs::dir(from, test), testfs::dir(to, test)) else {
        return;
    };
    let src = a.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let mut files = Vec::new();
    for i in 0..20u64 {
        let data = testfs::pattern(4096 + i as usize * 1000, i);
        write(&src.join(format!("f{i}")), &data);
        files.push(data);
    }
    let dst = b.path().join("dst");
    let r = fastcopy::copy_tree(&src, &dst, &fastcopy::TreeOptions::new()).unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    for (i, data) in files.iter().enumerate() {
        assert_content(&dst.join(format!("f{i}")), data);
    }
    assert_eq!(r.metrics.files(), 20);
    // One file (per worker that raced to be first) met the refusals.
    let m = &r.metrics;
    assert!(
        (1..=r.jobs as u64).contains(&m.files_with_fallback()),
        "{from}->{to}: {m:?}"
    );
    assert_eq!(m.method(Method::CopyFileRange).files, 0, "{m:?}");
    assert_eq!(m.method(Method::ReadWrite).files, 20, "{m:?}");
}

#[test]
fn tree_ext4_to_tmpfs() {
    tree_across(Fs::Ext4, Fs::Tmpfs, "tree_ext4_to_tmpfs");
}

#[test]
fn tree_btrfs_to_xfs() {
    tree_across(Fs::Btrfs, Fs::Xfs, "tree_btrfs_to_xfs");
}
