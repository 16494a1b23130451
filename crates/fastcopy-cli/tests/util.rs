//! Helpers shared by the test modules.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::Value;
pub use testfs::{mode, mtime, names};

/// The binary under test, killed after a minute whatever happens.
pub fn fastcopy() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fastcopy"));
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// A modification time with non-zero nanoseconds, far from "now".
pub fn old_mtime() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789)
}

/// Writes `data` to `path` with permission bits `mode` and mtime [`old_mtime`].
pub fn source(path: &Path, data: &[u8], mode: u32) {
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(fs::FileTimes::new().set_modified(old_mtime()))
        .unwrap();
    assert_eq!(mtime(path), old_mtime(), "the filesystem keeps nanoseconds");
}

/// Panics if `dir` holds a temporary file of fastcopy.
#[track_caller]
pub fn assert_no_temp(dir: &Path) {
    testfs::assert_none_containing(dir, fastcopy::TEMP_MARKER);
}

/// Every line of `stdout`, parsed as JSON.
pub fn json_lines(stdout: &[u8]) -> Vec<Value> {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}
