//! Helpers every crate's tests share, on any filesystem and platform: a
//! directory's entries, a file's content, mode and times, and "needs root".
//! fastcopy's own names (its temporary marker) are passed in, so that testfs
//! needs no fastcopy.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

/// Sorted names of the entries of `dir`.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Sorted names of the entries of `dir` that contain `part` (fastcopy's
/// temporaries: `names_containing(dir, fastcopy::TEMP_MARKER)`).
pub fn names_containing(dir: &Path, part: &str) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.contains(part))
        .collect()
}

/// Asserts that no entry of `dir` contains `part` (no temporary left).
#[track_caller]
pub fn assert_none_containing(dir: &Path, part: &str) {
    let left = names_containing(dir, part);
    assert!(
        left.is_empty(),
        "temporary files left in {}: {left:?}",
        dir.display()
    );
}

/// Asserts that `dir` holds exactly the entries `want` (so no temporary
/// file either).
#[track_caller]
pub fn assert_names(dir: &Path, want: &[&str]) {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names(dir), want, "entries of {}", dir.display());
}

/// Asserts `got == want` without dumping megabytes: names the lengths and
/// the first differing offset.
#[track_caller]
pub fn assert_bytes_eq(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    panic!(
        "{what}: content differs: got {} bytes, want {} bytes, first difference at offset {first}",
        got.len(),
        want.len()
    );
}

/// Asserts that the file at `path` holds exactly `want`.
#[track_caller]
pub fn assert_content(path: &Path, want: &[u8]) {
    let got = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_bytes_eq(&got, want, &path.display().to_string());
}

/// The modification time of `path`.
pub fn mtime(path: &Path) -> SystemTime {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .modified()
        .unwrap()
}

/// Permission bits of `path`, set-user-ID, set-group-ID and sticky
/// included.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Whether the tests run as root.
#[cfg(unix)]
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether a test that needs root (mkfs, mount, chattr, setpriv) can run:
/// as root yes; otherwise it says so with [`skipped`](crate::skipped) (a
/// `SKIPPED` line, or a panic under `FASTCOPY_REQUIRE_TESTFS=1`) and
/// returns false.
#[cfg(unix)]
pub fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    crate::skipped(test, "needs root");
    false
}
