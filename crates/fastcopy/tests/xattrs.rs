//! Extended attributes: copied when asked, not otherwise.

use std::path::Path;

use fastcopy::CopyOptions;

use crate::common::*;

fn xattrs_copied_when_asked(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    write(&src, &testfs::pattern(200_000, 101));
    let flags = rustix::fs::XattrFlags::empty();
    match rustix::fs::setxattr(&src, "user.fastcopy.test", b"value\0with nul", flags) {
        Ok(()) => {}
        // tmpfs has user xattrs only since Linux 6.6; ext4, Btrfs and XFS
        // always do, so for them this is a failure.
        Err(rustix::io::Errno::OPNOTSUPP) if fs == Fs::Tmpfs => {
            testfs::skipped(
                &format!("xattrs_copied_when_asked::{fs}"),
                "this tmpfs has no user xattrs",
            );
            return;
        }
        Err(e) => panic!("setxattr on {fs}: {e}"),
    }
    rustix::fs::setxattr(&src, "user.empty", b"", flags).unwrap();
    let with = dir.join("with");
    let r = fastcopy::copy_with(&src, &with, &CopyOptions::new().preserve_xattrs(true)).unwrap();
    assert!(r.warnings.is_empty(), "{fs}: {:?}", r.warnings);
    assert_eq!(
        testfs::xattr(&with, "user.fastcopy.test").as_deref(),
        Some(&b"value\0with nul"[..])
    );
    assert_eq!(
        testfs::xattr(&with, "user.empty").as_deref(),
        Some(&b""[..])
    );
    let without = dir.join("without");
    fastcopy::copy(&src, &without).unwrap();
    assert_eq!(
        testfs::xattr(&without, "user.fastcopy.test"),
        None,
        "{fs}: copied without being asked"
    );
    assert_same_content(&src, &with);
}

per_fs!(xattrs_copied_when_asked);
