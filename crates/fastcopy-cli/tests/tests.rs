//! Integration tests of the `fastcopy` binary. One test binary (see
//! `autotests = false` in Cargo.toml); each area is a module.
#![cfg(unix)]

mod util;

mod copy;
#[cfg(target_os = "linux")]
mod cp_compat;
mod errors;
mod output;
mod progress;
mod tree;

mod faults;
#[cfg(target_os = "linux")]
mod filesystems;
#[cfg(target_os = "linux")]
mod tools;
