//! Concurrency: many CLI processes at once on filesystems that clone.

use std::fs;
use std::process::{Child, Stdio};

use testfs::Fs;

use super::{MIB, assert_content, assert_only, under_std};
use crate::util::json_lines;

fn spawn(dir: &std::path::Path, args: &[&str]) -> Child {
    under_std(&[], &[])
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// 16 copies of one source at once, right after it was written (its data
/// still dirty in the page cache, where peers have cloned zeros), cloned
/// and not: all 16 identical to the source.
fn sixteen_at_once(fs_: Fs, test: &str) {
    let Some(d) = testfs::dir(fs_, test) else {
        return;
    };
    for (round, flags) in [&[][..], &["--reflink=never"][..]].into_iter().enumerate() {
        let data = testfs::pattern(24 * MIB + 4097, 40 + round as u64);
        fs::write(d.path().join("src"), &data).unwrap();
        let children: Vec<Child> = (0..16)
            .map(|i| {
                let dst = format!("dst{i}");
                let mut args = vec!["--json"];
                args.extend_from_slice(flags);
                args.extend(["src", dst.as_str()]);
                spawn(d.path(), &args)
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{fs_} {flags:?} copy {i}: {out:?}");
            let r = &json_lines(&out.stdout)[0];
            let want = if flags.is_empty() {
                "reflink"
            } else {
                "splice"
            };
            assert_eq!(r["method"], want, "{fs_} {flags:?}");
            assert_content(&d.path().join(format!("dst{i}")), &data);
            fs::remove_file(d.path().join(format!("dst{i}"))).unwrap();
        }
        assert_only(d.path(), &["src"]);
    }
}

#[test]
fn sixteen_copies_at_once_btrfs() {
    sixteen_at_once(Fs::Btrfs, "cli_sixteen_btrfs");
}

#[test]
fn sixteen_copies_at_once_xfs() {
    sixteen_at_once(Fs::Xfs, "cli_sixteen_xfs");
}

/// 8 no-clobber copies of 8 different sources racing to one destination:
/// exactly one succeeds; the others exit 1 saying the destination exists
/// (`AlreadyExists`); the destination is one source, complete; no
/// temporary file is left.
fn no_clobber_race(fs_: Fs, test: &str) {
    let Some(d) = testfs::dir(fs_, test) else {
        return;
    };
    for round in 0..3 {
        let sources: Vec<Vec<u8>> = (0..8)
            .map(|i| testfs::pattern(4 * MIB + i * 1000, 50 + i as u64))
            .collect();
        for (i, s) in sources.iter().enumerate() {
            fs::write(d.path().join(format!("src{i}")), s).unwrap();
        }
        let children: Vec<Child> = (0..8)
            .map(|i| {
                spawn(
                    d.path(),
                    &["--json", "--update=none-fail", &format!("src{i}"), "dst"],
                )
            })
            .collect();
        let mut winners = Vec::new();
        for (i, c) in children.into_iter().enumerate() {
            let out = c.wait_with_output().unwrap();
            let r = &json_lines(&out.stdout)[0];
            if out.status.success() {
                winners.push(i);
            } else {
                assert_eq!(out.status.code(), Some(1), "{fs_} src{i}: {out:?}");
                assert_eq!(r["error_kind"], "AlreadyExists", "{fs_} src{i}: {r}");
                assert_eq!(r["operation"], "destination_exists", "{r}");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr == "fastcopy: not replacing 'dst'\n", "{stderr}");
            }
        }
        assert_eq!(winners.len(), 1, "{fs_} round {round}: winners {winners:?}");
        assert_content(&d.path().join("dst"), &sources[winners[0]]);
        let mut want: Vec<String> = (0..8).map(|i| format!("src{i}")).collect();
        want.push("dst".into());
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        assert_only(d.path(), &want);
        fs::remove_file(d.path().join("dst")).unwrap();
    }
}

#[test]
fn no_clobber_race_btrfs() {
    no_clobber_race(Fs::Btrfs, "cli_noclobber_race_btrfs");
}

#[test]
fn no_clobber_race_xfs() {
    no_clobber_race(Fs::Xfs, "cli_noclobber_race_xfs");
}

#[test]
fn no_clobber_race_ext4() {
    no_clobber_race(Fs::Ext4, "cli_noclobber_race_ext4");
}
