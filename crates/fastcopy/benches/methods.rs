//! `cargo bench -p fastcopy`: each copy method of this platform, and the
//! two baselines (a 32 KiB read/write loop, `std::fs::copy`), on files of
//! 4 KiB, 1 MiB and 16 MiB with a warm page cache.
//!
//! The files live in `$FASTCOPY_BENCH_DIR` (default: the system's
//! temporary directory), so `FASTCOPY_BENCH_DIR=/mnt/btrfs cargo bench`
//! measures Btrfs. For the full table (up to 1 GiB, cold cache, fallocate),
//! use `fastcopy --bench DIR`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use fastcopy::{CopyOptions, DirectIo, Method};

const SIZES: [usize; 3] = [4 << 10, 1 << 20, 16 << 20];

fn main() {
    divan::main();
}

/// A directory for this process's files, removed at exit.
fn workdir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("FASTCOPY_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        tempfile::Builder::new()
            .prefix(".fastcopy-cargo-bench-")
            .tempdir_in(base)
            .expect("a writable FASTCOPY_BENCH_DIR")
    })
    .path()
}

/// The source file of `size` bytes, written once and read into the cache.
fn source(size: usize) -> PathBuf {
    let path = workdir().join(format!("source-{size}"));
    if !path.exists() {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 4093) as u8).collect();
        fs::write(&path, data).unwrap();
    }
    fs::read(&path).unwrap();
    path
}

/// A fresh destination name per iteration; removed outside the timing.
fn dest() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    workdir().join(format!("dest-{}", N.fetch_add(1, Ordering::Relaxed)))
}

fn bench_copy(bencher: divan::Bencher, size: usize, copy: impl Fn(&Path, &Path)) {
    let src = source(size);
    bencher
        .counter(divan::counter::BytesCount::new(size))
        .with_inputs(dest)
        .bench_local_values(|dst| {
            copy(&src, &dst);
            dst
        });
    // Destinations are removed after the timed loop.
    for e in fs::read_dir(workdir()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("dest-") {
            let _ = fs::remove_file(e.path());
        }
    }
}

#[divan::bench(args = SIZES)]
fn read_write_32k(bencher: divan::Bencher, size: usize) {
    bench_copy(bencher, size, |src, dst| {
        let mut from = File::open(src).unwrap();
        let mut to = File::create(dst).unwrap();
        let mut buf = vec![0u8; 32 << 10];
        loop {
            let n = from.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            to.write_all(&buf[..n]).unwrap();
        }
    });
}

#[divan::bench(args = SIZES)]
fn std_fs_copy(bencher: divan::Bencher, size: usize) {
    bench_copy(bencher, size, |src, dst| {
        fs::copy(src, dst).unwrap();
    });
}

#[divan::bench(args = SIZES)]
fn fastcopy_auto(bencher: divan::Bencher, size: usize) {
    bench_copy(bencher, size, |src, dst| {
        fastcopy::copy(src, dst).unwrap();
    });
}

/// `method` alone; skipped, with a note on stderr, where this platform or
/// filesystem cannot run it.
fn only(bencher: divan::Bencher, size: usize, m: Method) {
    if !Method::available().contains(&m) {
        return;
    }
    let mut opts = CopyOptions::new().only_method(m);
    if m == Method::DirectIo {
        opts = opts.direct_io(DirectIo::Always);
    }
    if let Err(e) = fastcopy::copy_with(source(size), dest(), &opts) {
        eprintln!("{m} is not available here: {e}");
        return;
    }
    bench_copy(bencher, size, |src, dst| {
        fastcopy::copy_with(src, dst, &opts).unwrap();
    });
}

/// One benchmark function per method, named after it.
macro_rules! methods {
    ($($name:ident => $method:ident),+ $(,)?) => {$(
        #[divan::bench(args = SIZES)]
        fn $name(bencher: divan::Bencher, size: usize) {
            only(bencher, size, Method::$method);
        }
    )+};
}

methods!(
    reflink => Reflink,
    copy_file_range => CopyFileRange,
    read_write => ReadWrite,
    direct_io => DirectIo,
    clonefile => Clonefile,
    fcopyfile => Fcopyfile,
    copy_file_ex => CopyFileEx,
    block_clone => BlockClone,
);
