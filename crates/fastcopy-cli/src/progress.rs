//! The progress bar: the library's [`Progress`] trait drawn with indicatif.

use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fastcopy::{Progress, TreeProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this copy too fast for a bar to be worth drawing.
pub const MIN_SIZE: u64 = 64 << 20;

/// A progress bar for one file, drawn only once the library says the file
/// is at least [`MIN_SIZE`] bytes long. Call [`FileProgress::finish`] when
/// the copy returns, so the bar is cleared before anything else is printed.
#[derive(Debug)]
pub struct FileProgress {
    label: String,
    target: fn() -> ProgressDrawTarget,
    bar: Mutex<Option<ProgressBar>>,
}

impl FileProgress {
    /// A bar on stderr labelled with `label` (the source's name).
    pub fn new(label: String) -> FileProgress {
        FileProgress::with_target(label, ProgressDrawTarget::stderr)
    }

    fn with_target(label: String, target: fn() -> ProgressDrawTarget) -> FileProgress {
        FileProgress {
            label,
            target,
            bar: Mutex::new(None),
        }
    }

    /// Removes the bar, if one was drawn.
    pub fn finish(&self) {
        if let Some(bar) = self.lock().take() {
            bar.finish_and_clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A panic while drawing must not stop the copy; the bar is cosmetic.
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

const TEMPLATE: &str =
    "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}";

fn style() -> ProgressStyle {
    ProgressStyle::with_template(TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "eta",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let left = remaining(state.pos(), state.len().unwrap_or(0), state.elapsed());
                let _ = match left {
                    Some(d) => write!(w, "{:#}", indicatif::HumanDuration(d)),
                    None => w.write_str("?"),
                };
            },
        )
        .progress_chars("=> ")
}

/// The time left at the average rate of the whole copy so far. indicatif's
/// own estimate follows the recent rate, and the first megabytes of a copy
/// go into the page cache much faster than the disk takes the rest: it was
/// always optimistic. `None` before anything was copied.
fn remaining(done: u64, total: u64, elapsed: std::time::Duration) -> Option<std::time::Duration> {
    if done == 0 || elapsed.is_zero() {
        return None;
    }
    let left = total.saturating_sub(done) as f64 / done as f64;
    Some(elapsed.mul_f64(left))
}

impl Progress for FileProgress {
    fn start(&self, total: u64) {
        let mut bar = self.lock();
        if let Some(old) = bar.take() {
            old.finish_and_clear();
        }
        if total >= MIN_SIZE {
            *bar = Some(
                ProgressBar::with_draw_target(Some(total), (self.target)())
                    .with_style(style())
                    .with_message(self.label.clone()),
            );
        }
    }

    fn advance(&self, done: u64, total: u64) {
        if let Some(bar) = &*self.lock() {
            bar.set_length(total);
            bar.set_position(done);
        }
    }
}

/// The first of SIGINT, SIGTERM or SIGHUP that arrived once
/// [`watch_interrupts`] is on (0: none).
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// From now on, the first Ctrl-C, SIGTERM or SIGHUP asks the running copy
/// to stop (a file copy removes its temporary file, a tree copy its staging
/// directory, and the destination stays as it was); a second one ends the
/// process at once.
#[cfg(unix)]
pub fn watch_interrupts() {
    extern "C" fn on_signal(signal: libc::c_int) {
        if INTERRUPTED.swap(signal, Ordering::SeqCst) != 0 {
            // SAFETY: _exit is async-signal-safe; the second signal means
            // "stop now", and the status says which signal it was.
            unsafe { libc::_exit(128 + signal) };
        }
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is a valid value (empty mask, no
        // flags); the handler only touches an atomic and calls _exit, both
        // async-signal-safe; the pointers passed live through the call.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Windows: Ctrl-C and Ctrl-Break (reported as SIGINT's 2).
#[cfg(not(unix))]
pub fn watch_interrupts() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(2, Ordering::SeqCst) != 0 {
            std::process::exit(130);
        }
    });
}

/// Whether an interrupt arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst) != 0
}

/// The signal that interrupted the copy, if one did.
pub fn interrupted_by() -> Option<i32> {
    match INTERRUPTED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// What a single-file copy reports to: the bar when there is one, and the
/// interrupt flag as the copy's cancellation.
#[derive(Debug)]
pub struct Watch(pub Option<Arc<FileProgress>>);

impl Progress for Watch {
    fn start(&self, total: u64) {
        if let Some(bar) = &self.0 {
            bar.start(total);
        }
    }

    fn advance(&self, done: u64, total: u64) {
        if let Some(bar) = &self.0 {
            bar.advance(done, total);
        }
    }

    fn cancelled(&self) -> bool {
        interrupted()
    }
}

/// The progress of a tree copy: a spinner with the files and bytes so far
/// (the total is not known in advance: the tree is walked once).
#[derive(Debug)]
pub struct TreeBar {
    bar: ProgressBar,
    files: AtomicU64,
    bytes: AtomicU64,
}

impl TreeBar {
    /// A spinner on stderr labelled with `label` (the source's name).
    pub fn new(label: String) -> TreeBar {
        TreeBar::with_target(label, ProgressDrawTarget::stderr())
    }

    fn with_target(label: String, target: ProgressDrawTarget) -> TreeBar {
        let style = ProgressStyle::with_template("{spinner} {prefix}: {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressBar::with_draw_target(None, target)
            .with_style(style)
            .with_prefix(label);
        TreeBar {
            bar,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn show(&self, files: u64) {
        // Formatting every entry would cost more than copying a small file.
        if files % 64 == 1 {
            let bytes = self.bytes.load(Ordering::Relaxed);
            self.bar.set_message(format!(
                "{files} files, {}",
                crate::output::format_size(bytes)
            ));
        }
    }
}

impl TreeProgress for TreeBar {
    fn file_copied(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        self.show(files);
    }

    fn entry_done(&self) {
        self.bar.tick();
    }
}

/// What a tree copy prints per entry on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Nothing.
    None,
    /// `-v`: `'SRC' -> 'DST'`, as cp.
    Verbose,
    /// `--debug`: the `-v` line with the method, size and fallbacks.
    Debug,
}

/// What a tree copy reports to: the spinner when there is one, the `-v`
/// and `--debug` lines, and the interrupt flag as cancellation.
#[derive(Debug)]
pub struct TreeWatch {
    bar: Option<TreeBar>,
    lines: Lines,
    /// The tree's source and destination as given, and the directories
    /// already named by a line (the library reports files, links and
    /// FIFOs; a directory gets its line before the first entry in it).
    roots: (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf),
    named: Mutex<std::collections::HashSet<std::path::PathBuf>>,
}

impl TreeWatch {
    /// `dest` is the destination the library writes, and how `-v` names it.
    pub fn new(
        bar: Option<TreeBar>,
        lines: Lines,
        source: &Path,
        (dest, shown): (&Path, &Path),
    ) -> TreeWatch {
        TreeWatch {
            bar,
            lines,
            roots: (
                source.to_path_buf(),
                dest.to_path_buf(),
                shown.to_path_buf(),
            ),
            named: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The lines of the directories between the tree's top and `dest`
    /// that have none yet, outermost first.
    fn directory_lines(&self, dest: &Path, text: &mut String) {
        let (src_root, dst_root, shown_root) = &self.roots;
        let Ok(rel) = dest.strip_prefix(dst_root) else {
            return;
        };
        let Some(parent) = rel.parent() else {
            return;
        };
        let mut named = self.named.lock().unwrap_or_else(|e| e.into_inner());
        let mut prefix = std::path::PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            if named.insert(prefix.clone()) {
                text.push_str(&crate::output::verbose_line(
                    &src_root.join(&prefix),
                    &shown_root.join(&prefix),
                ));
                if self.lines == Lines::Debug {
                    text.push_str(" (directory)");
                }
                text.push('\n');
            }
        }
    }

    /// Removes the spinner (before any message is printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

impl TreeProgress for TreeWatch {
    fn file_copied(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.file_copied(bytes);
        }
    }

    fn entry_done(&self) {
        if let Some(bar) = &self.bar {
            bar.entry_done();
        }
    }

    fn wants_entries(&self) -> bool {
        self.lines != Lines::None
    }

    fn entry(&self, e: &fastcopy::TreeEntry<'_>) {
        use std::io::Write as _;
        if e.skipped.is_some() || e.kind == fastcopy::EntryKind::Skipped {
            return;
        }
        let mut text = String::new();
        self.directory_lines(e.destination, &mut text);
        let shown = match e.destination.strip_prefix(&self.roots.1) {
            Ok(rel) => self.roots.2.join(rel),
            Err(_) => e.destination.to_path_buf(),
        };
        let mut line = crate::output::verbose_line(e.source, &shown);
        if self.lines == Lines::Debug {
            let what = match (e.method, e.kind) {
                (Some(m), _) => format!("{m}, {}", crate::output::format_size(e.bytes)),
                (None, kind) => format!("{kind:?}").to_lowercase(),
            };
            line.push_str(&format!(" ({what}"));
            for f in e.fallbacks {
                line.push_str(&format!(
                    ", after {}: {}",
                    f.method,
                    crate::output::strerror(&f.error)
                ));
            }
            line.push(')');
        }
        line.push('\n');
        text.push_str(&line);
        // One write per entry: the lines of two workers never mix.
        let _ = match &self.bar {
            Some(bar) => bar
                .bar
                .suspend(|| std::io::stdout().lock().write_all(text.as_bytes())),
            None => std::io::stdout().lock().write_all(text.as_bytes()),
        };
    }

    fn cancelled(&self) -> bool {
        interrupted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar_of(p: &FileProgress) -> Option<(u64, Option<u64>)> {
        p.lock().as_ref().map(|b| (b.position(), b.length()))
    }

    #[test]
    fn small_files_get_no_bar() {
        let p = FileProgress::with_target("a".into(), ProgressDrawTarget::hidden);
        p.start(MIN_SIZE - 1);
        p.advance(100, MIN_SIZE - 1);
        assert_eq!(bar_of(&p), None);
        p.finish();
    }

    #[test]
    fn large_files_get_a_bar_that_follows_and_clears() {
        let p = FileProgress::with_target("a".into(), ProgressDrawTarget::hidden);
        p.start(MIN_SIZE);
        assert_eq!(bar_of(&p), Some((0, Some(MIN_SIZE))));
        p.advance(1 << 20, MIN_SIZE);
        assert_eq!(bar_of(&p), Some((1 << 20, Some(MIN_SIZE))));
        p.finish();
        assert_eq!(bar_of(&p), None);
    }

    #[test]
    fn tree_bar_counts_files_and_bytes() {
        let t = TreeBar::with_target("t".into(), ProgressDrawTarget::hidden());
        t.file_copied(10);
        t.entry_done();
        t.file_copied(5);
        assert_eq!(t.files.load(Ordering::Relaxed), 2);
        assert_eq!(t.bytes.load(Ordering::Relaxed), 15);
        assert_eq!(t.bar.message(), "1 files, 10 B");
        t.finish();
    }

    #[test]
    fn the_estimate_is_the_average_rate_of_the_whole_copy() {
        use std::time::Duration;
        assert_eq!(remaining(0, 100, Duration::from_secs(1)), None);
        assert_eq!(
            remaining(25, 100, Duration::from_secs(1)),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            remaining(100, 100, Duration::from_secs(9)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn template_is_valid() {
        ProgressStyle::with_template(TEMPLATE).unwrap();
    }
}
