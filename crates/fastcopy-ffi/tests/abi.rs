//! The C ABI called from Rust exactly as a C caller would: raw pointers,
//! NUL-terminated strings, out-structs, status codes.
//!
//! The metrics are process-wide, so every test here holds `SERIAL` while it
//! copies: the metrics test then sees only its own copies.

use std::ffi::{CStr, CString, c_char};
use std::fs;
use std::path::Path;
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use fastcopy_ffi::*;
use testfs::names;

static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn cpath(p: &Path) -> CString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        CString::new(p.as_os_str().as_bytes()).unwrap()
    }
    #[cfg(not(unix))]
    CString::new(p.to_str().unwrap()).unwrap()
}

fn empty_report() -> FastcopyReport {
    FastcopyReport {
        method: ptr::null(),
        method_id: u32::MAX,
        cloned: 0,
        bytes: u64::MAX,
        elapsed_ns: 0,
        fallbacks: u32::MAX,
        warnings: u32::MAX,
        skipped: u8::MAX,
    }
}

pub(crate) fn empty_error() -> FastcopyError {
    FastcopyError {
        code: -1,
        os_error: -1,
        message: ptr::null_mut(),
    }
}

/// Outcome of one `fastcopy_copy_file` call, with the error's message
/// copied out and freed.
struct Call {
    code: i32,
    report: FastcopyReport,
    os_error: i32,
    message: Option<String>,
}

fn copy(from: &Path, to: &Path, opts: Option<FastcopyOptions>) -> Call {
    let (from, to) = (cpath(from), cpath(to));
    let mut report = empty_report();
    let mut error = empty_error();
    let opts_ptr = opts.as_ref().map_or(ptr::null(), |o| o as *const _);
    // SAFETY: valid NUL-terminated strings and out-structs for the call.
    let code = unsafe {
        fastcopy_copy_file(
            from.as_ptr(),
            to.as_ptr(),
            opts_ptr,
            &mut report,
            &mut error,
        )
    };
    assert_eq!(error.code, code, "error.code is the returned code");
    let message = (!error.message.is_null()).then(|| static_str(error.message).to_owned());
    let os_error = error.os_error;
    // SAFETY: `error` was written by the library.
    unsafe { fastcopy_error_free(&mut error) };
    assert!(error.message.is_null(), "freeing sets the message to NULL");
    // SAFETY: freeing twice is allowed.
    unsafe { fastcopy_error_free(&mut error) };
    Call {
        code,
        report,
        os_error,
        message,
    }
}

/// A string from the library: static ones, or a message read before it is
/// freed (the `'static` is then the caller's promise not to keep it).
pub(crate) fn static_str(p: *const c_char) -> &'static str {
    assert!(!p.is_null());
    // SAFETY: the library's strings are NUL-terminated UTF-8, static or
    // alive until freed.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

fn opts(f: impl FnOnce(&mut FastcopyOptions)) -> Option<FastcopyOptions> {
    let mut o = fastcopy_options_default();
    f(&mut o);
    Some(o)
}

#[test]
fn copy_reports_method_bytes_and_keeps_content_and_mtime() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(&src, &data).unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_600_000_000, 123_456_789);
    fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let c = copy(&src, &dst, None);
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!((c.os_error, c.message), (0, None));
    assert_eq!(fs::read(&dst).unwrap(), data);
    assert_eq!(fs::metadata(&dst).unwrap().modified().unwrap(), mtime);
    assert_eq!(c.report.bytes, data.len() as u64);
    let method = static_str(c.report.method);
    assert_eq!(method, static_str(fastcopy_method_name(c.report.method_id)));
    #[cfg(target_os = "linux")]
    assert!(
        ["reflink", "copy_file_range", "read_write"].contains(&method),
        "{method}"
    );
    let clones = ["reflink", "clonefile", "block_clone"];
    assert_eq!(c.report.cloned != 0, clones.contains(&method));
    assert!(c.report.elapsed_ns > 0);
    assert_eq!(c.report.warnings, 0);
    assert!(c.report.fallbacks < 8);
    assert_eq!(names(dir.path()), ["dst", "src"], "no temporary file left");
}

#[test]
fn null_report_and_error_are_allowed() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fs::write(&src, b"x").unwrap();
    let (from, to) = (cpath(&src), cpath(&dst));
    // SAFETY: valid strings; NULL options, report and error are allowed.
    let code = unsafe {
        fastcopy_copy_file(
            from.as_ptr(),
            to.as_ptr(),
            ptr::null(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    assert_eq!(code, FASTCOPY_OK);
    assert_eq!(fs::read(&dst).unwrap(), b"x");
    let missing = cpath(&dir.path().join("missing"));
    // SAFETY: as above; the message is freed inside when `error` is NULL.
    let code = unsafe {
        fastcopy_copy_file(
            missing.as_ptr(),
            to.as_ptr(),
            ptr::null(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    assert_eq!(code, FASTCOPY_ERROR_NOT_FOUND);
}

#[test]
fn overwrite_on_replaces_and_off_refuses() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fs::write(&src, b"new content").unwrap();
    fs::write(&dst, b"old").unwrap();

    let c = copy(&src, &dst, opts(|o| o.overwrite = 0));
    assert_eq!(c.code, FASTCOPY_ERROR_ALREADY_EXISTS);
    let msg = c.message.unwrap();
    assert!(
        msg.contains("destination exists") && msg.contains("dst"),
        "{msg}"
    );
    assert_eq!(c.report.bytes, u64::MAX, "report untouched on failure");
    assert_eq!(fs::read(&dst).unwrap(), b"old");

    let c = copy(&src, &dst, opts(|o| o.overwrite = 1));
    assert_eq!(c.code, FASTCOPY_OK);
    assert_eq!(fs::read(&dst).unwrap(), b"new content");
    assert_eq!(names(dir.path()), ["dst", "src"]);
}

#[test]
fn same_file_is_refused_and_source_kept() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let link = dir.path().join("hardlink");
    fs::write(&src, b"precious").unwrap();
    fs::hard_link(&src, &link).unwrap();
    for to in [&src, &link] {
        let c = copy(&src, to, None);
        assert_eq!(c.code, FASTCOPY_ERROR_SAME_FILE, "{:?}", c.message);
        assert_eq!(c.os_error, 0);
        assert!(c.message.unwrap().contains("same file"));
        assert_eq!(fs::read(&src).unwrap(), b"precious");
    }
    assert_eq!(names(dir.path()), ["hardlink", "src"]);
}

#[test]
fn missing_source_is_not_found_with_errno_and_creates_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("sub/dst");
    let c = copy(
        &dir.path().join("missing"),
        &dst,
        opts(|o| o.create_parents = 1),
    );
    assert_eq!(c.code, FASTCOPY_ERROR_NOT_FOUND);
    #[cfg(unix)]
    assert_eq!(c.os_error, 2, "ENOENT");
    let msg = c.message.unwrap();
    assert!(
        msg.contains("cannot open source") && msg.contains("missing"),
        "{msg}"
    );
    assert!(names(dir.path()).is_empty());
}

#[test]
fn parents_are_created_only_when_asked() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::write(&src, b"abc").unwrap();
    let dst = dir.path().join("a/b/c/dst");
    let c = copy(&src, &dst, None);
    assert_eq!(c.code, FASTCOPY_ERROR_NOT_FOUND, "{:?}", c.message);
    assert!(!dir.path().join("a").exists());
    let c = copy(&src, &dst, opts(|o| o.create_parents = 1));
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!(fs::read(&dst).unwrap(), b"abc");
}

#[cfg(unix)]
#[test]
fn mode_is_kept_unless_asked_not_to() {
    use std::os::unix::fs::PermissionsExt;
    use testfs::mode;
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::write(&src, b"#!/bin/sh\n").unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o751)).unwrap();
    let kept = dir.path().join("kept");
    assert_eq!(copy(&src, &kept, None).code, FASTCOPY_OK);
    assert_eq!(mode(&kept), 0o751);
    let plain = dir.path().join("plain");
    let c = copy(&src, &plain, opts(|o| o.preserve_mode = 0));
    assert_eq!(c.code, FASTCOPY_OK);
    assert_eq!(mode(&plain) & !0o751, 0, "never wider than the source");
}

#[test]
fn directories_are_not_files() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let c = copy(&sub, &dir.path().join("dst"), None);
    assert_eq!(c.code, FASTCOPY_ERROR_NOT_A_FILE, "{:?}", c.message);
}

#[test]
fn bad_arguments_are_invalid_not_crashes() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = cpath(&dir.path().join("src"));
    fs::write(dir.path().join("src"), b"x").unwrap();
    let dst = cpath(&dir.path().join("dst"));
    let mut error = empty_error();
    for (from, to, what) in [
        (ptr::null(), dst.as_ptr(), "source path is NULL"),
        (src.as_ptr(), ptr::null(), "destination path is NULL"),
    ] {
        // SAFETY: NULL paths are allowed (and refused); `error` is writable.
        let code =
            unsafe { fastcopy_copy_file(from, to, ptr::null(), ptr::null_mut(), &mut error) };
        assert_eq!(code, FASTCOPY_ERROR_INVALID_ARGUMENT);
        assert_eq!(static_str(error.message), what);
        // SAFETY: written by the library.
        unsafe { fastcopy_error_free(&mut error) };
    }
    let bad = FastcopyOptions {
        reflink: 9,
        ..fastcopy_options_default()
    };
    // SAFETY: valid strings, options and error.
    let code = unsafe {
        fastcopy_copy_file(
            src.as_ptr(),
            dst.as_ptr(),
            &bad,
            ptr::null_mut(),
            &mut error,
        )
    };
    assert_eq!(code, FASTCOPY_ERROR_INVALID_ARGUMENT);
    assert!(static_str(error.message).contains("invalid reflink mode 9"));
    // SAFETY: written by the library.
    unsafe { fastcopy_error_free(&mut error) };
    assert!(!dir.path().join("dst").exists());
    // SAFETY: NULL is allowed.
    let code = unsafe { fastcopy_metrics(ptr::null_mut()) };
    assert_eq!(code, FASTCOPY_ERROR_INVALID_ARGUMENT);
    // SAFETY: NULL is allowed.
    unsafe { fastcopy_string_free(ptr::null_mut()) };
}

#[test]
fn wide_paths_copy_too() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("quelle-ä.txt");
    fs::write(&src, b"wide").unwrap();
    let dst = dir.path().join("ziel-ö.txt");
    let wide = |p: &Path| -> Vec<u16> { p.to_str().unwrap().encode_utf16().chain([0]).collect() };
    let (from, to) = (wide(&src), wide(&dst));
    let mut report = empty_report();
    let mut error = empty_error();
    // SAFETY: NUL-terminated UTF-16 strings and writable out-structs.
    let code = unsafe {
        fastcopy_copy_file_w(
            from.as_ptr(),
            to.as_ptr(),
            ptr::null(),
            &mut report,
            &mut error,
        )
    };
    assert_eq!(code, FASTCOPY_OK);
    assert!(error.message.is_null());
    assert_eq!(report.bytes, 4);
    assert_eq!(fs::read(&dst).unwrap(), b"wide");
}

#[test]
fn metrics_count_every_copy_and_reset_atomically() {
    let _s = serial();
    // SAFETY: NULL is allowed.
    unsafe { fastcopy_metrics_reset(ptr::null_mut()) };
    let dir = tempfile::tempdir().unwrap();
    let (small, big) = (dir.path().join("small"), dir.path().join("big"));
    fs::write(&small, vec![1u8; 10]).unwrap();
    fs::write(&big, vec![2u8; 70_000]).unwrap();
    let a = copy(&small, &dir.path().join("a"), None);
    let b = copy(&big, &dir.path().join("b"), None);
    assert_eq!((a.code, b.code), (FASTCOPY_OK, FASTCOPY_OK));
    let fail = copy(&dir.path().join("missing"), &dir.path().join("c"), None);
    assert_eq!(fail.code, FASTCOPY_ERROR_NOT_FOUND);

    let mut m = FastcopyMetrics::default();
    // SAFETY: `m` is writable.
    assert_eq!(unsafe { fastcopy_metrics(&mut m) }, FASTCOPY_OK);
    assert_eq!((m.files, m.failures, m.bytes), (2, 1, 70_010));
    assert_eq!(
        m.fallbacks,
        u64::from(a.report.fallbacks + b.report.fallbacks)
    );
    assert_eq!(m.elapsed_ns, a.report.elapsed_ns + b.report.elapsed_ns);
    assert_eq!(m.methods.iter().map(|s| s.files).sum::<u64>(), 2);
    assert_eq!(m.methods.iter().map(|s| s.bytes).sum::<u64>(), 70_010);
    let a_slot = m.methods[a.report.method_id as usize];
    assert!(a_slot.files >= 1 && a_slot.bytes >= 10);
    // 10 bytes: bucket 1 (1..=4 KiB); 70 000: bucket 3 (64 KiB + 1 ..= 1 MiB).
    assert_eq!(m.size_buckets, [0, 1, 0, 1, 0, 0, 0, 0]);
    assert_eq!(fastcopy_size_bucket_max(1), 4096);
    assert_eq!(fastcopy_size_bucket_max(3), 1 << 20);
    assert_eq!(fastcopy_size_bucket_max(7), u64::MAX);

    let mut taken = FastcopyMetrics::default();
    // SAFETY: `taken` is writable.
    unsafe { fastcopy_metrics_reset(&mut taken) };
    assert_eq!((taken.files, taken.failures, taken.bytes), (2, 1, 70_010));
    // SAFETY: `m` is writable.
    unsafe { fastcopy_metrics(&mut m) };
    assert_eq!((m.files, m.failures, m.bytes, m.elapsed_ns), (0, 0, 0, 0));
    assert_eq!(m.size_buckets, [0; FASTCOPY_SIZE_BUCKETS]);
}

#[test]
fn version_and_names() {
    assert_eq!(static_str(fastcopy_version()), env!("CARGO_PKG_VERSION"));
    assert_eq!(fastcopy_abi_version(), FASTCOPY_ABI_VERSION);
    assert_eq!(static_str(fastcopy_status_name(FASTCOPY_OK)), "OK");
    assert_eq!(
        static_str(fastcopy_status_name(FASTCOPY_ERROR_SAME_FILE)),
        "SAME_FILE"
    );
    assert_eq!(static_str(fastcopy_status_name(-5)), "UNKNOWN");
    assert_eq!(static_str(fastcopy_method_name(0)), "reflink");
    assert!(fastcopy_method_name(FASTCOPY_METHOD_SLOTS as u32).is_null());
    let d = fastcopy_options_default();
    assert_eq!(
        (
            d.overwrite,
            d.reflink,
            d.preserve_times,
            d.preserve_mode,
            d.create_parents,
            d.fsync
        ),
        (1, FASTCOPY_REFLINK_AUTO, 1, 1, 0, 0)
    );
}

#[cfg(target_os = "linux")]
mod filesystems {
    use super::*;
    use testfs::Fs;

    #[test]
    fn btrfs_clone_shares_extents() {
        let _s = serial();
        let Some(dir) = testfs::dir(Fs::Btrfs, "ffi_btrfs_clone") else {
            return;
        };
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        let data = testfs::pattern(1 << 20, 6);
        fs::write(&src, &data).unwrap();
        fs::File::open(&src).unwrap().sync_all().unwrap();
        let c = copy(&src, &dst, opts(|o| o.reflink = FASTCOPY_REFLINK_ALWAYS));
        assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
        assert_eq!(static_str(c.report.method), "reflink");
        assert_eq!(c.report.cloned, 1);
        assert_eq!(fs::read(&dst).unwrap(), data);
        let sharing = fastcopy::extent_sharing(&dst).unwrap();
        assert_eq!(sharing.shared, data.len() as u64, "{sharing:?}");
    }

    #[test]
    fn ext4_required_clone_is_not_supported_and_leaves_nothing() {
        let _s = serial();
        let Some(dir) = testfs::dir(Fs::Ext4, "ffi_ext4_clone") else {
            return;
        };
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        fs::write(&src, testfs::pattern(100_000, 1)).unwrap();
        let c = copy(&src, &dst, opts(|o| o.reflink = FASTCOPY_REFLINK_ALWAYS));
        assert_eq!(c.code, FASTCOPY_ERROR_NOT_SUPPORTED, "{:?}", c.message);
        assert_ne!(c.os_error, 0, "the system's errno is passed on");
        assert_eq!(names(dir.path()), ["src"]);
    }
}

/// The overwrite modes of the contract: `OLDER` never replaces a newer
/// destination whatever its size, `SKIP` leaves any existing one, both
/// succeed and say so in `skipped`; an invalid mode is an invalid argument.
#[test]
fn overwrite_modes_keep_newer_or_existing_destinations() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fs::write(&src, b"the source").unwrap();
    let old = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(old)
        .unwrap();
    fs::write(&dst, b"newer, and of another size").unwrap();

    let c = copy(&src, &dst, opts(|o| o.overwrite = FASTCOPY_OVERWRITE_OLDER));
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!((c.report.skipped, c.report.bytes), (2, 0));
    assert_eq!(fs::read(&dst).unwrap(), b"newer, and of another size");

    let c = copy(&src, &dst, opts(|o| o.overwrite = FASTCOPY_OVERWRITE_SKIP));
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!(c.report.skipped, 1);
    assert_eq!(fs::read(&dst).unwrap(), b"newer, and of another size");

    // Older than the source now: replaced.
    let older = old - Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(&dst)
        .unwrap()
        .set_modified(older)
        .unwrap();
    let c = copy(&src, &dst, opts(|o| o.overwrite = FASTCOPY_OVERWRITE_OLDER));
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!(c.report.skipped, 0);
    assert_eq!(fs::read(&dst).unwrap(), b"the source");

    let c = copy(&src, &dst, opts(|o| o.overwrite = 9));
    assert_eq!(c.code, FASTCOPY_ERROR_INVALID_ARGUMENT);
    assert_eq!(names(dir.path()), ["dst", "src"]);
}

/// `in_place` writes into the destination's inode: its other hard link
/// sees the new content.
#[test]
fn in_place_keeps_the_destination_inode() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst, link) = (
        dir.path().join("src"),
        dir.path().join("dst"),
        dir.path().join("link"),
    );
    fs::write(&src, b"new content").unwrap();
    fs::write(&dst, b"old content, longer").unwrap();
    fs::hard_link(&dst, &link).unwrap();
    let c = copy(&src, &dst, opts(|o| o.in_place = 1));
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!(fs::read(&link).unwrap(), b"new content");
    // Without it the other link keeps the old content and a warning says so.
    fs::write(&src, b"newer content").unwrap();
    let c = copy(&src, &dst, None);
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!(c.report.warnings, 1);
    assert_eq!(fs::read(&link).unwrap(), b"new content");
    assert_eq!(fs::read(&dst).unwrap(), b"newer content");
}
