//! The same command lines run by GNU cp and by fastcopy on two copies of
//! the same tree: the outcome (exit status class, names, kinds, content,
//! link targets, and with -p/-a mode and mtime) must agree wherever
//! docs/cp-compat.md says they do. The installed cp is coreutils 9.1
//! (Debian 12); cp 9.5 behaviours that 9.1 lacks (--update=none,
//! none-fail) are checked against their documented outcome in
//! [`documented_9_5_behaviours`].

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::util::{assert_no_temp, fastcopy, old_mtime, source};

/// What is at one path of a tree.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Link(std::path::PathBuf),
}

/// Path -> node, and (mode, mtime) of files where `attrs` is asked.
type Snapshot = BTreeMap<String, (Node, Option<(u32, i64, i64)>)>;

fn snapshot(root: &Path, attrs: bool) -> Snapshot {
    fn walk(root: &Path, dir: &Path, attrs: bool, out: &mut Snapshot) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = fs::symlink_metadata(&p).unwrap();
            let a = (attrs && !m.file_type().is_symlink())
                .then(|| (m.mode() & 0o7777, m.mtime(), m.mtime_nsec()));
            if m.file_type().is_symlink() {
                out.insert(rel, (Node::Link(fs::read_link(&p).unwrap()), None));
            } else if m.is_dir() {
                out.insert(rel, (Node::Dir, a));
                walk(root, &p, attrs, out);
            } else {
                out.insert(rel, (Node::File(fs::read(&p).unwrap()), a));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, attrs, &mut out);
    out
}

/// The starting tree of every case:
/// a (file), b (file), ro (0444 file), d/ (empty dir), e/ (holds a),
/// src/{f, sub/g, link -> f}, dlink -> src, flink -> a, newer (mtime now),
/// older (mtime before old_mtime).
fn setup(root: &Path) {
    source(&root.join("a"), b"content of a", 0o640);
    source(&root.join("b"), b"content of b, longer", 0o600);
    source(&root.join("ro"), b"read-only", 0o444);
    fs::create_dir(root.join("d")).unwrap();
    fs::create_dir(root.join("e")).unwrap();
    fs::write(root.join("e/a"), b"old a in e").unwrap();
    fs::create_dir_all(root.join("src/sub")).unwrap();
    source(&root.join("src/f"), b"f", 0o644);
    source(&root.join("src/sub/g"), b"g in sub", 0o604);
    std::os::unix::fs::symlink("f", root.join("src/link")).unwrap();
    std::os::unix::fs::symlink("src", root.join("dlink")).unwrap();
    std::os::unix::fs::symlink("a", root.join("flink")).unwrap();
    fs::write(root.join("newer"), b"newer, edited later").unwrap();
    fs::write(root.join("older"), b"older").unwrap();
    fs::File::options()
        .write(true)
        .open(root.join("older"))
        .unwrap()
        .set_modified(old_mtime() - Duration::from_secs(86_400))
        .unwrap();
    // Fixed times, so that the two trees compare equal where untouched.
    let later = std::time::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    for f in ["newer", "e/a"] {
        fs::File::options()
            .write(true)
            .open(root.join(f))
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
    for dir in ["src/sub", "src", "d", "e"] {
        fs::File::open(root.join(dir))
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
}

/// One case: arguments, optional stdin, and whether mode and mtime are
/// compared too.
struct Case {
    args: &'static [&'static str],
    stdin: Option<&'static str>,
    attrs: bool,
    /// Compare the exit status class only (a documented difference in
    /// what is left behind on failure).
    status_only: bool,
}

const fn status(args: &'static [&'static str]) -> Case {
    Case {
        args,
        stdin: None,
        attrs: false,
        status_only: true,
    }
}

const fn case(args: &'static [&'static str]) -> Case {
    Case {
        args,
        stdin: None,
        attrs: false,
        status_only: false,
    }
}

const fn attrs(args: &'static [&'static str]) -> Case {
    Case {
        args,
        stdin: None,
        attrs: true,
        status_only: false,
    }
}

const fn answer(args: &'static [&'static str], stdin: &'static str) -> Case {
    Case {
        args,
        stdin: Some(stdin),
        attrs: false,
        status_only: false,
    }
}

/// The command lines on which cp and fastcopy agree (docs/cp-compat.md).
const CASES: &[Case] = &[
    // Operands.
    case(&["a", "new"]),
    case(&["a", "b"]),
    case(&["a", "d"]),
    case(&["a", "b", "d"]),
    case(&["-t", "d", "a", "b"]),
    case(&["--target-directory=d", "a"]),
    case(&["-T", "a", "b"]),
    case(&["-T", "a", "d"]),
    case(&["a", "b", "ro"]),
    case(&["a", "b", "missing-dir"]),
    case(&["a"]),
    case(&["missing", "new"]),
    case(&["missing", "a", "d"]),
    case(&["a", "a"]),
    case(&["a", "e"]),
    case(&["d", "new"]),
    // Directories.
    case(&["-r", "src", "new"]),
    case(&["-R", "src", "d"]),
    case(&["-r", "src/.", "d"]),
    case(&["-r", "src/", "d"]),
    case(&["-rT", "src", "d"]),
    case(&["-r", "src", "a", "d"]),
    // Links.
    case(&["flink", "new"]),
    case(&["-P", "flink", "new"]),
    case(&["-d", "flink", "new"]),
    case(&["-r", "dlink", "new"]),
    case(&["-rH", "dlink", "new"]),
    case(&["-rL", "src", "new"]),
    case(&["-L", "flink", "new"]),
    // Overwriting.
    case(&["-n", "a", "b"]),
    case(&["--no-clobber", "a", "e"]),
    case(&["-rn", "src", "new"]),
    case(&["-u", "a", "newer"]),
    case(&["-u", "a", "older"]),
    case(&["--update", "a", "new"]),
    case(&["-f", "a", "ro"]),
    case(&["a", "ro"]),
    answer(&["-i", "a", "b"], "n\n"),
    answer(&["-i", "a", "b"], "y\n"),
    answer(&["-i", "a", "b"], ""),
    answer(&["-i", "a", "new"], ""),
    // Attributes (fastcopy keeps mode and times anyway; with -p/-a both do).
    attrs(&["-p", "a", "new"]),
    attrs(&["--preserve", "a", "new"]),
    attrs(&["--preserve=mode,timestamps", "a", "b"]),
    attrs(&["-a", "src", "new"]),
    attrs(&["--archive", "src", "d"]),
    attrs(&["-a", "src/.", "d"]),
    // Reflink: both clone, or both fail cleanly, on the same filesystem.
    case(&["--reflink=auto", "a", "new"]),
    case(&["--reflink=never", "a", "new"]),
    // Where cloning is impossible cp 9.1 leaves an empty 'new' behind;
    // fastcopy leaves nothing (docs/cp-compat.md): the status is compared.
    status(&["--reflink", "a", "new"]),
    status(&["--reflink=always", "a", "new"]),
];

/// Runs `program args` in `dir`; true when it succeeded.
fn run(program: &str, dir: &Path, c: &Case) -> (bool, String) {
    let mut cmd = if program == "cp" {
        Command::new("cp")
    } else {
        Command::new(env!("CARGO_BIN_EXE_fastcopy"))
    };
    cmd.current_dir(dir)
        .args(c.args)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(c.stdin.unwrap_or("").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether GNU cp is there to compare with; otherwise SKIPPED (an error
/// under FASTCOPY_REQUIRE_TESTFS=1, as in CI).
fn have_cp(test: &str) -> bool {
    let ok = Command::new("cp")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU coreutils"));
    if !ok {
        if std::env::var_os("FASTCOPY_REQUIRE_TESTFS").is_some_and(|v| v == "1") {
            panic!("{test}: needs GNU cp");
        }
        eprintln!("SKIPPED {test}: needs GNU cp");
    }
    ok
}

#[test]
fn same_outcome_as_gnu_cp() {
    if !have_cp("same_outcome_as_gnu_cp") {
        return;
    }
    let mut failed = Vec::new();
    for c in CASES {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        setup(a.path());
        setup(b.path());
        let (cp_ok, cp_err) = run("cp", a.path(), c);
        let (fc_ok, fc_err) = run("fastcopy", b.path(), c);
        let (mut sa, mut sb) = (snapshot(a.path(), c.attrs), snapshot(b.path(), c.attrs));
        // Directories that were there before change times as entries are
        // added, at different instants in the two trees: not compared.
        for s in [&mut sa, &mut sb] {
            for dir in ["d", "e", "src", "src/sub"] {
                if let Some(v) = s.get_mut(dir) {
                    v.1 = None;
                }
            }
        }
        if cp_ok != fc_ok || (sa != sb && !c.status_only) {
            let diff: Vec<_> = sa
                .iter()
                .filter(|(k, v)| sb.get(*k) != Some(v))
                .map(|(k, v)| format!("cp {k}: {v:?} / fastcopy: {:?}", sb.get(k)))
                .chain(
                    sb.keys()
                        .filter(|k| !sa.contains_key(*k))
                        .map(|k| format!("only fastcopy made {k}")),
                )
                .collect();
            failed.push(format!(
                "{:?} stdin {:?}: cp ok={cp_ok} {cp_err:?}, fastcopy ok={fc_ok} {fc_err:?}\n  {}",
                c.args,
                c.stdin,
                diff.join("\n  ")
            ));
        }
        // fastcopy leaves nothing of its own behind.
        assert_no_temp(b.path());
        if b.path().join("d").is_dir() {
            assert_no_temp(&b.path().join("d"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// cp 9.5 behaviours the installed cp 9.1 lacks, checked against cp 9.5's
/// documentation: --update=none skips (exit 0), --update=none-fail fails
/// ("not replacing"), --update=all replaces, --update=older is -u.
#[test]
fn documented_9_5_behaviours() {
    for (args, ok, want_b) in [
        (
            &["--update=none", "a", "b"][..],
            true,
            &b"content of b, longer"[..],
        ),
        (
            &["--update=none-fail", "a", "b"],
            false,
            b"content of b, longer",
        ),
        (&["--update=all", "a", "b"], true, b"content of a"),
        (&["--update=older", "a", "b"], true, b"content of b, longer"),
        (&["-n", "a", "b"], true, b"content of b, longer"),
    ] {
        let d = tempfile::tempdir().unwrap();
        setup(d.path());
        // b is newer than a (old_mtime): -u leaves it.
        fs::File::options()
            .write(true)
            .open(d.path().join("b"))
            .unwrap()
            .set_modified(SystemTime::now())
            .unwrap();
        let out = fastcopy()
            .current_dir(d.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.success(), ok, "{args:?}: {out:?}");
        assert_eq!(fs::read(d.path().join("b")).unwrap(), want_b, "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if ok {
            assert_eq!(stderr, "", "{args:?}");
        } else {
            assert_eq!(stderr, "fastcopy: not replacing 'b'\n", "{args:?}");
        }
    }
}

/// The messages cp users know, word for word (LC_ALL=C cp 9.1 prints the
/// same after its own name).
#[test]
fn messages_as_cp_words_them() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    fs::write(d.path().join("it's"), b"q").unwrap();
    for (args, want) in [
        (
            &["missing", "new"][..],
            "cannot stat 'missing': No such file or directory",
        ),
        (
            &["src", "new"],
            "-r not specified; omitting directory 'src'",
        ),
        (&["a"], "missing destination file operand after 'a'"),
        (&["a", "a"], "'a' and 'a' are the same file"),
        (&["a", "b", "ro"], "target 'ro': Not a directory"),
        (
            &["-r", "src", "a"],
            "cannot overwrite non-directory 'a' with directory 'src'",
        ),
        (
            &["-r", "src", "a", "missing-dir"],
            "target 'missing-dir': No such file or directory",
        ),
        (&["-t", "ro", "a"], "target directory 'ro': Not a directory"),
        (
            &["-T", "a", "d"],
            "cannot overwrite directory 'd' with non-directory",
        ),
        (
            &["it's", "missing/x"],
            "cannot create regular file 'missing/x': No such file or directory",
        ),
    ] {
        let out = fastcopy()
            .current_dir(d.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("");
        assert_eq!(first, format!("fastcopy: {want}"), "{args:?}");
        if have_cp("messages_as_cp_words_them") {
            let cp = Command::new("cp")
                .current_dir(d.path())
                .args(args)
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            let cp_err = String::from_utf8_lossy(&cp.stderr);
            assert_eq!(
                cp_err.lines().next().unwrap_or(""),
                format!("cp: {want}"),
                "{args:?}"
            );
        }
    }
}

/// Names with a newline, a quote and invalid UTF-8 are quoted as cp and
/// ls quote them (shell-escape), in errors and in -v.
#[test]
fn odd_names_quoted_as_cp_quotes_them() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempfile::tempdir().unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"new\nline\xff");
    fs::write(d.path().join(odd), b"x").unwrap();
    let out = fastcopy()
        .current_dir(d.path())
        .arg("-v")
        .arg(odd)
        .arg("it's")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "'new'$'\\n''line'$'\\377' -> \"it's\"\n"
    );
    let out = fastcopy()
        .current_dir(d.path())
        .arg("--json")
        .arg(odd)
        .arg("d/x")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("fastcopy: cannot create regular file 'd/x'"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "new\nline\u{fffd}");
    assert_eq!(
        v["source_bytes"],
        serde_json::json!(b"new\nline\xff".to_vec())
    );
    assert!(v.get("destination_bytes").is_none(), "{v}");
    if have_cp("odd_names_quoted_as_cp_quotes_them") {
        let cp = Command::new("cp")
            .current_dir(d.path())
            .arg(odd)
            .arg("d/x")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let cp_err = String::from_utf8_lossy(&cp.stderr);
        assert_eq!(
            cp_err.trim_start_matches("cp: "),
            stderr.trim_start_matches("fastcopy: ")
        );
    }
}

/// `-f` on a read-only destination, as an unprivileged user: cp and
/// fastcopy refuse without -f ("Permission denied") and replace with it.
#[test]
fn force_on_a_read_only_destination_as_nobody() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED force_on_a_read_only_destination_as_nobody: needs root for setpriv");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let bin = d.path().join("fastcopy");
    fs::copy(env!("CARGO_BIN_EXE_fastcopy"), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    let run = |prog: &Path, args: &[&str], dir: &Path| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(prog)
            .args(args)
            .current_dir(dir)
            .env("LC_ALL", "C")
            .output()
            .unwrap()
    };
    for prog in [Path::new("/bin/cp"), &bin] {
        let w = d
            .path()
            .join(format!("w-{}", prog.file_name().unwrap().to_string_lossy()));
        fs::create_dir(&w).unwrap();
        fs::set_permissions(&w, fs::Permissions::from_mode(0o777)).unwrap();
        fs::write(w.join("src"), b"new").unwrap();
        fs::set_permissions(w.join("src"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(w.join("ro"), b"old").unwrap();
        std::os::unix::fs::chown(w.join("ro"), Some(65534), Some(65534)).unwrap();
        fs::set_permissions(w.join("ro"), fs::Permissions::from_mode(0o444)).unwrap();
        let out = run(prog, &["src", "ro"], &w);
        assert!(!out.status.success(), "{prog:?} without -f: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).ends_with("'ro': Permission denied\n"),
            "{prog:?}: {out:?}"
        );
        assert_eq!(fs::read(w.join("ro")).unwrap(), b"old");
        let out = run(prog, &["-f", "src", "ro"], &w);
        assert!(out.status.success(), "{prog:?} -f: {out:?}");
        assert_eq!(fs::read(w.join("ro")).unwrap(), b"new");
        assert_no_temp(&w);
    }
}

/// `-v` prints the same lines as cp (in another order with `-r`: the
/// workers run in parallel; cp's order is sorted here too).
#[test]
fn verbose_lines_as_cp() {
    if !have_cp("verbose_lines_as_cp") {
        return;
    }
    for args in [
        &["-v", "a", "new"][..],
        &["-v", "a", "b", "d"],
        &["-rv", "src", "new"],
        &["-rv", "src", "d"],
        &["-rv", "src/.", "d"],
        &["-av", "src", "new"],
    ] {
        let lines = |program: &str| {
            let d = tempfile::tempdir().unwrap();
            setup(d.path());
            let out = Command::new(program)
                .current_dir(d.path())
                .args(args)
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            assert!(out.status.success(), "{program} {args:?}: {out:?}");
            let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            lines(env!("CARGO_BIN_EXE_fastcopy")),
            lines("cp"),
            "{args:?}"
        );
    }
}
