//! Finding or setting up the per-filesystem test mounts.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rustix::fs::{FlockOperation, flock};

use crate::Fs;

/// Everything lives under here; `scripts/testfs.sh` uses the same paths.
pub(crate) const BASE: &str = "/var/tmp/fastcopy-testfs";
/// Size of each loop image (sparse, so it costs only what the fs writes).
const IMAGE_SIZE: u64 = 2 << 30;
/// `size=` option for the tmpfs mount.
const TMPFS_SIZE: &str = "1G";

/// Per-process cache of each fs's mount root (or why there is none).
static ROOTS: [OnceLock<Result<PathBuf, String>>; 4] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

/// The root of the mounted test filesystem for `fs`, setting it up on the
/// first call in this process; `Err` holds the reason it cannot be had.
pub(crate) fn mount_root(fs: Fs) -> Result<PathBuf, String> {
    ROOTS[fs.index()].get_or_init(|| find_or_mount(fs)).clone()
}

/// Mount point of `fs` under [`BASE`].
pub(crate) fn mount_point(fs: Fs) -> PathBuf {
    Path::new(BASE).join("mnt").join(fs.name())
}

fn image_path(fs: Fs) -> PathBuf {
    Path::new(BASE).join(format!("{}.img", fs.name()))
}

/// `statfs` magic number of `fs` (`f_type`).
pub(crate) fn magic_of(fs: Fs) -> u32 {
    match fs {
        Fs::Ext4 => 0xEF53,
        Fs::Btrfs => 0x9123_683E,
        Fs::Xfs => 0x5846_5342,
        Fs::Tmpfs => 0x0102_1994,
    }
}

/// The `statfs` magic number (`f_type`) of the filesystem holding `path`.
pub(crate) fn fs_magic(path: &Path) -> std::io::Result<u32> {
    let st = rustix::fs::statfs(path)?;
    // `f_type` is a signed or unsigned word depending on the architecture;
    // the magic numbers are 32-bit, so keep the low 32 bits either way.
    Ok(i128::from(st.f_type) as u32)
}

fn find_or_mount(fs: Fs) -> Result<PathBuf, String> {
    let mnt = mount_point(fs);
    match mounted_fstype(&mnt) {
        Some(t) if t == fs.name() => return Ok(mnt),
        _ => {}
    }
    if !rustix::process::geteuid().is_root() {
        if fs == Fs::Tmpfs {
            let shm = Path::new("/dev/shm");
            if fs_magic(shm).is_ok_and(|m| m == magic_of(Fs::Tmpfs)) {
                return Ok(shm.to_path_buf());
            }
        }
        return Err(format!(
            "not root and nothing mounted at {} (run `sudo scripts/testfs.sh up`)",
            mnt.display()
        ));
    }

    fs::create_dir_all(BASE).map_err(|e| format!("cannot create {BASE}: {e}"))?;
    let _lock = lock()?;
    // Another process may have set it up while we waited for the lock.
    match mounted_fstype(&mnt) {
        Some(t) if t == fs.name() => return Ok(mnt),
        Some(t) => {
            return Err(format!(
                "{} is already mounted with fstype {t}; refusing to mount over it",
                mnt.display()
            ));
        }
        None => {}
    }
    fs::create_dir_all(&mnt).map_err(|e| format!("cannot create {}: {e}", mnt.display()))?;

    if fs == Fs::Tmpfs {
        let opts = format!("size={TMPFS_SIZE},mode=1777");
        run(
            "mount",
            &[
                "-t".as_ref(),
                "tmpfs".as_ref(),
                "-o".as_ref(),
                opts.as_ref(),
                "tmpfs".as_ref(),
                mnt.as_os_str(),
            ],
        )?;
    } else {
        let (tool, args): (&str, &[&str]) = match fs {
            Fs::Ext4 => ("mkfs.ext4", &["-q", "-F"]),
            Fs::Btrfs => ("mkfs.btrfs", &["-q", "-f"]),
            Fs::Xfs => ("mkfs.xfs", &["-q", "-f", "-m", "reflink=1"]),
            Fs::Tmpfs => unreachable!(),
        };
        // Check for the tool before creating a 2 GiB file for nothing.
        find_tool(tool)?;
        let img = image_path(fs);
        // A leftover image from an earlier run is not mounted (checked above):
        // start from a fresh one rather than trusting its state.
        match fs::remove_file(&img) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove old {}: {e}", img.display())),
        }
        File::create(&img)
            .and_then(|f| f.set_len(IMAGE_SIZE))
            .map_err(|e| format!("cannot create {}: {e}", img.display()))?;
        let mut mkfs_args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        mkfs_args.push(img.as_os_str());
        run(tool, &mkfs_args)?;
        run(
            "mount",
            &[
                "-o".as_ref(),
                "loop".as_ref(),
                img.as_os_str(),
                mnt.as_os_str(),
            ],
        )?;
    }

    // World-writable (sticky) root so that unprivileged tests can use it too.
    fs::set_permissions(&mnt, fs::Permissions::from_mode(0o1777))
        .map_err(|e| format!("cannot chmod 1777 {}: {e}", mnt.display()))?;
    match mounted_fstype(&mnt) {
        Some(t) if t == fs.name() => Ok(mnt),
        other => Err(format!(
            "mount reported success but {} shows fstype {other:?} in /proc/self/mountinfo",
            mnt.display()
        )),
    }
}

/// Takes the cross-process setup lock; released when the file is dropped.
fn lock() -> Result<File, String> {
    let path = Path::new(BASE).join("lock");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    flock(&file, FlockOperation::LockExclusive)
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

/// The fstype of the topmost mount exactly at `mnt`, per /proc/self/mountinfo.
pub(crate) fn mounted_fstype(mnt: &Path) -> Option<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    fstype_in_mountinfo(&info, mnt)
}

/// The fstype of the last (topmost) entry for mount point `mnt` in `info`.
fn fstype_in_mountinfo(info: &str, mnt: &Path) -> Option<String> {
    let want = mnt.as_os_str().as_encoded_bytes();
    let mut found = None;
    for line in info.lines() {
        // "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <source> <super opts>"
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        if unescape(point) == want {
            found = right.split(' ').next().map(str::to_owned);
        }
    }
    found
}

/// Undoes mountinfo's octal escapes (`\040` for a space, etc.).
fn unescape(field: &str) -> Vec<u8> {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Finds an executable on `$PATH` or in the sbin/bin directories (which an
/// unprivileged or minimal environment may lack on `$PATH`).
fn find_tool(name: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fixed = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
    std::env::split_paths(&path)
        .chain(fixed.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| format!("{name} not found (install its package: e2fsprogs, btrfs-progs, xfsprogs, util-linux)"))
}

/// Runs `tool args...`, turning a failure into a reason that includes stderr.
fn run(tool: &str, args: &[&OsStr]) -> Result<(), String> {
    let exe = find_tool(tool)?;
    let shown = || {
        let mut s = tool.to_owned();
        for a in args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    };
    let out = Command::new(&exe)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", shown()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            shown(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_parsing() {
        let info = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
90 27 7:0 / /var/tmp/fastcopy-testfs/mnt/xfs rw,relatime shared:1 - xfs /dev/loop0 rw
91 27 0:50 / /var/tmp/a\\040b rw - tmpfs tmpfs rw
92 90 7:1 / /var/tmp/fastcopy-testfs/mnt/xfs rw - ext4 /dev/loop1 rw
";
        assert_eq!(
            fstype_in_mountinfo(info, Path::new("/proc")).as_deref(),
            Some("proc")
        );
        // The later (stacked, topmost) mount wins.
        assert_eq!(
            fstype_in_mountinfo(info, Path::new("/var/tmp/fastcopy-testfs/mnt/xfs")).as_deref(),
            Some("ext4")
        );
        assert_eq!(
            fstype_in_mountinfo(info, Path::new("/var/tmp/a b")).as_deref(),
            Some("tmpfs")
        );
        assert_eq!(fstype_in_mountinfo(info, Path::new("/var/tmp")), None);
    }
}
