//! C strings to `PathBuf`: the only platform-dependent part of the ABI.
//!
//! - `char*` paths: on Unix the bytes as they are (a Unix path is bytes);
//!   elsewhere they must be UTF-8, converted to the OS string (on Windows
//!   `OsString` from UTF-8, later widened to UTF-16 by std).
//! - `uint16_t*` paths: on Windows the UTF-16 units as they are (unpaired
//!   surrogates included, as Windows allows); elsewhere they must be valid
//!   UTF-16.

use std::ffi::{CStr, c_char};
use std::path::PathBuf;

/// Reads a NUL-terminated byte string as a path.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string valid for reads.
pub(crate) unsafe fn from_c(p: *const c_char, what: &str) -> Result<PathBuf, String> {
    if p.is_null() {
        return Err(format!("{what} path is NULL"));
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination and
    // validity for reads up to it.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    bytes_to_path(bytes).map_err(|e| format!("{what} path is not valid UTF-8: {e}"))
}

#[cfg(unix)]
fn bytes_to_path(bytes: &[u8]) -> Result<PathBuf, std::str::Utf8Error> {
    use std::os::unix::ffi::OsStrExt;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: &[u8]) -> Result<PathBuf, std::str::Utf8Error> {
    std::str::from_utf8(bytes).map(PathBuf::from)
}

/// Reads a NUL-terminated UTF-16 string as a path.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated array of `u16` valid for reads.
pub(crate) unsafe fn from_wide(p: *const u16, what: &str) -> Result<PathBuf, String> {
    if p.is_null() {
        return Err(format!("{what} path is NULL"));
    }
    let mut len = 0;
    // SAFETY: the caller guarantees every unit up to and including the
    // terminating 0 is readable; we stop at the first 0.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: the `len` units before the terminator were just read, so they
    // are valid for reads, and `u16` has no invalid bit patterns.
    let units = unsafe { std::slice::from_raw_parts(p, len) };
    wide_to_path(units).map_err(|e| format!("{what} path is not valid UTF-16: {e}"))
}

#[cfg(windows)]
fn wide_to_path(units: &[u16]) -> Result<PathBuf, std::string::FromUtf16Error> {
    use std::os::windows::ffi::OsStringExt;
    Ok(PathBuf::from(std::ffi::OsString::from_wide(units)))
}

#[cfg(not(windows))]
fn wide_to_path(units: &[u16]) -> Result<PathBuf, std::string::FromUtf16Error> {
    String::from_utf16(units).map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_an_error_naming_the_argument() {
        // SAFETY: NULL is allowed.
        let e = unsafe { from_c(std::ptr::null(), "source") }.unwrap_err();
        assert_eq!(e, "source path is NULL");
        // SAFETY: NULL is allowed.
        let e = unsafe { from_wide(std::ptr::null(), "destination") }.unwrap_err();
        assert_eq!(e, "destination path is NULL");
    }

    #[test]
    fn utf8_and_utf16_paths() {
        // SAFETY: a NUL-terminated literal.
        let p = unsafe { from_c(c"dir/ä b".as_ptr(), "source") }.unwrap();
        assert_eq!(p, PathBuf::from("dir/ä b"));
        let wide: Vec<u16> = "dir/ä b".encode_utf16().chain([0]).collect();
        // SAFETY: NUL-terminated.
        let p = unsafe { from_wide(wide.as_ptr(), "source") }.unwrap();
        assert_eq!(p, PathBuf::from("dir/ä b"));
    }

    #[cfg(unix)]
    #[test]
    fn unix_paths_are_bytes() {
        // SAFETY: a NUL-terminated literal.
        let p = unsafe { from_c(c"bad-\xff".as_ptr(), "source") }.unwrap();
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(p.as_os_str().as_bytes(), b"bad-\xff");
    }

    #[cfg(not(windows))]
    #[test]
    fn unpaired_surrogates_are_refused_off_windows() {
        let wide = [0x61, 0xD800, 0];
        // SAFETY: NUL-terminated.
        let e = unsafe { from_wide(wide.as_ptr(), "source") }.unwrap_err();
        assert!(e.starts_with("source path is not valid UTF-16"), "{e}");
    }
}
