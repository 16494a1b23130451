//! Tests of the C ABI, calling the `extern "C"` functions as C would, and of
//! the committed header. One binary (the modules below), linked once.

mod abi;
mod tree;
// cbindgen runs `cargo metadata`, which the Windows tests (under wine) cannot.
#[cfg(not(windows))]
mod header;
