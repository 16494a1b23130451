//! Small and boundary sizes on every filesystem, with each option set that
//! changes the data path.

use std::path::Path;

use fastcopy::{CopyOptions, DirectIo, Method, Reflink};

use crate::common::*;

const SIZES: [u64; 6] = [0, 1, 4095, 4096, 4097, MIB + 1];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Opts {
    Default,
    Never,
    Direct,
    Prealloc,
}

impl Opts {
    const ALL: [Opts; 4] = [Opts::Default, Opts::Never, Opts::Direct, Opts::Prealloc];

    fn options(self) -> CopyOptions {
        match self {
            Opts::Default => CopyOptions::new(),
            Opts::Never => CopyOptions::new().reflink(Reflink::Never),
            Opts::Direct => CopyOptions::new().direct_io(DirectIo::Always),
            Opts::Prealloc => CopyOptions::new().preallocate(true),
        }
    }
}

/// The method expected to copy a file of `size` bytes on `fs`, and the
/// methods expected to have been tried and skipped before it.
fn expected(fs: Fs, opts: Opts, size: u64) -> (Method, Vec<Method>) {
    use Method::*;
    if size == 0 {
        // Nothing to clone or to hand to the kernel.
        return match opts {
            Opts::Direct => (DirectIo, vec![]),
            _ => (ReadWrite, vec![]),
        };
    }
    match (opts, clones(fs)) {
        (Opts::Default | Opts::Prealloc | Opts::Direct, true) => (Reflink, vec![]),
        // A filesystem that cannot clone is not asked to: no fallback.
        (Opts::Default | Opts::Prealloc, false) => (CopyFileRange, vec![]),
        (Opts::Direct, false) => (DirectIo, vec![]),
        // copy_file_range may clone on Btrfs/XFS: not with Never.
        (Opts::Never, _) => (never_method(fs, size), vec![]),
    }
}

fn all_sizes(fs: Fs, dir: &Path) {
    for size in SIZES {
        let data = testfs::pattern(size as usize, size);
        let src = dir.join(format!("src-{size}"));
        write(&src, &data);
        for opts in Opts::ALL {
            let what = format!("{fs} {opts:?} size {size}");
            let dst = dir.join(format!("dst-{opts:?}-{size}"));
            let r = fastcopy::copy_with(&src, &dst, &opts.options())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(r.bytes, size, "{what}: report.bytes");
            assert_eq!(r.destination, dst, "{what}: report.destination");
            assert_eq!(len(&dst), size, "{what}: destination size");
            assert_content(&dst, &data);
            assert_eq!(methods(&r), expected(fs, opts, size), "{what}: {r:?}");
            for f in &r.fallbacks {
                // The only fallback expected is the clone on ext4/tmpfs,
                // which cannot clone at all.
                assert_eq!(f.error.raw_os_error(), Some(EOPNOTSUPP), "{what}: {f:?}");
            }
            assert!(r.warnings.is_empty(), "{what}: {:?}", r.warnings);
        }
        // The source is untouched.
        assert_content(&src, &data);
    }
    assert_no_temp(dir);
}

/// `fastcopy::copy` is the default options, and behaves like `std::fs::copy`
/// for the caller: same bytes, same size returned.
fn plain_copy_matches_std(_fs: Fs, dir: &Path) {
    let data = testfs::pattern(100_000, 7);
    let src = dir.join("src");
    write(&src, &data);
    let std_dst = dir.join("std");
    let n = std::fs::copy(&src, &std_dst).unwrap();
    let r = fastcopy::copy(&src, dir.join("fast")).unwrap();
    assert_eq!(r.bytes, n);
    assert_same_content(&std_dst, &dir.join("fast"));
    assert_names(dir, &["fast", "src", "std"]);
}

per_fs!(all_sizes, plain_copy_matches_std);
