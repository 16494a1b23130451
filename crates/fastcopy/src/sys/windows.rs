//! Windows: explicit block cloning on ReFS (`FSCTL_DUPLICATE_EXTENTS_TO_FILE`),
//! then `CopyFileExW` (which clones by itself on ReFS and Dev Drive on
//! recent Windows), then a read/write loop; `MoveFileExW` for no-clobber.
//!
//! Executed under wine in CI (`x86_64-pc-windows-gnu`); wine has no ReFS, so
//! the block-clone path is proven to decline cleanly there, and its
//! arithmetic is tested everywhere (`block_clone_plan`).

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation as win;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::Storage::FileSystem as fs;
use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::Win32::System::Ioctl as ioctl;
use windows_sys::Win32::System::SystemServices::FILE_SUPPORTS_BLOCK_REFCOUNTING;

use super::block_clone_plan::{self, BlockClonePlan};
use super::rw_loop::{self, Stop};
use crate::fault::{Point, hit};
use crate::ladder::Step;
use crate::options::{CopyOptions, DirectIo, Reflink};
use crate::progress::{self, Progress};
use crate::report::{Method, Warning};

/// Share modes for every file we open: others may read, write, rename and
/// delete it meanwhile, as on Unix.
const SHARE_ALL: u32 = fs::FILE_SHARE_READ | fs::FILE_SHARE_WRITE | fs::FILE_SHARE_DELETE;

/// Buffer of the read/write loop.
const BUFFER: usize = 1 << 20;

/// Whether the Win32 error `code`, returned by a copy method before it
/// wrote anything, means "this method cannot work here, try the next one".
/// Everything else is a real failure and ends the copy.
pub(crate) fn is_unsupported(code: u32) -> bool {
    match code {
        // The filesystem or the driver does not implement the request:
        // FSCTL_DUPLICATE_EXTENTS_TO_FILE and FSCTL_GET_INTEGRITY_INFORMATION
        // on NTFS, FAT, exFAT and network redirectors.
        win::ERROR_INVALID_FUNCTION | win::ERROR_NOT_SUPPORTED => true,
        // A call this Windows (or wine) does not have.
        win::ERROR_CALL_NOT_IMPLEMENTED => true,
        // Block cloning: source and destination on different volumes.
        win::ERROR_NOT_SAME_DEVICE => true,
        // Block cloning: a range or file the volume cannot clone (not
        // cluster-aligned, sparse/integrity settings that differ, a file
        // with a different stream layout).
        win::ERROR_INVALID_PARAMETER => true,
        // Block cloning: the clusters are already shared by as many files
        // as ReFS allows.
        win::ERROR_BLOCK_TOO_MANY_REFERENCES => true,
        // Block cloning on a volume whose hardware or format lacks it.
        win::ERROR_DEVICE_FEATURE_NOT_SUPPORTED | win::ERROR_NOT_CAPABLE => true,
        // Block cloning: an offset the volume cannot take.
        win::ERROR_OFFSET_ALIGNMENT_VIOLATION => true,
        // CopyFileExW opens both files again by path while we hold them
        // open; a Windows whose CopyFile wants them without sharing answers
        // this before it copies anything. The read/write loop works on our
        // own handles instead.
        win::ERROR_SHARING_VIOLATION => true,
        // ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL, ERROR_DISK_QUOTA_EXCEEDED,
        // ERROR_CRC, ERROR_IO_DEVICE, ERROR_ACCESS_DENIED,
        // ERROR_REQUEST_ABORTED (cancelled) and anything unknown: fatal.
        _ => false,
    }
}

/// [`is_unsupported`] for an `io::Error`; our own "cannot here" errors
/// (kind `Unsupported`, no code) count too.
fn may_fall_back(e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(code) => is_unsupported(code as u32),
        None => e.kind() == io::ErrorKind::Unsupported,
    }
}

pub(crate) fn unsupported(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, message)
}

/// Turns a Win32 `BOOL` result into an `io::Result`.
fn check(ok: impl PartialEq + Default) -> io::Result<()> {
    if ok == Default::default() {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub(crate) fn handle(f: &File) -> HANDLE {
    f.as_raw_handle() as HANDLE
}

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain([0]).collect()
}

/// Opens `path` for reading, sharing it fully, and insists on a disk file:
/// character devices (`NUL`, `CON`, serial ports) and pipes are refused.
/// A directory cannot be opened this way (no `FILE_FLAG_BACKUP_SEMANTICS`);
/// the core then names it through [`special_kind`].
pub(crate) fn open_source(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .share_mode(SHARE_ALL)
        .custom_flags(fs::FILE_FLAG_SEQUENTIAL_SCAN)
        .open(path)?;
    // SAFETY: the handle is open for the duration of the call.
    let kind = unsafe { fs::GetFileType(handle(&file)) };
    let what = match kind {
        fs::FILE_TYPE_DISK => return Ok(file),
        fs::FILE_TYPE_CHAR => "is a character device",
        fs::FILE_TYPE_PIPE => "is a pipe or socket",
        _ => "is not a disk file",
    };
    Err(io::Error::new(io::ErrorKind::InvalidInput, what))
}

/// What kind of special file `meta` describes, if it is one. Devices and
/// pipes are caught when opened ([`open_source`]); what is left is a
/// directory.
pub(crate) fn special_kind(meta: &Metadata) -> Option<&'static str> {
    meta.is_dir().then_some("is a directory")
}

/// Whether the open source and the file at `dest` are one file: the same
/// volume serial number and file id ([`FileId`]), whatever the paths (the
/// same path, a hard link, a symbolic link).
///
/// `dest` is opened without any access right (metadata only, following
/// links, directories too), fully shared. Only where it cannot be opened at
/// all does this fall back to comparing the metadata std exposes, to the
/// 100 ns: size, attributes, and the creation, write and access times.
pub(crate) fn same_file(src: &File, a: &Metadata, dest: &Path, b: &Metadata) -> bool {
    let dest_file = OpenOptions::new()
        .access_mode(0)
        .share_mode(SHARE_ALL)
        .custom_flags(fs::FILE_FLAG_BACKUP_SEMANTICS)
        .open(dest);
    if let Ok(dest_file) = dest_file
        && let (Ok(x), Ok(y)) = (FileId::of(handle(src)), FileId::of(handle(&dest_file)))
    {
        return x == y;
    }
    a.file_size() == b.file_size()
        && a.file_attributes() == b.file_attributes()
        && a.creation_time() == b.creation_time()
        && a.last_write_time() == b.last_write_time()
        && a.last_access_time() == b.last_access_time()
}

/// Windows has no mode bits; the temporary file gets default attributes.
pub(crate) fn initial_mode(_src: &Metadata) -> u32 {
    0
}

/// Creates `path` exclusively (`CREATE_NEW`), for reading and writing,
/// fully shared.
pub(crate) fn create_temp(path: &Path, _mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .share_mode(SHARE_ALL)
        .open(path)
}

/// The source's attributes, of which `set_permissions` applies the
/// settable ones: read-only above all (also hidden, system, archive).
pub(crate) fn final_permissions(
    src: &Metadata,
    _warnings: &mut Vec<Warning>,
) -> Option<Permissions> {
    Some(src.permissions())
}

/// Windows keeps no extended attributes in the Unix sense. (`CopyFileExW`
/// copies alternate data streams by itself.)
pub(crate) fn copy_xattrs(_src: &File, _dst: &File, _warnings: &mut Vec<Warning>) {}

/// Renames `from` to `to` unless `to` exists, atomically: `MoveFileExW`
/// without `MOVEFILE_REPLACE_EXISTING` fails with `ERROR_ALREADY_EXISTS`
/// (`io::ErrorKind::AlreadyExists`) if the name is taken.
pub(crate) fn rename_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (wide(from), wide(to));
    // SAFETY: both are NUL-terminated wide strings that outlive the call.
    check(unsafe { fs::MoveFileExW(from.as_ptr(), to.as_ptr(), 0) })
}

/// The methods of this ladder, in the order they are tried.
pub(crate) const METHODS: &[Method] = &[Method::BlockClone, Method::CopyFileEx, Method::ReadWrite];

/// The methods to try, in order.
pub(crate) fn plan(opts: &CopyOptions, src: &Metadata, dst: &File) -> Vec<Method> {
    let size = src.len();
    // Whether the destination's volume shares clusters between files
    // (ReFS, Dev Drive). Where it does, CopyFileExW may clone by itself.
    let refcounting = volume_flags(dst).is_ok_and(|f| f & FILE_SUPPORTS_BLOCK_REFCOUNTING != 0);
    let mut plan = Vec::with_capacity(3);
    match opts.reflink {
        // Only a clone will do; the ladder turns its refusal into an error.
        Reflink::Always => return vec![Method::BlockClone],
        Reflink::Auto if refcounting && size > 0 => plan.push(Method::BlockClone),
        Reflink::Auto | Reflink::Never => {}
    }
    // With Never, CopyFileExW is left out where it could clone.
    if opts.reflink != Reflink::Never || !refcounting {
        plan.push(Method::CopyFileEx);
    }
    plan.push(Method::ReadWrite);
    plan
}

/// Runs one method of the ladder.
pub(crate) fn run_method(
    method: Method,
    // Only Linux methods decline part way; the others start at 0.
    _from: u64,
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
    _warnings: &mut Vec<Warning>,
) -> Step {
    let result = match method {
        Method::BlockClone => block_clone(src, src_meta, dst, opts.progress.as_deref()),
        Method::CopyFileEx => copy_file_ex(src, src_meta, dst, opts),
        Method::ReadWrite => read_write(src, src_meta, dst, opts.progress.as_deref()),
        _ => Err(Attempt::Declined(unsupported(
            "not available on this platform",
        ))),
    };
    match result {
        Ok(bytes) => Step::Done(bytes),
        Err(Attempt::Declined(e)) => Step::Unsupported(e),
        Err(Attempt::Failed(e)) => Step::Failed(e),
    }
}

/// How a method that did not finish ended.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Nothing written, and the error means "not here": try the next one.
    Declined(io::Error),
    /// Stop the copy.
    Failed(io::Error),
}

impl Attempt {
    /// Classifies an error met before anything was written.
    fn before_writing(e: io::Error) -> Attempt {
        if may_fall_back(&e) {
            Attempt::Declined(e)
        } else {
            Attempt::Failed(e)
        }
    }
}

/// A file's identity: volume serial number and file id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    volume: u64,
    id: u128,
}

impl FileId {
    /// `GetFileInformationByHandleEx(FileIdInfo)`: the 128-bit id ReFS
    /// needs; where a filesystem (FAT) or wine lacks it, the 64-bit index of
    /// `GetFileInformationByHandle`.
    pub(crate) fn of(h: HANDLE) -> io::Result<FileId> {
        // SAFETY: FILE_ID_INFO is plain data; zero is a valid value.
        let mut info: fs::FILE_ID_INFO = unsafe { zeroed() };
        // SAFETY: `info` is a writable FILE_ID_INFO of the size passed.
        let ok = unsafe {
            fs::GetFileInformationByHandleEx(
                h,
                fs::FileIdInfo,
                (&raw mut info).cast(),
                size_of::<fs::FILE_ID_INFO>() as u32,
            )
        };
        if check(ok).is_ok() {
            return Ok(FileId {
                volume: info.VolumeSerialNumber,
                id: u128::from_le_bytes(info.FileId.Identifier),
            });
        }
        // SAFETY: plain data; zero is a valid value.
        let mut info: fs::BY_HANDLE_FILE_INFORMATION = unsafe { zeroed() };
        // SAFETY: `info` is a writable BY_HANDLE_FILE_INFORMATION.
        check(unsafe { fs::GetFileInformationByHandle(h, &mut info) })?;
        Ok(FileId {
            volume: u64::from(info.dwVolumeSerialNumber),
            id: u128::from(info.nFileIndexHigh) << 32 | u128::from(info.nFileIndexLow),
        })
    }
}

/// The path a handle's file has now, as `\\?\C:\...` or `\\?\UNC\...`.
pub(crate) fn final_path(f: &File) -> io::Result<PathBuf> {
    let mut buf = vec![0u16; 512];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` wide characters.
        let n = unsafe {
            fs::GetFinalPathNameByHandleW(
                handle(f),
                buf.as_mut_ptr(),
                buf.len() as u32,
                fs::FILE_NAME_NORMALIZED | fs::VOLUME_NAME_DOS,
            )
        } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            buf.truncate(n);
            return Ok(PathBuf::from(OsString::from_wide(&buf)));
        }
        // Too small: `n` is the size needed, NUL included.
        buf.resize(n, 0);
    }
}

/// The volume's `FILE_*` capability flags (`GetVolumeInformationByHandleW`).
pub(crate) fn volume_flags(f: &File) -> io::Result<u32> {
    let mut flags = 0;
    // SAFETY: only the flags are asked for; every other out pointer is
    // null with a zero size, as the documentation allows.
    check(unsafe {
        fs::GetVolumeInformationByHandleW(
            handle(f),
            null_mut(),
            0,
            null_mut(),
            null_mut(),
            &mut flags,
            null_mut(),
            0,
        )
    })?;
    Ok(flags)
}

/// `DeviceIoControl` with an input structure and no output.
fn fsctl_in<T>(f: HANDLE, code: u32, input: &T) -> io::Result<()> {
    let mut returned = 0;
    // SAFETY: `input` is a valid `T` for reading, of the size passed; no
    // output buffer; synchronous (no OVERLAPPED).
    check(unsafe {
        DeviceIoControl(
            f,
            code,
            (input as *const T).cast(),
            size_of::<T>() as u32,
            null_mut(),
            0,
            &mut returned,
            null_mut(),
        )
    })
}

/// `FSCTL_GET_INTEGRITY_INFORMATION`: the integrity-stream setting and the
/// volume's cluster size (ReFS only).
fn integrity(f: &File) -> io::Result<ioctl::FSCTL_GET_INTEGRITY_INFORMATION_BUFFER> {
    let mut out = ioctl::FSCTL_GET_INTEGRITY_INFORMATION_BUFFER::default();
    let mut returned = 0;
    // SAFETY: no input; `out` is writable for the size passed; synchronous.
    check(unsafe {
        DeviceIoControl(
            handle(f),
            ioctl::FSCTL_GET_INTEGRITY_INFORMATION,
            null(),
            0,
            (&raw mut out).cast(),
            size_of::<ioctl::FSCTL_GET_INTEGRITY_INFORMATION_BUFFER>() as u32,
            &mut returned,
            null_mut(),
        )
    })?;
    Ok(out)
}

/// `FSCTL_SET_SPARSE`: marks the file sparse or not.
pub(crate) fn set_sparse(f: &File, on: bool) -> io::Result<()> {
    #[allow(clippy::useless_conversion)]
    let input = ioctl::FILE_SET_SPARSE_BUFFER {
        // `bool` in windows-sys 0.61, `BOOLEAN` (u8) before.
        SetSparse: on.into(),
    };
    fsctl_in(handle(f), ioctl::FSCTL_SET_SPARSE, &input)
}

/// Sets the end of file (`SetFileInformationByHandle(FileEndOfFileInfo)`).
pub(crate) fn set_len(f: &File, len: u64) -> io::Result<()> {
    let info = fs::FILE_END_OF_FILE_INFO {
        EndOfFile: len as i64,
    };
    // SAFETY: `info` is a valid FILE_END_OF_FILE_INFO of the size passed.
    check(unsafe {
        fs::SetFileInformationByHandle(
            handle(f),
            fs::FileEndOfFileInfo,
            (&raw const info).cast(),
            size_of::<fs::FILE_END_OF_FILE_INFO>() as u32,
        )
    })
}

/// Clones `src`'s clusters into `dst` with `FSCTL_DUPLICATE_EXTENTS_TO_FILE`,
/// following [`block_clone_plan::plan`].
fn block_clone(
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    progress: Option<&dyn Progress>,
) -> Result<u64, Attempt> {
    hit(Point::Clone).map_err(Attempt::before_writing)?;
    let flags = volume_flags(dst).map_err(Attempt::before_writing)?;
    if flags & FILE_SUPPORTS_BLOCK_REFCOUNTING == 0 {
        return Err(Attempt::Declined(io::Error::new(
            io::ErrorKind::Unsupported,
            "the volume does not support block cloning (no FILE_SUPPORTS_BLOCK_REFCOUNTING)",
        )));
    }
    let (src_id, dst_id) = (
        FileId::of(handle(src)).map_err(Attempt::Failed)?,
        FileId::of(handle(dst)).map_err(Attempt::Failed)?,
    );
    if src_id.volume != dst_id.volume {
        return Err(Attempt::Declined(io::Error::from_raw_os_error(
            win::ERROR_NOT_SAME_DEVICE as i32,
        )));
    }
    let src_integrity = integrity(src).map_err(Attempt::before_writing)?;
    let size = src_meta.len();
    let (ranges, extend_to) = match block_clone_plan::plan(
        size,
        u64::from(src_integrity.ClusterSizeInBytes),
        block_clone_plan::MAX_CHUNK,
    ) {
        BlockClonePlan::Empty => return Ok(0),
        BlockClonePlan::TooSmall => {
            return Err(Attempt::Declined(unsupported(
                "the file is smaller than one cluster: nothing to share, copy it",
            )));
        }
        BlockClonePlan::Invalid => {
            return Err(Attempt::Declined(unsupported(
                "the volume reports a cluster size block cloning cannot use",
            )));
        }
        BlockClonePlan::Clone {
            ranges, extend_to, ..
        } => (ranges, extend_to),
    };
    let src_sparse = src_meta.file_attributes() & fs::FILE_ATTRIBUTE_SPARSE_FILE != 0;

    // The destination must match the source's integrity-stream setting
    // (set while it is empty); best effort: if it cannot, the clone call
    // says so and we decline.
    let _ = fsctl_in(
        handle(dst),
        ioctl::FSCTL_SET_INTEGRITY_INFORMATION,
        &ioctl::FSCTL_SET_INTEGRITY_INFORMATION_BUFFER {
            ChecksumAlgorithm: src_integrity.ChecksumAlgorithm,
            Reserved: 0,
            Flags: src_integrity.Flags,
        },
    );
    // Sparse while cloning, so extending it allocates nothing; then long
    // enough for the last, rounded-up cluster.
    let prepared = set_sparse(dst, true).and_then(|()| set_len(dst, extend_to));
    if let Err(e) = prepared {
        return Err(empty_for_the_next_method(dst, e));
    }

    duplicate_ranges(src, dst, &ranges, size, progress)?;
    set_len(dst, size).map_err(Attempt::Failed)?;
    if !src_sparse {
        // Match the source; a file that stays sparse is harmless.
        let _ = set_sparse(dst, false);
    }
    Ok(size)
}

/// `FSCTL_DUPLICATE_EXTENTS_TO_FILE` for each range, in order. A refusal of
/// the first one leaves the destination empty for the next method; one
/// after some ranges were shared fails the copy.
fn duplicate_ranges(
    src: &File,
    dst: &File,
    ranges: &[block_clone_plan::CloneRange],
    size: u64,
    progress: Option<&dyn Progress>,
) -> Result<(), Attempt> {
    let mut cloned = 0u64;
    for r in ranges {
        let data = ioctl::DUPLICATE_EXTENTS_DATA {
            FileHandle: handle(src),
            SourceFileOffset: r.offset as i64,
            TargetFileOffset: r.offset as i64,
            ByteCount: r.len as i64,
        };
        if let Err(e) = fsctl_in(handle(dst), ioctl::FSCTL_DUPLICATE_EXTENTS_TO_FILE, &data) {
            if cloned == 0 {
                return Err(empty_for_the_next_method(dst, e));
            }
            return Err(Attempt::Failed(e));
        }
        cloned = (r.offset + r.len).min(size);
        if let Some(p) = progress {
            p.advance(cloned, size);
            progress::check(Some(p)).map_err(Attempt::Failed)?;
        }
    }
    Ok(())
}

/// After block cloning failed with `e` before any range was cloned: the
/// destination made empty and not sparse again, and the attempt classified
/// ([`Attempt::before_writing`]). If it cannot be emptied, the next method
/// would leave the extended length behind it (zeros past the source's end),
/// so that is a failure, never a fallback.
pub(crate) fn empty_for_the_next_method(dst: &File, e: io::Error) -> Attempt {
    if let Err(u) = set_len(dst, 0) {
        return Attempt::Failed(io::Error::new(
            u.kind(),
            format!("{e}; the destination could not be emptied for the next method: {u}"),
        ));
    }
    // A sparse attribute left on an empty file is harmless.
    let _ = set_sparse(dst, false);
    Attempt::before_writing(e)
}

/// What the progress routine of `CopyFileExW` shares with us.
pub(crate) struct CopyContext<'a> {
    pub(crate) progress: Option<&'a dyn Progress>,
    pub(crate) total: u64,
    pub(crate) src: FileId,
    pub(crate) dst: FileId,
    /// CopyFileExW opened both files (the first stream began).
    pub(crate) opened: Cell<bool>,
    /// It opened other files than ours: the paths were replaced meanwhile.
    pub(crate) mismatch: Cell<bool>,
    /// The last count passed to `progress`.
    pub(crate) reported: Cell<u64>,
    /// `progress` asked to stop ([`Progress::cancelled`]).
    pub(crate) cancelled: Cell<bool>,
    /// A panic of the progress callback, resumed after CopyFileExW returns.
    pub(crate) panic: RefCell<Option<Box<dyn std::any::Any + Send>>>,
}

/// The `LPPROGRESS_ROUTINE` of `CopyFileExW`.
pub(crate) unsafe extern "system" fn copy_progress(
    _total_size: i64,
    _total_transferred: i64,
    stream_size: i64,
    stream_transferred: i64,
    stream_number: u32,
    reason: u32,
    src: HANDLE,
    dst: HANDLE,
    data: *const std::ffi::c_void,
) -> u32 {
    // SAFETY: `data` is the `&CopyContext` passed to CopyFileExW, which
    // outlives the call that invokes this routine; CopyFileExW calls it on
    // the calling thread.
    let ctx = unsafe { &*data.cast::<CopyContext<'_>>() };
    if reason == fs::CALLBACK_STREAM_SWITCH && stream_number == 1 {
        ctx.opened.set(true);
        // CopyFileExW works by path: make sure the paths still name the
        // files we opened and checked.
        if FileId::of(src).ok() != Some(ctx.src) || FileId::of(dst).ok() != Some(ctx.dst) {
            ctx.mismatch.set(true);
            return fs::PROGRESS_CANCEL;
        }
    }
    // Alternate data streams (2, 3, ...) are not part of the file's size.
    if stream_number == 1
        && let Some(p) = ctx.progress
    {
        let done = u64::try_from(stream_transferred).unwrap_or(0);
        let total = u64::try_from(stream_size).unwrap_or(ctx.total);
        ctx.reported.set(done);
        let asked = panic::catch_unwind(AssertUnwindSafe(|| {
            p.advance(done, total);
            p.cancelled()
        }));
        match asked {
            Ok(false) => {}
            Ok(true) => {
                ctx.cancelled.set(true);
                return fs::PROGRESS_CANCEL;
            }
            Err(payload) => {
                *ctx.panic.borrow_mut() = Some(payload);
                return fs::PROGRESS_CANCEL;
            }
        }
    }
    fs::PROGRESS_CONTINUE
}

/// Copies with `CopyFileExW` onto the temporary file's path.
///
/// CopyFileExW copies path to path, and the temporary file already exists:
/// without `COPY_FILE_FAIL_IF_EXISTS` it overwrites it in place
/// (`CREATE_ALWAYS` truncates the same file, so our handle stays valid).
/// Both paths come from our own handles, and the progress routine checks
/// that CopyFileExW opened exactly those files.
fn copy_file_ex(
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    opts: &CopyOptions,
) -> Result<u64, Attempt> {
    let from = final_path(src).map_err(Attempt::Failed)?;
    let to = final_path(dst).map_err(Attempt::Failed)?;
    let ctx = CopyContext {
        progress: opts.progress.as_deref(),
        total: src_meta.len(),
        src: FileId::of(handle(src)).map_err(Attempt::Failed)?,
        dst: FileId::of(handle(dst)).map_err(Attempt::Failed)?,
        opened: Cell::new(false),
        mismatch: Cell::new(false),
        reported: Cell::new(0),
        cancelled: Cell::new(false),
        panic: RefCell::new(None),
    };
    let mut flags = 0;
    if opts.direct_io == DirectIo::Always {
        flags |= fs::COPY_FILE_NO_BUFFERING;
    }
    let (from, to) = (wide(&from), wide(&to));
    // SAFETY: both paths are NUL-terminated wide strings; `ctx` outlives
    // the call and is what `copy_progress` expects behind its data
    // pointer; no cancel flag.
    let ok = unsafe {
        fs::CopyFileExW(
            from.as_ptr(),
            to.as_ptr(),
            Some(copy_progress),
            (&raw const ctx).cast(),
            null_mut(),
            flags,
        )
    };
    let result = check(ok);
    if let Some(payload) = ctx.panic.take() {
        panic::resume_unwind(payload);
    }
    match result {
        Ok(()) => {
            let len = dst.metadata().map_err(Attempt::Failed)?.len();
            // Some implementations (wine 8) never call the progress
            // routine, and Windows may skip the last call of a clone.
            if let Some(p) = ctx.progress
                && ctx.reported.get() != len
            {
                p.advance(len, len);
            }
            Ok(len)
        }
        Err(_) if ctx.cancelled.get() => Err(Attempt::Failed(progress::cancelled())),
        Err(_) if ctx.mismatch.get() => Err(Attempt::Failed(io::Error::other(
            "CopyFileExW opened other files than the source and temporary file: \
             a path was replaced during the copy",
        ))),
        // It never got to copy: our temporary file is as it was.
        Err(e) if !ctx.opened.get() => Err(Attempt::before_writing(e)),
        Err(e) => Err(Attempt::Failed(e)),
    }
}

/// A plain read/write loop on our own handles.
fn read_write(
    src: &File,
    src_meta: &Metadata,
    dst: &File,
    progress: Option<&dyn Progress>,
) -> Result<u64, Attempt> {
    let total = src_meta.len();
    let buf_len = BUFFER.min(usize::try_from(total).unwrap_or(BUFFER).max(4096));
    rw_loop::copy(src, dst, buf_len, total, progress).map_err(|stop| match stop {
        Stop::BeforeWriting(e) => Attempt::before_writing(e),
        Stop::Failed(e) => Attempt::Failed(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_codes_fall_back() {
        for code in [
            win::ERROR_INVALID_FUNCTION,
            win::ERROR_NOT_SUPPORTED,
            win::ERROR_CALL_NOT_IMPLEMENTED,
            win::ERROR_NOT_SAME_DEVICE,
            win::ERROR_INVALID_PARAMETER,
            win::ERROR_BLOCK_TOO_MANY_REFERENCES,
            win::ERROR_DEVICE_FEATURE_NOT_SUPPORTED,
            win::ERROR_NOT_CAPABLE,
            win::ERROR_OFFSET_ALIGNMENT_VIOLATION,
            win::ERROR_SHARING_VIOLATION,
        ] {
            assert!(is_unsupported(code), "{code} should fall back");
        }
    }

    #[test]
    fn real_failures_are_fatal() {
        for code in [
            win::ERROR_DISK_FULL,
            win::ERROR_HANDLE_DISK_FULL,
            win::ERROR_DISK_QUOTA_EXCEEDED,
            win::ERROR_CRC,
            win::ERROR_IO_DEVICE,
            win::ERROR_ACCESS_DENIED,
            win::ERROR_REQUEST_ABORTED,
            win::ERROR_NO_SYSTEM_RESOURCES,
        ] {
            assert!(!is_unsupported(code), "{code} must not fall back");
        }
    }
}
