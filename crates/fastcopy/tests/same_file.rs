//! The source and the destination are the same file, by whatever path:
//! an error, and the source is never written.

use std::io::ErrorKind;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use fastcopy::{CopyOptions, Operation, Overwrite, Reflink};

use crate::common::*;

fn option_sets() -> [CopyOptions; 4] {
    [
        CopyOptions::new(),
        CopyOptions::new().overwrite(Overwrite::NoClobber),
        CopyOptions::new().reflink(Reflink::Always),
        CopyOptions::new()
            .reflink(Reflink::Never)
            .preserve_times(false),
    ]
}

/// Copies `from` to each of `tos` with each option set and asserts the
/// SameFile error and an unchanged source.
#[track_caller]
fn assert_refused(from: &Path, tos: &[(&str, PathBuf)], dirs: &[&Path]) {
    let data = std::fs::read(from).unwrap();
    let mt = mtime(from);
    for (what, to) in tos {
        for opts in option_sets() {
            let err = fastcopy::copy_with(from, to, &opts).expect_err(&format!(
                "{what}: copy of {} onto {}",
                from.display(),
                to.display()
            ));
            assert_eq!(
                err.operation(),
                Operation::SameFile,
                "{what} {opts:?}: {err}"
            );
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{what}: {err}");
            assert_content(from, &data);
            assert_eq!(mtime(from), mt, "{what}: source mtime changed");
            for d in dirs {
                assert_no_temp(d);
            }
        }
    }
}

fn same_file_refused(_fs: Fs, dir: &Path) {
    let a = dir.join("a");
    write(&a, &testfs::pattern(100_000, 51));
    set_times(&a, time_ago(60, 111), time_ago(120, 222));
    let d = dir.join("d");
    std::fs::create_dir(&d).unwrap();
    std::fs::hard_link(&a, dir.join("hard")).unwrap();
    symlink(&a, dir.join("sym")).unwrap();
    symlink("a", dir.join("relsym")).unwrap();
    symlink("sym", dir.join("symsym")).unwrap();
    symlink(dir, dir.join("dirlink")).unwrap();
    let tos = [
        ("itself", a.clone()),
        ("dot", dir.join(".").join("a")),
        ("dot-dot", d.join("..").join("a")),
        ("hard link", dir.join("hard")),
        ("symlink", dir.join("sym")),
        ("relative symlink", dir.join("relsym")),
        ("symlink to symlink", dir.join("symsym")),
        ("its directory", dir.to_path_buf()),
        ("its directory via a link", dir.join("dirlink")),
        ("its directory with dot-dot", d.join("..")),
    ];
    assert_refused(&a, &tos, &[dir]);
    // Through the hard link and the symlink as sources too.
    assert_refused(&dir.join("hard"), &[("to the original", a.clone())], &[dir]);
    assert_refused(&dir.join("sym"), &[("link to target", a.clone())], &[dir]);
    assert_names(
        dir,
        &["a", "d", "dirlink", "hard", "relsym", "sym", "symsym"],
    );
}

per_fs!(same_file_refused);

const RELATIVE_TEST: &str = "same_file::relative_paths";

/// `a` → `a`, `./a`, `d/../a` and `.` relative to the working directory.
/// The working directory belongs to the whole process, so this runs in a
/// child process started in the test directory.
#[test]
fn relative_paths() {
    if in_child() {
        let cwd = std::env::current_dir().unwrap();
        let tos = [
            ("a", PathBuf::from("a")),
            ("./a", PathBuf::from("./a")),
            ("d/../a", PathBuf::from("d/../a")),
            (".", PathBuf::from(".")),
        ];
        assert_refused(Path::new("a"), &tos, &[&cwd]);
        // And a relative copy that is allowed: the temporary file goes into
        // the working directory, then away.
        let r = fastcopy::copy("a", "b").unwrap();
        assert_eq!(r.destination, Path::new("b"));
        assert_same_content(Path::new("a"), Path::new("b"));
        let r = fastcopy::copy("a", "d").unwrap();
        assert_eq!(r.destination, Path::new("d/a"));
        assert_same_content(Path::new("a"), Path::new("d/a"));
        assert_names(&cwd, &["a", "b", "d"]);
        return;
    }
    let Some(dir) = testfs::dir(Fs::Ext4, "relative_paths") else {
        return;
    };
    write(&dir.path().join("a"), &testfs::pattern(5000, 52));
    std::fs::create_dir(dir.path().join("d")).unwrap();
    run_child(RELATIVE_TEST, |c| {
        c.current_dir(dir.path());
    });
    assert_names(dir.path(), &["a", "b", "d"]);
    assert_same_content(&dir.path().join("a"), &dir.path().join("d/a"));
}
