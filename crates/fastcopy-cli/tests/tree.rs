//! `fastcopy -r`: cp's rules for DEST, the tree flags, the exit status,
//! the report, and the open-files limit.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::Duration;

use crate::util::{fastcopy, json_lines, mode, mtime, names, old_mtime, source};

/// src/{f, sub/g, link -> f}, with modes and an old mtime.
fn tree(root: &Path) {
    fs::create_dir_all(root.join("sub")).unwrap();
    source(&root.join("f"), b"file f", 0o640);
    source(&root.join("sub/g"), b"file g", 0o755);
    symlink("f", root.join("link")).unwrap();
}

fn assert_tree(copy: &Path) {
    assert_eq!(names(copy), ["f", "link", "sub"]);
    assert_eq!(fs::read(copy.join("f")).unwrap(), b"file f");
    assert_eq!(fs::read(copy.join("sub/g")).unwrap(), b"file g");
    assert_eq!(mode(&copy.join("f")), 0o640);
    assert_eq!(mode(&copy.join("sub/g")), 0o755);
    assert_eq!(mtime(&copy.join("sub/g")), old_mtime());
    assert_eq!(fs::read_link(copy.join("link")).unwrap(), Path::new("f"));
}

#[test]
fn a_new_dest_becomes_the_copy() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let dst = d.path().join("new");
    fastcopy()
        .arg("-r")
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert_tree(&dst);
}

#[test]
fn an_existing_dest_directory_receives_dest_name() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let dst = d.path().join("existing");
    fs::create_dir(&dst).unwrap();
    fastcopy().arg("-R").arg(&src).arg(&dst).assert().success();
    assert_eq!(names(&dst), ["src"]);
    assert_tree(&dst.join("src"));
    // Again: the copy is refreshed in place, not nested.
    fastcopy().arg("-r").arg(&src).arg(&dst).assert().success();
    assert_eq!(names(&dst), ["src"]);
    assert_eq!(names(&dst.join("src")), ["f", "link", "sub"]);
}

#[test]
fn several_sources_go_into_an_existing_directory() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    tree(&a);
    source(&b, b"plain file", 0o600);
    let dst = d.path().join("dst");
    fastcopy()
        .arg("-r")
        .arg(&a)
        .arg(&b)
        .arg(&dst)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("dst"));
    assert!(!dst.exists());
    fs::create_dir(&dst).unwrap();
    fastcopy()
        .arg("-r")
        .arg(&a)
        .arg(&b)
        .arg(&dst)
        .assert()
        .success();
    assert_eq!(names(&dst), ["a", "b"]);
    assert_tree(&dst.join("a"));
    assert_eq!(fs::read(dst.join("b")).unwrap(), b"plain file");
}

#[test]
fn without_r_a_directory_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    fastcopy()
        .arg(&src)
        .arg(d.path().join("dst"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "-r not specified; omitting directory",
        ));
    assert!(!d.path().join("dst").exists());
}

#[test]
fn into_itself_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    fastcopy()
        .arg("-r")
        .arg(&src)
        .arg(src.join("sub"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("into itself"));
    assert_eq!(names(&src.join("sub")), ["g"]);
}

#[test]
fn update_skips_files_that_are_current() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    // Into an existing directory both times: DEST/src.
    let out_dir = d.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let dst = out_dir.join("src");
    fastcopy()
        .arg("-r")
        .arg(&src)
        .arg(&out_dir)
        .assert()
        .success();
    // The copy of f was edited (newer, another size: never overwritten,
    // issue 13); g's source changed and is newer than its copy.
    fs::write(dst.join("f"), b"edit f, longer").unwrap();
    source(&src.join("sub/g"), b"file g, longer", 0o755);
    fs::File::options()
        .write(true)
        .open(src.join("sub/g"))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    let out = fastcopy()
        .args(["-r", "--update", "--json", "--stats"])
        .arg(&src)
        .arg(&out_dir)
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0]["tree"]["up_to_date"].as_u64().unwrap() >= 1,
        "{lines:?}"
    );
    assert_eq!(lines[0]["stats"]["files"], 1);
    assert_eq!(fs::read(dst.join("f")).unwrap(), b"edit f, longer");
    assert_eq!(fs::read(dst.join("sub/g")).unwrap(), b"file g, longer");
}

#[test]
fn json_and_stats_give_the_tree_report() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let out = fastcopy()
        .args(["-r", "--json", "--stats"])
        .arg(&src)
        .arg(d.path().join("dst"))
        .assert()
        .success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let t = &lines[0];
    assert_eq!(t["ok"], true);
    assert_eq!(t["tree"]["directories"], 2);
    assert_eq!(t["tree"]["symlinks"], 1);
    assert_eq!(t["stats"]["files"], 2);
    assert_eq!(t["stats"]["bytes"], 12);
    assert!(t["stats"]["methods"].is_object());
    assert_eq!(t["errors"], serde_json::json!([]));
    assert_eq!(lines[1]["stats"]["files"], 2);
    assert_eq!(lines[1]["tree"]["directories"], 2);

    let out = fastcopy()
        .args(["-r", "--stats"])
        .arg(&src)
        .arg(d.path().join("dst2"))
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    for want in [
        "files:          2",
        "directories:    2",
        "symlinks:       1",
        "fallback rate:",
    ] {
        assert!(err.contains(want), "{want} in {err}");
    }
}

#[test]
fn one_job_and_the_default_give_the_same_tree() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..20 {
        let dir = src.join(format!("d{i}/e{}", i % 3));
        fs::create_dir_all(&dir).unwrap();
        for j in 0..30 {
            fs::write(dir.join(format!("f{j}")), format!("{i}/{j}")).unwrap();
        }
    }
    for jobs in ["1", "0", "7"] {
        let dst = d.path().join(format!("dst{jobs}"));
        let out = fastcopy()
            .args(["-r", "--json", "-j", jobs])
            .arg(&src)
            .arg(&dst)
            .assert()
            .success();
        let lines = json_lines(&out.get_output().stdout);
        assert_eq!(lines[0]["stats"]["files"], 600, "-j {jobs}");
        if jobs == "1" {
            assert_eq!(lines[0]["tree"]["jobs"], 1);
        }
        for i in 0..20 {
            let dir = dst.join(format!("d{i}/e{}", i % 3));
            assert_eq!(fs::read_dir(&dir).unwrap().count(), 30);
            assert_eq!(
                fs::read(dir.join("f29")).unwrap(),
                format!("{i}/29").as_bytes()
            );
        }
    }
}

/// With 256 open files at most, a wide and a deep tree still copy, with
/// many workers asked for.
#[test]
fn works_with_256_open_files() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..300 {
        let dir = src.join(format!("wide/d{i}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("f"), b"w").unwrap();
    }
    let mut deep = src.join("deep");
    for i in 0..300 {
        deep.push(format!("{}", i % 10));
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("f"), b"d").unwrap();
    }
    let dst = d.path().join("dst");
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -n 256 && exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_fastcopy"),
        "-r",
        "-j",
        "64",
        "--json",
    ])
    .arg(&src)
    .arg(&dst)
    .timeout(Duration::from_secs(120));
    let out = cmd.assert().success();
    let lines = json_lines(&out.get_output().stdout);
    assert_eq!(lines[0]["stats"]["files"], 600);
    assert_eq!(lines[0]["tree"]["directories"], 603);
    assert!(lines[0]["tree"]["jobs"].as_u64().unwrap() <= 64);
    let mut deep = dst.join("deep");
    for i in 0..300 {
        deep.push(format!("{}", i % 10));
    }
    assert_eq!(fs::read(deep.join("f")).unwrap(), b"d");
}

/// As an unprivileged user (root reads everything): the unreadable
/// directory is an error naming it, the rest is copied, exit status 1.
#[test]
fn unreadable_directory_fails_the_copy_but_not_the_rest() {
    if !is_root()
        || std::process::Command::new("setpriv")
            .arg("--help")
            .output()
            .is_err()
    {
        eprintln!(
            "SKIPPED unreadable_directory_fails_the_copy_but_not_the_rest: needs root and setpriv"
        );
        return;
    }
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let src = d.path().join("src");
    fs::create_dir_all(src.join("closed")).unwrap();
    fs::create_dir_all(src.join("open")).unwrap();
    fs::write(src.join("closed/secret"), b"s").unwrap();
    fs::write(src.join("open/f"), b"o").unwrap();
    fs::write(src.join("top"), b"t").unwrap();
    for p in ["", "open", "closed"] {
        fs::set_permissions(src.join(p), fs::Permissions::from_mode(0o755)).unwrap();
    }
    for f in ["open/f", "top", "closed/secret"] {
        fs::set_permissions(src.join(f), fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(src.join("closed"), fs::Permissions::from_mode(0o700)).unwrap();
    let dst = d.path().join("dst");
    let mut cmd = assert_cmd::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_fastcopy"))
        .arg("-r")
        .arg(&src)
        .arg(&dst)
        .timeout(Duration::from_secs(60));
    let out = cmd.assert().code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("fastcopy: cannot access '"), "{err}");
    assert!(
        err.contains(&src.join("closed").display().to_string()),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("is incomplete: 1 not copied"), "{err}");
    assert_eq!(fs::read(dst.join("open/f")).unwrap(), b"o");
    assert_eq!(fs::read(dst.join("top")).unwrap(), b"t");
    assert!(!dst.join("closed/secret").exists());
    assert_eq!(fs::metadata(dst.join("top")).unwrap().uid(), 65534);
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..5 {
        fs::create_dir_all(src.join(format!("d{i}"))).unwrap();
    }
    // Files where the copy's directories go (DEST/src/dI): one failure each.
    let prepare = |dst: &Path| {
        fs::create_dir_all(dst.join("src")).unwrap();
        for i in 0..5 {
            fs::write(dst.join(format!("src/d{i}")), b"in the way").unwrap();
        }
    };
    let all = d.path().join("all");
    prepare(&all);
    let out = fastcopy()
        .args(["-r", "-j", "1"])
        .arg(&src)
        .arg(&all)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    // One line per failed entry, then the summary.
    assert_eq!(err.lines().count(), 6, "{err}");
    assert!(err.contains("cannot overwrite non-directory"), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .ends_with("is incomplete: 5 not copied, 0 files copied"),
        "{err}"
    );

    let fast = d.path().join("fast");
    prepare(&fast);
    let out = fastcopy()
        .args(["-r", "-j", "1", "--fail-fast"])
        .arg(&src)
        .arg(&fast)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert_eq!(err.lines().count(), 2, "{err}");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `-v` with `-r`: one line per entry in cp's format (the directory first),
/// `--debug` adds how each file was copied.
#[test]
fn verbose_prints_every_entry_as_cp() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let out = fastcopy()
        .current_dir(d.path())
        .args(["-rv", "src", "new"])
        .assert()
        .success()
        .stderr("");
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "'src' -> 'new'");
    lines.sort();
    for want in [
        "'src/sub' -> 'new/sub'",
        "'src/f' -> 'new/f'",
        "'src/link' -> 'new/link'",
        "'src/sub/g' -> 'new/sub/g'",
    ] {
        assert!(lines.contains(&want), "{want} in {text}");
    }
    let out = fastcopy()
        .current_dir(d.path())
        .args(["-r", "--debug", "src", "new2"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("'src/link' -> 'new2/link' (symlink)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("'src/f' -> 'new2/f' (") && l.contains(", 6 B")),
        "{text}"
    );
}

/// `-rn` leaves existing files alone and exits 0 (cp 9.5); with
/// `--update=none-fail` each one is an error.
#[test]
fn no_clobber_tree_skips_with_exit_0() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let dst = d.path().join("dst");
    fs::create_dir_all(dst.join("sub")).unwrap();
    fs::write(dst.join("f"), b"mine").unwrap();
    fastcopy()
        .args(["-rn"])
        .arg(&src)
        .arg(&dst)
        .arg("-T")
        .assert()
        .success()
        .stderr("");
    assert_eq!(fs::read(dst.join("f")).unwrap(), b"mine");
    assert_eq!(fs::read(dst.join("sub/g")).unwrap(), b"file g");
    let out = fastcopy()
        .args(["-rT", "--update=none-fail"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("not replacing"), "{err}");
    assert_eq!(fs::read(dst.join("f")).unwrap(), b"mine");
}

/// SIGINT, SIGTERM, SIGHUP during `-r` into a new destination: the copy
/// stops, the staging directory is removed, nothing is left, exit 128+N.
#[test]
fn an_interrupt_stops_a_tree_copy_and_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    for i in 0..40 {
        let dir = src.join(format!("d{i}"));
        fs::create_dir_all(&dir).unwrap();
        for j in 0..100 {
            fs::write(dir.join(format!("f{j}")), vec![j as u8; 20_000]).unwrap();
        }
    }
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out_dir = d.path().join(format!("out-{signal}"));
        fs::create_dir(&out_dir).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_fastcopy"))
            .args(["-r", "-j", "1", "--reflink=never"])
            .arg(&src)
            .arg(out_dir.join("copy"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The staging directory appears once the handler is installed.
        let started = std::time::Instant::now();
        while names(&out_dir).is_empty() {
            assert!(started.elapsed() < Duration::from_secs(20), "no staging");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            // Finished before the signal: then it is complete.
            eprintln!("SIG{signal}: the copy finished first");
            continue;
        }
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "SIG{signal}: {stderr}");
        assert_eq!(names(&out_dir), Vec::<String>::new(), "SIG{signal}");
    }
}

/// `--parents` creates nothing when the copy fails.
#[test]
fn parents_are_removed_when_the_copy_fails() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("a.txt"), b"a").unwrap();
    fastcopy()
        .current_dir(d.path())
        .args(["--parents", "--reflink=always", "a.txt", "p2/q/a.txt"])
        .assert()
        .failure();
    // Cloning fails on most filesystems; where it works the copy is there.
    if !d.path().join("p2/q/a.txt").exists() {
        assert!(!d.path().join("p2").exists(), "{:?}", names(d.path()));
    }
    // The example of issue 14: a destination naming a directory that
    // does not exist.
    fastcopy()
        .current_dir(d.path())
        .args(["--parents", "a.txt", "p2/q/"])
        .assert()
        .code(1);
    assert!(!d.path().join("p2").exists(), "{:?}", names(d.path()));
    fastcopy()
        .current_dir(d.path())
        .args(["--parents", "missing", "p3/q/x"])
        .assert()
        .code(1);
    assert!(!d.path().join("p3").exists());
    fastcopy()
        .current_dir(d.path())
        .args(["--parents", "a.txt", "p4/q/x"])
        .assert()
        .success();
    assert_eq!(fs::read(d.path().join("p4/q/x")).unwrap(), b"a");
}
