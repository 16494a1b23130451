//! `CopyOptions::only_method`: exactly one method, no fallback, and never
//! one the other options exclude.

use std::io::ErrorKind;
use std::path::Path;

use fastcopy::{CopyOptions, DirectIo, Method, Reflink};

use crate::common::*;

const SIZE: usize = 3 * MIB as usize + 5;

fn each_method_alone(fs: Fs, dir: &Path) {
    let data = testfs::pattern(SIZE, 23);
    let src = dir.join("src");
    write(&src, &data);
    for &m in Method::available() {
        let dst = dir.join(format!("dst-{m}"));
        let mut opts = CopyOptions::new().only_method(m);
        if m == Method::DirectIo {
            opts = opts.direct_io(DirectIo::Always);
        }
        let r = fastcopy::copy_with(&src, &dst, &opts);
        if m == Method::Reflink && !clones(fs) {
            // No fallback: the clone's own refusal, and nothing left.
            let e = r.unwrap_err();
            assert_eq!(e.raw_os_error(), Some(EOPNOTSUPP), "{fs}: {e}");
            assert!(!dst.exists());
            assert_no_temp(dir);
            continue;
        }
        let r = r.unwrap_or_else(|e| panic!("{fs} {m}: {e}"));
        assert_eq!(methods(&r), (m, vec![]), "{fs}: {r:?}");
        assert_content(&dst, &data);
        if has_fiemap(fs) {
            let shared = fastcopy::extent_sharing(&dst).unwrap().shared > 0;
            // copy_file_range clones by itself where the filesystem can.
            let expect = clones(fs) && matches!(m, Method::Reflink | Method::CopyFileRange);
            assert_eq!(shared, expect, "{fs} {m}");
        }
    }
}

/// Reflink::Never still rules: copy_file_range is refused where it would
/// clone, the clone everywhere; DirectIo needs DirectIo::Always. The error
/// is `Unsupported` and nothing is left behind.
fn excluded_methods_are_refused(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    write(&src, &testfs::pattern(SIZE, 24));
    let never = CopyOptions::new().reflink(Reflink::Never);
    let mut refused = vec![
        (
            never.clone().only_method(Method::Reflink),
            "reflink with never",
        ),
        (
            CopyOptions::new().only_method(Method::DirectIo),
            "direct_io without always",
        ),
        (
            CopyOptions::new().only_method(Method::Clonefile),
            "a macOS method",
        ),
    ];
    if clones(fs) {
        refused.push((
            never.only_method(Method::CopyFileRange),
            "copy_file_range with never",
        ));
    }
    for (opts, what) in refused {
        let dst = dir.join("dst");
        let e = fastcopy::copy_with(&src, &dst, &opts).expect_err(what);
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{fs} {what}: {e}");
        assert!(!dst.exists(), "{fs} {what}");
        assert_no_temp(dir);
    }
}

per_fs!(each_method_alone, excluded_methods_are_refused);
