//! A source changed by another process while the CLI copies it: growing,
//! shrinking, or rewritten in place (truncated to 0 and written again, as
//! editors and loggers do). Whatever the interleaving, the copy is a
//! prefix of what the source held (never a tail of zeros), and a copy of
//! another size than the source's, before or after, says so on stderr.
//! The library's own tests (crates/fastcopy/tests/changing.rs) pin the
//! exact outcomes at chosen points; these check the command end to end.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use testfs::Fs;

use super::{MIB, under};

const SIZE: usize = 24 * MIB;
const MAX: usize = SIZE + 16 * MIB;

#[derive(Clone, Copy, Debug)]
enum Change {
    Grow,
    Shrink,
    Rewrite,
}

/// Once the copy has begun (its temporary file exists, so the source's
/// size is taken), changes `src` until `stop`.
fn changer(src: &Path, full: &[u8], change: Change, stop: &AtomicBool) {
    let dir = src.parent().unwrap();
    while super::temporaries(dir).is_empty() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::yield_now();
    }
    let mut f = OpenOptions::new().write(true).open(src).unwrap();
    let mut len = SIZE;
    while !stop.load(Ordering::Relaxed) {
        match change {
            Change::Grow if len < MAX => {
                f.write_all_at_end(&full[len..len + MIB]);
                len += MIB;
            }
            Change::Shrink if len > 4 * MIB => {
                len -= 2 * MIB;
                f.set_len(len as u64).unwrap();
            }
            Change::Rewrite => {
                f.set_len(0).unwrap();
                for chunk in full[..SIZE].chunks(4 * MIB) {
                    f.write_all_at_end(chunk);
                }
            }
            _ => {}
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

trait AppendAll {
    fn write_all_at_end(&mut self, data: &[u8]);
}

impl AppendAll for fs::File {
    fn write_all_at_end(&mut self, data: &[u8]) {
        use std::io::{Seek, SeekFrom};
        self.seek(SeekFrom::End(0)).unwrap();
        self.write_all(data).unwrap();
    }
}

fn race(fs_: Fs, test: &str) {
    let Some(d) = testfs::dir(fs_, test) else {
        return;
    };
    let full = Arc::new(testfs::pattern(MAX, 80));
    let src = d.path().join("src");
    let dst = d.path().join("dst");
    let mut seen = Vec::new();
    for change in [Change::Grow, Change::Shrink, Change::Rewrite] {
        for flags in [
            &[][..],
            &["--reflink=never"][..],
            &["--reflink=never", "--direct-io=always"][..],
            &["--reflink=never", "--preallocate"][..],
            &["--accept-changing-source"][..],
            &["--accept-changing-source", "--reflink=never"][..],
        ] {
            let accepted = flags.contains(&"--accept-changing-source");
            fs::write(&src, &full[..SIZE]).unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let t = {
                let (src, full, stop) = (src.clone(), full.clone(), stop.clone());
                std::thread::spawn(move || changer(&src, &full, change, &stop))
            };
            let out = under(&[], &[])
                .args(flags)
                .arg(&src)
                .arg(&dst)
                .output()
                .unwrap();
            stop.store(true, Ordering::Relaxed);
            t.join().unwrap();
            let what = format!("{fs_} {change:?} {flags:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() {
                // An explicit error naming the change; debris is not
                // acceptable, and with the option the change is no error.
                assert!(!accepted, "{what}: {stderr}");
                assert!(
                    stderr.contains("changed while it was being copied")
                        && stderr.contains("--accept-changing-source"),
                    "{what}: {stderr}"
                );
                assert!(!dst.exists(), "{what}");
                seen.push(format!("{what}: error"));
                continue;
            }
            let copy = fs::read(&dst).unwrap();
            let len = copy.len();
            assert!(len <= MAX, "{what}: {len}");
            if let Some(at) = copy.iter().zip(&full[..len]).position(|(a, b)| a != b) {
                panic!("{what}: the copy differs from the source's bytes at {at} of {len}");
            }
            let final_len = fs::metadata(&src).unwrap().len() as usize;
            let warned = stderr.contains("source changed while it was being copied");
            if len != SIZE {
                // Without the option a changed size is always an error.
                assert!(accepted, "{what}: {len} bytes, exit 0: {stderr}");
                assert!(
                    warned,
                    "{what}: {len} bytes copied, source {SIZE} before and {final_len} after, no warning: {stderr}"
                );
            }
            seen.push(format!("{what}: {len} bytes, warned {warned}"));
            fs::remove_file(&dst).unwrap();
        }
    }
    eprintln!("{seen:#?}");
    super::assert_only(d.path(), &["src"]);
}

#[test]
fn source_changes_during_cli_copy_ext4() {
    race(Fs::Ext4, "cli_changing_ext4");
}

#[test]
fn source_changes_during_cli_copy_xfs() {
    race(Fs::Xfs, "cli_changing_xfs");
}

#[test]
fn source_changes_during_cli_copy_btrfs() {
    race(Fs::Btrfs, "cli_changing_btrfs");
}

/// A source whose times change all the time while it is copied (a
/// loop touching it, which never pauses, so every copy sees the change,
/// and never grows it): without the option the copy is an error that says
/// so and leaves no destination; with `--accept-changing-source` it is
/// copied, with a warning.
#[test]
fn changing_source_is_an_error_unless_accepted() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let dst = d.path().join("copy");
    let data = testfs::pattern(64 * MIB, 81);
    fs::write(&src, &data).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let toucher = {
        let (src, stop) = (src.clone(), stop.clone());
        std::thread::spawn(move || {
            let f = fs::OpenOptions::new().write(true).open(&src).unwrap();
            let base = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                f.set_modified(base + std::time::Duration::from_nanos(i))
                    .unwrap();
            }
        })
    };
    let run = |flags: &[&str]| {
        under(&[], &[])
            .args(["--reflink=never"])
            .args(flags)
            .arg(&src)
            .arg(&dst)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    let accepted = run(&["--accept-changing-source"]);
    stop.store(true, Ordering::Relaxed);
    toucher.join().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    let want = format!(
        "fastcopy: '{}' changed while it was being copied",
        src.display()
    );
    assert!(
        stderr.starts_with(&want) && stderr.contains("--accept-changing-source"),
        "{stderr}"
    );
    let stderr = String::from_utf8_lossy(&accepted.stderr);
    assert!(accepted.status.success(), "{stderr}");
    assert_eq!(fs::read(&dst).unwrap(), data);
    super::assert_only(d.path(), &["copy", "src"]);
}
