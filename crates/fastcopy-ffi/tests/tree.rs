//! `fastcopy_copy_tree` called as C would.

use std::fs;
use std::path::Path;
use std::ptr;

use fastcopy_ffi::*;
use testfs::names;

use crate::abi::{cpath, empty_error, serial, static_str};

struct TreeCall {
    code: i32,
    os_error: i32,
    message: Option<String>,
    report: Option<FastcopyTreeReport>,
}

fn copy_tree(from: &Path, to: &Path, opts: Option<FastcopyTreeOptions>) -> TreeCall {
    let (from, to) = (cpath(from), cpath(to));
    let mut report = FastcopyTreeReport {
        jobs: u32::MAX,
        ..FastcopyTreeReport::default()
    };
    let mut error = empty_error();
    let opts_ptr = opts.as_ref().map_or(ptr::null(), |o| o as *const _);
    // SAFETY: valid NUL-terminated strings and out-structs for the call.
    let code = unsafe {
        fastcopy_copy_tree(
            from.as_ptr(),
            to.as_ptr(),
            opts_ptr,
            &mut report,
            &mut error,
        )
    };
    assert_eq!(error.code, code);
    let message = (!error.message.is_null()).then(|| static_str(error.message).to_owned());
    let os_error = error.os_error;
    // SAFETY: written by the library.
    unsafe { fastcopy_error_free(&mut error) };
    TreeCall {
        code,
        os_error,
        message,
        report: (report.jobs != u32::MAX).then_some(report),
    }
}

fn tree(root: &Path) {
    fs::create_dir_all(root.join("sub/deeper")).unwrap();
    fs::write(root.join("top.txt"), b"top").unwrap();
    fs::write(root.join("sub/a.bin"), vec![7u8; 5000]).unwrap();
    fs::write(root.join("sub/deeper/b.txt"), b"bee").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("top.txt", root.join("link")).unwrap();
}

#[test]
fn tree_is_copied_reported_and_counted() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("out/dst"));
    tree(&src);
    // SAFETY: NULL is allowed.
    unsafe { fastcopy_metrics_reset(ptr::null_mut()) };
    let mut opts = fastcopy_tree_options_default();
    opts.file.create_parents = 1;
    opts.jobs = 2;
    let c = copy_tree(&src, &dst, Some(opts));
    assert_eq!(c.code, FASTCOPY_OK, "{:?}", c.message);
    assert_eq!(c.message, None);
    assert_eq!(fs::read(dst.join("top.txt")).unwrap(), b"top");
    assert_eq!(fs::read(dst.join("sub/a.bin")).unwrap(), vec![7u8; 5000]);
    assert_eq!(fs::read(dst.join("sub/deeper/b.txt")).unwrap(), b"bee");
    let r = c.report.expect("report written");
    assert_eq!((r.metrics.files, r.metrics.bytes), (3, 5006));
    assert_eq!(r.failed_entries, 0);
    assert!(r.directories >= 3, "{r:?}");
    #[cfg(unix)]
    {
        assert_eq!(r.symlinks, 1);
        assert_eq!(
            fs::read_link(dst.join("link")).unwrap(),
            Path::new("top.txt")
        );
    }
    assert!(r.jobs >= 1 && r.elapsed_ns > 0);
    let mut m = FastcopyMetrics::default();
    // SAFETY: `m` is writable.
    unsafe { fastcopy_metrics(&mut m) };
    assert_eq!((m.files, m.bytes, m.failures), (3, 5006, 0));
}

#[test]
fn failed_entries_are_listed_and_the_rest_copied() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    tree(&src);
    fs::create_dir_all(dst.join("sub")).unwrap();
    fs::write(dst.join("sub/a.bin"), b"keep me").unwrap();
    let mut opts = fastcopy_tree_options_default();
    opts.file.overwrite = 0;
    let c = copy_tree(&src, &dst, Some(opts));
    assert_eq!(c.code, FASTCOPY_ERROR_ALREADY_EXISTS, "{:?}", c.message);
    let msg = c.message.unwrap();
    assert!(msg.starts_with("1 entries failed to copy:\n"), "{msg}");
    assert!(msg.contains("a.bin"), "{msg}");
    assert_eq!(fs::read(dst.join("sub/a.bin")).unwrap(), b"keep me");
    assert_eq!(fs::read(dst.join("sub/deeper/b.txt")).unwrap(), b"bee");
    let r = c.report.expect("report written after a partial failure");
    assert_eq!(r.failed_entries, 1);
    assert_eq!(r.metrics.files, 2);
}

#[test]
fn missing_source_and_copy_into_itself_fail_without_report() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let c = copy_tree(&dir.path().join("missing"), &dir.path().join("dst"), None);
    assert_eq!(c.code, FASTCOPY_ERROR_NOT_FOUND, "{:?}", c.message);
    assert_ne!(c.os_error, 0, "the system's error number is passed on");
    assert!(c.report.is_none());
    let src = dir.path().join("src");
    tree(&src);
    let c = copy_tree(&src, &src.join("sub/inside"), None);
    assert_eq!(c.code, FASTCOPY_ERROR_INVALID_ARGUMENT, "{:?}", c.message);
    assert!(c.message.unwrap().contains("inside the source"));
    assert!(c.report.is_none());
    assert_eq!(names(dir.path()), ["src"]);
}

#[test]
fn tree_options_default_and_validation() {
    let d = fastcopy_tree_options_default();
    assert_eq!(d.file, fastcopy_options_default());
    assert_eq!(
        (d.jobs, d.follow_links, d.fail_fast, d.update),
        (0, 0, 0, 0)
    );
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    tree(&dir.path().join("src"));
    let mut bad = d;
    bad.file.reflink = 5;
    let c = copy_tree(&dir.path().join("src"), &dir.path().join("dst"), Some(bad));
    assert_eq!(c.code, FASTCOPY_ERROR_INVALID_ARGUMENT);
    assert!(!dir.path().join("dst").exists());
}
