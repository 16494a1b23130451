//! Proof under faults (issue 5): the real `fastcopy` binary with system
//! calls failing where the kernel answers (a seccomp filter from the
//! `faultrun` crate), full disks, kills, races, and odd sources and
//! destinations. Single files only.
#![cfg(target_os = "linux")]

mod changing;
mod concurrency;
mod crash;
mod destinations;
mod disk_full;
mod sources;
mod syscalls;

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

use crate::util::json_lines;
/// `assert_only(dir, want)`: `dir` holds exactly `want` (so no temporary
/// file either).
pub use testfs::assert_names as assert_only;
pub use testfs::{assert_content, root_or_skip};

/// The `fastcopy` binary with `fails` (`SYSCALL[:COND]=ERRNO`) and `kills`
/// (`SYSCALL[:COND]`) installed as a seccomp filter in the child.
pub fn under(fails: &[&str], kills: &[&str]) -> Command {
    let mut cmd = Command::from_std(under_std(fails, kills));
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

/// [`under`] as a `std::process::Command`, for tests that spawn and kill.
pub fn under_std(fails: &[&str], kills: &[&str]) -> std::process::Command {
    let mut plan = faultrun::Plan::new();
    for f in fails {
        plan = plan.fail(f).unwrap();
    }
    for k in kills {
        plan = plan.kill(k).unwrap();
    }
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fastcopy"));
    plan.apply_to(&mut cmd).unwrap();
    cmd
}

/// The one JSON record of a `--json` run of one file.
#[track_caller]
pub fn record(out: &Output) -> Value {
    let mut r = json_lines(&out.stdout);
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

/// Names in `dir` that are fastcopy temporaries.
pub fn temporaries(dir: &Path) -> Vec<String> {
    testfs::names_containing(dir, fastcopy::TEMP_MARKER)
}

pub const MIB: usize = 1 << 20;

/// Runs `cmd` (a path to a tool and its arguments), panicking on failure.
#[track_caller]
pub fn sh(args: &[&str]) -> String {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small filesystem of its own on a loop device, for tests that fill
/// it, mount it read-only or stack on it. Unmounted and deleted on drop.
pub struct LoopFs {
    pub mnt: std::path::PathBuf,
    image: std::path::PathBuf,
}

/// Where [`LoopFs`] keeps its images and mount points.
const LOOP_BASE: &str = "/var/tmp/fastcopy-faults";

impl LoopFs {
    /// A fresh `fstype` (`ext4`, `xfs`, `btrfs`) of `mib` MiB mounted with
    /// `options`, or `None` when not root (see [`root_or_skip`]).
    pub fn new(fstype: &str, mib: u64, test: &str, options: &str) -> Option<LoopFs> {
        if !root_or_skip(test) {
            return None;
        }
        let base = Path::new(LOOP_BASE);
        fs::create_dir_all(base).unwrap();
        let tag = format!("{test}-{}", std::process::id());
        let image = base.join(format!("{tag}.img"));
        let mnt = base.join(format!("mnt-{tag}"));
        let _ = fs::remove_file(&image);
        fs::File::create(&image)
            .unwrap()
            .set_len(mib << 20)
            .unwrap();
        let image_s = image.to_str().unwrap();
        match fstype {
            "ext4" => sh(&["mkfs.ext4", "-q", "-F", image_s]),
            "xfs" => sh(&["mkfs.xfs", "-q", "-f", "-m", "reflink=1", image_s]),
            "btrfs" => sh(&["mkfs.btrfs", "-q", "-f", image_s]),
            other => panic!("no mkfs for {other}"),
        };
        fs::create_dir_all(&mnt).unwrap();
        let mut args = vec!["mount", "-o"];
        let opts = if options.is_empty() {
            "loop".to_owned()
        } else {
            format!("loop,{options}")
        };
        args.push(&opts);
        args.push(image_s);
        args.push(mnt.to_str().unwrap());
        sh(&args);
        Some(LoopFs { mnt, image })
    }

    /// Bytes free for ordinary files, after flushing what is pending
    /// (Btrfs and XFS free space in the background).
    pub fn free(&self) -> u64 {
        sh(&["sync", "-f", self.mnt.to_str().unwrap()]);
        let st = rustix::fs::statvfs(&self.mnt).unwrap();
        st.f_bavail * st.f_frsize
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let mnt = self.mnt.to_str().unwrap();
        let ok = std::process::Command::new("umount")
            .arg(mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::process::Command::new("umount")
                .args(["-l", mnt])
                .status();
        }
        let _ = fs::remove_dir(&self.mnt);
        let _ = fs::remove_file(&self.image);
    }
}
