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

#[cfg(unix)]
mod unix;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
mod generic;
#[cfg(not(target_os = "linux"))]
pub(crate) use generic::*;
