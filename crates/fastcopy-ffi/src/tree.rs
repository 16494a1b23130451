//! Directory trees through the C ABI: [`fastcopy_copy_tree`] wires
//! [`fastcopy::copy_tree`].

use std::ffi::c_char;
use std::path::PathBuf;

use fastcopy::{TreeOptions, TreeReport};

use crate::{
    Failure, FastcopyError, FastcopyMetrics, FastcopyOptions, finish, guard, metrics, nanos, path,
};

/// Failures listed one per line in the message of a partly failed tree
/// copy; the rest are counted.
const LISTED_FAILURES: usize = 20;

/// Options for [`fastcopy_copy_tree`]. Start from
/// [`fastcopy_tree_options_default`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FastcopyTreeOptions {
    /// How every regular file is copied (overwrite, reflink, times, mode,
    /// fsync); `create_parents` applies to the destination's own parents.
    pub file: FastcopyOptions,
    /// Worker threads; 0 (the default) means one per core.
    pub jobs: u32,
    /// Follow symbolic links in the source and copy what they point to
    /// (default off: links are recreated as links).
    pub follow_links: u8,
    /// Stop at the first failure (default off: copy the rest and report
    /// every failure).
    pub fail_fast: u8,
    /// Copy a file only when the destination lacks it or is older than the
    /// source, never over a newer one whatever its size (`cp -u`; default
    /// off). Takes precedence over `file.overwrite`.
    pub update: u8,
}

impl FastcopyTreeOptions {
    fn to_options(self) -> Result<TreeOptions, Failure> {
        let mut file = self.file.to_options()?;
        if self.update != 0 {
            file = file.overwrite(fastcopy::Overwrite::Older);
        }
        Ok(TreeOptions::new()
            .copy_options(file)
            .jobs(self.jobs as usize)
            .follow_links(self.follow_links != 0)
            .fail_fast(self.fail_fast != 0))
    }
}

/// What a tree copy did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FastcopyTreeReport {
    /// The regular files: counts, bytes, methods, fallbacks, sizes, and
    /// `failures` (files that failed).
    pub metrics: FastcopyMetrics,
    /// Entries of any kind that failed (each is in the error message).
    pub failed_entries: u64,
    /// Directories created or filled.
    pub directories: u64,
    /// Symbolic links recreated.
    pub symlinks: u64,
    /// Hard links recreated.
    pub hard_links: u64,
    /// FIFOs recreated.
    pub special_files: u64,
    /// Sockets and devices skipped.
    pub skipped: u64,
    /// Files left alone because they were up to date (`update`).
    pub up_to_date: u64,
    /// Warnings (attributes not copied, set-user-ID dropped, ...).
    pub warnings: u64,
    /// Worker threads used.
    pub jobs: u32,
    /// Wall time of the whole copy in nanoseconds.
    pub elapsed_ns: u64,
}

impl FastcopyTreeReport {
    fn from_report(r: &TreeReport) -> FastcopyTreeReport {
        FastcopyTreeReport {
            metrics: FastcopyMetrics::from_metrics(&r.metrics),
            failed_entries: r.errors.len() as u64,
            directories: r.directories,
            symlinks: r.symlinks,
            hard_links: r.hard_links,
            special_files: r.special_files,
            skipped: r.skipped,
            up_to_date: r.up_to_date,
            warnings: r.warnings.len() as u64,
            jobs: u32::try_from(r.jobs).unwrap_or(u32::MAX),
            elapsed_ns: nanos(r.elapsed),
        }
    }
}

/// The default tree options: [`fastcopy_options_default`](crate::fastcopy_options_default)
/// for every file, one worker per core, links copied as links, go on after
/// failures, copy everything.
#[unsafe(no_mangle)]
pub extern "C" fn fastcopy_tree_options_default() -> FastcopyTreeOptions {
    FastcopyTreeOptions::default()
}

/// Copies the directory tree `from` to `to`, which becomes the copy (an
/// existing directory `to` is filled). Regular files get the same methods
/// and guarantees as [`fastcopy_copy_file`](crate::fastcopy_copy_file);
/// directories, symbolic links, hard links and FIFOs are recreated;
/// sockets and devices are skipped with a warning.
///
/// - `options`: optional; NULL means [`fastcopy_tree_options_default`].
/// - `report`: optional; written whenever the copy ran, also when some
///   entries failed.
/// - `error`: optional; always written. When entries failed, the code and
///   `os_error` are the first failure's and the message lists the failures
///   (the first 20, one per line, then a count).
///
/// Returns [`FASTCOPY_OK`](crate::FASTCOPY_OK) when every entry was copied.
/// The files are counted in the process-wide metrics.
///
/// # Safety
///
/// As [`fastcopy_copy_file`](crate::fastcopy_copy_file), with `options`
/// NULL or pointing to a `FastcopyTreeOptions` and `report` NULL or valid
/// for writing a `FastcopyTreeReport`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fastcopy_copy_tree(
    from: *const c_char,
    to: *const c_char,
    options: *const FastcopyTreeOptions,
    report: *mut FastcopyTreeReport,
    error: *mut FastcopyError,
) -> i32 {
    let outcome = guard(|| {
        // SAFETY: the caller guarantees NULL or a NUL-terminated string.
        let from = unsafe { path::from_c(from, "source") }.map_err(Failure::invalid)?;
        // SAFETY: as above.
        let to = unsafe { path::from_c(to, "destination") }.map_err(Failure::invalid)?;
        // SAFETY: the caller's guarantees for `options` and `report`.
        unsafe { copy_tree_paths(from, to, options, report) }
    });
    // SAFETY: the caller guarantees `error` is NULL or valid for writes.
    unsafe { finish(outcome, error) }
}

/// # Safety
///
/// `options` is NULL or valid for reading; `report` is NULL or valid for
/// writing.
unsafe fn copy_tree_paths(
    from: PathBuf,
    to: PathBuf,
    options: *const FastcopyTreeOptions,
    report: *mut FastcopyTreeReport,
) -> Result<(), Failure> {
    // SAFETY: the caller guarantees `options` is NULL or valid for reads;
    // the struct is plain integers, so any bit pattern is a valid value.
    let options = unsafe { options.as_ref() }.copied().unwrap_or_default();
    let options = options.to_options()?;
    // A partial copy is an error that carries the report of what was done.
    let r = match fastcopy::copy_tree(&from, &to, &options) {
        Ok(r) => r,
        Err(e) if e.tree_report().is_some() => e.into_tree_report().unwrap_or_default(),
        Err(e) => {
            metrics().record_failure();
            return Err(Failure::from_error(&e));
        }
    };
    metrics().merge(&r.metrics);
    if !report.is_null() {
        // SAFETY: the caller guarantees `report` is valid for writes.
        unsafe { report.write(FastcopyTreeReport::from_report(&r)) };
    }
    let Some(first) = r.errors.first() else {
        return Ok(());
    };
    let mut failure = Failure::from_error(first);
    let mut message = format!("{} entries failed to copy:", r.errors.len());
    for e in r.errors.iter().take(LISTED_FAILURES) {
        message.push_str("\n  ");
        message.push_str(&e.to_string());
    }
    if r.errors.len() > LISTED_FAILURES {
        message.push_str(&format!(
            "\n  ... and {} more",
            r.errors.len() - LISTED_FAILURES
        ));
    }
    failure.message = message;
    Err(failure)
}
