//! An immutable destination (`chattr +i`, needs root) fails the copy with
//! EPERM; the next copy in the same process still clones: no failure
//! turns a method off for later files.

use fastcopy::{Method, Operation};

use crate::common::*;

#[test]
fn immutable_destination_then_a_clone_btrfs() {
    if !testfs::is_root() {
        // chattr +i needs CAP_LINUX_IMMUTABLE.
        testfs::skipped("immutable_destination_then_a_clone_btrfs", "needs root");
        return;
    }
    let Some(d) = testfs::dir(Fs::Btrfs, "immutable_then_clone") else {
        return;
    };
    let dir = d.path();
    let data = testfs::pattern(3 * MIB as usize + 1, 90);
    let src = dir.join("src");
    write(&src, &data);

    // An immutable file: not writable, refused before anything is copied;
    // forced, replacing it (the rename) is refused.
    let frozen = dir.join("frozen");
    write(&frozen, b"frozen");
    let _f = testfs::Immutable::set(&frozen).expect("chattr +i");
    let e = fastcopy::copy(&src, &frozen).unwrap_err();
    assert_eq!(e.operation(), Operation::DestinationNotWritable, "{e}");
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    let forced = fastcopy::CopyOptions::new().force(true);
    let e = fastcopy::copy_with(&src, &frozen, &forced).unwrap_err();
    assert_eq!(e.operation(), Operation::Rename, "{e}");
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
    assert_content(&frozen, b"frozen");

    // An immutable directory: not even the temporary file can be made.
    let frozen_dir = dir.join("frozen-dir");
    std::fs::create_dir(&frozen_dir).unwrap();
    let _fd = testfs::Immutable::set(&frozen_dir).expect("chattr +i");
    let e = fastcopy::copy(&src, frozen_dir.join("new")).unwrap_err();
    assert_eq!(e.operation(), Operation::CreateTemporary, "{e}");
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");

    // The next copy in this process (and thread) clones, fully shared.
    let next = dir.join("next");
    let r = fastcopy::copy(&src, &next).unwrap();
    assert_eq!(r.method, Method::Reflink, "{r:?}");
    assert!(r.fallbacks.is_empty(), "{r:?}");
    assert_content(&next, &data);
    let s = fastcopy::extent_sharing(&next).unwrap();
    assert_eq!(s.shared, s.mapped, "{s:?}");
    assert!(s.mapped >= data.len() as u64, "{s:?}");
    assert_no_temp(dir);
    assert_no_temp(&frozen_dir);
}
