//! The progress bar: the library's [`Progress`] trait drawn with indicatif.

use std::sync::Mutex;

use fastcopy::Progress;
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
        .progress_chars("=> ")
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
    fn template_is_valid() {
        ProgressStyle::with_template(TEMPLATE).unwrap();
    }
}
