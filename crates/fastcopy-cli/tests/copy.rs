//! What lands on disk: content, times, permissions, overwrite rules,
//! several sources, parent creation.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::util::{assert_no_temp, fastcopy, mode, mtime, names, old_mtime, source};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// Runs the binary under `sh` with umask 027, so that the umask certainly
/// matters (0o666 & !0o027 == 0o640).
fn fastcopy_umask_027() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.args([
        "-c",
        "umask 027 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_fastcopy"),
    ]);
    cmd.timeout(Duration::from_secs(60));
    cmd
}

#[test]
fn copies_content_mtime_and_mode() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    let content = data((1 << 20) + 123);
    source(&src, &content, 0o640);

    fastcopy()
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stdout("")
        .stderr("");

    assert_eq!(fs::read(&dst).unwrap(), content);
    assert_eq!(mtime(&dst), old_mtime());
    assert_eq!(mtime(&dst), mtime(&src));
    assert_eq!(mode(&dst), 0o640);
    assert_eq!(fs::read(&src).unwrap(), content, "source untouched");
    assert_no_temp(d.path());
}

#[test]
fn copies_an_empty_file() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"", 0o600);
    fastcopy().arg(&src).arg(&dst).assert().success();
    assert_eq!(fs::read(&dst).unwrap(), b"");
    assert_eq!(mtime(&dst), old_mtime());
    assert_no_temp(d.path());
}

#[test]
fn replaces_an_existing_destination_by_default() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"new content", 0o644);
    fs::write(&dst, b"old content that is longer").unwrap();

    fastcopy().arg(&src).arg(&dst).assert().success();

    assert_eq!(fs::read(&dst).unwrap(), b"new content");
    assert_eq!(names(d.path()), ["dst", "src"]);
    assert_no_temp(d.path());
}

#[test]
fn no_preserve_mode_applies_the_umask() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    source(&src, b"x", 0o666);

    let kept = d.path().join("kept");
    fastcopy_umask_027().arg(&src).arg(&kept).assert().success();
    assert_eq!(mode(&kept), 0o666, "kept by default, whatever the umask");

    let masked = d.path().join("masked");
    fastcopy_umask_027()
        .arg("--no-preserve=mode")
        .arg(&src)
        .arg(&masked)
        .assert()
        .success();
    assert_eq!(mode(&masked), 0o640);
    assert_eq!(mtime(&masked), old_mtime(), "times are still kept");
    assert_no_temp(d.path());
}

#[test]
fn no_preserve_timestamps_gives_a_fresh_mtime() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"x", 0o640);
    // Filesystem clocks may be coarser than SystemTime::now().
    let before = SystemTime::now() - Duration::from_secs(2);

    fastcopy()
        .arg("--no-preserve=timestamps")
        .arg(&src)
        .arg(&dst)
        .assert()
        .success();

    let m = mtime(&dst);
    assert!(m >= before, "mtime {m:?} is not fresh (before: {before:?})");
    assert_ne!(m, old_mtime());
    assert_eq!(mode(&dst), 0o640, "mode is still kept");
    assert_no_temp(d.path());
}

#[test]
fn no_preserve_all_drops_both() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"x", 0o666);
    let before = SystemTime::now() - Duration::from_secs(2);

    fastcopy_umask_027()
        .arg("--no-preserve=all")
        .arg(&src)
        .arg(&dst)
        .assert()
        .success();

    assert_eq!(mode(&dst), 0o640);
    assert!(mtime(&dst) >= before);
    assert_no_temp(d.path());
}

#[test]
fn no_clobber_leaves_the_destination_alone() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"new", 0o644);
    fs::write(&dst, b"precious old content").unwrap();
    let before = fs::metadata(&dst).unwrap();

    for (flag, code) in [
        ("-n", 0),
        ("--no-clobber", 0),
        ("--update=none", 0),
        ("--update=none-fail", 1),
    ] {
        let out = fastcopy()
            .arg(flag)
            .arg(&src)
            .arg(&dst)
            .assert()
            .code(code)
            .stdout("");
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        if code == 0 {
            assert_eq!(stderr, "", "{flag}: cp 9.5 skips silently");
        } else {
            assert_eq!(
                stderr,
                format!("fastcopy: not replacing '{}'\n", dst.display())
            );
        }
        assert_eq!(fs::read(&dst).unwrap(), b"precious old content");
        let after = fs::metadata(&dst).unwrap();
        assert_eq!(after.modified().unwrap(), before.modified().unwrap());
        assert_eq!(after.permissions(), before.permissions());
    }
    assert_eq!(names(d.path()), ["dst", "src"]);
    assert_no_temp(d.path());
}

#[test]
fn no_clobber_copies_when_nothing_is_there() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"abc", 0o644);
    fastcopy().arg("-n").arg(&src).arg(&dst).assert().success();
    assert_eq!(fs::read(&dst).unwrap(), b"abc");
    assert_no_temp(d.path());
}

#[test]
fn one_source_into_an_existing_directory() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    source(&src, b"into", 0o644);

    fastcopy().arg(&src).arg(&dir).assert().success();

    assert_eq!(fs::read(dir.join("src")).unwrap(), b"into");
    assert_eq!(mtime(&dir.join("src")), old_mtime());
    assert_eq!(names(&dir), ["src"]);
}

#[test]
fn several_sources_into_a_directory() {
    let d = tempfile::tempdir().unwrap();
    let sub = d.path().join("sub");
    let dir = d.path().join("dir");
    fs::create_dir(&sub).unwrap();
    fs::create_dir(&dir).unwrap();
    let (a, b, c) = (d.path().join("a"), d.path().join("b"), sub.join("c"));
    source(&a, b"aaa", 0o600);
    source(&b, &data(70_000), 0o640);
    source(&c, b"", 0o644);

    fastcopy()
        .args([&a, &b, &c, &dir])
        .assert()
        .success()
        .stderr("");

    assert_eq!(names(&dir), ["a", "b", "c"]);
    assert_eq!(fs::read(dir.join("a")).unwrap(), b"aaa");
    assert_eq!(fs::read(dir.join("b")).unwrap(), data(70_000));
    assert_eq!(fs::read(dir.join("c")).unwrap(), b"");
    assert_eq!(mode(&dir.join("b")), 0o640);
    assert_eq!(mtime(&dir.join("a")), old_mtime());
    assert_no_temp(&dir);
}

#[test]
fn several_sources_need_an_existing_directory() {
    let d = tempfile::tempdir().unwrap();
    let (a, b, file) = (
        d.path().join("a"),
        d.path().join("b"),
        d.path().join("file"),
    );
    source(&a, b"a", 0o644);
    source(&b, b"b", 0o644);
    fs::write(&file, b"not a directory").unwrap();
    let before = names(d.path());

    fastcopy()
        .args([&a, &b, &file])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("Not a directory"));
    assert_eq!(fs::read(&file).unwrap(), b"not a directory");

    let missing = d.path().join("missing");
    fastcopy().args([&a, &b, &missing]).assert().code(1);
    // Not even with --parents: several sources need an existing directory.
    fastcopy()
        .arg("--parents")
        .args([&a, &b, &missing])
        .assert()
        .code(1);

    assert_eq!(names(d.path()), before, "nothing written");
    assert_eq!(fs::read(&a).unwrap(), b"a");
}

#[test]
fn parents_creates_missing_directories() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    source(&src, b"deep", 0o644);
    let dst = d.path().join("a/b/c/file");

    fastcopy().arg(&src).arg(&dst).assert().code(1);
    assert!(
        !d.path().join("a").exists(),
        "nothing created without --parents"
    );

    fastcopy()
        .arg("--parents")
        .arg(&src)
        .arg(&dst)
        .assert()
        .success();
    assert!(Path::new(&d.path().join("a/b/c")).is_dir());
    assert_eq!(fs::read(&dst).unwrap(), b"deep");
    assert_eq!(names(&d.path().join("a/b/c")), ["file"]);
}

#[test]
fn accepted_options_still_copy_exactly() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let content = data(300_000);
    source(&src, &content, 0o640);
    for (i, flags) in [
        &["--fsync"][..],
        &["--preallocate"],
        &["--xattrs"],
        &["--reflink=never"],
        &["--direct-io=never"],
        &["--direct-io=always", "--reflink=never"],
        &["--no-progress"],
    ]
    .iter()
    .enumerate()
    {
        let dst = d.path().join(format!("dst{i}"));
        fastcopy()
            .args(*flags)
            .arg(&src)
            .arg(&dst)
            .assert()
            .success();
        assert_eq!(fs::read(&dst).unwrap(), content, "{flags:?}");
        assert_eq!(mtime(&dst), old_mtime(), "{flags:?}");
        assert_eq!(mode(&dst), 0o640, "{flags:?}");
    }
    assert_no_temp(d.path());
}

/// Replacing a destination that has other hard links says so (they keep
/// the old content); `--in-place` writes into the same inode instead, so
/// every link sees the new content.
#[test]
fn hard_links_of_the_destination_replaced_or_written_in_place() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    let (src, dst, other) = (
        d.path().join("src"),
        d.path().join("dst"),
        d.path().join("other"),
    );
    source(&src, b"new content", 0o644);
    fs::write(&dst, b"old").unwrap();
    fs::hard_link(&dst, &other).unwrap();
    fastcopy()
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stderr(format!(
            "fastcopy: warning: '{}': the replaced destination had 1 other hard link, \
         which keeps the old content\n",
            dst.display()
        ));
    assert_eq!(fs::read(&dst).unwrap(), b"new content");
    assert_eq!(fs::read(&other).unwrap(), b"old");

    fs::remove_file(&dst).unwrap();
    fs::hard_link(&other, &dst).unwrap();
    let ino = fs::metadata(&dst).unwrap().ino();
    fastcopy()
        .args(["--in-place"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stderr("");
    assert_eq!(fs::metadata(&dst).unwrap().ino(), ino);
    assert_eq!(fs::read(&other).unwrap(), b"new content");
    assert_eq!(mtime(&dst), old_mtime());
    assert_no_temp(d.path());
}

/// `-i` asks on stderr and reads stdin: y replaces, n or no answer keeps
/// (exit 0); `-i` with `-r` is a usage error.
#[test]
fn interactive_asks_and_reads_stdin() {
    let d = tempfile::tempdir().unwrap();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    source(&src, b"new", 0o644);
    for (answer, want) in [("n\n", &b"old"[..]), ("", b"old"), ("y\n", b"new")] {
        fs::write(&dst, b"old").unwrap();
        fastcopy()
            .arg("-i")
            .arg(&src)
            .arg(&dst)
            .write_stdin(answer)
            .assert()
            .success()
            .stderr(predicates::str::starts_with(format!(
                "fastcopy: overwrite '{}'? ",
                dst.display()
            )));
        assert_eq!(fs::read(&dst).unwrap(), want, "{answer:?}");
    }
    fastcopy()
        .args(["-ri"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2);
}
