//! The Windows backend on a real Windows filesystem API (run under wine in
//! CI): copy, replace, no-clobber, times, same-file, progress, and the
//! block-clone path declining cleanly where the volume cannot clone.

use std::cell::{Cell, RefCell};
use std::fs::{self, File, FileTimes};
use std::io;
use std::os::windows::fs::MetadataExt;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use windows_sys::Win32::Foundation as win;
use windows_sys::Win32::Storage::FileSystem as wfs;
use windows_sys::Win32::System::SystemServices::FILE_SUPPORTS_BLOCK_REFCOUNTING;

use crate::ladder::Step;
use crate::sys::windows::*;
use crate::{CopyOptions, DirectIo, Method, Operation, Overwrite, Progress, Reflink, TEMP_MARKER};

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Deterministic content of `len` bytes, different for each `seed`.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Whether the test volume can share clusters (wine: never).
fn volume_can_clone(dir: &Path) -> bool {
    let probe = dir.join("probe");
    fs::write(&probe, b"x").unwrap();
    let f = File::open(&probe).unwrap();
    let can = volume_flags(&f).is_ok_and(|f| f & FILE_SUPPORTS_BLOCK_REFCOUNTING != 0);
    drop(f);
    fs::remove_file(&probe).unwrap();
    can
}

#[test]
fn copies_with_copy_file_ex() {
    let d = dir();
    let (src, dst) = (d.path().join("src.bin"), d.path().join("dst.bin"));
    let data = content(3 << 20, 1);
    fs::write(&src, &data).unwrap();
    let report = crate::copy(&src, &dst).unwrap();
    assert_eq!(fs::read(&dst).unwrap(), data);
    assert_eq!(report.bytes, data.len() as u64);
    if volume_can_clone(d.path()) {
        assert!(matches!(
            report.method,
            Method::BlockClone | Method::CopyFileEx
        ));
    } else {
        // No ReFS: the plan skips block cloning by the volume flag.
        assert_eq!(report.method, Method::CopyFileEx);
        assert!(report.fallbacks.is_empty(), "{:?}", report.fallbacks);
    }
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
}

#[test]
fn copies_an_empty_file() {
    let d = dir();
    let (src, dst) = (d.path().join("empty"), d.path().join("copy"));
    fs::write(&src, b"").unwrap();
    let report = crate::copy(&src, &dst).unwrap();
    assert_eq!(report.bytes, 0);
    assert_eq!(fs::read(&dst).unwrap(), b"");
}

#[test]
fn replaces_an_existing_destination() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"new contents").unwrap();
    fs::write(&dst, b"old contents that are longer").unwrap();
    crate::copy(&src, &dst).unwrap();
    assert_eq!(fs::read(&dst).unwrap(), b"new contents");
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
}

#[test]
fn no_clobber_keeps_the_destination() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"new").unwrap();
    fs::write(&dst, b"precious").unwrap();
    let opts = CopyOptions::new().overwrite(Overwrite::NoClobber);
    let err = crate::copy_with(&src, &dst, &opts).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(err.operation(), Operation::DestinationExists);
    assert_eq!(fs::read(&dst).unwrap(), b"precious");
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
}

#[test]
fn rename_noclobber_refuses_an_existing_name() {
    let d = dir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    fs::write(&a, b"a").unwrap();
    fs::write(&b, b"b").unwrap();
    let err = rename_noclobber(&a, &b).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read(&b).unwrap(), b"b");
    let c = d.path().join("c");
    rename_noclobber(&a, &c).unwrap();
    assert_eq!(fs::read(&c).unwrap(), b"a");
    assert!(!a.exists());
}

#[test]
fn no_clobber_copies_to_a_new_name() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"data").unwrap();
    let opts = CopyOptions::new().overwrite(Overwrite::NoClobber);
    crate::copy_with(&src, &dst, &opts).unwrap();
    assert_eq!(fs::read(&dst).unwrap(), b"data");
}

#[test]
fn keeps_the_modification_time_to_100_ns() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"timed").unwrap();
    // 2009-02-13 23:31:30.1234567 UTC: a time with all seven decimals.
    // (Not the access time: under wine the host's relatime moves it as
    // soon as anything reads the file.)
    let mtime = SystemTime::UNIX_EPOCH + Duration::new(1_234_567_890, 123_456_700);
    File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_times(FileTimes::new().set_modified(mtime))
        .unwrap();
    for (i, reflink) in [Reflink::Auto, Reflink::Never].into_iter().enumerate() {
        // A new name each time: a second copy over the first would be
        // taken for the source itself, see `same_file`.
        let dst = dst.with_extension(i.to_string());
        let report = crate::copy_with(&src, &dst, &CopyOptions::new().reflink(reflink)).unwrap();
        assert_eq!(
            fs::metadata(&dst).unwrap().modified().unwrap(),
            mtime,
            "{report:?}"
        );
    }
    // The read/write loop too, which does not copy times by itself.
    let src_file = open_source(&src).unwrap();
    let meta = src_file.metadata().unwrap();
    let tmp = d.path().join("tmp");
    let dst_file = create_temp(&tmp, 0).unwrap();
    let step = run_method(
        Method::ReadWrite,
        0,
        &src_file,
        &meta,
        &dst_file,
        &CopyOptions::new(),
        &mut Vec::new(),
    );
    assert!(matches!(step, Step::Done(5)), "{step:?}");
    assert_ne!(dst_file.metadata().unwrap().modified().unwrap(), mtime);
}

#[test]
fn keeps_the_read_only_attribute() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"ro").unwrap();
    let mut perm = fs::metadata(&src).unwrap().permissions();
    perm.set_readonly(true);
    fs::set_permissions(&src, perm).unwrap();
    crate::copy(&src, &dst).unwrap();
    assert!(fs::metadata(&dst).unwrap().permissions().readonly());
    assert_eq!(fs::read(&dst).unwrap(), b"ro");
    for p in [&src, &dst] {
        let mut perm = fs::metadata(p).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        fs::set_permissions(p, perm).unwrap();
    }
}

#[test]
fn refuses_the_same_path() {
    let d = dir();
    let src = d.path().join("src");
    fs::write(&src, b"keep me").unwrap();
    let err = crate::copy(&src, &src).unwrap_err();
    assert_eq!(err.operation(), Operation::SameFile);
    assert_eq!(fs::read(&src).unwrap(), b"keep me");
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
}

#[test]
fn refuses_a_hard_link_to_the_source() {
    let d = dir();
    let (src, link) = (d.path().join("src"), d.path().join("link"));
    fs::write(&src, b"keep me").unwrap();
    fs::hard_link(&src, &link).unwrap();
    let err = crate::copy(&src, &link).unwrap_err();
    assert_eq!(err.operation(), Operation::SameFile);
    assert_eq!(fs::read(&src).unwrap(), b"keep me");
    assert_eq!(fs::read(&link).unwrap(), b"keep me");
}

/// A copy that kept the times has the source's size, attributes and times:
/// only the file id tells it apart, and copying onto it again must work.
#[test]
fn a_copy_that_kept_the_times_is_not_the_source() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"twice").unwrap();
    crate::copy(&src, &dst).unwrap();
    let r = crate::copy(&src, &dst).unwrap_or_else(|e| panic!("second copy: {e}"));
    assert_eq!(r.bytes, 5);
    assert_eq!(fs::read(&dst).unwrap(), b"twice");
    assert_eq!(fs::read(&src).unwrap(), b"twice");
}

#[test]
fn file_ids_tell_links_from_copies() {
    let d = dir();
    let (a, link, other) = (d.path().join("a"), d.path().join("l"), d.path().join("o"));
    fs::write(&a, b"same").unwrap();
    fs::hard_link(&a, &link).unwrap();
    fs::write(&other, b"same").unwrap();
    let id = |p: &Path| FileId::of(handle(&File::open(p).unwrap())).unwrap();
    assert_eq!(id(&a), id(&link));
    assert_ne!(id(&a), id(&other));
}

#[test]
fn refuses_a_directory_source() {
    let d = dir();
    let sub = d.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let err = crate::copy(&sub, d.path().join("dst")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
}

#[test]
fn copies_into_a_directory() {
    let d = dir();
    let src = d.path().join("name.txt");
    let into = d.path().join("into");
    fs::create_dir(&into).unwrap();
    fs::write(&src, b"x").unwrap();
    let report = crate::copy(&src, &into).unwrap();
    assert_eq!(report.destination, into.join("name.txt"));
    assert_eq!(fs::read(into.join("name.txt")).unwrap(), b"x");
}

#[derive(Default)]
struct Recorder {
    started: Mutex<Option<u64>>,
    seen: Mutex<Vec<(u64, u64)>>,
}

impl Progress for Recorder {
    fn start(&self, total: u64) {
        *self.started.lock().unwrap() = Some(total);
    }
    fn advance(&self, done: u64, total: u64) {
        self.seen.lock().unwrap().push((done, total));
    }
}

#[test]
fn progress_reaches_the_total() {
    for reflink in [Reflink::Auto, Reflink::Never] {
        let d = dir();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        let len = 5 << 20;
        fs::write(&src, content(len, 7)).unwrap();
        let rec = Arc::new(Recorder::default());
        let opts = CopyOptions::new().reflink(reflink).progress(rec.clone());
        crate::copy_with(&src, &dst, &opts).unwrap();
        assert_eq!(*rec.started.lock().unwrap(), Some(len as u64));
        let seen = rec.seen.lock().unwrap();
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), (len as u64, len as u64));
    }
}

/// What CopyFileExW's progress routine gets, before any call.
fn context(progress: &dyn Progress, total: u64, src: FileId, dst: FileId) -> CopyContext<'_> {
    CopyContext {
        progress: Some(progress),
        total,
        src,
        dst,
        opened: Cell::new(false),
        mismatch: Cell::new(false),
        reported: Cell::new(0),
        cancelled: Cell::new(false),
        panic: RefCell::new(None),
    }
}

/// The progress routine itself, called as CopyFileExW calls it (wine 8's
/// CopyFileExW never calls it, so it is exercised here directly).
#[test]
fn the_progress_routine_checks_the_files_and_reports() {
    let d = dir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    fs::write(&a, b"aaaa").unwrap();
    fs::write(&b, b"bbbb").unwrap();
    let (fa, fb) = (File::open(&a).unwrap(), File::open(&b).unwrap());
    let rec = Recorder::default();
    let ctx = context(
        &rec,
        4,
        FileId::of(handle(&fa)).unwrap(),
        FileId::of(handle(&fb)).unwrap(),
    );
    let call = |reason, stream, done, src: &File, dst: &File| {
        // SAFETY: the handles are open and `ctx` is a live CopyContext.
        unsafe {
            copy_progress(
                4,
                done,
                4,
                done,
                stream,
                reason,
                handle(src),
                handle(dst),
                (&raw const ctx).cast(),
            )
        }
    };
    assert_eq!(
        call(wfs::CALLBACK_STREAM_SWITCH, 1, 0, &fa, &fb),
        wfs::PROGRESS_CONTINUE
    );
    assert!(ctx.opened.get() && !ctx.mismatch.get());
    assert_eq!(
        call(wfs::CALLBACK_CHUNK_FINISHED, 1, 4, &fa, &fb),
        wfs::PROGRESS_CONTINUE
    );
    // An alternate data stream does not count.
    assert_eq!(
        call(wfs::CALLBACK_STREAM_SWITCH, 2, 0, &fa, &fb),
        wfs::PROGRESS_CONTINUE
    );
    assert_eq!(*rec.seen.lock().unwrap(), [(0, 4), (4, 4)]);
    assert_eq!(ctx.reported.get(), 4);
    // Files other than ours (swapped paths): cancel.
    assert_eq!(
        call(wfs::CALLBACK_STREAM_SWITCH, 1, 0, &fb, &fa),
        wfs::PROGRESS_CANCEL
    );
    assert!(ctx.mismatch.get());
}

#[test]
fn the_progress_routine_catches_a_panic() {
    let d = dir();
    let a = d.path().join("a");
    fs::write(&a, b"a").unwrap();
    let fa = File::open(&a).unwrap();
    let id = FileId::of(handle(&fa)).unwrap();
    let ctx = context(&Panicker, 1, id, id);
    // SAFETY: the handle is open and `ctx` is a live CopyContext.
    let got = unsafe {
        copy_progress(
            1,
            1,
            1,
            1,
            1,
            wfs::CALLBACK_CHUNK_FINISHED,
            handle(&fa),
            handle(&fa),
            (&raw const ctx).cast(),
        )
    };
    assert_eq!(got, wfs::PROGRESS_CANCEL);
    assert!(ctx.panic.borrow().is_some());
}

/// Asks to stop once `after` bytes have been reported (0: before any data).
struct CancelAfter {
    after: u64,
    seen: Mutex<u64>,
}

impl CancelAfter {
    fn new(after: u64) -> CancelAfter {
        CancelAfter {
            after,
            seen: Mutex::new(0),
        }
    }
}

impl Progress for CancelAfter {
    fn advance(&self, done: u64, _total: u64) {
        *self.seen.lock().unwrap() = done;
    }
    fn cancelled(&self) -> bool {
        *self.seen.lock().unwrap() >= self.after
    }
}

#[test]
fn the_progress_routine_cancels_when_asked() {
    let d = dir();
    let a = d.path().join("a");
    fs::write(&a, b"aaaa").unwrap();
    let fa = File::open(&a).unwrap();
    let id = FileId::of(handle(&fa)).unwrap();
    let stop = CancelAfter::new(2);
    let ctx = context(&stop, 4, id, id);
    let call = |done| {
        // SAFETY: the handle is open and `ctx` is a live CopyContext.
        unsafe {
            copy_progress(
                4,
                done,
                4,
                done,
                1,
                wfs::CALLBACK_CHUNK_FINISHED,
                handle(&fa),
                handle(&fa),
                (&raw const ctx).cast(),
            )
        }
    };
    assert_eq!(call(1), wfs::PROGRESS_CONTINUE);
    assert!(!ctx.cancelled.get());
    assert_eq!(call(2), wfs::PROGRESS_CANCEL);
    assert!(ctx.cancelled.get() && !ctx.mismatch.get());
}

/// Cancelled before the data or part way through the read/write loop: an
/// error saying so, the old destination intact, no temporary file.
#[test]
fn a_cancelled_copy_leaves_the_destination_as_it_was() {
    let len = 3 << 20;
    for (after, only) in [
        (0, None),
        (0, Some(Method::ReadWrite)),
        (1, Some(Method::ReadWrite)),
    ] {
        let d = dir();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        fs::write(&src, content(len, 5)).unwrap();
        fs::write(&dst, b"old").unwrap();
        let stop = Arc::new(CancelAfter::new(after));
        let mut opts = CopyOptions::new().progress(stop.clone());
        if let Some(m) = only {
            opts = opts.only_method(m);
        }
        let e = crate::copy_with(&src, &dst, &opts).unwrap_err();
        assert_eq!(e.operation(), Operation::Cancelled, "{after} {only:?}: {e}");
        let seen = *stop.seen.lock().unwrap();
        assert!(seen < len as u64, "{after} {only:?}: stopped at {seen}");
        assert_eq!(fs::read(&dst).unwrap(), b"old");
        testfs::assert_none_containing(d.path(), TEMP_MARKER);
    }
}

struct Panicker;

impl Progress for Panicker {
    fn advance(&self, _done: u64, _total: u64) {
        panic!("progress callback panicked");
    }
}

#[test]
fn a_panicking_progress_callback_unwinds_through_copy_file_ex() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"data").unwrap();
    let opts = CopyOptions::new().progress(Arc::new(Panicker));
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| crate::copy_with(&src, &dst, &opts)));
    assert!(caught.is_err());
    assert!(!dst.exists());
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
}

#[test]
fn direct_io_copies_unbuffered() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    let data = content((1 << 20) + 123, 3);
    fs::write(&src, &data).unwrap();
    let opts = CopyOptions::new().direct_io(DirectIo::Always);
    let report = crate::copy_with(&src, &dst, &opts).unwrap();
    assert_eq!(report.method, Method::CopyFileEx);
    assert_eq!(fs::read(&dst).unwrap(), data);
}

#[test]
fn plan_follows_the_volume_and_the_reflink_mode() {
    let d = dir();
    let src = d.path().join("src");
    fs::write(&src, b"abc").unwrap();
    let meta = fs::metadata(&src).unwrap();
    let dst = File::create(d.path().join("dst")).unwrap();
    let plan_for = |r| plan(&CopyOptions::new().reflink(r), &meta, &dst);
    assert_eq!(plan_for(Reflink::Always), [Method::BlockClone]);
    if volume_can_clone(d.path()) {
        assert_eq!(
            plan_for(Reflink::Auto),
            [Method::BlockClone, Method::CopyFileEx, Method::ReadWrite]
        );
        assert_eq!(plan_for(Reflink::Never), [Method::ReadWrite]);
    } else {
        assert_eq!(
            plan_for(Reflink::Auto),
            [Method::CopyFileEx, Method::ReadWrite]
        );
        assert_eq!(
            plan_for(Reflink::Never),
            [Method::CopyFileEx, Method::ReadWrite]
        );
    }
}

#[test]
fn block_clone_declines_cleanly_and_the_next_method_copies() {
    let d = dir();
    let src_path = d.path().join("src");
    let data = content(200_000, 9);
    fs::write(&src_path, &data).unwrap();
    let src = open_source(&src_path).unwrap();
    let meta = src.metadata().unwrap();
    let tmp = d.path().join(".dst.fastcopy-tmp-test");
    let dst = create_temp(&tmp, 0).unwrap();
    let opts = CopyOptions::new();
    let step = run_method(
        Method::BlockClone,
        0,
        &src,
        &meta,
        &dst,
        &opts,
        &mut Vec::new(),
    );
    if volume_can_clone(d.path()) {
        assert!(
            matches!(step, Step::Done(n) if n == data.len() as u64),
            "{step:?}"
        );
        return;
    }
    let Step::Unsupported(e) = step else {
        panic!("block cloning on a volume without it must decline: {step:?}");
    };
    assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
    // Nothing was written: the temporary file is still empty, not sparse.
    let after = dst.metadata().unwrap();
    assert_eq!(after.len(), 0);
    assert_eq!(after.file_attributes() & wfs::FILE_ATTRIBUTE_SPARSE_FILE, 0);
    let step = run_method(
        Method::ReadWrite,
        0,
        &src,
        &meta,
        &dst,
        &opts,
        &mut Vec::new(),
    );
    assert!(
        matches!(step, Step::Done(n) if n == data.len() as u64),
        "{step:?}"
    );
    drop(dst);
    assert_eq!(fs::read(&tmp).unwrap(), data);
}

/// A block clone that failed before cloning anything hands the next method
/// an empty destination (the length it was extended to taken back), and
/// falls back only on a "not supported" error.
#[test]
fn a_failed_block_clone_empties_the_destination_for_the_next_method() {
    let d = dir();
    let tmp = d.path().join(".dst.fastcopy-tmp-test");
    let dst = create_temp(&tmp, 0).unwrap();
    // As block_clone prepares it (wine may refuse the sparse attribute).
    let sparse = set_sparse(&dst, true).is_ok();
    set_len(&dst, 1 << 20).unwrap();
    let attempt = empty_for_the_next_method(&dst, unsupported("no block cloning"));
    assert!(matches!(attempt, Attempt::Declined(_)), "{attempt:?}");
    let after = dst.metadata().unwrap();
    assert_eq!(after.len(), 0);
    if sparse {
        assert_eq!(after.file_attributes() & wfs::FILE_ATTRIBUTE_SPARSE_FILE, 0);
    }
    // A disk full is not a reason to try another method, but the
    // destination is emptied all the same.
    set_len(&dst, 1 << 20).unwrap();
    let disk_full = io::Error::from_raw_os_error(win::ERROR_DISK_FULL as i32);
    let attempt = empty_for_the_next_method(&dst, disk_full);
    assert!(
        matches!(&attempt, Attempt::Failed(e) if e.raw_os_error() == Some(win::ERROR_DISK_FULL as i32)),
        "{attempt:?}"
    );
    assert_eq!(dst.metadata().unwrap().len(), 0);
}

/// A destination that cannot be emptied again (here a handle without
/// write access) stops the copy instead of falling back: the next method
/// would leave the extended length behind its data.
#[test]
fn a_destination_that_cannot_be_emptied_stops_the_copy() {
    let d = dir();
    let path = d.path().join("extended");
    fs::write(&path, vec![7u8; 4096]).unwrap();
    let read_only = File::open(&path).unwrap();
    let attempt = empty_for_the_next_method(&read_only, unsupported("no block cloning"));
    let Attempt::Failed(e) = attempt else {
        panic!("must not fall back: {attempt:?}");
    };
    assert!(e.to_string().contains("could not be emptied"), "{e}");
    assert!(e.to_string().contains("no block cloning"), "{e}");
    drop(read_only);
    assert_eq!(fs::read(&path).unwrap(), vec![7u8; 4096]);
}

#[test]
fn reflink_always_fails_cleanly_without_refs() {
    let d = dir();
    if volume_can_clone(d.path()) {
        return;
    }
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, content(100_000, 5)).unwrap();
    let opts = CopyOptions::new().reflink(Reflink::Always);
    let err = crate::copy_with(&src, &dst, &opts).unwrap_err();
    assert_eq!(err.operation(), Operation::Clone);
    assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
    assert!(!dst.exists());
    testfs::assert_none_containing(d.path(), TEMP_MARKER);
    // The source is untouched.
    assert_eq!(fs::read(&src).unwrap(), content(100_000, 5));
}

#[test]
fn reflink_never_really_copies() {
    let d = dir();
    let (src, dst) = (d.path().join("src"), d.path().join("dst"));
    fs::write(&src, b"independent").unwrap();
    let opts = CopyOptions::new().reflink(Reflink::Never);
    let report = crate::copy_with(&src, &dst, &opts).unwrap();
    assert!(!report.method.is_clone());
    assert_eq!(fs::read(&dst).unwrap(), b"independent");
}

#[test]
fn character_devices_are_refused() {
    let err = open_source(Path::new("NUL")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn final_paths_name_the_open_file() {
    let d = dir();
    let p = d.path().join("named");
    fs::write(&p, b"x").unwrap();
    let f = File::open(&p).unwrap();
    let got = final_path(&f).unwrap();
    assert!(
        got.to_string_lossy().ends_with("named"),
        "{}",
        got.display()
    );
    assert_eq!(fs::read(&got).unwrap(), b"x");
}
