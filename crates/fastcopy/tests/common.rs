//! Helpers shared by the integration tests.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use testfs::{Fs, assert_bytes_eq, assert_content, assert_names, mode, mtime, names};

pub const KIB: u64 = 1 << 10;
pub const MIB: u64 = 1 << 20;
pub const GIB: u64 = 1 << 30;

/// errno values (Linux, all architectures we run on).
pub const EXDEV: i32 = 18;
pub const EOPNOTSUPP: i32 = 95;

/// Generates one `#[test]` per filesystem for each `check(fs, dir)`
/// function named: `NAME::ext4`, `NAME::btrfs`, `NAME::xfs`, `NAME::tmpfs`.
/// Each gets a fresh directory on that filesystem, or prints a SKIPPED line
/// (testfs does) and returns when the filesystem is unavailable.
macro_rules! per_fs {
    ($($check:ident),+ $(,)?) => {$(
        mod $check {
            use $crate::common::Fs;
            fn run(fs: Fs) {
                let name = concat!(stringify!($check), "_");
                let test = format!("{name}{}", fs.name());
                let Some(dir) = testfs::dir(fs, &test) else { return };
                super::$check(fs, dir.path());
            }
            #[test]
            fn ext4() { run(Fs::Ext4) }
            #[test]
            fn btrfs() { run(Fs::Btrfs) }
            #[test]
            fn xfs() { run(Fs::Xfs) }
            #[test]
            fn tmpfs() { run(Fs::Tmpfs) }
        }
    )+};
}
pub(crate) use per_fs;

/// Whether `fs` can clone (FICLONE).
pub fn clones(fs: Fs) -> bool {
    matches!(fs, Fs::Btrfs | Fs::Xfs)
}

/// The method that copies a `size`-byte file with `Reflink::Never` on
/// `fs`: the kernel copy where it cannot clone; elsewhere splice for large
/// files and the read/write loop for small ones.
pub fn never_method(fs: Fs, size: u64) -> fastcopy::Method {
    use fastcopy::Method;
    if size == 0 {
        Method::ReadWrite
    } else if !clones(fs) {
        Method::CopyFileRange
    } else if size >= fastcopy::SPLICE_MIN_SIZE {
        Method::Splice
    } else {
        Method::ReadWrite
    }
}

/// Whether FIEMAP works on `fs` (tmpfs has none).
pub fn has_fiemap(fs: Fs) -> bool {
    fs != Fs::Tmpfs
}

/// Writes `data` to `path` (created or truncated).
pub fn write(path: &Path, data: &[u8]) {
    fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Reads until `buf` is full or end of file.
fn read_full(f: &mut File, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    n
}

/// Asserts two files have the same size and bytes, comparing 1 MiB at a
/// time (never loads a whole big file).
#[track_caller]
pub fn assert_same_content(a: &Path, b: &Path) {
    let (la, lb) = (len(a), len(b));
    assert_eq!(la, lb, "sizes differ: {} vs {}", a.display(), b.display());
    let mut fa = File::open(a).unwrap();
    let mut fb = File::open(b).unwrap();
    let mut ba = vec![0u8; MIB as usize];
    let mut bb = vec![0u8; MIB as usize];
    let mut off = 0u64;
    loop {
        let na = read_full(&mut fa, &mut ba);
        let nb = read_full(&mut fb, &mut bb);
        if ba[..na] != bb[..nb] {
            let first = ba[..na]
                .iter()
                .zip(&bb[..nb])
                .position(|(x, y)| x != y)
                .unwrap_or(na.min(nb));
            panic!(
                "{} and {} differ at offset {}",
                a.display(),
                b.display(),
                off + first as u64
            );
        }
        if na == 0 {
            break;
        }
        off += na as u64;
    }
    assert_eq!(off, la);
}

/// Reads `len` bytes at `offset` (short at end of file).
pub fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut f = File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut buf = vec![0u8; len];
    let n = read_full(&mut f, &mut buf);
    buf.truncate(n);
    buf
}

pub fn len(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .len()
}

/// Sets the permission bits (chmod).
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Temporary files of fastcopy left in `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    testfs::names_containing(dir, fastcopy::TEMP_MARKER)
}

#[track_caller]
pub fn assert_no_temp(dir: &Path) {
    testfs::assert_none_containing(dir, fastcopy::TEMP_MARKER);
}

/// A time `secs_ago` seconds before now (whole seconds) plus `nanos`.
pub fn time_ago(secs_ago: u64, nanos: u32) -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::new(now - secs_ago, nanos)
}

/// Sets access and modification times of `path`.
pub fn set_times(path: &Path, atime: SystemTime, mtime: SystemTime) {
    let f = File::options().write(true).open(path).unwrap();
    f.set_times(fs::FileTimes::new().set_accessed(atime).set_modified(mtime))
        .unwrap();
}

pub fn atime(path: &Path) -> SystemTime {
    fs::metadata(path).unwrap().accessed().unwrap()
}

/// The process umask, from /proc (reading it with umask(2) would race with
/// other tests creating files).
pub fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("Umask line in /proc/self/status");
    u32::from_str_radix(line.trim(), 8).unwrap()
}

/// The data segments of a file, by SEEK_DATA/SEEK_HOLE: `(start, end)`.
pub fn data_segments(path: &Path) -> Vec<(u64, u64)> {
    use rustix::fs::{SeekFrom as S, seek};
    let f = File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < size {
        let data = match seek(&f, S::Data(pos)) {
            Ok(d) => d,
            Err(rustix::io::Errno::NXIO) => break,
            Err(e) => panic!("SEEK_DATA {}: {e}", path.display()),
        };
        let hole = seek(&f, S::Hole(data)).unwrap();
        out.push((data, hole));
        pos = hole;
    }
    out
}

/// Asserts that every data segment of `dst` lies inside a data segment of
/// `src`: no hole of the source was filled in the copy.
#[track_caller]
pub fn assert_holes_kept(src: &Path, dst: &Path) {
    let s = data_segments(src);
    let d = data_segments(dst);
    for &(a, b) in &d {
        assert!(
            s.iter().any(|&(x, y)| x <= a && b <= y),
            "data segment {a}..{b} of {} is a hole in the source; source data {s:?}, copy data {d:?}",
            dst.display()
        );
    }
}

/// The one method and the fallbacks' methods, for compact assertions.
pub fn methods(r: &fastcopy::CopyReport) -> (fastcopy::Method, Vec<fastcopy::Method>) {
    (r.method, r.fallbacks.iter().map(|f| f.method).collect())
}

/// Environment variable set in a child test process (see [`run_child`]).
pub const CHILD_ENV: &str = "FASTCOPY_TEST_CHILD";

/// Whether this process is a child started by [`run_child`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Runs the single test `test` (its full path, e.g. `metadata::x`) of this
/// test binary in a child process configured by `configure` (working
/// directory, user, environment), with [`CHILD_ENV`] set; asserts that it
/// ran exactly that one test and that it passed.
pub fn run_child(test: &str, configure: impl FnOnce(&mut Command)) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, "1");
    configure(&mut cmd);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "child test {test} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    out
}
