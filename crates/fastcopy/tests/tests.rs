//! Integration tests of `fastcopy` through its public API, on real ext4,
//! Btrfs, XFS and tmpfs mounts (from `testfs`; a filesystem that cannot be
//! had is reported as `SKIPPED ...` on stderr, never passed silently).
//!
//! One test binary; each file below is a module of it.
#![cfg(target_os = "linux")]

mod common;

mod changing;
mod clone;
mod conformance;
mod contract;
mod cross_fs;
mod destinations;
mod extents;
mod immutable;
mod metadata;
mod metrics;
mod only_method;
mod overwrite;
mod progress;
mod pseudo;
mod same_file;
mod sizes;
mod sources;
mod sparse;
mod tree;
mod xattrs;
