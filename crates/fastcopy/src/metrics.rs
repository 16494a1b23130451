//! Aggregated monitoring figures over many copies.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::report::{CopyReport, Method};

/// Upper bounds (inclusive, in bytes) of the size histogram's buckets; a
/// last bucket holds everything larger.
pub const SIZE_BUCKET_LIMITS: [u64; 7] =
    [0, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30];

/// Figures for one method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MethodStats {
    /// Files copied by this method.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Their summed wall time.
    pub elapsed: Duration,
}

/// One bucket of the size histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeBucket {
    /// Smallest size in the bucket.
    pub min: u64,
    /// Largest size in the bucket, `None` for the open-ended last one.
    pub max: Option<u64>,
    /// Files whose size fell in it.
    pub files: u64,
}

/// Feed it [`CopyReport`]s (and failures); read counts and bytes per method,
/// the fallback rate, durations and a size histogram. Combine the metrics of
/// several threads with [`Metrics::merge`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    files: u64,
    failures: u64,
    bytes: u64,
    files_with_fallback: u64,
    fallbacks: u64,
    elapsed: Duration,
    per_method: BTreeMap<Method, MethodStats>,
    sizes: [u64; SIZE_BUCKET_LIMITS.len() + 1],
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Count one successful copy.
    pub fn record(&mut self, report: &CopyReport) {
        self.files += 1;
        self.bytes += report.bytes;
        self.elapsed += report.elapsed;
        if !report.fallbacks.is_empty() {
            self.files_with_fallback += 1;
            self.fallbacks += report.fallbacks.len() as u64;
        }
        let m = self.per_method.entry(report.method).or_default();
        m.files += 1;
        m.bytes += report.bytes;
        m.elapsed += report.elapsed;
        self.sizes[bucket_of(report.bytes)] += 1;
    }

    /// Count one failed copy.
    pub fn record_failure(&mut self) {
        self.failures += 1;
    }

    /// Add `other`'s figures to these.
    pub fn merge(&mut self, other: &Metrics) {
        self.files += other.files;
        self.failures += other.failures;
        self.bytes += other.bytes;
        self.files_with_fallback += other.files_with_fallback;
        self.fallbacks += other.fallbacks;
        self.elapsed += other.elapsed;
        for (method, s) in &other.per_method {
            let m = self.per_method.entry(*method).or_default();
            m.files += s.files;
            m.bytes += s.bytes;
            m.elapsed += s.elapsed;
        }
        for (mine, theirs) in self.sizes.iter_mut().zip(other.sizes) {
            *mine += theirs;
        }
    }

    /// Successful copies.
    pub fn files(&self) -> u64 {
        self.files
    }

    /// Failed copies.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Bytes copied by successful copies.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Successful copies that fell back at least once.
    pub fn files_with_fallback(&self) -> u64 {
        self.files_with_fallback
    }

    /// Fallbacks in all (a copy may fall back more than once).
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks
    }

    /// The share of successful copies that fell back, from 0 to 1.
    pub fn fallback_rate(&self) -> f64 {
        if self.files == 0 {
            0.0
        } else {
            self.files_with_fallback as f64 / self.files as f64
        }
    }

    /// Summed wall time of the successful copies.
    pub fn total_elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Mean wall time of a successful copy.
    pub fn mean_elapsed(&self) -> Duration {
        match u32::try_from(self.files) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.elapsed / n,
            Err(_) => Duration::from_secs_f64(self.elapsed.as_secs_f64() / self.files as f64),
        }
    }

    /// Figures per method that copied at least one file.
    pub fn per_method(&self) -> impl Iterator<Item = (Method, MethodStats)> + '_ {
        self.per_method.iter().map(|(m, s)| (*m, *s))
    }

    /// Figures for one method (zero when it never ran).
    pub fn method(&self, method: Method) -> MethodStats {
        self.per_method.get(&method).copied().unwrap_or_default()
    }

    /// The size histogram, smallest bucket first, empty buckets included.
    pub fn size_histogram(&self) -> Vec<SizeBucket> {
        let mut min = 0;
        let mut out = Vec::with_capacity(self.sizes.len());
        for (i, files) in self.sizes.iter().enumerate() {
            let max = SIZE_BUCKET_LIMITS.get(i).copied();
            out.push(SizeBucket {
                min,
                max,
                files: *files,
            });
            min = max.map_or(u64::MAX, |m| m + 1);
        }
        out
    }
}

fn bucket_of(size: u64) -> usize {
    SIZE_BUCKET_LIMITS
        .iter()
        .position(|&limit| size <= limit)
        .unwrap_or(SIZE_BUCKET_LIMITS.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Fallback;
    use std::io;
    use std::path::PathBuf;

    fn report(bytes: u64, method: Method, fallbacks: usize, ms: u64) -> CopyReport {
        CopyReport {
            destination: PathBuf::from("d"),
            bytes,
            method,
            fallbacks: (0..fallbacks)
                .map(|_| Fallback {
                    method: Method::Reflink,
                    error: io::Error::from(io::ErrorKind::Unsupported),
                    offset: 0,
                })
                .collect(),
            elapsed: Duration::from_millis(ms),
            warnings: Vec::new(),
            skipped: None,
        }
    }

    #[test]
    fn buckets_have_inclusive_upper_bounds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(4096), 1);
        assert_eq!(bucket_of(4097), 2);
        assert_eq!(bucket_of(1 << 30), 6);
        assert_eq!(bucket_of((1 << 30) + 1), 7);
        assert_eq!(bucket_of(u64::MAX), 7);
    }

    #[test]
    fn aggregates_and_merges() {
        let mut a = Metrics::new();
        a.record(&report(10, Method::Reflink, 0, 2));
        a.record(&report(5000, Method::CopyFileRange, 1, 4));
        a.record_failure();
        let mut b = Metrics::new();
        b.record(&report(0, Method::ReadWrite, 2, 6));
        a.merge(&b);
        assert_eq!(a.files(), 3);
        assert_eq!(a.failures(), 1);
        assert_eq!(a.bytes(), 5010);
        assert_eq!(a.files_with_fallback(), 2);
        assert_eq!(a.fallbacks(), 3);
        assert!((a.fallback_rate() - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(a.total_elapsed(), Duration::from_millis(12));
        assert_eq!(a.mean_elapsed(), Duration::from_millis(4));
        assert_eq!(a.method(Method::CopyFileRange).bytes, 5000);
        assert_eq!(a.method(Method::DirectIo), MethodStats::default());
        let h = a.size_histogram();
        assert_eq!(h.len(), 8);
        assert_eq!((h[0].min, h[0].max, h[0].files), (0, Some(0), 1));
        assert_eq!((h[1].min, h[1].max, h[1].files), (1, Some(4096), 1));
        assert_eq!((h[2].min, h[2].files), (4097, 1));
        assert_eq!(h[7].max, None);
        assert_eq!(h.iter().map(|b| b.files).sum::<u64>(), 3);
    }

    #[test]
    fn empty_metrics_do_not_divide_by_zero() {
        let m = Metrics::new();
        assert_eq!(m.fallback_rate(), 0.0);
        assert_eq!(m.mean_elapsed(), Duration::ZERO);
    }
}
