//! The crate's own tests that need its private items: the fault seam
//! (`fault`, `fault_props`, on Linux's loop filesystems) and the Windows
//! backend on a real Win32 file API (`windows`, run under wine in CI).
//! Unit tests of pure decisions stay next to their code; tests through the
//! public API are in `crates/fastcopy/tests`.

#[cfg(target_os = "linux")]
mod fault;
#[cfg(target_os = "linux")]
mod fault_props;
#[cfg(windows)]
mod windows;
