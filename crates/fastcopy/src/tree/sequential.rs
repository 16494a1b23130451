//! Directory trees where the platform has no parallel walk of its own
//! (macOS, Windows, others; see `sys::PARALLEL_TREE`): one thread, std's
//! walk, every regular file through the single-file copy (and so through
//! the one per-file pipeline and the platform's ladder). A symlink found
//! where an entry is to be written is removed first, never written through;
//! unlike the Linux walk this looks by path, so it does not resist someone
//! changing the destination during the copy.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::copy::{TEMP_MARKER, copy_file};
use crate::error::{Error, Operation, Result};
use crate::options::Overwrite;
use crate::report::Warning;
use crate::sys;
use crate::tree::{Target, TreeOptions, TreeReport, TreeWarning};

/// Recreates the symbolic link `from` at `to`.
pub(crate) fn copy_symlink(from: &Path, to: &Path, _opts: &TreeOptions) -> Result<()> {
    let target = fs::read_link(from).map_err(|e| Error::new(Operation::Symlink, from, e))?;
    sys::make_symlink(&target, from, to).map_err(|e| Error::new(Operation::Symlink, to, e))
}

struct Walk<'a> {
    opts: &'a TreeOptions,
    copy: crate::options::CopyOptions,
    links: HashMap<(u64, u64), PathBuf>,
    stop: bool,
    cancelled: bool,
}

/// Copies the directory `from` into the directory `target.dir` (never a
/// staging directory here: [`sys::STAGES_NEW_TREES`] is false).
pub(crate) fn copy_dir(
    from: &Path,
    target: &Target<'_>,
    opts: &TreeOptions,
    report: &mut TreeReport,
) -> Result<()> {
    // Paths in messages are built from `to`: right only without staging.
    debug_assert!(!target.staged && target.dir == target.shown);
    let (to, created) = (target.dir, target.created);
    let mut copy = opts.copy.clone();
    copy.progress = None;
    let mut walk = Walk {
        opts,
        copy,
        links: HashMap::new(),
        stop: false,
        cancelled: false,
    };
    report.jobs = 1;
    walk.dir(from, to, created, report);
    if walk.cancelled {
        return Err(Error::new(
            Operation::Cancelled,
            to,
            io::Error::new(io::ErrorKind::Interrupted, "cancelled"),
        ));
    }
    Ok(())
}

impl Walk<'_> {
    fn fail(&mut self, report: &mut TreeReport, e: Error) {
        self.stop |= self.opts.fail_fast;
        report.metrics.record_failure();
        report.errors.push(e);
    }

    fn done(&self) {
        if let Some(p) = &self.opts.progress {
            p.entry_done();
        }
    }

    fn dir(&mut self, src: &Path, dst: &Path, created: bool, report: &mut TreeReport) {
        let meta = match fs::metadata(src) {
            Ok(m) => m,
            Err(e) => return self.fail(report, Error::new(Operation::StatSource, src, e)),
        };
        let entries = match fs::read_dir(src) {
            Ok(rd) => rd,
            Err(e) => return self.fail(report, Error::new(Operation::ReadDirectory, src, e)),
        };
        report.directories += 1;
        self.done();
        for entry in entries {
            if self.opts.progress.as_ref().is_some_and(|p| p.cancelled()) {
                self.stop = true;
                self.cancelled = true;
            }
            if self.stop {
                return;
            }
            let entry = match entry {
                Ok(e) => e,
                Err(e) => return self.fail(report, Error::new(Operation::ReadDirectory, src, e)),
            };
            let (s, d) = (entry.path(), dst.join(entry.file_name()));
            if let Err(e) = self.entry(&s, &d, report) {
                self.fail(report, e);
            }
        }
        if self.stop {
            return;
        }
        if self.copy.preserve_mode || created {
            if let Err(e) = fs::set_permissions(dst, meta.permissions()) {
                self.fail(report, Error::new(Operation::SetPermissions, dst, e));
            }
        }
        if self.copy.preserve_times
            && let Ok(mtime) = meta.modified()
        {
            // Directories cannot be opened this way everywhere (Windows):
            // the times are then left as they are.
            if let Ok(f) = fs::File::open(dst) {
                let mut times = fs::FileTimes::new().set_modified(mtime);
                if let Ok(atime) = meta.accessed() {
                    times = times.set_accessed(atime);
                }
                if let Err(e) = f.set_times(times) {
                    self.fail(report, Error::new(Operation::SetTimes, dst, e));
                }
            }
        }
    }

    /// Removes a symlink at `dst` so that nothing is written through it;
    /// with no-clobber the link is left alone and the entry is refused.
    fn clear_link(&self, dst: &Path) -> Result<()> {
        if fs::symlink_metadata(dst).is_ok_and(|m| m.file_type().is_symlink()) {
            if self.copy.overwrite != Overwrite::Replace {
                return Err(Error::other(
                    Operation::DestinationExists,
                    dst,
                    io::ErrorKind::AlreadyExists,
                    "a symbolic link is in the way",
                ));
            }
            fs::remove_file(dst).map_err(|e| Error::new(Operation::StatDestination, dst, e))?;
        }
        Ok(())
    }

    /// Makes `dst` a hard link to `first` (copied earlier) without ever
    /// removing what `dst` held first: the link is made under a temporary
    /// name and renamed into place (refused if `dst` exists, with
    /// no-clobber).
    fn hard_link(&self, first: &Path, dst: &Path) -> Result<()> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = dst.file_name().unwrap_or_default().to_string_lossy();
        let mut cut = name.len().min(180);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let tmp = dst.with_file_name(format!(
            ".{}{TEMP_MARKER}{:x}-{n:x}",
            &name[..cut],
            std::process::id()
        ));
        fs::hard_link(first, &tmp).map_err(|e| Error::new(Operation::HardLink, dst, e))?;
        let placed = match self.copy.overwrite {
            Overwrite::Replace | Overwrite::Older => fs::rename(&tmp, dst),
            Overwrite::NoClobber | Overwrite::Skip => sys::rename_noclobber(&tmp, dst),
        };
        placed.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::new(Operation::DestinationExists, dst, e)
            } else {
                Error::new(Operation::HardLink, dst, e)
            }
        })
    }

    fn entry(&mut self, src: &Path, dst: &Path, report: &mut TreeReport) -> Result<()> {
        let meta = if self.opts.follow_links {
            fs::metadata(src)
        } else {
            fs::symlink_metadata(src)
        }
        .map_err(|e| Error::new(Operation::StatSource, src, e))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            let created = match sys::create_private_dir(dst) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if !fs::symlink_metadata(dst).is_ok_and(|m| m.is_dir()) {
                        return Err(Error::other(
                            Operation::CreateDirectory,
                            dst,
                            io::ErrorKind::AlreadyExists,
                            "something that is not a directory is in the way",
                        ));
                    }
                    false
                }
                Err(e) => return Err(Error::new(Operation::CreateDirectory, dst, e)),
            };
            self.dir(src, dst, created, report);
        } else if ft.is_symlink() {
            self.clear_link(dst)?;
            copy_symlink(src, dst, self.opts)?;
            report.symlinks += 1;
            self.done();
        } else if ft.is_file() {
            self.file(src, dst, &meta, report)?;
        } else {
            report.skipped += 1;
            report.warnings.push(TreeWarning {
                path: src.to_path_buf(),
                warning: Warning::SpecialFileSkipped(
                    "a special file (not copied on this platform)",
                ),
            });
            self.done();
        }
        Ok(())
    }

    /// A regular file: a hard link to a copy made earlier in this walk, or
    /// a copy through the single-file copy (and its overwrite mode).
    fn file(
        &mut self,
        src: &Path,
        dst: &Path,
        meta: &fs::Metadata,
        report: &mut TreeReport,
    ) -> Result<()> {
        self.clear_link(dst)?;
        if fs::symlink_metadata(dst).is_ok_and(|m| m.is_dir()) {
            return Err(Error::other(
                Operation::StatDestination,
                dst,
                io::ErrorKind::IsADirectory,
                "cannot overwrite a directory with a file",
            ));
        }
        if let Some(id) = sys::file_identity(meta)
            && let Some(first) = self.links.get(&id)
        {
            let first = first.clone();
            self.hard_link(&first, dst)?;
            report.hard_links += 1;
            self.done();
            return Ok(());
        }
        let r = copy_file(src, dst, &self.copy)?;
        if r.skipped.is_some() {
            report.up_to_date += 1;
            self.done();
            return Ok(());
        }
        if let Some(id) = sys::file_identity(meta) {
            self.links.insert(id, dst.to_path_buf());
        }
        report.metrics.record(&r);
        if let Some(p) = &self.opts.progress {
            if p.wants_entries() {
                p.entry(&crate::tree::TreeEntry {
                    source: src,
                    destination: dst,
                    kind: crate::tree::EntryKind::File,
                    method: Some(r.method),
                    bytes: r.bytes,
                    fallbacks: &r.fallbacks,
                    skipped: None,
                });
            }
            p.file_copied(r.bytes);
        }
        report
            .warnings
            .extend(r.warnings.into_iter().map(|warning| TreeWarning {
                path: src.to_path_buf(),
                warning,
            }));
        Ok(())
    }
}

/// The portable walk is compiled everywhere; here it runs on this machine
/// too (on Linux trees normally take the parallel walk), with the same
/// outcomes the tree tests ask of the platform walk.
#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{MetadataExt, symlink};

    use super::*;
    use crate::options::CopyOptions;

    fn walk(from: &Path, to: &Path, opts: &TreeOptions) -> TreeReport {
        let created = !to.exists();
        if created {
            sys::create_private_dir(to).unwrap();
        }
        let target = Target {
            dir: to,
            shown: to,
            created,
            staged: false,
        };
        let mut report = TreeReport::default();
        copy_dir(from, &target, opts, &mut report).unwrap();
        report
    }

    #[test]
    fn copies_files_links_and_hard_links() {
        let d = tempfile::tempdir().unwrap();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("a"), b"file a").unwrap();
        fs::write(src.join("sub/b"), b"file b").unwrap();
        fs::hard_link(src.join("a"), src.join("sub/a-again")).unwrap();
        symlink("a", src.join("link")).unwrap();
        let r = walk(&src, &dst, &TreeOptions::new());
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(fs::read(dst.join("a")).unwrap(), b"file a");
        assert_eq!(fs::read(dst.join("sub/b")).unwrap(), b"file b");
        assert_eq!(fs::read_link(dst.join("link")).unwrap(), Path::new("a"));
        let (x, y) = (
            fs::metadata(dst.join("a")).unwrap(),
            fs::metadata(dst.join("sub/a-again")).unwrap(),
        );
        assert_eq!(x.ino(), y.ino(), "the hard link is kept");
        assert_eq!((r.metrics.files(), r.hard_links, r.symlinks), (2, 1, 1));
    }

    #[test]
    fn older_keeps_a_newer_destination() {
        let d = tempfile::tempdir().unwrap();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        fs::create_dir_all(&src).unwrap();
        fs::create_dir_all(&dst).unwrap();
        fs::write(src.join("f"), b"old source").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
        fs::File::options()
            .write(true)
            .open(src.join("f"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        fs::write(dst.join("f"), b"newer destination, longer").unwrap();
        let opts = TreeOptions::new().copy_options(CopyOptions::new().overwrite(Overwrite::Older));
        let r = walk(&src, &dst, &opts);
        assert_eq!((r.up_to_date, r.metrics.files()), (1, 0), "{r:?}");
        assert_eq!(
            fs::read(dst.join("f")).unwrap(),
            b"newer destination, longer"
        );
    }
}
