//! Sparse sources: content equal, size exact, holes stay holes.

use std::path::Path;

use fastcopy::{CopyOptions, DirectIo, Method, Reflink};

use crate::common::*;

/// Holes at the start, in the middle and at the end, and a size that is
/// not a multiple of the block size.
const SIZE: u64 = 8 * MIB + 100;
const DATA: [(u64, u64); 2] = [(MIB, MIB), (4 * MIB, MIB + 512)];

fn option_sets() -> [(&'static str, CopyOptions); 4] {
    [
        ("default", CopyOptions::new()),
        ("never", CopyOptions::new().reflink(Reflink::Never)),
        ("direct", CopyOptions::new().direct_io(DirectIo::Always)),
        (
            "never-direct",
            CopyOptions::new()
                .reflink(Reflink::Never)
                .direct_io(DirectIo::Always),
        ),
    ]
}

fn expected_method(fs: Fs, opts: &str) -> Method {
    match (opts, clones(fs)) {
        ("default" | "direct", true) => Method::Reflink,
        ("default" | "never", false) => Method::CopyFileRange,
        ("never", true) => never_method(fs, SIZE),
        ("direct", false) | ("never-direct", _) => Method::DirectIo,
        _ => unreachable!(),
    }
}

/// Every filesystem these tests run on (ext4, Btrfs, XFS, tmpfs) keeps
/// holes: if one seems not to, the hole checks would not run, so that is a
/// failure rather than a silent pass.
fn keeps_holes(fs: Fs, dir: &Path) -> bool {
    assert!(
        testfs::supports_holes(dir),
        "{fs}: no holes here, the hole checks would not run"
    );
    true
}

fn holes_kept(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    testfs::write_sparse(&src, SIZE, &DATA).unwrap();
    let holes = keeps_holes(fs, dir);
    for (name, opts) in option_sets() {
        let what = format!("{fs} {name}");
        let dst = dir.join(format!("dst-{name}"));
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r.method, expected_method(fs, name), "{what}: {r:?}");
        assert_eq!(r.bytes, SIZE, "{what}");
        assert_eq!(len(&dst), SIZE, "{what}");
        assert_same_content(&src, &dst);
        // The data really is where it should be (not only equal to a
        // possibly broken source).
        assert!(read_at(&dst, 0, MIB as usize).iter().all(|&b| b == 0));
        assert!(read_at(&dst, MIB, MIB as usize).iter().all(|&b| b != 0));
        assert!(
            read_at(&dst, 6 * MIB, (2 * MIB + 100) as usize)
                .iter()
                .all(|&b| b == 0)
        );
        if holes {
            let (a_src, a_dst) = (testfs::allocated_bytes(&src), testfs::allocated_bytes(&dst));
            assert!(
                a_dst <= a_src + 256 * KIB,
                "{what}: holes filled: {a_dst} bytes allocated, source {a_src}"
            );
            assert_holes_kept(&src, &dst);
            let segs = data_segments(&dst);
            assert!(segs.first().is_some_and(|s| s.0 >= MIB), "{what}: {segs:?}");
            assert!(
                segs.last().is_some_and(|s| s.1 <= 6 * MIB),
                "{what}: {segs:?}"
            );
        }
    }
    assert_no_temp(dir);
}

/// A file that is nothing but a hole, and one whose only data is its last
/// byte.
fn all_hole_and_last_byte(fs: Fs, dir: &Path) {
    let holes = keeps_holes(fs, dir);
    for (name, data) in [("empty", &[][..]), ("last", &[(4 * MIB - 1, 1)][..])] {
        let src = dir.join(name);
        testfs::write_sparse(&src, 4 * MIB, data).unwrap();
        for (opt, opts) in option_sets() {
            let what = format!("{fs} {name} {opt}");
            let dst = dir.join(format!("{name}-{opt}"));
            let r =
                fastcopy::copy_with(&src, &dst, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(r.bytes, 4 * MIB, "{what}");
            assert_same_content(&src, &dst);
            if holes {
                let a = testfs::allocated_bytes(&dst);
                assert!(
                    a <= testfs::allocated_bytes(&src) + 64 * KIB,
                    "{what}: {a} allocated"
                );
            }
        }
    }
}

/// 2 GiB + 1 byte, data only at the start, in the middle and the last
/// byte, copied with Reflink::Never (data really copied), buffered and
/// direct.
fn two_gib_sparse_never(fs: Fs, dir: &Path) {
    let size = 2 * GIB + 1;
    let data = [(0, 4 * MIB), (GIB, 3 * MIB + 7), (2 * GIB, 1)];
    let src = dir.join("big");
    testfs::write_sparse(&src, size, &data).unwrap();
    let buffered = never_method(fs, size);
    let never = CopyOptions::new().reflink(Reflink::Never);
    for (opts, want) in [
        (never.clone(), buffered),
        (never.direct_io(DirectIo::Always), Method::DirectIo),
    ] {
        let dst = dir.join("copy");
        let r = fastcopy::copy_with(&src, &dst, &opts).unwrap();
        let what = format!("{fs} {want}");
        assert_eq!(r.method, want, "{r:?}");
        assert_eq!(r.bytes, size, "{what}");
        assert_eq!(len(&dst), size, "{what}");
        // Every data range in full, with some margin on both sides.
        for &(off, n) in &data {
            let start = off.saturating_sub(64 * KIB);
            let n = (n + 128 * KIB) as usize;
            let (a, b) = (read_at(&src, start, n), read_at(&dst, start, n));
            assert_bytes_eq(&b, &a, &format!("{what}: data range at {off}"));
            let inner = &b[(off - start) as usize..][..(n - 128 * KIB as usize)];
            assert!(
                inner.iter().all(|&x| x != 0),
                "{what}: zeros inside data at {off}"
            );
        }
        // Windows in the holes read as zeros.
        for off in [
            4 * MIB,
            100 * MIB,
            GIB - 64 * KIB,
            GIB + 8 * MIB,
            3 * GIB / 2,
            2 * GIB - 64 * KIB,
        ] {
            let w = read_at(&dst, off, (64 * KIB) as usize);
            assert_eq!(w.len() as u64, 64 * KIB);
            assert!(
                w.iter().all(|&x| x == 0),
                "{what}: data in the hole at {off}"
            );
        }
        assert_eq!(read_at(&dst, 2 * GIB, 10), read_at(&src, 2 * GIB, 10));
        assert_eq!(read_at(&dst, 2 * GIB, 10).len(), 1);
        if keeps_holes(fs, dir) {
            let a = testfs::allocated_bytes(&dst);
            assert!(
                a < 32 * MIB,
                "{what}: {a} bytes allocated for 7 MiB of data"
            );
            assert_holes_kept(&src, &dst);
        }
        std::fs::remove_file(&dst).unwrap();
    }
    assert_no_temp(dir);
}

/// XFS preallocates speculatively past the end of a file that grows by
/// writes; a copy writing each data segment at the destination's end of
/// file left that preallocation behind in the following hole. The copy now
/// sets the destination's size first. Both data loops, each forced alone.
#[test]
fn xfs_data_copies_keep_holes() {
    let Some(d) = testfs::dir(Fs::Xfs, "xfs_rw_holes") else {
        return;
    };
    let dir = d.path();
    let src = dir.join("src");
    testfs::write_sparse(&src, SIZE, &DATA).unwrap();
    let big = dir.join("big");
    testfs::write_sparse(
        &big,
        2 * GIB + 1,
        &[(0, 4 * MIB), (GIB, 3 * MIB + 7), (2 * GIB, 1)],
    )
    .unwrap();
    let never = CopyOptions::new().reflink(Reflink::Never);
    for (name, opts) in [
        ("read_write", never.clone().only_method(Method::ReadWrite)),
        ("splice", never.only_method(Method::Splice)),
    ] {
        for src in [&src, &big] {
            let dst = dir.join(format!("dst-{name}"));
            let r = fastcopy::copy_with(src, &dst, &opts).unwrap();
            assert_same_content_sampled(src, &dst);
            let (a_src, a_dst) = (testfs::allocated_bytes(src), testfs::allocated_bytes(&dst));
            assert!(
                a_dst <= a_src + 256 * KIB,
                "{name} via {}: holes filled: {a_dst} bytes allocated, source {a_src}",
                r.method
            );
            assert_holes_kept(src, &dst);
            std::fs::remove_file(&dst).unwrap();
        }
    }
}

/// Content equal where `src` is small; size and data ranges where big.
fn assert_same_content_sampled(src: &Path, dst: &Path) {
    if len(src) <= 64 * MIB {
        return assert_same_content(src, dst);
    }
    assert_eq!(len(src), len(dst));
    for (a, b) in data_segments(src) {
        let n = (b - a) as usize;
        assert_bytes_eq(&read_at(dst, a, n), &read_at(src, a, n), "data segment");
    }
}

per_fs!(holes_kept, all_hole_and_last_byte, two_gib_sparse_never);
