//! `--reflink` on real filesystems: clones where they exist (Btrfs, XFS),
//! clean failures where they do not (ext4, tmpfs).

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use testfs::Fs;

use crate::util::{assert_no_temp, fastcopy, json_lines, names};

const SIZE: usize = 1 << 20;

fn make_source(dir: &Path) -> Vec<u8> {
    let data = testfs::pattern(SIZE, 42);
    fs::write(dir.join("src"), &data).unwrap();
    data
}

/// Copies `src` to `dst` in `dir` with `--json` and `flags`; returns the record.
fn copy_json(dir: &Path, flags: &[&str]) -> serde_json::Value {
    let out = fastcopy()
        .current_dir(dir)
        .arg("--json")
        .args(flags)
        .args(["src", "dst"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut records = json_lines(&out);
    assert_eq!(records.len(), 1);
    records.remove(0)
}

fn reflink_always_fails(fs: Fs, test: &str) {
    let Some(d) = testfs::dir(fs, test) else {
        return;
    };
    make_source(d.path());
    fastcopy()
        .current_dir(d.path())
        .args(["--reflink=always", "src", "dst"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("fastcopy: ").and(predicate::str::contains("clone")));
    assert_eq!(names(d.path()), ["src"], "on {fs}: nothing left behind");
    assert_no_temp(d.path());
}

#[test]
fn reflink_always_fails_on_tmpfs() {
    reflink_always_fails(Fs::Tmpfs, "cli_reflink_always_tmpfs");
}

#[test]
fn reflink_always_fails_on_ext4() {
    reflink_always_fails(Fs::Ext4, "cli_reflink_always_ext4");
}

fn reflink_always_clones(fs: Fs, test: &str) {
    let Some(d) = testfs::dir(fs, test) else {
        return;
    };
    let data = make_source(d.path());
    let v = copy_json(d.path(), &["--reflink=always"]);
    assert_eq!(v["method"], "reflink", "on {fs}: {v}");
    assert_eq!(v["bytes"].as_u64(), Some(SIZE as u64));
    let dst = d.path().join("dst");
    assert_eq!(fs::read(&dst).unwrap(), data);
    let sharing = fastcopy::extent_sharing(&dst).unwrap();
    assert!(sharing.mapped > 0, "on {fs}: {sharing:?}");
    assert_eq!(sharing.shared, sharing.mapped, "on {fs}: {sharing:?}");
    assert_no_temp(d.path());
}

#[test]
fn reflink_always_clones_on_btrfs() {
    reflink_always_clones(Fs::Btrfs, "cli_reflink_always_btrfs");
}

#[test]
fn reflink_always_clones_on_xfs() {
    reflink_always_clones(Fs::Xfs, "cli_reflink_always_xfs");
}

fn reflink_never_copies(fs: Fs, test: &str) {
    let Some(d) = testfs::dir(fs, test) else {
        return;
    };
    let data = make_source(d.path());
    let v = copy_json(d.path(), &["--reflink=never"]);
    assert_ne!(v["method"], "reflink", "on {fs}: {v}");
    let dst = d.path().join("dst");
    assert_eq!(fs::read(&dst).unwrap(), data);
    let sharing = fastcopy::extent_sharing(&dst).unwrap();
    assert!(sharing.mapped > 0, "on {fs}: {sharing:?}");
    assert_eq!(sharing.shared, 0, "on {fs}: {sharing:?}");
    assert_no_temp(d.path());
}

#[test]
fn reflink_never_copies_on_btrfs() {
    reflink_never_copies(Fs::Btrfs, "cli_reflink_never_btrfs");
}

#[test]
fn reflink_never_copies_on_xfs() {
    reflink_never_copies(Fs::Xfs, "cli_reflink_never_xfs");
}

#[test]
fn reflink_auto_clones_on_btrfs() {
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_reflink_auto_btrfs") else {
        return;
    };
    make_source(d.path());
    let v = copy_json(d.path(), &[]);
    assert_eq!(v["method"], "reflink", "{v}");
    assert_eq!(v["fallbacks"], serde_json::json!([]));
    let sharing = fastcopy::extent_sharing(&d.path().join("dst")).unwrap();
    assert_eq!(sharing.shared, sharing.mapped);
    assert_no_temp(d.path());
}

/// On ext4 cloning is known to be impossible: it is not a fallback, so
/// `--debug` names the method that ran and no "after reflink", and `-v`
/// prints cp's line.
#[test]
fn debug_names_no_expected_fallback_on_ext4() {
    let Some(d) = testfs::dir(Fs::Ext4, "cli_verbose_fallback_ext4") else {
        return;
    };
    make_source(d.path());
    fastcopy()
        .current_dir(d.path())
        .args(["--debug", "src", "dst"])
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"^'src' -> 'dst' \((copy_file_range|read_write), 1\.0 MiB, [0-9.]+ (µs|ms|s)\)\n$",
            )
            .unwrap(),
        );
    fastcopy()
        .current_dir(d.path())
        .args(["-v", "src", "dst2"])
        .assert()
        .success()
        .stdout("'src' -> 'dst2'\n");
    let v = copy_json(d.path(), &[]);
    assert_eq!(v["fallbacks"], serde_json::json!([]), "{v}");
    assert_no_temp(d.path());
}

#[test]
fn xattrs_only_with_the_flag() {
    let Some(d) = testfs::dir(Fs::Ext4, "cli_xattrs_ext4") else {
        return;
    };
    make_source(d.path());
    let src = d.path().join("src");
    // ext4 always has user xattrs: a failure here is a failure.
    rustix::fs::setxattr(
        &src,
        "user.fastcopy",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    assert_eq!(
        testfs::xattr(&src, "user.fastcopy").as_deref(),
        Some(&b"kept"[..])
    );

    fastcopy()
        .current_dir(d.path())
        .args(["--xattrs", "src", "with"])
        .assert()
        .success()
        .stderr("");
    fastcopy()
        .current_dir(d.path())
        .args(["src", "without"])
        .assert()
        .success();

    let with = testfs::xattr(&d.path().join("with"), "user.fastcopy");
    assert_eq!(with.as_deref(), Some(&b"kept"[..]));
    assert_eq!(
        testfs::xattr(&d.path().join("without"), "user.fastcopy"),
        None
    );
    assert_no_temp(d.path());
}
