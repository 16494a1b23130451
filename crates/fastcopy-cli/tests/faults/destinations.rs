//! Destinations that cannot or must not be written: a read-only mount, a
//! directory the user may not write to, a dangling symlink, a symlink to
//! another file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use predicates::prelude::*;
use testfs::Fs;

use super::{assert_content, assert_only, root_or_skip, sh, under};

/// A read-only bind mount of a directory; unmounted on drop.
struct ReadOnlyBind(std::path::PathBuf);

impl ReadOnlyBind {
    fn new(dir: &Path, mnt: &Path) -> ReadOnlyBind {
        fs::create_dir(mnt).unwrap();
        let (dir_s, mnt_s) = (dir.to_str().unwrap(), mnt.to_str().unwrap());
        sh(&["mount", "--bind", dir_s, mnt_s]);
        let bind = ReadOnlyBind(mnt.to_path_buf());
        sh(&["mount", "-o", "remount,bind,ro", mnt_s]);
        bind
    }
}

impl Drop for ReadOnlyBind {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// EROFS: a clean error naming the destination and the reason, the old
/// file (seen through the writable path) intact, nothing created.
#[test]
fn read_only_mount_is_refused() {
    if !root_or_skip("cli_dest_erofs") {
        return;
    }
    let Some(d) = testfs::dir(Fs::Xfs, "cli_dest_erofs") else {
        return;
    };
    let data = testfs::pattern(1 << 20, 60);
    let src = d.path().join("src");
    fs::write(&src, &data).unwrap();
    let target = d.path().join("target");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("old"), b"old").unwrap();
    let ro = ReadOnlyBind::new(&target, &d.path().join("ro"));
    for (dst, flags) in [
        ("new", &[][..]),
        ("old", &[][..]),
        ("new", &["--reflink=never"][..]),
    ] {
        under(&[], &[])
            .args(flags)
            .arg(&src)
            .arg(ro.0.join(dst))
            .assert()
            .code(1)
            .stderr(
                predicate::str::contains("cannot create regular file")
                    .and(predicate::str::contains("Read-only file system"))
                    .and(predicate::str::contains(dst)),
            );
    }
    assert_only(&target, &["old"]);
    assert_content(&target.join("old"), b"old");
}

/// Run as user `nobody` (65534) with no groups: a directory it cannot
/// write to is refused with EACCES and nothing appears; one it can write
/// to works, so the refusal came from the permissions.
#[test]
fn unwritable_directory_as_unprivileged_user() {
    if !root_or_skip("cli_dest_eacces") {
        return;
    }
    let Some(d) = testfs::dir(Fs::Ext4, "cli_dest_eacces") else {
        return;
    };
    let p = d.path();
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    // The binary where `nobody` may run it.
    let bin = p.join("fastcopy");
    fs::copy(env!("CARGO_BIN_EXE_fastcopy"), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let data = testfs::pattern(300_000, 61);
    fs::write(p.join("src"), &data).unwrap();
    fs::set_permissions(p.join("src"), fs::Permissions::from_mode(0o644)).unwrap();
    let locked = p.join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("old"), b"old").unwrap();
    fs::set_permissions(locked.join("old"), fs::Permissions::from_mode(0o666)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let open = p.join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();

    let as_nobody = |dst: &Path| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .arg(p.join("src"))
            .arg(dst)
            .output()
            .unwrap()
    };
    for dst in ["new", "old"] {
        let out = as_nobody(&locked.join(dst));
        assert_eq!(out.status.code(), Some(1), "{dst}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot create regular file") && stderr.contains("Permission denied"),
            "{stderr}"
        );
    }
    assert_only(&locked, &["old"]);
    assert_content(&locked.join("old"), b"old");

    let out = as_nobody(&open.join("new"));
    assert!(out.status.success(), "{out:?}");
    assert_content(&open.join("new"), &data);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(open.join("new")).unwrap().uid(), 65534);
}

/// A dangling symlink is never written through: error, the link as it
/// was, its target not created, nothing left.
#[test]
fn dangling_symlink_is_refused() {
    let Some(d) = testfs::dir(Fs::Btrfs, "cli_dest_dangling") else {
        return;
    };
    let p = d.path();
    fs::write(p.join("src"), b"data").unwrap();
    std::os::unix::fs::symlink("missing", p.join("link")).unwrap();
    for flags in [&[][..], &["-n"][..], &["--reflink=always"][..]] {
        under(&[], &[])
            .current_dir(p)
            .args(flags)
            .args(["src", "link"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("dangling symlink"));
        assert_eq!(fs::read_link(p.join("link")).unwrap(), Path::new("missing"));
        assert_only(p, &["link", "src"]);
    }
}

/// A symlink to another file: the data goes to the file it points to (as
/// `cp` does), the link stays a link; with `-n` the existing file is kept.
#[test]
fn symlink_to_a_file_is_written_through() {
    let Some(d) = testfs::dir(Fs::Xfs, "cli_dest_symlink") else {
        return;
    };
    let p = d.path();
    let data = testfs::pattern(2 << 20, 62);
    fs::write(p.join("src"), &data).unwrap();
    fs::write(p.join("target"), b"old").unwrap();
    std::os::unix::fs::symlink("target", p.join("link")).unwrap();
    under(&[], &[])
        .current_dir(p)
        .args(["--update=none-fail", "src", "link"])
        .assert()
        .code(1)
        .stderr("fastcopy: not replacing 'link'\n");
    assert_content(&p.join("target"), b"old");
    under(&[], &[])
        .current_dir(p)
        .args(["-n", "src", "link"])
        .assert()
        .success()
        .stderr("");
    assert_content(&p.join("target"), b"old");
    under(&[], &[])
        .current_dir(p)
        .args(["src", "link"])
        .assert()
        .success();
    assert_eq!(fs::read_link(p.join("link")).unwrap(), Path::new("target"));
    assert_content(&p.join("target"), &data);
    assert_only(p, &["link", "src", "target"]);
}
