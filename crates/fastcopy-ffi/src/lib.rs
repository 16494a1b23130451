//! C ABI for [fastcopy]: copy one file with options, get the
//! report (method, bytes, time, fallbacks) or an error code with a message,
//! and read process-wide metrics over every copy made through this ABI.
//!
//! The header is `include/fastcopy.h`, generated from this file by cbindgen
//! (the test `header::committed_header_is_current` regenerates it and fails
//! when the committed copy is stale; `FASTCOPY_BLESS=1` rewrites it).
//!
//! ```c
//! FastcopyOptions opts = fastcopy_options_default();
//! opts.overwrite = 0;            /* fail with FASTCOPY_ERROR_ALREADY_EXISTS */
//! opts.create_parents = 1;
//! FastcopyReport report;
//! FastcopyError err;
//! if (fastcopy_copy_file("a.bin", "out/b.bin", &opts, &report, &err) != FASTCOPY_OK) {
//!     fprintf(stderr, "%s (errno %d)\n", err.message, err.os_error);
//!     fastcopy_error_free(&err);
//! } else {
//!     printf("%s: %llu bytes\n", report.method, (unsigned long long)report.bytes);
//! }
//! ```
//!
//! # Contract
//!
//! - Every function is thread-safe. No Rust panic crosses the boundary: one
//!   is caught and returned as [`FASTCOPY_ERROR_INTERNAL`] (unless the
//!   library was built with `panic = "abort"`).
//! - Paths are NUL-terminated. [`fastcopy_copy_file`] takes them as bytes:
//!   on Unix any bytes (a path is bytes there; UTF-8 is what callers
//!   normally pass), on Windows UTF-8 (invalid UTF-8 is
//!   [`FASTCOPY_ERROR_INVALID_ARGUMENT`]), converted to the OS string.
//!   [`fastcopy_copy_file_w`] takes UTF-16 (`wchar_t` on Windows, where
//!   unpaired surrogates are kept as the OS allows; elsewhere the text must
//!   be valid UTF-16).
//! - Pointers that are documented as optional may be NULL; any other NULL
//!   is [`FASTCOPY_ERROR_INVALID_ARGUMENT`], never a crash.
//! - Strings returned in a [`FastcopyError`] belong to the caller, who
//!   frees them with [`fastcopy_error_free`] (or [`fastcopy_string_free`]);
//!   every other returned string is static and never freed.
#![deny(missing_docs)]

mod path;
mod tree;

pub use tree::{
    FastcopyTreeOptions, FastcopyTreeReport, fastcopy_copy_tree, fastcopy_tree_options_default,
};

use std::any::Any;
use std::ffi::{CString, c_char};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fastcopy::{CopyOptions, CopyReport, Method, Metrics, Operation, Overwrite, Reflink};

/// The version of this C ABI; it changes only when a function or struct
/// changes incompatibly. Compare with [`fastcopy_abi_version`] at run time.
pub const FASTCOPY_ABI_VERSION: u32 = 1;

/// Success.
pub const FASTCOPY_OK: i32 = 0;
/// An error not covered by a more specific code; see the message and
/// `os_error`.
pub const FASTCOPY_ERROR_OTHER: i32 = 1;
/// The source (or a directory on the way to the destination) does not
/// exist, or the destination is a dangling symbolic link.
pub const FASTCOPY_ERROR_NOT_FOUND: i32 = 2;
/// The system refused access.
pub const FASTCOPY_ERROR_PERMISSION_DENIED: i32 = 3;
/// The destination exists and overwriting was not allowed.
pub const FASTCOPY_ERROR_ALREADY_EXISTS: i32 = 4;
/// Source and destination are the same file (same path, hard link or
/// symbolic link); nothing was written.
pub const FASTCOPY_ERROR_SAME_FILE: i32 = 5;
/// What was asked cannot be done here, e.g. a clone
/// ([`FASTCOPY_REFLINK_ALWAYS`]) on a filesystem without clones or across
/// filesystems.
pub const FASTCOPY_ERROR_NOT_SUPPORTED: i32 = 6;
/// A NULL or malformed argument (path, option value), or a path the system
/// called invalid.
pub const FASTCOPY_ERROR_INVALID_ARGUMENT: i32 = 7;
/// The source is not a regular file (a directory, FIFO, socket or device),
/// or the destination is a directory or special file that will not be
/// replaced.
pub const FASTCOPY_ERROR_NOT_A_FILE: i32 = 8;
/// The destination's filesystem is full or the quota is exhausted.
pub const FASTCOPY_ERROR_NO_SPACE: i32 = 9;
/// A bug in fastcopy (a caught panic); the message says where.
pub const FASTCOPY_ERROR_INTERNAL: i32 = 10;
/// The source changed while it was copied (size, modification or status
/// change time); the destination was left as it was. See
/// [`FastcopyOptions::accept_changing_source`].
pub const FASTCOPY_ERROR_SOURCE_CHANGED: i32 = 11;

/// [`FastcopyOptions::overwrite`]: never touch an existing destination;
/// fail with [`FASTCOPY_ERROR_ALREADY_EXISTS`] (`cp --update=none-fail`).
pub const FASTCOPY_OVERWRITE_NO_CLOBBER: u8 = 0;
/// [`FastcopyOptions::overwrite`]: replace an existing destination
/// atomically (the default).
pub const FASTCOPY_OVERWRITE_REPLACE: u8 = 1;
/// [`FastcopyOptions::overwrite`]: leave an existing destination alone and
/// succeed, with [`FastcopyReport::skipped`] set (`cp --update=none`).
pub const FASTCOPY_OVERWRITE_SKIP: u8 = 2;
/// [`FastcopyOptions::overwrite`]: replace only a destination older than
/// the source, never a newer one whatever its size (`cp -u`).
pub const FASTCOPY_OVERWRITE_OLDER: u8 = 3;

/// [`FastcopyOptions::reflink`]: clone where the filesystem can, copy
/// otherwise.
pub const FASTCOPY_REFLINK_AUTO: u8 = 0;
/// [`FastcopyOptions::reflink`]: clone or fail with
/// [`FASTCOPY_ERROR_NOT_SUPPORTED`], leaving nothing behind.
pub const FASTCOPY_REFLINK_ALWAYS: u8 = 1;
/// [`FastcopyOptions::reflink`]: never share blocks with the source.
pub const FASTCOPY_REFLINK_NEVER: u8 = 2;

/// Slots in [`FastcopyMetrics::methods`], indexed by method id (see
/// [`fastcopy_method_name`]); ids without a method stay zero.
pub const FASTCOPY_METHOD_SLOTS: usize = 16;
/// Buckets in [`FastcopyMetrics::size_buckets`] (see
/// [`fastcopy_size_bucket_max`]).
pub const FASTCOPY_SIZE_BUCKETS: usize = 8;

const _: () = assert!(Method::ALL.len() <= FASTCOPY_METHOD_SLOTS);
const _: () = assert!(fastcopy::SIZE_BUCKET_LIMITS.len() + 1 == FASTCOPY_SIZE_BUCKETS);

/// Options for [`fastcopy_copy_file`]. Start from
/// [`fastcopy_options_default`]; every flag is 0 (off) or non-zero (on).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastcopyOptions {
    /// What to do with an existing destination:
    /// [`FASTCOPY_OVERWRITE_REPLACE`] (default),
    /// [`FASTCOPY_OVERWRITE_NO_CLOBBER`], [`FASTCOPY_OVERWRITE_SKIP`] or
    /// [`FASTCOPY_OVERWRITE_OLDER`].
    pub overwrite: u8,
    /// [`FASTCOPY_REFLINK_AUTO`] (default), [`FASTCOPY_REFLINK_ALWAYS`] or
    /// [`FASTCOPY_REFLINK_NEVER`].
    pub reflink: u8,
    /// Keep access and modification times, to the nanosecond (default on).
    pub preserve_times: u8,
    /// Keep permission bits (default on).
    pub preserve_mode: u8,
    /// Create the destination's missing parent directories (default off).
    pub create_parents: u8,
    /// Flush the new file to stable storage before renaming it into place
    /// (default off).
    pub fsync: u8,
    /// Replace an existing destination the caller may not write (`cp -f`;
    /// default off: refused with [`FASTCOPY_ERROR_PERMISSION_DENIED`]).
    pub force: u8,
    /// Write into the existing destination's own inode instead of
    /// replacing it (keeps its hard links, owner and permissions; not
    /// atomic; default off).
    pub in_place: u8,
    /// Accept a source that changes while it is copied (copied as read,
    /// with a warning; default off: [`FASTCOPY_ERROR_SOURCE_CHANGED`]).
    pub accept_changing_source: u8,
}

impl Default for FastcopyOptions {
    fn default() -> Self {
        FastcopyOptions {
            overwrite: 1,
            reflink: FASTCOPY_REFLINK_AUTO,
            preserve_times: 1,
            preserve_mode: 1,
            create_parents: 0,
            fsync: 0,
            force: 0,
            in_place: 0,
            accept_changing_source: 0,
        }
    }
}

impl FastcopyOptions {
    fn to_options(self) -> Result<CopyOptions, Failure> {
        let reflink = match self.reflink {
            FASTCOPY_REFLINK_AUTO => Reflink::Auto,
            FASTCOPY_REFLINK_ALWAYS => Reflink::Always,
            FASTCOPY_REFLINK_NEVER => Reflink::Never,
            other => {
                return Err(Failure::invalid(format!(
                    "invalid reflink mode {other} (expected 0 auto, 1 always, 2 never)"
                )));
            }
        };
        let overwrite = match self.overwrite {
            FASTCOPY_OVERWRITE_NO_CLOBBER => Overwrite::NoClobber,
            FASTCOPY_OVERWRITE_REPLACE => Overwrite::Replace,
            FASTCOPY_OVERWRITE_SKIP => Overwrite::Skip,
            FASTCOPY_OVERWRITE_OLDER => Overwrite::Older,
            other => {
                return Err(Failure::invalid(format!(
                    "invalid overwrite mode {other} (expected 0 no-clobber, 1 replace, 2 skip, 3 older)"
                )));
            }
        };
        Ok(CopyOptions::new()
            .overwrite(overwrite)
            .reflink(reflink)
            .preserve_times(self.preserve_times != 0)
            .preserve_mode(self.preserve_mode != 0)
            .create_parents(self.create_parents != 0)
            .fsync(self.fsync != 0)
            .force(self.force != 0)
            .in_place(self.in_place != 0)
            .accept_changing_source(self.accept_changing_source != 0))
    }
}

/// What a successful copy did.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct FastcopyReport {
    /// The method that copied the data, e.g. `"reflink"`,
    /// `"copy_file_range"`, `"read_write"` (static, never freed).
    pub method: *const c_char,
    /// The method's id, an index into [`FastcopyMetrics::methods`].
    pub method_id: u32,
    /// Non-zero when the method shares blocks with the source (a clone).
    pub cloned: u8,
    /// Bytes now in the destination.
    pub bytes: u64,
    /// Wall time of the whole copy in nanoseconds.
    pub elapsed_ns: u64,
    /// Methods tried and found unsupported before `method`.
    pub fallbacks: u32,
    /// Things that did not go as asked without failing the copy (an
    /// attribute not copied, set-user-ID dropped, an accepted change of the
    /// source, other hard links of a replaced destination).
    pub warnings: u32,
    /// 0 when the file was copied; 1 when an existing destination was left
    /// alone ([`FASTCOPY_OVERWRITE_SKIP`]), 2 when it was not older than the
    /// source ([`FASTCOPY_OVERWRITE_OLDER`]). Nothing was copied then.
    pub skipped: u8,
}

/// Why a call failed. Owned by the caller once written: free `message`
/// with [`fastcopy_error_free`] before reusing or dropping the struct.
#[repr(C)]
#[derive(Debug)]
pub struct FastcopyError {
    /// The status code, the same the function returned.
    pub code: i32,
    /// The operating system's error number (`errno`, or the Win32 error
    /// code on Windows), 0 when the system gave none (e.g. same file).
    pub os_error: i32,
    /// UTF-8 message naming the operation and the path, NUL-terminated;
    /// NULL on success.
    pub message: *mut c_char,
}

/// Figures of one method in [`FastcopyMetrics`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FastcopyMethodStats {
    /// Files copied by this method.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Their summed wall time in nanoseconds.
    pub elapsed_ns: u64,
}

/// Aggregated figures over every copy made through this library in this
/// process since it started or since [`fastcopy_metrics_reset`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FastcopyMetrics {
    /// Successful copies.
    pub files: u64,
    /// Failed copies (invalid arguments are not counted).
    pub failures: u64,
    /// Bytes copied by the successful copies.
    pub bytes: u64,
    /// Successful copies that fell back at least once.
    pub files_with_fallback: u64,
    /// Fallbacks in all.
    pub fallbacks: u64,
    /// Summed wall time of the successful copies in nanoseconds.
    pub elapsed_ns: u64,
    /// Figures per method, indexed by method id ([`fastcopy_method_name`]).
    pub methods: [FastcopyMethodStats; FASTCOPY_METHOD_SLOTS],
    /// Successful copies per size bucket; bucket `i` holds sizes up to
    /// [`fastcopy_size_bucket_max`]`(i)` bytes and above the previous
    /// bucket's maximum.
    pub size_buckets: [u64; FASTCOPY_SIZE_BUCKETS],
}

impl FastcopyMetrics {
    fn from_metrics(m: &Metrics) -> FastcopyMetrics {
        let mut out = FastcopyMetrics {
            files: m.files(),
            failures: m.failures(),
            bytes: m.bytes(),
            files_with_fallback: m.files_with_fallback(),
            fallbacks: m.fallbacks(),
            elapsed_ns: nanos(m.total_elapsed()),
            ..FastcopyMetrics::default()
        };
        for (slot, method) in out.methods.iter_mut().zip(Method::ALL) {
            let s = m.method(method);
            *slot = FastcopyMethodStats {
                files: s.files,
                bytes: s.bytes,
                elapsed_ns: nanos(s.elapsed),
            };
        }
        for (slot, bucket) in out.size_buckets.iter_mut().zip(m.size_histogram()) {
            *slot = bucket.files;
        }
        out
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Every copy made through this ABI, in this process.
static METRICS: LazyLock<Mutex<Metrics>> = LazyLock::new(|| Mutex::new(Metrics::new()));

fn metrics() -> MutexGuard<'static, Metrics> {
    // A panic while the lock was held cannot leave `Metrics` half-updated in
    // a way that matters more than losing one count.
    METRICS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// NUL-terminated method names, indexed by method id.
static METHOD_NAMES: LazyLock<Vec<CString>> = LazyLock::new(|| {
    Method::ALL
        .iter()
        .map(|m| CString::new(m.as_str()).expect("method names have no NUL"))
        .collect()
});

fn method_id(method: Method) -> u32 {
    let id = Method::ALL.iter().position(|m| *m == method);
    // `Method::ALL` lists every method; an unlisted one would be a bug in
    // fastcopy, reported as an out-of-range id rather than a crash.
    id.map_or(u32::MAX, |i| i as u32)
}

/// A failure on its way to the caller.
#[derive(Debug)]
struct Failure {
    code: i32,
    os_error: i32,
    message: String,
}

impl Failure {
    fn invalid(message: String) -> Failure {
        Failure {
            code: FASTCOPY_ERROR_INVALID_ARGUMENT,
            os_error: 0,
            message,
        }
    }

    fn from_error(e: &fastcopy::Error) -> Failure {
        Failure {
            code: status_of(e),
            os_error: e.raw_os_error().unwrap_or(0),
            message: e.to_string(),
        }
    }

    fn from_panic(payload: &(dyn Any + Send)) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        Failure {
            code: FASTCOPY_ERROR_INTERNAL,
            os_error: 0,
            message: format!("internal error in fastcopy (please report): {what}"),
        }
    }
}

/// The stable status code for a library error.
fn status_of(e: &fastcopy::Error) -> i32 {
    use io::ErrorKind as K;
    let no_errno = e.raw_os_error().is_none();
    match (e.operation(), e.kind()) {
        (Operation::SameFile, _) => FASTCOPY_ERROR_SAME_FILE,
        (Operation::SourceChanged, _) => FASTCOPY_ERROR_SOURCE_CHANGED,
        (Operation::DestinationExists, _) => FASTCOPY_ERROR_ALREADY_EXISTS,
        (Operation::SourceNotRegular, _) => FASTCOPY_ERROR_NOT_A_FILE,
        // fastcopy's own refusal to replace a directory or special file.
        (Operation::StatDestination, K::IsADirectory | K::InvalidInput) if no_errno => {
            FASTCOPY_ERROR_NOT_A_FILE
        }
        // A clone that was required but cannot be made here.
        (Operation::Clone, K::Unsupported | K::CrossesDevices | K::InvalidInput) => {
            FASTCOPY_ERROR_NOT_SUPPORTED
        }
        (_, K::NotFound) => FASTCOPY_ERROR_NOT_FOUND,
        (_, K::PermissionDenied | K::ReadOnlyFilesystem) => FASTCOPY_ERROR_PERMISSION_DENIED,
        (_, K::AlreadyExists) => FASTCOPY_ERROR_ALREADY_EXISTS,
        (_, K::Unsupported) => FASTCOPY_ERROR_NOT_SUPPORTED,
        (_, K::InvalidInput | K::InvalidFilename) => FASTCOPY_ERROR_INVALID_ARGUMENT,
        (_, K::IsADirectory) => FASTCOPY_ERROR_NOT_A_FILE,
        (_, K::StorageFull | K::QuotaExceeded) => FASTCOPY_ERROR_NO_SPACE,
        _ => FASTCOPY_ERROR_OTHER,
    }
}

/// Runs `f`, turning a panic into [`FASTCOPY_ERROR_INTERNAL`].
fn guard<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(Failure::from_panic(&*payload)))
}

fn message_cstring(message: String) -> CString {
    CString::new(message).unwrap_or_else(|e| {
        let cleaned = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\u{FFFD}");
        CString::new(cleaned).unwrap_or_default()
    })
}

/// Writes the outcome to `error` (if not NULL) and returns the status code.
///
/// # Safety
///
/// `error` is NULL or valid for writing one `FastcopyError`.
unsafe fn finish(outcome: Result<(), Failure>, error: *mut FastcopyError) -> i32 {
    let (code, os_error, message) = match outcome {
        Ok(()) => (FASTCOPY_OK, 0, std::ptr::null_mut()),
        Err(f) => (f.code, f.os_error, message_cstring(f.message).into_raw()),
    };
    if error.is_null() {
        if !message.is_null() {
            // SAFETY: `message` came from `CString::into_raw` just above and
            // was handed to no one.
            drop(unsafe { CString::from_raw(message) });
        }
    } else {
        // SAFETY: the caller guarantees `error` is valid for writes; `write`
        // does not read (or drop) what was there.
        unsafe {
            error.write(FastcopyError {
                code,
                os_error,
                message,
            })
        };
    }
    code
}

/// Copies with already-converted paths and records the outcome in the
/// metrics.
///
/// # Safety
///
/// `options` is NULL or valid for reading; `report` is NULL or valid for
/// writing.
unsafe fn copy_paths(
    from: PathBuf,
    to: PathBuf,
    options: *const FastcopyOptions,
    report: *mut FastcopyReport,
) -> Result<(), Failure> {
    // SAFETY: the caller guarantees `options` is NULL or valid for reads;
    // `FastcopyOptions` is plain bytes, so any bit pattern is a valid value.
    let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
    let options = options.to_options()?;
    match fastcopy::copy_with(&from, &to, &options) {
        Ok(r) => {
            metrics().record(&r);
            if !report.is_null() {
                // SAFETY: the caller guarantees `report` is valid for writes.
                unsafe { report.write(report_of(&r)) };
            }
            Ok(())
        }
        Err(e) => {
            metrics().record_failure();
            Err(Failure::from_error(&e))
        }
    }
}

fn report_of(r: &CopyReport) -> FastcopyReport {
    let id = method_id(r.method);
    FastcopyReport {
        method: METHOD_NAMES
            .get(id as usize)
            .map_or(c"unknown".as_ptr(), |s| s.as_ptr()),
        method_id: id,
        cloned: u8::from(r.method.is_clone()),
        bytes: r.bytes,
        elapsed_ns: nanos(r.elapsed),
        fallbacks: u32::try_from(r.fallbacks.len()).unwrap_or(u32::MAX),
        warnings: u32::try_from(r.warnings.len()).unwrap_or(u32::MAX),
        skipped: match r.skipped {
            None => 0,
            Some(fastcopy::Skipped::Exists) => 1,
            Some(_) => 2,
        },
    }
}

/// The default options: overwrite, reflink auto, keep times and mode, no
/// parent creation, no fsync.
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_options_default() -> FastcopyOptions {
    FastcopyOptions::default()
}

/// Copies the file `from` to `to`: data into a temporary file next to the
/// destination, renamed into place when complete (the destination never
/// holds a partial file), with clone → kernel copy → read/write fallbacks.
/// `to` may be an existing directory: the file is copied into it under its
/// own name.
///
/// - `options`: optional; NULL means [`fastcopy_options_default`].
/// - `report`: optional; written only on success.
/// - `error`: optional; always written (code 0 and NULL message on success).
///
/// Returns [`FASTCOPY_OK`] or an error code. Counted in the process-wide
/// metrics.
///
/// # Safety
///
/// `from` and `to` are NULL or NUL-terminated strings valid for reads;
/// `options` is NULL or points to a `FastcopyOptions`; `report` and `error`
/// are NULL or valid for writing one struct each. An `error` still holding
/// a message from an earlier call leaks it (free it first).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_copy_file(
    from: *const c_char,
    to: *const c_char,
    options: *const FastcopyOptions,
    report: *mut FastcopyReport,
    error: *mut FastcopyError,
) -> i32 {
    let outcome = guard(|| {
        // SAFETY: the caller guarantees NULL or a NUL-terminated string.
        let from = unsafe { path::from_c(from, "source") }.map_err(Failure::invalid)?;
        // SAFETY: as above.
        let to = unsafe { path::from_c(to, "destination") }.map_err(Failure::invalid)?;
        // SAFETY: the caller's guarantees for `options` and `report`.
        unsafe { copy_paths(from, to, options, report) }
    });
    // SAFETY: the caller guarantees `error` is NULL or valid for writes.
    unsafe { finish(outcome, error) }
}

/// [`fastcopy_copy_file`] with NUL-terminated UTF-16 paths (`wchar_t` on
/// Windows).
///
/// # Safety
///
/// As [`fastcopy_copy_file`], with `from` and `to` NULL or NUL-terminated
/// arrays of `uint16_t` valid for reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_copy_file_w(
    from: *const u16,
    to: *const u16,
    options: *const FastcopyOptions,
    report: *mut FastcopyReport,
    error: *mut FastcopyError,
) -> i32 {
    let outcome = guard(|| {
        // SAFETY: the caller guarantees NULL or a NUL-terminated array.
        let from = unsafe { path::from_wide(from, "source") }.map_err(Failure::invalid)?;
        // SAFETY: as above.
        let to = unsafe { path::from_wide(to, "destination") }.map_err(Failure::invalid)?;
        // SAFETY: the caller's guarantees for `options` and `report`.
        unsafe { copy_paths(from, to, options, report) }
    });
    // SAFETY: the caller guarantees `error` is NULL or valid for writes.
    unsafe { finish(outcome, error) }
}

/// Frees the message in `error` and sets it to NULL. NULL `error`, or a
/// NULL message, is fine; calling it twice is fine.
///
/// # Safety
///
/// `error` is NULL or points to a `FastcopyError` written by this library
/// (or whose `message` is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_error_free(error: *mut FastcopyError) {
    // SAFETY: the caller guarantees NULL or a valid, writable struct.
    if let Some(error) = unsafe { error.as_mut() } {
        let message = std::mem::replace(&mut error.message, std::ptr::null_mut());
        // SAFETY: a non-NULL message was made by `CString::into_raw` in
        // `finish` and, being replaced by NULL, is freed only once.
        unsafe { fastcopy_string_free(message) };
    }
}

/// Frees a string this library handed to the caller (a
/// [`FastcopyError::message`]). NULL is fine.
///
/// # Safety
///
/// `s` is NULL or a string returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller guarantees it came from `CString::into_raw` in
        // this library and is freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Writes the current metrics to `out`. Returns [`FASTCOPY_OK`], or
/// [`FASTCOPY_ERROR_INVALID_ARGUMENT`] when `out` is NULL.
///
/// # Safety
///
/// `out` is NULL or valid for writing one `FastcopyMetrics`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_metrics(out: *mut FastcopyMetrics) -> i32 {
    if out.is_null() {
        return FASTCOPY_ERROR_INVALID_ARGUMENT;
    }
    let snapshot = guard(|| Ok(FastcopyMetrics::from_metrics(&metrics())));
    match snapshot {
        Ok(m) => {
            // SAFETY: checked non-NULL; the caller guarantees it is valid.
            unsafe { out.write(m) };
            FASTCOPY_OK
        }
        Err(f) => f.code,
    }
}

/// Sets the metrics back to zero. When `out` is not NULL, the figures just
/// before the reset are written there (read and reset in one step, so no
/// copy is counted twice or lost).
///
/// # Safety
///
/// `out` is NULL or valid for writing one `FastcopyMetrics`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_metrics_reset(out: *mut FastcopyMetrics) {
    let taken = guard(|| Ok(std::mem::take(&mut *metrics())));
    if let (Ok(m), false) = (taken, out.is_null()) {
        // SAFETY: checked non-NULL; the caller guarantees it is valid.
        unsafe { out.write(FastcopyMetrics::from_metrics(&m)) };
    }
}

/// The name of method `id` (`"reflink"`, `"copy_file_range"`, ...), static;
/// NULL for an id without a method.
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_method_name(id: u32) -> *const c_char {
    METHOD_NAMES
        .get(id as usize)
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// The largest file size in bytes counted in size bucket `index`;
/// `UINT64_MAX` for the last, open-ended bucket (and for any index past it).
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_size_bucket_max(index: u32) -> u64 {
    fastcopy::SIZE_BUCKET_LIMITS
        .get(index as usize)
        .copied()
        .unwrap_or(u64::MAX)
}

/// The name of a status code (`"NOT_FOUND"`, ...), static; `"UNKNOWN"` for
/// a code this version does not know.
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_status_name(code: i32) -> *const c_char {
    match code {
        FASTCOPY_OK => c"OK",
        FASTCOPY_ERROR_OTHER => c"OTHER",
        FASTCOPY_ERROR_SOURCE_CHANGED => c"SOURCE_CHANGED",
        FASTCOPY_ERROR_NOT_FOUND => c"NOT_FOUND",
        FASTCOPY_ERROR_PERMISSION_DENIED => c"PERMISSION_DENIED",
        FASTCOPY_ERROR_ALREADY_EXISTS => c"ALREADY_EXISTS",
        FASTCOPY_ERROR_SAME_FILE => c"SAME_FILE",
        FASTCOPY_ERROR_NOT_SUPPORTED => c"NOT_SUPPORTED",
        FASTCOPY_ERROR_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
        FASTCOPY_ERROR_NOT_A_FILE => c"NOT_A_FILE",
        FASTCOPY_ERROR_NO_SPACE => c"NO_SPACE",
        FASTCOPY_ERROR_INTERNAL => c"INTERNAL",
        _ => c"UNKNOWN",
    }
    .as_ptr()
}

/// The library's version, e.g. `"0.1.0"` (static).
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// [`FASTCOPY_ABI_VERSION`] of the library actually linked.
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_abi_version() -> u32 {
    FASTCOPY_ABI_VERSION
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error() {
        let out: Result<(), Failure> = guard(|| panic!("boom {}", 42));
        let f = out.unwrap_err();
        assert_eq!(f.code, FASTCOPY_ERROR_INTERNAL);
        assert!(f.message.contains("boom 42"), "{}", f.message);
        let out: Result<(), Failure> = guard(|| std::panic::panic_any(7_u8));
        assert!(out.unwrap_err().message.contains("unknown panic"));
    }

    #[test]
    fn messages_with_nul_survive() {
        let c = message_cstring("a\0b".to_owned());
        assert_eq!(c.to_str().unwrap(), "a\u{FFFD}b");
    }

    #[test]
    fn reflink_modes_are_validated() {
        for (raw, mode) in [
            (0, Reflink::Auto),
            (1, Reflink::Always),
            (2, Reflink::Never),
        ] {
            let o = FastcopyOptions {
                reflink: raw,
                ..FastcopyOptions::default()
            };
            assert_eq!(o.to_options().unwrap().reflink_mode(), mode);
        }
        let bad = FastcopyOptions {
            reflink: 3,
            ..FastcopyOptions::default()
        };
        let f = bad.to_options().unwrap_err();
        assert_eq!(f.code, FASTCOPY_ERROR_INVALID_ARGUMENT);
    }

    #[test]
    fn every_method_has_an_id_and_a_name() {
        for (i, m) in Method::ALL.into_iter().enumerate() {
            assert_eq!(method_id(m), i as u32);
            assert_eq!(METHOD_NAMES[i].to_str().unwrap(), m.as_str());
        }
        assert!(fastcopy_method_name(Method::ALL.len() as u32).is_null());
    }

    #[test]
    fn durations_saturate() {
        assert_eq!(nanos(Duration::from_nanos(5)), 5);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }
}
