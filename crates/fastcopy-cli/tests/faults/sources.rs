//! Sources of unusual kinds: overlayfs (lower ext4, upper XFS), procfs
//! and sysfs files, a NOCOW (`chattr +C`) file on Btrfs; and an immutable
//! destination followed by a normal copy in the same process.

use std::fs;
use std::path::Path;

use testfs::Fs;

use super::{MIB, assert_content, assert_only, record, root_or_skip, sh, under};
use crate::util::json_lines;

/// An overlay mount; unmounted on drop.
struct Overlay(std::path::PathBuf);

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// Files read through overlayfs (one only in the lower ext4 layer, one
/// copied up to the XFS upper layer) copy identically to ext4, to XFS and
/// into the overlay itself.
#[test]
fn overlayfs_lower_ext4_upper_xfs() {
    if !root_or_skip("cli_src_overlay") {
        return;
    }
    let (Some(lower), Some(upper_fs)) = (
        testfs::dir(Fs::Ext4, "cli_src_overlay_lower"),
        testfs::dir(Fs::Xfs, "cli_src_overlay_upper"),
    ) else {
        return;
    };
    let lower_data = testfs::pattern(6 * MIB + 11, 70);
    fs::write(lower.path().join("lower-only"), &lower_data).unwrap();
    fs::write(lower.path().join("changed"), b"before").unwrap();
    let (upper, work, merged) = (
        upper_fs.path().join("upper"),
        upper_fs.path().join("work"),
        upper_fs.path().join("merged"),
    );
    for dir in [&upper, &work, &merged] {
        fs::create_dir(dir).unwrap();
    }
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.path().display(),
        upper.display(),
        work.display()
    );
    sh(&[
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        &opts,
        merged.to_str().unwrap(),
    ]);
    let _overlay = Overlay(merged.clone());
    // Copied up to the upper layer by this write.
    let changed_data = testfs::pattern(3 * MIB + 5, 71);
    fs::write(merged.join("changed"), &changed_data).unwrap();
    assert!(upper.join("changed").exists());

    let Some(ext4_out) = testfs::dir(Fs::Ext4, "cli_src_overlay_out") else {
        return;
    };
    let xfs_out = upper_fs.path().join("out");
    fs::create_dir(&xfs_out).unwrap();
    let in_overlay = merged.join("out");
    fs::create_dir(&in_overlay).unwrap();
    for (name, data) in [("lower-only", &lower_data), ("changed", &changed_data)] {
        for out_dir in [ext4_out.path(), xfs_out.as_path(), in_overlay.as_path()] {
            for flags in [&[][..], &["--reflink=never"][..]] {
                let dst = out_dir.join(name);
                let out = under(&[], &[])
                    .args(["--json"])
                    .args(flags)
                    .arg(merged.join(name))
                    .arg(&dst)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{name} -> {}: {out:?}", dst.display());
                let r = record(&out);
                assert_eq!(r["bytes"], data.len() as u64, "{r}");
                assert_content(&dst, data);
                fs::remove_file(&dst).unwrap();
            }
        }
    }
    assert_only(&in_overlay, &[]);
}

/// procfs files say they are empty, sysfs files say 4096 bytes: the copy
/// holds what reading them gives, no more, no less.
#[test]
fn procfs_and_sysfs_files() {
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_src_pseudo") else {
        return;
    };
    for src in [
        "/proc/version",
        "/proc/filesystems",
        "/sys/devices/system/cpu/online",
        "/sys/kernel/mm/transparent_hugepage/enabled",
    ] {
        if !Path::new(src).exists() {
            continue;
        }
        let dst = d.path().join("copy");
        let out = under(&[], &[])
            .args(["--json", src])
            .arg(&dst)
            .output()
            .unwrap();
        assert!(out.status.success(), "{src}: {out:?}");
        let want = fs::read(src).unwrap();
        assert!(!want.is_empty());
        assert_content(&dst, &want);
        let r = record(&out);
        assert_eq!(r["bytes"], want.len() as u64, "{src}: {r}");
        assert_eq!(r["warnings"], serde_json::json!([]), "{src}: {r}");
        fs::remove_file(&dst).unwrap();
    }
}

/// A NOCOW file (`chattr +C`) on Btrfs cannot be cloned into a COW file:
/// the clone is refused and the data copied; into a NOCOW directory (new
/// files inherit +C) it clones.
#[test]
fn nocow_source_on_btrfs() {
    if !root_or_skip("cli_src_nocow") {
        return;
    }
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_src_nocow") else {
        return;
    };
    let p = d.path();
    let src = p.join("src");
    fs::File::create(&src).unwrap();
    sh(&["chattr", "+C", src.to_str().unwrap()]);
    let data = testfs::pattern(5 * MIB + 3, 72);
    fs::write(&src, &data).unwrap();
    assert!(sh(&["lsattr", src.to_str().unwrap()]).contains('C'));

    let out = under(&[], &[])
        .current_dir(p)
        .args(["--json", "src", "dst"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r = record(&out);
    assert_ne!(r["method"], "reflink", "{r}");
    assert_eq!(r["fallbacks"][0]["method"], "reflink", "{r}");
    assert_content(&p.join("dst"), &data);

    let nocow = p.join("nocow");
    fs::create_dir(&nocow).unwrap();
    sh(&["chattr", "+C", nocow.to_str().unwrap()]);
    let out = under(&[], &[])
        .current_dir(p)
        .args(["--json", "src", "nocow/dst"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(record(&out)["method"], "reflink");
    assert_content(&nocow.join("dst"), &data);
    assert_only(p, &["dst", "nocow", "src"]);
}

/// Lifts `chattr +i` on drop, so the test directory can be removed.
struct Immutable(std::path::PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

/// Several sources in one process: the first onto an immutable file
/// fails (EPERM at the rename), the second is still cloned (the failure
/// did not turn cloning off), and nothing is left behind.
#[test]
fn immutable_destination_then_a_clone_in_the_same_process() {
    if !root_or_skip("cli_src_immutable") {
        return;
    }
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_src_immutable") else {
        return;
    };
    let p = d.path();
    let (a, b) = (testfs::pattern(MIB, 73), testfs::pattern(2 * MIB, 74));
    fs::write(p.join("a"), &a).unwrap();
    fs::write(p.join("b"), &b).unwrap();
    let out_dir = p.join("out");
    fs::create_dir(&out_dir).unwrap();
    fs::write(out_dir.join("a"), b"frozen").unwrap();
    let frozen = Immutable(out_dir.join("a"));
    sh(&["chattr", "+i", frozen.0.to_str().unwrap()]);

    let out = under(&[], &[])
        .current_dir(p)
        .args(["--json", "a", "b", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["ok"], false, "{}", records[0]);
    assert!(
        records[0]["error"]
            .as_str()
            .unwrap()
            .ends_with("'out/a': Operation not permitted"),
        "{}",
        records[0]
    );
    assert_eq!(records[1]["ok"], true);
    assert_eq!(records[1]["method"], "reflink", "{}", records[1]);
    assert_eq!(records[1]["fallbacks"], serde_json::json!([]));
    assert_content(&out_dir.join("a"), b"frozen");
    assert_content(&out_dir.join("b"), &b);
    assert_only(&out_dir, &["a", "b"]);
}
