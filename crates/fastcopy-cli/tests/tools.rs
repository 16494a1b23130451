//! `fastcopy probe` and `fastcopy bench` on real filesystems.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;
use testfs::Fs;

use crate::util::{fastcopy, names};

fn probe_json(dir: &Path) -> Value {
    let out = fastcopy()
        .args(["--probe", "--json"])
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("probe --json prints one JSON object")
}

/// Every filesystem: the answers match what the filesystem is known to do,
/// and the probe leaves nothing behind.
#[test]
fn probe_tells_the_filesystems_apart() {
    for fs in Fs::ALL {
        let Some(d) = testfs::dir(fs, "probe_tells_the_filesystems_apart") else {
            continue;
        };
        let p = probe_json(d.path());
        assert_eq!(p["filesystem"], fs.name(), "{p}");
        let clones = matches!(fs, Fs::Btrfs | Fs::Xfs);
        assert_eq!(p["clone"], clones, "{fs}: {p}");
        assert_eq!(p["copy_file_range"], true, "{fs}: {p}");
        assert_eq!(p["copy_file_range_clones"], clones, "{fs}: {p}");
        assert_eq!(p["sparse_holes"], true, "{fs}: {p}");
        assert_eq!(p["copy_keeps_holes"], true, "{fs}: {p}");
        assert_eq!(p["noclobber_rename"], true, "{fs}: {p}");
        if !clones {
            assert!(
                p["details"]["clone"]
                    .as_str()
                    .unwrap()
                    .contains("not supported"),
                "{fs}: {p}"
            );
        }
        assert!(
            names(d.path()).is_empty(),
            "{fs}: left {:?}",
            names(d.path())
        );
    }
}

#[test]
fn probe_prints_a_line_per_capability() {
    let Some(d) = testfs::dir(Fs::Ext4, "probe_prints_a_line_per_capability") else {
        return;
    };
    fastcopy()
        .arg("--probe")
        .arg(d.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("(ext4)")
                .and(predicate::str::contains("clone (reflink)            no: "))
                .and(predicate::str::contains("copy_file_range            yes")),
        );
}

#[test]
fn probe_of_a_missing_directory_fails_with_its_name() {
    fastcopy()
        .args(["--probe", "/nonexistent/fastcopy-probe"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("'/nonexistent/fastcopy-probe'"));
}

/// A short benchmark: the JSON holds both baselines and every method, each
/// with as many runs as asked, and the clone methods share blocks on Btrfs
/// while the data-copying ones do not. Its files are gone afterwards.
#[test]
fn bench_measures_every_method_and_cleans_up() {
    let Some(d) = testfs::dir(Fs::Btrfs, "bench_measures_every_method_and_cleans_up") else {
        return;
    };
    let svg = d.path().join("chart.svg");
    let out = fastcopy()
        .args([
            "--bench", "--json", "--sizes", "4K,1M", "--runs", "2", "--cache", "both",
        ])
        .arg("--svg")
        .arg(&svg)
        .arg(d.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["filesystem"], "btrfs");
    let results = v["results"].as_array().unwrap();
    let find = |size: u64, cache: &str, method: &str| {
        results
            .iter()
            .find(|r| r["size"] == size && r["cache"] == cache && r["method"] == method)
            .unwrap_or_else(|| panic!("no {method} {size} {cache} in {v}"))
    };
    for size in [4096u64, 1 << 20] {
        for cache in ["warm", "cold"] {
            for method in [
                "read_write_32k",
                "std_fs_copy",
                "fastcopy (auto)",
                "reflink",
                "copy_file_range",
                "read_write",
                "direct_io",
                "fallocate + copy_file_range",
            ] {
                let r = find(size, cache, method);
                assert_eq!(r["runs_ns"].as_array().unwrap().len(), 2, "{r}");
                assert!(r["median_ns"].as_u64().unwrap() > 0, "{r}");
            }
            assert_eq!(
                find(size, cache, "read_write_32k")["ratio_to_read_write_32k"],
                1.0
            );
            assert_eq!(find(size, cache, "reflink")["shares_blocks"], true);
            assert_eq!(find(size, cache, "copy_file_range")["shares_blocks"], true);
            assert_eq!(find(size, cache, "read_write")["shares_blocks"], false);
            assert_eq!(
                find(size, cache, "fastcopy --reflink=never")["shares_blocks"],
                false
            );
        }
    }
    assert!(fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    assert_eq!(names(d.path()), ["chart.svg"]);
}

/// On ext4 the clone is not available, and the benchmark says so instead
/// of failing.
#[test]
fn bench_lists_what_is_not_available() {
    let Some(d) = testfs::dir(Fs::Ext4, "bench_lists_what_is_not_available") else {
        return;
    };
    fastcopy()
        .args(["--bench", "--sizes", "4K", "--runs", "1", "--cache", "warm"])
        .arg(d.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("read_write_32k")
                .and(predicate::str::contains("copy_file_range"))
                .and(predicate::str::contains("not available here: reflink:")),
        );
    assert!(names(d.path()).is_empty());
}

#[test]
fn bench_refuses_bad_sizes() {
    fastcopy()
        .args(["--bench", "--sizes", "4X", "/tmp"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown size suffix"));
}

/// Operands are never commands: files named like the tools (and `help`)
/// are copied, whatever the spelling, and `clean` deletes nothing.
#[test]
fn files_named_like_tools_are_copied() {
    let d = tempfile::tempdir().unwrap();
    for name in ["probe", "bench", "clean", "help"] {
        fs::write(d.path().join(name), name.as_bytes()).unwrap();
        fs::create_dir(d.path().join(format!("into-{name}"))).unwrap();
        fastcopy()
            .current_dir(d.path())
            .args([name, &format!("into-{name}")])
            .assert()
            .success()
            .stdout("")
            .stderr("");
        let copied = d.path().join(format!("into-{name}")).join(name);
        assert_eq!(fs::read(copied).unwrap(), name.as_bytes());
    }
    // With one operand, a file named help misses its destination as cp says.
    fastcopy()
        .current_dir(d.path())
        .arg("help")
        .assert()
        .code(2)
        .stderr("fastcopy: missing destination file operand after 'help'\nTry 'fastcopy --help' for more information.\n");
}

/// `fastcopy help` (no file of that name) prints the help; `--probe`,
/// `--bench` and `--clean` are the tools' spellings, also after options.
#[test]
fn help_and_tools_by_option() {
    let d = tempfile::tempdir().unwrap();
    let help = fastcopy()
        .current_dir(d.path())
        .arg("help")
        .assert()
        .success();
    let text = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    assert!(
        text.contains("Usage: fastcopy") && text.contains("--probe"),
        "{text}"
    );
    fastcopy()
        .args(["--json", "--probe"])
        .arg(d.path())
        .assert()
        .success()
        .stdout(predicate::str::starts_with("{"));
    fastcopy()
        .args(["--clean", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fastcopy --clean"));
    fastcopy()
        .arg("a.txt")
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "fastcopy: missing destination file operand after 'a.txt'\n",
        ));
    fastcopy()
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "fastcopy: missing file operand\n",
        ));
}

/// A file named like a tool is still copied with a path that says so.
#[test]
fn a_file_named_bench_is_copied_with_a_path() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("bench"), b"data").unwrap();
    fastcopy()
        .current_dir(d.path())
        .args(["./bench", "copy"])
        .assert()
        .success();
    assert_eq!(fs::read(d.path().join("copy")).unwrap(), b"data");
}

/// `fastcopy clean` removes only temporaries of dead processes, and names a
/// directory it cannot read.
#[test]
fn clean_removes_only_dead_processes_temporaries() {
    let d = tempfile::tempdir().unwrap();
    // PID 2^22+1 is above the kernel's pid_max limit: never alive.
    let dead = d.path().join(".f.fastcopy-tmp-400001-0-1");
    let mine = d
        .path()
        .join(format!(".g.fastcopy-tmp-{:x}-0-1", std::process::id()));
    fs::write(&dead, b"partial").unwrap();
    fs::write(&mine, b"in progress").unwrap();
    fs::write(d.path().join("keep"), b"data").unwrap();
    fastcopy()
        .arg("--clean")
        .arg(d.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("removed '").and(predicate::str::contains(".f.fastcopy-tmp-")),
        );
    let mut left = names(d.path());
    left.sort();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(mine.exists() && d.path().join("keep").exists());
    fastcopy()
        .args(["--clean", "/nonexistent/fastcopy-clean"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("'/nonexistent/fastcopy-clean'"));
}

/// A leftover that cannot be removed (an immutable file in a staging
/// directory; `chattr +i` needs root) makes `clean` exit 1 naming it, after
/// removing the others.
#[test]
fn clean_goes_on_past_a_leftover_it_cannot_remove() {
    const TEST: &str = "clean_goes_on_past_a_leftover_it_cannot_remove";
    if !rustix::process::geteuid().is_root() {
        testfs::skipped(TEST, "chattr +i needs root");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    // Listed in this order: the stuck one between two removable ones.
    let first = d.path().join(".a.fastcopy-tmp-400001-0-1");
    let stuck = d.path().join(".b.fastcopy-tmp-400001-0");
    let last = d.path().join(".c.fastcopy-tmp-400001-0-1");
    fs::write(&first, b"partial").unwrap();
    fs::write(&last, b"partial").unwrap();
    fs::create_dir(&stuck).unwrap();
    let pinned = stuck.join("pinned");
    fs::write(&pinned, b"p").unwrap();
    let Some(frozen) = testfs::Immutable::set(&pinned) else {
        testfs::skipped(TEST, "chattr +i failed");
        return;
    };
    let out = fastcopy().arg("--clean").arg(d.path()).output().unwrap();
    drop(frozen);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains(&*stuck.to_string_lossy()), "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(!first.exists() && !last.exists());
    assert!(pinned.exists());
}
