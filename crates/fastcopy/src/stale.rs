//! Temporary files left behind by copies that were killed.
//!
//! A copy writes into `.NAME.fastcopy-tmp-PID-N-NANOS` (hexadecimal parts)
//! next to its destination and renames it into place when complete; on an
//! error it removes it. A new directory tree is built the same way, in a
//! staging directory of that name (on Linux). Only a process that dies in
//! between (SIGKILL, power loss, a crash) leaves one, and the destination
//! itself is then untouched. [`remove_stale_temporaries`] removes those
//! whose process is gone.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! # let dir = tempfile::tempdir()?;
//! for path in fastcopy::stale::remove_stale_temporaries(dir.path())?.removed {
//!     println!("removed {}", path.display());
//! }
//! # Ok(()) }
//! ```

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::copy::TEMP_MARKER;
use crate::sys;

/// The process id recorded in the name of a fastcopy temporary file, or
/// `None` when `name` is not one (`.NAME.fastcopy-tmp-PID-N-NANOS` from a
/// single copy, `.NAME.fastcopy-tmp-PID-N` from a tree copy, the numbers in
/// hexadecimal).
pub fn temporary_owner(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?;
    if !name.starts_with('.') {
        return None;
    }
    let (_, unique) = name.rsplit_once(TEMP_MARKER)?;
    let mut parts = unique.split('-');
    let (pid, n, nanos) = (parts.next()?, parts.next()?, parts.next());
    if parts.next().is_some() {
        return None;
    }
    let hex = |s: &str| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex(pid) && hex(n) && nanos.is_none_or(hex)) {
        return None;
    }
    u32::from_str_radix(pid, 16).ok().filter(|&p| p != 0)
}

/// What [`remove_stale_temporaries`] did in one directory.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Cleaned {
    /// The temporaries removed, sorted.
    pub removed: Vec<PathBuf>,
    /// The temporaries that could not be removed, one error each, naming
    /// the path. The others were still removed.
    pub failed: Vec<io::Error>,
}

/// Removes the fastcopy temporary files and staging directories in `dir`
/// (not below it) whose process is no longer alive, and says which.
///
/// An entry is only removed when its name parses (see
/// [`temporary_owner`]), it is a regular file or a directory (not a link:
/// a staging directory is removed with everything in it, links inside
/// removed, never followed), and the process id in its name names no live
/// process of this host.
/// Files of live processes (a copy still running) are kept, and so are all
/// of them where liveness cannot be told (Windows, for now). Do not run it
/// on a directory that processes of another machine or PID namespace
/// write to (NFS, a volume shared with containers): their process ids mean
/// nothing here. A process id reused by an unrelated process only keeps a
/// stale file longer. One temporary that cannot be removed (an immutable
/// file inside, say) does not stop the others: it is listed in
/// [`Cleaned::failed`].
///
/// # Errors
///
/// The directory could not be opened; the error names it. An error while
/// reading it later ends the cleaning and is in [`Cleaned::failed`], beside
/// what was removed until then.
pub fn remove_stale_temporaries(dir: impl AsRef<Path>) -> io::Result<Cleaned> {
    remove_stale(dir.as_ref())
}

fn remove_stale(dir: &Path) -> io::Result<Cleaned> {
    let named = |what: &str, path: &Path, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} '{}': {e}", path.display()))
    };
    let mut done = Cleaned::default();
    let entries = fs::read_dir(dir).map_err(|e| named("cannot read directory", dir, e))?;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            // Midway: what was removed so far is still reported.
            Err(e) => {
                done.failed.push(named("cannot read directory", dir, e));
                break;
            }
        };
        let Some(pid) = temporary_owner(&entry.file_name()) else {
            continue;
        };
        let path = entry.path();
        // Not followed: a link with such a name is not ours.
        let is_dir = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => false,
            Ok(m) if m.file_type().is_dir() => true,
            _ => continue,
        };
        if pid == std::process::id() || sys::process_alive(pid) != Some(false) {
            continue;
        }
        let removed_now = if is_dir {
            remove_tree(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed_now {
            Ok(()) => done.removed.push(path),
            // Another cleaner was quicker.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => done
                .failed
                .push(named("cannot remove stale temporary", &path, e)),
        }
    }
    done.removed.sort();
    Ok(done)
}

/// Removes the temporary files in `dir` whose names start with `prefix`
/// (one destination's: `.NAME.fastcopy-tmp-`) and whose process is gone,
/// as [`remove_stale_temporaries`] would, and returns them. Best effort: a
/// copy goes on whatever happens here. Only regular files are removed.
pub(crate) fn remove_stale_for(dir: &Path, prefix: &OsStr) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefix = prefix.as_encoded_bytes();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(prefix) {
            continue;
        }
        let Some(pid) = temporary_owner(&name) else {
            continue;
        };
        let path = entry.path();
        if pid == std::process::id()
            || sys::process_alive(pid) != Some(false)
            || !fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file())
        {
            continue;
        }
        if fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Removes a staging directory and everything in it, links removed and
/// never followed. Its directories are made writable by their owner first:
/// a copied read-only directory (0555) could not be emptied otherwise.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    sys::make_tree_removable(path);
    fs::remove_dir_all(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn names_of_temporaries() {
        let owner = |s: &str| temporary_owner(OsStr::new(s));
        assert_eq!(owner(".file.txt.fastcopy-tmp-3039-0-1a2b"), Some(0x3039));
        assert_eq!(owner(".a.fastcopy-tmp-1.fastcopy-tmp-ff-2-3"), Some(0xff));
        assert_eq!(owner("..fastcopy-tmp-1-0-0"), Some(1));
        // A tree copy's name has no time part.
        assert_eq!(owner(".file.fastcopy-tmp-3039-0"), Some(0x3039));
        for not_ours in [
            "file.txt",
            "file.fastcopy-tmp-3039-0-1a2b",
            ".file.fastcopy-tmp-3039",
            ".file.fastcopy-tmp-3039-0-1a2b-7",
            ".file.fastcopy-tmp-zz-0-1",
            ".file.fastcopy-tmp--0-1",
            ".file.fastcopy-tmp-0-0-1",
            ".file.fastcopy-tmp-1ffffffff-0-1",
            ".file.fastcopy-tmp-",
        ] {
            assert_eq!(owner(not_ours), None, "{not_ours}");
        }
    }

    /// A process id that is no longer alive: a child that exited and was
    /// waited for.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn removes_only_temporaries_of_dead_processes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = dead_pid();
        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let tmp = |pid: u32, name: &str| format!(".{name}{TEMP_MARKER}{pid:x}-3-1f");
        let stale = [tmp(dead, "a"), tmp(dead, "b.bin")];
        let kept = [
            tmp(std::process::id(), "mine"),
            tmp(live.id(), "running"),
            "plain".to_owned(),
            format!("x{TEMP_MARKER}{dead:x}-1-2"),
        ];
        for n in stale.iter().chain(&kept) {
            fs::write(d.join(n), b"x").unwrap();
        }
        // A staging directory of a dead tree copy, with a file, a
        // subdirectory and a link to something outside it: removed, the
        // link's target kept.
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("keep"), b"k").unwrap();
        let staging = d.join(tmp(dead, "tree"));
        fs::create_dir_all(staging.join("sub")).unwrap();
        fs::write(staging.join("sub/f"), b"f").unwrap();
        std::os::unix::fs::symlink(outside.path(), staging.join("out")).unwrap();
        // A running copy's staging directory is kept.
        let running = d.join(tmp(live.id(), "tree"));
        fs::create_dir(&running).unwrap();
        fs::write(running.join("f"), b"f").unwrap();
        // A link with such a name: never touched.
        std::os::unix::fs::symlink("plain", d.join(tmp(dead, "link"))).unwrap();

        let done = remove_stale_temporaries(d).unwrap();
        assert!(done.failed.is_empty(), "{:?}", done.failed);
        let removed = done.removed;
        let mut want: Vec<PathBuf> = stale.iter().map(|n| d.join(n)).collect();
        want.push(staging.clone());
        want.sort();
        assert_eq!(removed, want);
        for n in &stale {
            assert!(!d.join(n).exists(), "{n}");
        }
        for n in &kept {
            assert!(d.join(n).exists(), "{n}");
        }
        assert!(!staging.exists());
        assert_eq!(fs::read(outside.path().join("keep")).unwrap(), b"k");
        assert_eq!(fs::read(running.join("f")).unwrap(), b"f");
        assert!(d.join(tmp(dead, "link")).is_symlink());
        // Nothing more to do the second time.
        assert_eq!(
            remove_stale_temporaries(d).unwrap().removed,
            Vec::<PathBuf>::new()
        );
        live.kill().unwrap();
        live.wait().unwrap();
    }

    /// One staging directory that cannot be removed (an immutable file
    /// inside; `chattr +i` needs root) is reported with its path, and the
    /// other stale temporaries are removed all the same.
    #[cfg(target_os = "linux")]
    #[test]
    fn one_temporary_that_cannot_be_removed_does_not_stop_the_others() {
        const TEST: &str = "one_temporary_that_cannot_be_removed_does_not_stop_the_others";
        if !rustix::process::geteuid().is_root() {
            testfs::skipped(TEST, "chattr +i needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = dead_pid();
        let tmp = |name: &str| d.join(format!(".{name}{TEMP_MARKER}{dead:x}-3-1f"));
        // Sorted by name, the stuck one comes between the two others.
        let (first, stuck, last) = (tmp("a"), tmp("b"), tmp("c"));
        fs::write(&first, b"x").unwrap();
        fs::write(&last, b"x").unwrap();
        fs::create_dir(&stuck).unwrap();
        let pinned = stuck.join("pinned");
        fs::write(&pinned, b"p").unwrap();
        let Some(frozen) = testfs::Immutable::set(&pinned) else {
            testfs::skipped(TEST, "chattr +i failed on the temporary directory");
            return;
        };
        let done = remove_stale_temporaries(d);
        drop(frozen);
        let done = done.unwrap();
        assert_eq!(done.removed, [first.clone(), last.clone()]);
        assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
        let e = &done.failed[0];
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        assert!(e.to_string().contains(&*stuck.to_string_lossy()), "{e}");
        assert!(!first.exists() && !last.exists());
        assert_eq!(fs::read(&pinned).unwrap(), b"p");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = remove_stale_temporaries(&missing).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
