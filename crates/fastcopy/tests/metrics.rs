//! Metrics fed with the reports of real copies.

use std::path::Path;

use fastcopy::{CopyOptions, Method, Metrics, Reflink};

use crate::common::*;

fn metrics_of_real_copies(fs: Fs, dir: &Path) {
    let mut m = Metrics::new();
    let sizes = [0u64, 1, 4096, 4097, 70_000, 2 * MIB];
    for (i, &size) in sizes.iter().enumerate() {
        let src = dir.join(format!("src{i}"));
        write(&src, &testfs::pattern(size as usize, i as u64));
        m.record(&fastcopy::copy(&src, dir.join(format!("auto{i}"))).unwrap());
        let never = CopyOptions::new().reflink(Reflink::Never);
        m.record(&fastcopy::copy_with(&src, dir.join(format!("never{i}")), &never).unwrap());
    }
    match fastcopy::copy(dir.join("missing"), dir.join("x")) {
        Ok(_) => panic!("copy of a missing file succeeded"),
        Err(_) => m.record_failure(),
    }

    let total: u64 = sizes.iter().sum::<u64>() * 2;
    assert_eq!(m.files(), 12);
    assert_eq!(m.failures(), 1);
    assert_eq!(m.bytes(), total);
    // Auto: the empty file is copied directly; the 5 others by clone where
    // possible, else by the kernel copy (no clone is tried where the
    // filesystem cannot clone: no fallback).
    let (auto_method, auto_fallback) = if clones(fs) {
        (Method::Reflink, 0)
    } else {
        (Method::CopyFileRange, 0)
    };
    assert_eq!(m.files_with_fallback(), auto_fallback, "{fs}");
    assert_eq!(m.fallbacks(), auto_fallback, "{fs}");
    assert!((m.fallback_rate() - auto_fallback as f64 / 12.0).abs() < 1e-9);
    let nonempty: u64 = sizes.iter().sum();
    let mut want = std::collections::BTreeMap::new();
    *want.entry(Method::ReadWrite).or_insert((0, 0)) = (2, 0); // the empty ones
    let e = want.entry(auto_method).or_insert((0, 0));
    *e = (e.0 + 5, e.1 + nonempty);
    for &size in sizes.iter().filter(|&&s| s > 0) {
        let e = want.entry(never_method(fs, size)).or_insert((0, 0));
        *e = (e.0 + 1, e.1 + size);
    }
    let got: std::collections::BTreeMap<_, _> = m
        .per_method()
        .map(|(k, s)| (k, (s.files, s.bytes)))
        .collect();
    assert_eq!(got, want, "{fs}");
    assert_eq!(m.method(Method::DirectIo).files, 0);
    let elapsed: std::time::Duration = m.per_method().map(|(_, s)| s.elapsed).sum();
    assert_eq!(elapsed, m.total_elapsed());
    assert!(m.total_elapsed() > std::time::Duration::ZERO);

    // Buckets: 0 | 1..=4 KiB | ..=64 KiB | ..=1 MiB | ..=16 MiB | ...
    let h = m.size_histogram();
    let files: Vec<u64> = h.iter().map(|b| b.files).collect();
    assert_eq!(files, [2, 4, 2, 2, 2, 0, 0, 0], "{h:?}");
    assert_eq!((h[1].min, h[1].max), (1, Some(4096)));
    assert_eq!((h[2].min, h[2].max), (4097, Some(64 * KIB)));

    // Merging two halves gives the whole.
    let mut a = Metrics::new();
    let mut b = Metrics::new();
    let src = dir.join("src5");
    a.record(&fastcopy::copy(&src, dir.join("m1")).unwrap());
    b.record(&fastcopy::copy(&src, dir.join("m2")).unwrap());
    b.record_failure();
    a.merge(&b);
    assert_eq!((a.files(), a.failures(), a.bytes()), (2, 1, 4 * MIB));
    assert_eq!(a.size_histogram()[4].files, 2);
}

per_fs!(metrics_of_real_copies);
