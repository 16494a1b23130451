//! Tests of the C ABI, calling the `extern "C"` functions as C would, and of
//! the committed header. One binary (the modules below), linked once.

mod abi;
mod header;
