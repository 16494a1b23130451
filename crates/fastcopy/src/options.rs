//! Copy options: the by-value builder and its mode enums.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::progress::Progress;
use crate::report::Method;

/// What to do when the destination already exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overwrite {
    /// Replace the destination atomically (the new file is renamed over it),
    /// as `std::fs::copy` and `cp` do.
    #[default]
    Replace,
    /// Never touch an existing destination: the copy fails with
    /// [`std::io::ErrorKind::AlreadyExists`]. The check and the final rename
    /// are one atomic step, so two racing copies cannot both win. (`cp
    /// --update=none-fail`; RCC's `CopyFile(src, dst, false)`.)
    NoClobber,
    /// Leave an existing destination alone and succeed: the report says
    /// [`Skipped::Exists`](crate::Skipped). (`cp --update=none`, and `cp -n`
    /// since coreutils 9.5.) The final rename is atomic as for
    /// [`NoClobber`](Overwrite::NoClobber): a destination that appears
    /// during the copy is kept too.
    Skip,
    /// Replace only a destination older than the source (its modification
    /// time strictly before the source's); leave a newer or equally old one
    /// alone, whatever its size, and succeed with
    /// [`Skipped::NotOlder`](crate::Skipped). (`cp -u`, `cp
    /// --update=older`, `rsync -u`.)
    Older,
}

/// Whether the copy may share data blocks with the source (a "reflink" or
/// clone, copy-on-write).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reflink {
    /// Clone when the filesystem can, copy otherwise.
    #[default]
    Auto,
    /// Clone or fail: where cloning is impossible the copy fails and leaves
    /// nothing behind.
    Always,
    /// Never share blocks: the destination gets its own data, even on
    /// filesystems whose `copy_file_range` clones by itself (Btrfs, XFS).
    Never,
}

/// Whether data bypasses the page cache (`O_DIRECT` on Linux, `F_NOCACHE` on
/// macOS, unbuffered I/O on Windows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DirectIo {
    /// Let fastcopy decide. Today this means "off": measurements on ext4,
    /// Btrfs, XFS and tmpfs found direct I/O slower than the kernel copy.
    #[default]
    Auto,
    /// Use direct I/O for the data copy (a clone is still tried first unless
    /// [`Reflink::Never`]); where the filesystem refuses it, the copy falls
    /// back to buffered I/O and the report says so.
    Always,
    /// Never use direct I/O.
    Never,
}

/// Whether the destination's space is reserved (`fallocate`) before data is
/// written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Preallocate {
    /// Let fastcopy decide. Today this means: on Linux, before
    /// `copy_file_range` within one ext4 filesystem, for files of 16 MiB or
    /// more (0.72x-0.82x the time without it with a warm cache, level with a
    /// cold one); nowhere else (no gain on Btrfs, XFS or tmpfs, a loss before
    /// `splice`; `bench/RESULTS.md`). A refusal is silent.
    #[default]
    Auto,
    /// Always, for the methods that write data (a refusal by the
    /// filesystem becomes a warning).
    Always,
    /// Never.
    Never,
}

impl From<bool> for Preallocate {
    /// `true` is [`Preallocate::Always`], `false` [`Preallocate::Never`].
    fn from(on: bool) -> Self {
        if on {
            Preallocate::Always
        } else {
            Preallocate::Never
        }
    }
}

/// The error returned when parsing one of the mode enums fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseModeError {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl fmt::Display for ParseModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} '{}' (expected one of: {})",
            self.what, self.value, self.expected
        )
    }
}

impl std::error::Error for ParseModeError {}

macro_rules! mode_str {
    ($ty:ident, $what:literal, $($name:literal $(| $alias:literal)* => $variant:ident),+) => {
        impl $ty {
            /// The lowercase name used on the command line and in reports.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = ParseModeError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.to_ascii_lowercase().as_str() {
                    $($name $(| $alias)* => Ok($ty::$variant),)+
                    _ => Err(ParseModeError {
                        what: $what,
                        value: s.to_owned(),
                        expected: concat!($($name, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

// The second names are `cp --update`'s.
mode_str!(Overwrite, "overwrite mode",
    "replace" | "all" => Replace,
    "no-clobber" | "none-fail" => NoClobber,
    "skip" | "none" => Skip,
    "older" => Older);
mode_str!(Reflink, "reflink mode", "auto" => Auto, "always" => Always, "never" => Never);
mode_str!(DirectIo, "direct I/O mode", "auto" => Auto, "always" => Always, "never" => Never);
mode_str!(Preallocate, "preallocation mode", "auto" => Auto, "always" => Always, "never" => Never);

/// Options for one copy. A by-value builder:
///
/// ```
/// use fastcopy::{CopyOptions, Overwrite, Reflink};
/// let opts = CopyOptions::new()
///     .overwrite(Overwrite::NoClobber)
///     .reflink(Reflink::Never)
///     .create_parents(true);
/// assert_eq!(opts.reflink_mode(), Reflink::Never);
/// ```
#[derive(Clone)]
pub struct CopyOptions {
    pub(crate) overwrite: Overwrite,
    pub(crate) reflink: Reflink,
    pub(crate) direct_io: DirectIo,
    pub(crate) preserve_times: bool,
    pub(crate) preserve_mode: bool,
    pub(crate) preserve_xattrs: bool,
    pub(crate) preallocate: Preallocate,
    pub(crate) create_parents: bool,
    pub(crate) fsync: bool,
    pub(crate) progress: Option<Arc<dyn Progress>>,
    pub(crate) only_method: Option<Method>,
    pub(crate) force: bool,
    pub(crate) in_place: bool,
    pub(crate) accept_changing_source: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            overwrite: Overwrite::Replace,
            reflink: Reflink::Auto,
            direct_io: DirectIo::Auto,
            preserve_times: true,
            preserve_mode: true,
            preserve_xattrs: false,
            preallocate: Preallocate::Auto,
            create_parents: false,
            fsync: false,
            progress: None,
            only_method: None,
            force: false,
            in_place: false,
            accept_changing_source: false,
        }
    }
}

impl fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOptions")
            .field("overwrite", &self.overwrite)
            .field("reflink", &self.reflink)
            .field("direct_io", &self.direct_io)
            .field("preserve_times", &self.preserve_times)
            .field("preserve_mode", &self.preserve_mode)
            .field("preserve_xattrs", &self.preserve_xattrs)
            .field("preallocate", &self.preallocate)
            .field("create_parents", &self.create_parents)
            .field("fsync", &self.fsync)
            .field("progress", &self.progress.is_some())
            .field("only_method", &self.only_method)
            .field("force", &self.force)
            .field("in_place", &self.in_place)
            .field("accept_changing_source", &self.accept_changing_source)
            .finish()
    }
}

impl CopyOptions {
    /// The defaults: [`Overwrite::Replace`], [`Reflink::Auto`],
    /// [`DirectIo::Auto`], keep times and mode, no xattrs,
    /// [`Preallocate::Auto`] (on Linux only before `copy_file_range` within
    /// one ext4 filesystem, for files of 16 MiB or more), no parent
    /// creation, no fsync, the whole ladder, no progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// What to do when the destination exists (default [`Overwrite::Replace`]).
    pub fn overwrite(mut self, mode: Overwrite) -> Self {
        self.overwrite = mode;
        self
    }

    /// Whether data blocks may be shared with the source (default [`Reflink::Auto`]).
    pub fn reflink(mut self, mode: Reflink) -> Self {
        self.reflink = mode;
        self
    }

    /// Whether to bypass the page cache (default [`DirectIo::Auto`]).
    pub fn direct_io(mut self, mode: DirectIo) -> Self {
        self.direct_io = mode;
        self
    }

    /// Keep the access and modification times, to the nanosecond where the
    /// filesystem stores them (default on).
    pub fn preserve_times(mut self, on: bool) -> Self {
        self.preserve_times = on;
        self
    }

    /// Keep the permission bits (default on). Set-user-ID and set-group-ID
    /// are kept only when running as root. When off, the new file gets the
    /// source's permission bits masked by the umask, as `cp` without `-p`.
    pub fn preserve_mode(mut self, on: bool) -> Self {
        self.preserve_mode = on;
        self
    }

    /// Copy extended attributes (default off). Attributes the destination
    /// refuses become warnings in the report, not errors.
    pub fn preserve_xattrs(mut self, on: bool) -> Self {
        self.preserve_xattrs = on;
        self
    }

    /// Whether to reserve the destination's space before writing data
    /// (`fallocate`, keeping the size), for methods that write data
    /// (default [`Preallocate::Auto`]; `true`/`false` mean always/never).
    /// Sparse sources are never preallocated, so their holes stay holes.
    pub fn preallocate(mut self, mode: impl Into<Preallocate>) -> Self {
        self.preallocate = mode.into();
        self
    }

    /// Create missing parent directories of the destination (default off).
    pub fn create_parents(mut self, on: bool) -> Self {
        self.create_parents = on;
        self
    }

    /// Flush the new file to stable storage before it is renamed into
    /// place (default off, like `cp`). With it, a power failure leaves
    /// either the old destination or the complete new one.
    pub fn fsync(mut self, on: bool) -> Self {
        self.fsync = on;
        self
    }

    /// Use exactly `method` and nothing else (for benchmarks and probes):
    /// the copy fails with [`std::io::ErrorKind::Unsupported`] when the
    /// method is not one the platform would try with the other options
    /// (so [`Reflink::Never`] still excludes every method that could share
    /// blocks, and [`Method::DirectIo`] needs [`DirectIo::Always`]), and
    /// with the method's own error when it declines, instead of falling
    /// back. Default: none, the whole ladder.
    pub fn only_method(mut self, method: Method) -> Self {
        self.only_method = Some(method);
        self
    }

    /// Report progress to `progress` while data is copied.
    pub fn progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Replace an existing destination that the caller may not write
    /// (`cp -f`): without it such a destination is refused with
    /// [`std::io::ErrorKind::PermissionDenied`]
    /// ([`Operation::DestinationNotWritable`](crate::Operation)), as `cp`
    /// refuses it, even where the directory would let a rename replace it.
    /// With it the destination is replaced (with [`in_place`](Self::in_place),
    /// removed first and written anew). Default off.
    pub fn force(mut self, on: bool) -> Self {
        self.force = on;
        self
    }

    /// Write into an existing destination's own inode (truncated first)
    /// instead of replacing it with a new file, as `cp` and `rsync
    /// --inplace` do: other hard links see the new content, owner, ACLs and
    /// extended attributes of the destination stay, and no room is needed
    /// for two copies at once. The price is atomicity: while the copy runs,
    /// and after a failure, the destination holds partial content. A
    /// missing destination is still created atomically. Default off.
    pub fn in_place(mut self, on: bool) -> Self {
        self.in_place = on;
        self
    }

    /// Accept a source that changes while it is copied (a log being
    /// appended to): the copy holds what was read, with
    /// [`Warning::SourceChanged`](crate::Warning). By default such a copy
    /// fails with [`Operation::SourceChanged`](crate::Operation) (size,
    /// modification time or status-change time different at the end than at
    /// the start), the temporary file is removed and an old destination
    /// stays as it was, as GNU tar treats "file changed as we read it".
    pub fn accept_changing_source(mut self, on: bool) -> Self {
        self.accept_changing_source = on;
        self
    }

    /// The overwrite mode.
    pub fn overwrite_mode(&self) -> Overwrite {
        self.overwrite
    }

    /// The reflink mode.
    pub fn reflink_mode(&self) -> Reflink {
        self.reflink
    }

    /// The preallocation mode.
    pub fn preallocate_mode(&self) -> Preallocate {
        self.preallocate
    }

    /// The direct I/O mode.
    pub fn direct_io_mode(&self) -> DirectIo {
        self.direct_io
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for m in [Reflink::Auto, Reflink::Always, Reflink::Never] {
            assert_eq!(m.as_str().parse::<Reflink>().unwrap(), m);
        }
        for m in [DirectIo::Auto, DirectIo::Always, DirectIo::Never] {
            assert_eq!(m.to_string().parse::<DirectIo>().unwrap(), m);
        }
        assert_eq!(
            "NO-CLOBBER".parse::<Overwrite>().unwrap(),
            Overwrite::NoClobber
        );
        assert_eq!("Always".parse::<Reflink>().unwrap(), Reflink::Always);
    }

    #[test]
    fn bad_mode_names_the_choices() {
        let err = "sometimes".parse::<Reflink>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid reflink mode 'sometimes' (expected one of: auto always never)"
        );
        assert!("".parse::<Overwrite>().is_err());
    }

    #[test]
    fn builder_defaults() {
        let o = CopyOptions::new();
        assert_eq!(o.overwrite_mode(), Overwrite::Replace);
        assert_eq!(o.reflink_mode(), Reflink::Auto);
        assert_eq!(o.direct_io_mode(), DirectIo::Auto);
        assert!(o.preserve_times && o.preserve_mode);
        assert!(!o.preserve_xattrs && !o.create_parents && !o.fsync);
        assert_eq!(o.preallocate_mode(), Preallocate::Auto);
    }
}
