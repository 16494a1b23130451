//! Platform backends. Each exposes the same crate-private functions; the
//! rest of the crate is portable and free of `cfg`.
//!
//! | function | what it does |
//! |---|---|
//! | `open_source` | open for reading without blocking on FIFOs |
//! | `special_kind` | names a FIFO, socket or device |
//! | `same_file` | whether two metadata describe one file |
//! | `initial_mode` | permission bits of the temporary file |
//! | `create_temp` | create the temporary file exclusively |
//! | `plan` | the methods to try, in order |
//! | `run_method` | run one method, answer a ladder `Step` |
//! | `final_permissions` | the permissions to apply when keeping the mode |
//! | `copy_xattrs` | extended attributes |
//! | `rename_noclobber` | atomic rename that fails if the target exists |
//! | `process_alive` | whether a process id names a live process (for stale temporaries) |
//! | `create_private_dir` | a directory only its owner can use (tree root) |
//! | `copy_symlink` | recreate one symbolic link |
//! | `copy_dir` | copy a directory tree (Linux: parallel, relative to directory descriptors) |

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::process_alive;

/// Whether a process is alive cannot be told here yet: stale temporaries
/// are kept.
#[cfg(not(unix))]
pub(crate) fn process_alive(_pid: u32) -> Option<bool> {
    None
}

// Pure arithmetic, compiled everywhere so that its tests run everywhere;
// only the Windows backend uses it.
#[cfg_attr(not(windows), allow(dead_code))]
mod block_clone_plan;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;
#[cfg(target_os = "linux")]
mod linux_tree;
#[cfg(target_os = "linux")]
pub(crate) use linux_tree::{copy_dir, copy_symlink, create_private_dir};

// Directory trees elsewhere: a sequential walk with std, every file through
// the single-file copy.
#[cfg(not(target_os = "linux"))]
mod tree_generic;
#[cfg(not(target_os = "linux"))]
pub(crate) use tree_generic::{copy_dir, copy_symlink, create_private_dir};

#[cfg(any(target_os = "macos", target_os = "ios"))]
mod macos;
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub(crate) use macos::*;

// The std read/write loop of the backends without one of their own.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
mod rw_loop;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios", windows)))]
mod generic;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios", windows)))]
pub(crate) use generic::*;
