//! Clones (reflinks): shared extents where the filesystem can, really
//! separate data with Reflink::Never, and a clean failure for
//! Reflink::Always where cloning is impossible.

use std::path::Path;

use fastcopy::{CopyOptions, Method, Operation, Reflink};

use crate::common::*;

/// Big enough not to be inlined in Btrfs metadata; a partial last block.
const SIZE: usize = 3 * MIB as usize + 1;

fn sharing(path: &Path) -> fastcopy::Sharing {
    fastcopy::extent_sharing(path).unwrap_or_else(|e| panic!("FIEMAP {}: {e}", path.display()))
}

fn clone_modes(fs: Fs, dir: &Path) {
    if !clones(fs) {
        return always_fails_cleanly(fs, dir);
    }
    let data = testfs::pattern(SIZE, 11);
    let src = dir.join("src");
    write(&src, &data);

    // Auto: a clone, nothing tried before it.
    let auto = dir.join("auto");
    let r = fastcopy::copy(&src, &auto).unwrap();
    assert_eq!(methods(&r), (Method::Reflink, vec![]), "{r:?}");
    assert_eq!(r.bytes, SIZE as u64);
    assert_content(&auto, &data);
    let s = sharing(&auto);
    assert!(s.mapped >= SIZE as u64, "{fs}: {s:?}");
    assert_eq!(s.shared, s.mapped, "{fs}: clone not fully shared: {s:?}");

    // Always: a clone too.
    let always = dir.join("always");
    let r =
        fastcopy::copy_with(&src, &always, &CopyOptions::new().reflink(Reflink::Always)).unwrap();
    assert_eq!(methods(&r), (Method::Reflink, vec![]), "{r:?}");
    assert_content(&always, &data);
    let s = sharing(&always);
    assert!(s.mapped > 0 && s.shared == s.mapped, "{fs}: {s:?}");

    // Never: its own blocks, even though copy_file_range would clone here.
    let never = dir.join("never");
    let r = fastcopy::copy_with(&src, &never, &CopyOptions::new().reflink(Reflink::Never)).unwrap();
    assert_ne!(r.method, Method::Reflink);
    assert!(r.fallbacks.is_empty(), "{r:?}");
    assert_content(&never, &data);
    let s = sharing(&never);
    assert!(s.mapped >= SIZE as u64, "{fs}: {s:?}");
    assert_eq!(s.shared, 0, "{fs}: Reflink::Never shares blocks: {s:?}");

    // Writing to a clone does not change the source.
    std::fs::write(&auto, b"changed").unwrap();
    assert_content(&src, &data);
    assert_no_temp(dir);
}

/// Reflink::Always where there is no clone: an error of operation Clone
/// naming the source, and nothing left behind.
fn always_fails_cleanly(fs: Fs, dir: &Path) {
    let data = testfs::pattern(SIZE, 12);
    let src = dir.join("src");
    write(&src, &data);
    let dst = dir.join("dst");
    let err =
        fastcopy::copy_with(&src, &dst, &CopyOptions::new().reflink(Reflink::Always)).unwrap_err();
    assert_eq!(err.operation(), Operation::Clone, "{fs}: {err}");
    assert_eq!(err.path(), src, "{fs}: {err}");
    assert_eq!(err.raw_os_error(), Some(EOPNOTSUPP), "{fs}: {err}");
    assert_names(dir, &["src"]);

    // An existing destination stays as it was, byte for byte.
    let old = testfs::pattern(5000, 13);
    write(&dst, &old);
    let err =
        fastcopy::copy_with(&src, &dst, &CopyOptions::new().reflink(Reflink::Always)).unwrap_err();
    assert_eq!(err.operation(), Operation::Clone, "{fs}: {err}");
    assert_content(&dst, &old);
    assert_names(dir, &["dst", "src"]);
    assert_content(&src, &data);
}

/// The empty file: Always clones it where cloning exists and fails where
/// not; Auto copies it without trying.
fn empty_file_always(fs: Fs, dir: &Path) {
    let src = dir.join("empty");
    write(&src, b"");
    let dst = dir.join("dst");
    let res = fastcopy::copy_with(&src, &dst, &CopyOptions::new().reflink(Reflink::Always));
    if clones(fs) {
        let r = res.unwrap();
        assert_eq!((r.method, r.bytes), (Method::Reflink, 0));
        assert_eq!(len(&dst), 0);
    } else {
        assert_eq!(res.unwrap_err().operation(), Operation::Clone);
        assert_names(dir, &["empty"]);
    }
}

per_fs!(clone_modes, empty_file_always);
