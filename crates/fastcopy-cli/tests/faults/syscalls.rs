//! System calls failing where the kernel answers: each case runs the CLI
//! under a seccomp filter and checks the outcome (a fallback to the next
//! method with identical content, or a clean error with nothing left).

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use testfs::Fs;

use super::{MIB, assert_content, assert_only, record, under};

fn source(dir: &Path, len: usize) -> Vec<u8> {
    let data = testfs::pattern(len, 5);
    fs::write(dir.join("src"), &data).unwrap();
    data
}

/// `copy_file_range` refused (the errnos of "not supported here", and a
/// first call copying nothing): `splice` copies; both refused: the
/// read/write loop copies. The JSON record names every refusal, the
/// content is identical.
#[test]
fn copy_file_range_and_splice_refusals_fall_back() {
    let Some(d) = testfs::dir(Fs::Ext4, "cli_fault_cfr_refused") else {
        return;
    };
    let data = source(d.path(), 3 * MIB + 17);
    for (errno, text) in [
        ("EPERM", "Operation not permitted"),
        ("ENOSYS", "Function not implemented"),
        ("EOPNOTSUPP", "Operation not supported"),
        ("EINVAL", "Invalid argument"),
        ("EXDEV", "cross-device"),
        ("EBADF", "Bad file descriptor"),
        ("ETXTBSY", "Text file busy"),
        ("0", "nothing"),
    ] {
        let cfr = format!("copy_file_range={errno}");
        let splice = format!("splice={errno}");
        for (rules, method) in [
            (vec![cfr.as_str()], "splice"),
            (vec![cfr.as_str(), splice.as_str()], "read_write"),
        ] {
            let out = under(&rules, &[])
                .current_dir(d.path())
                .args(["--json", "src", "dst"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{rules:?}: {out:?}");
            let r = record(&out);
            assert_eq!(r["method"], method, "{rules:?}: {r}");
            let fallbacks = r["fallbacks"].as_array().unwrap();
            // ext4 is known not to clone: no clone tried, so no fallback
            // for it; only the injected (unexpected) refusals count.
            assert_eq!(fallbacks.len(), rules.len(), "{rules:?}: {r}");
            for (f, want) in fallbacks.iter().zip(["copy_file_range", "splice"]) {
                assert_eq!(f["method"], want, "{r}");
                let error = f["error"].as_str().unwrap();
                assert!(error.contains(text), "{rules:?}: {error}");
            }
            assert_eq!(r["bytes"], data.len() as u64);
            assert_content(&d.path().join("dst"), &data);
            assert_only(d.path(), &["dst", "src"]);
            fs::remove_file(d.path().join("dst")).unwrap();
        }
    }
}

/// `FICLONE` refused on filesystems that can clone: `copy_file_range`
/// takes over, identical content.
#[test]
fn clone_refused_falls_back_on_btrfs_and_xfs() {
    for fs_ in [Fs::Btrfs, Fs::Xfs] {
        let Some(d) = testfs::dir(fs_, "cli_fault_clone_refused") else {
            continue;
        };
        let data = source(d.path(), 2 * MIB + 1);
        for errno in ["EOPNOTSUPP", "EINVAL", "EXDEV"] {
            let rule = format!("ioctl:FICLONE={errno}");
            let out = under(&[&rule], &[])
                .current_dir(d.path())
                .args(["--json", "src", "dst"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{fs_} {rule}: {out:?}");
            let r = record(&out);
            assert_eq!(r["method"], "copy_file_range", "{fs_} {rule}: {r}");
            assert_eq!(r["fallbacks"][0]["method"], "reflink", "{r}");
            assert_eq!(r["fallbacks"].as_array().unwrap().len(), 1, "{r}");
            assert_content(&d.path().join("dst"), &data);
            assert_only(d.path(), &["dst", "src"]);
            fs::remove_file(d.path().join("dst")).unwrap();
        }
        // The same without the filter clones: the fallback came from it.
        let out = under(&[], &[])
            .current_dir(d.path())
            .args(["--json", "src", "dst"])
            .output()
            .unwrap();
        assert_eq!(record(&out)["method"], "reflink", "{fs_}");
    }
}

/// A failure that is not "unsupported" ends the copy: exit 1, a message
/// naming the operation, the path and the error, no destination and no
/// temporary file; an existing destination keeps its old content.
#[track_caller]
fn fatal(fs_: Fs, test: &str, fails: &[&str], flags: &[&str], op: &str, text: &str) {
    let Some(d) = testfs::dir(fs_, test) else {
        return;
    };
    source(d.path(), 2 * MIB + 3);
    under(fails, &[])
        .current_dir(d.path())
        .args(flags)
        .args(["src", "dst"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with("fastcopy: ")
                .and(predicate::str::contains(op))
                .and(predicate::str::contains(text)),
        );
    assert_only(d.path(), &["src"]);
    // The JSON record says the same.
    let out = under(fails, &[])
        .current_dir(d.path())
        .args(["--json"])
        .args(flags)
        .args(["src", "dst"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = record(&out);
    assert_eq!(r["ok"], false);
    assert!(r["error"].as_str().unwrap().contains(text), "{r}");
    assert_only(d.path(), &["src"]);
    // An existing destination keeps its old content.
    fs::write(d.path().join("dst"), b"old").unwrap();
    let out = under(fails, &[])
        .current_dir(d.path())
        .args(flags)
        .args(["src", "dst"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_content(&d.path().join("dst"), b"old");
    assert_only(d.path(), &["dst", "src"]);
}

/// One test per row: the fault, the options, then the words the message
/// must have; each is run by [`fatal`] on a new and an existing
/// destination, with and without `--json`.
macro_rules! fatal_cases {
    ($($(#[doc = $doc:literal])* $name:ident: $fs:ident, $fails:expr, $flags:expr, $op:expr, $text:expr;)*) => {
        $(
            $(#[doc = $doc])*
            #[test]
            fn $name() {
                fatal(Fs::$fs, stringify!($name), $fails, $flags, $op, $text);
            }
        )*
    };
}

fatal_cases! {
    clone_eio_is_fatal_on_btrfs: Btrfs, &["ioctl:FICLONE=EIO"], &[], "failed to clone 'dst' from 'src'", "Input/output error";
    copy_file_range_eio_is_fatal: Ext4, &["copy_file_range=EIO"], &[], "error copying 'src' to 'dst'", "Input/output error";
    copy_file_range_enospc_is_fatal: Ext4, &["copy_file_range=ENOSPC"], &[], "error copying 'src' to 'dst'", "No space left on device";
    copy_file_range_edquot_is_fatal: Ext4, &["copy_file_range=EDQUOT"], &[], "error copying 'src' to 'dst'", "quota exceeded";
    /// `--fsync` is where write-back errors surface: one there ends the copy.
    fsync_eio_is_fatal: Xfs, &["fsync=EIO", "fdatasync=EIO"], &["--fsync"], "cannot flush 'dst' to disk", "Input/output error";
    /// The read/write loop (Btrfs with `--reflink=never`, `splice` refused)
    /// reads 256 KiB at a time; only reads that large fail, so the program
    /// itself still starts.
    read_eio_is_fatal: Btrfs, &["splice=ENOSYS", "read:arg2>=65536=EIO"], &["--reflink=never"], "error copying 'src' to 'dst'", "Input/output error";
    write_eio_is_fatal: Xfs, &["splice=ENOSYS", "write:arg2>=65536=EIO"], &["--reflink=never"], "error copying 'src' to 'dst'", "Input/output error";
    /// `splice` (Btrfs with `--reflink=never`) failing for real ends the copy.
    splice_eio_is_fatal: Btrfs, &["splice=EIO"], &["--reflink=never"], "error copying 'src' to 'dst'", "Input/output error";
    /// A full disk while reserving space is not "unsupported": it ends the copy.
    fallocate_enospc_is_fatal: Ext4, &["fallocate=ENOSPC"], &["--preallocate"], "error copying 'src' to 'dst'", "No space left on device";
}

/// Every other errno ends the copy too: only the listed "not supported
/// here" ones fall back.
#[test]
fn other_copy_file_range_errors_are_fatal() {
    for (errno, text) in [
        ("ENOMEM", "Cannot allocate memory"),
        ("EFBIG", "File too large"),
        ("EROFS", "Read-only file system"),
        ("EACCES", "Permission denied"),
        ("ENOENT", "No such file or directory"),
    ] {
        fatal(
            Fs::Ext4,
            "cli_fault_cfr_other",
            &[&format!("copy_file_range={errno}")],
            &[],
            "error copying 'src' to 'dst'",
            text,
        );
    }
}

/// The finished file cannot be moved into place: error, and the
/// temporary file is removed.
#[test]
fn rename_failure_is_fatal_and_clean() {
    for flags in [&[][..], &["--update=none-fail"][..]] {
        fatal(
            Fs::Ext4,
            "cli_fault_rename_eio",
            // A new destination is given its name by linkat (O_TMPFILE).
            &["rename=EIO", "renameat=EIO", "renameat2=EIO", "linkat=EIO"],
            flags,
            "cannot create regular file 'dst'",
            "Input/output error",
        );
    }
}

#[test]
fn metadata_failures_are_fatal_and_clean() {
    fatal(
        Fs::Btrfs,
        "cli_fault_fchmod",
        &["fchmod=EIO"],
        &[],
        "preserving permissions for 'dst'",
        "Input/output error",
    );
    fatal(
        Fs::Btrfs,
        "cli_fault_utimensat",
        &["utimensat=EIO"],
        &[],
        "preserving times for 'dst'",
        "Input/output error",
    );
}

/// A filesystem refusing `O_DIRECT` (`fcntl(F_SETFL)` answering EINVAL):
/// `--direct-io=always` falls back to the buffered loop.
#[test]
fn direct_io_refused_falls_back() {
    let Some(d) = testfs::dir(Fs::Xfs, "cli_fault_direct_refused") else {
        return;
    };
    let data = source(d.path(), 3 * MIB + 1);
    // F_SETFL is 4.
    let out = under(&["fcntl:arg1==4=EINVAL"], &[])
        .current_dir(d.path())
        .args([
            "--json",
            "--reflink=never",
            "--direct-io=always",
            "src",
            "dst",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    assert_eq!(r["method"], "read_write", "{r}");
    assert_eq!(r["fallbacks"][0]["method"], "direct_io", "{r}");
    assert_content(&d.path().join("dst"), &data);
    assert_only(d.path(), &["dst", "src"]);
    // Without the filter, direct I/O is used: the fallback came from it.
    fs::remove_file(d.path().join("dst")).unwrap();
    let out = under(&[], &[])
        .current_dir(d.path())
        .args([
            "--json",
            "--reflink=never",
            "--direct-io=always",
            "src",
            "dst",
        ])
        .output()
        .unwrap();
    assert_eq!(record(&out)["method"], "direct_io");
}

/// `splice` answering 0 from a non-empty file (as `copy_file_range` does
/// on some filesystems) must not pass an empty file off as the copy: the
/// read/write loop copies. (Before this was caught, the copy was empty.)
#[test]
fn splice_returning_zero_falls_back() {
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_fault_splice_zero") else {
        return;
    };
    let data = source(d.path(), 2 * MIB + 1);
    let out = under(&["splice=0"], &[])
        .current_dir(d.path())
        .args(["--json", "--reflink=never", "src", "dst"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    assert_eq!(r["method"], "read_write", "{r}");
    assert_eq!(r["fallbacks"][0]["method"], "splice", "{r}");
    assert_eq!(r["warnings"], serde_json::json!([]), "{r}");
    assert_content(&d.path().join("dst"), &data);
    assert_only(d.path(), &["dst", "src"]);
}

/// `--preallocate` where `fallocate` is refused: the copy goes on, with a
/// warning.
#[test]
fn fallocate_unsupported_still_copies_with_a_warning() {
    let Some(d) = testfs::dir(Fs::Ext4, "cli_fault_falloc_unsupported") else {
        return;
    };
    let data = source(d.path(), 5 * MIB);
    let out = under(&["fallocate=EOPNOTSUPP"], &[])
        .current_dir(d.path())
        .args(["--json", "--preallocate", "src", "dst"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{r}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("preallocation failed: Operation not supported"),
        "{r}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fastcopy: warning: ") && stderr.contains("preallocation failed"),
        "{stderr}"
    );
    assert_content(&d.path().join("dst"), &data);
    assert_only(d.path(), &["dst", "src"]);
}

/// `FICLONE` answering success without cloning (a filter, or a filesystem
/// bug) must not pass an empty file off as the copy: the next method
/// copies, and `--reflink=always` fails cleanly. (Before this was caught,
/// the copy was an empty file and the report said `reflink`, 0 bytes.)
#[test]
fn clone_returning_success_without_data_is_not_trusted() {
    for fs_ in [Fs::Btrfs, Fs::Xfs] {
        let Some(d) = testfs::dir(fs_, "cli_fault_clone_zero") else {
            continue;
        };
        let data = source(d.path(), MIB + 9);
        let out = under(&["ioctl:FICLONE=0"], &[])
            .current_dir(d.path())
            .args(["--json", "src", "dst"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{fs_}: {out:?}");
        let r = record(&out);
        assert_eq!(r["method"], "copy_file_range", "{fs_}: {r}");
        assert_eq!(r["fallbacks"][0]["method"], "reflink", "{r}");
        assert_eq!(r["bytes"], data.len() as u64, "{r}");
        assert_content(&d.path().join("dst"), &data);
        fs::remove_file(d.path().join("dst")).unwrap();

        under(&["ioctl:FICLONE=0"], &[])
            .current_dir(d.path())
            .args(["--reflink=always", "src", "dst"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("failed to clone 'dst' from 'src'"));
        assert_only(d.path(), &["src"]);
    }
}
