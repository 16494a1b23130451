//! Progress reports, and what the directory holds while a copy runs: a
//! temporary file no wider than the source, never a partial destination.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use fastcopy::{CopyOptions, DirectIo, Method, Progress, Reflink};

use crate::common::*;

/// A check run at every advance of the progress callback.
type Check = Box<dyn FnMut() -> Result<(), String> + Send>;

#[derive(Default)]
struct Recorder {
    starts: Mutex<Vec<u64>>,
    advances: Mutex<Vec<(u64, u64)>>,
    /// Checks run at every advance, with the error of the first failure.
    check: Mutex<Option<Check>>,
    failure: Mutex<Option<String>>,
}

impl Progress for Recorder {
    fn start(&self, total: u64) {
        self.starts.lock().unwrap().push(total);
    }
    fn advance(&self, done: u64, total: u64) {
        self.advances.lock().unwrap().push((done, total));
        if let Some(check) = self.check.lock().unwrap().as_mut()
            && let Err(e) = check()
        {
            self.failure.lock().unwrap().get_or_insert(e);
        }
    }
}

fn data_paths(fs: Fs) -> Vec<(CopyOptions, Method)> {
    // Every file here is larger than a MiB.
    let never = never_method(fs, MIB);
    vec![
        (CopyOptions::new().reflink(Reflink::Never), never),
        (
            CopyOptions::new()
                .reflink(Reflink::Never)
                .direct_io(DirectIo::Always),
            Method::DirectIo,
        ),
    ]
}

/// start(size) once; advance with growing `done` up to the size, `total`
/// the size; meanwhile one temporary file, mode within the source's, and
/// the destination still the old file.
fn progress_and_temporary_file(fs: Fs, dir: &Path) {
    let size = 40 * MIB + 5;
    let data = testfs::pattern(size as usize, 91);
    let src = dir.join("src");
    write(&src, &data);
    chmod(&src, 0o640);
    let dst = dir.join("dst");
    let old = b"old destination".to_vec();
    for (opts, method) in data_paths(fs) {
        write(&dst, &old);
        let rec = Arc::new(Recorder::default());
        let (d, dst2, old2) = (dir.to_path_buf(), dst.clone(), old.clone());
        *rec.check.lock().unwrap() = Some(Box::new(move || {
            // The new file has no name while it is written (O_TMPFILE):
            // a process killed now would leave nothing.
            let temps = temp_files(&d);
            if !temps.is_empty() {
                return Err(format!("temporary files during the copy: {temps:?}"));
            }
            if std::fs::read(&dst2).map_err(|e| e.to_string())? != old2 {
                return Err("destination changed before the copy was complete".into());
            }
            Ok(())
        }));
        let r = fastcopy::copy_with(&src, &dst, &opts.progress(rec.clone())).unwrap();
        let what = format!("{fs} {method}");
        assert_eq!(r.method, method, "{what}");
        assert_eq!(*rec.failure.lock().unwrap(), None, "{what}");
        assert_eq!(*rec.starts.lock().unwrap(), [size], "{what}");
        let adv = rec.advances.lock().unwrap().clone();
        assert!(adv.len() >= 3, "{what}: {adv:?}");
        assert!(
            adv.windows(2).all(|w| w[0].0 < w[1].0),
            "{what}: not increasing: {adv:?}"
        );
        assert!(adv.iter().all(|&(_, t)| t == size), "{what}: {adv:?}");
        assert_eq!(adv.last().unwrap().0, size, "{what}: {adv:?}");
        if method == Method::CopyFileRange {
            // Small enough steps for a moving bar.
            assert_eq!(adv.len(), 3, "{what}: {adv:?}");
        }
        assert_content(&dst, &data);
        assert_eq!(mode(&dst), 0o640);
    }
    assert_names(dir, &["dst", "src"]);
}

struct Panicker;

impl Progress for Panicker {
    fn advance(&self, _done: u64, _total: u64) {
        panic!("progress callback panics");
    }
}

/// A panic in the callback unwinds through the copy: the temporary file is
/// removed, the destination untouched.
fn panic_in_progress_leaves_nothing(fs: Fs, dir: &Path) {
    let src = dir.join("src");
    write(&src, &testfs::pattern(3 * MIB as usize, 92));
    for (opts, method) in data_paths(fs) {
        let dst: PathBuf = dir.join("new");
        let opts = opts.progress(Arc::new(Panicker));
        let res = catch_unwind(AssertUnwindSafe(|| fastcopy::copy_with(&src, &dst, &opts)));
        assert!(res.is_err(), "{fs} {method}: the callback did not run");
        assert_names(dir, &["src"]);
        let old = dir.join("old");
        write(&old, b"keep me");
        let res = catch_unwind(AssertUnwindSafe(|| fastcopy::copy_with(&src, &old, &opts)));
        assert!(res.is_err());
        assert_content(&old, b"keep me");
        std::fs::remove_file(&old).unwrap();
        assert_names(dir, &["src"]);
    }
}

/// Asks to stop once `after` bytes were reported (0: before any data).
struct CancelAfter {
    after: u64,
    seen: Mutex<u64>,
}

impl Progress for CancelAfter {
    fn advance(&self, done: u64, _total: u64) {
        *self.seen.lock().unwrap() = done;
    }
    fn cancelled(&self) -> bool {
        *self.seen.lock().unwrap() >= self.after
    }
}

/// A copy cancelled from its progress callback, before the data or after
/// the first chunk of each data method: `Operation::Cancelled`, the old
/// destination intact, no temporary file; a new destination never appears.
fn cancel_leaves_the_old_destination(fs: Fs, dir: &Path) {
    // More than one chunk of every method (copy_file_range moves 16 MiB
    // at a time when progress is asked for).
    let size = 40 * MIB;
    let src = dir.join("src");
    write(&src, &testfs::pattern(size as usize, 93));
    let mut cases: Vec<(CopyOptions, String, u64)> =
        vec![(CopyOptions::new(), "defaults, before the data".into(), 0)];
    let mut data = data_paths(fs);
    data.push((
        CopyOptions::new()
            .reflink(Reflink::Never)
            .only_method(Method::ReadWrite),
        Method::ReadWrite,
    ));
    for (opts, method) in data {
        cases.push((opts, format!("{method} after the first chunk"), 1));
    }
    for (opts, what, after) in cases {
        let what = format!("{fs} {what}");
        for (dst, old) in [(dir.join("old"), Some(b"keep me")), (dir.join("new"), None)] {
            if let Some(old) = old {
                write(&dst, old);
            }
            let stop = Arc::new(CancelAfter {
                after,
                seen: Mutex::new(0),
            });
            let e =
                fastcopy::copy_with(&src, &dst, &opts.clone().progress(stop.clone())).unwrap_err();
            assert_eq!(e.operation(), fastcopy::Operation::Cancelled, "{what}: {e}");
            assert_eq!(e.path(), dst, "{what}");
            let seen = *stop.seen.lock().unwrap();
            assert!(seen < size, "{what}: went on to {seen} bytes");
            match old {
                Some(old) => {
                    assert_content(&dst, old);
                    std::fs::remove_file(&dst).unwrap();
                }
                None => assert!(!dst.exists(), "{what}"),
            }
            assert_names(dir, &["src"]);
        }
    }
}

per_fs!(
    progress_and_temporary_file,
    panic_in_progress_leaves_nothing,
    cancel_leaves_the_old_destination
);
