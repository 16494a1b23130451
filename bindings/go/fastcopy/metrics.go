package fastcopy

import (
	"sync"
	"time"
)

// MethodStats counts the files one method copied.
type MethodStats struct {
	Files   uint64
	Bytes   uint64
	Elapsed time.Duration
}

// SizeBucket counts the files copied whose size is at most Limit and above
// the previous bucket's (the last bucket has Limit -1: everything larger).
// The same limits as the Rust library's SIZE_BUCKET_LIMITS.
type SizeBucket struct {
	Limit int64
	Files uint64
}

// MetricsSnapshot is the process-wide count of copies made by this package
// (CopyFile, CopyFileWithOptions, CopyFileContext and the files of
// CopyTree), like the Rust library's Metrics.
type MetricsSnapshot struct {
	// Files copied successfully, and copies that failed.
	Files, Failures uint64
	// Bytes copied.
	Bytes uint64
	// FilesWithFallback counts files where at least one method declined;
	// Fallbacks counts the declines.
	FilesWithFallback, Fallbacks uint64
	// Elapsed is the time spent in successful copies.
	Elapsed time.Duration
	// PerMethod counts files by the method that finished them.
	PerMethod map[Method]MethodStats
	// SizeHistogram counts files by size.
	SizeHistogram []SizeBucket
}

// FallbackRate is the share of copied files that needed a fallback.
func (m MetricsSnapshot) FallbackRate() float64 {
	if m.Files == 0 {
		return 0
	}
	return float64(m.FilesWithFallback) / float64(m.Files)
}

var sizeLimits = []int64{0, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30, -1}

var metrics struct {
	sync.Mutex
	m MetricsSnapshot
}

func init() {
	metrics.m = emptyMetrics()
}

func emptyMetrics() MetricsSnapshot {
	m := MetricsSnapshot{PerMethod: map[Method]MethodStats{}}
	for _, l := range sizeLimits {
		m.SizeHistogram = append(m.SizeHistogram, SizeBucket{Limit: l})
	}
	return m
}

func record(r *Report, err error) {
	metrics.Lock()
	defer metrics.Unlock()
	m := &metrics.m
	if err != nil {
		m.Failures++
		return
	}
	m.Files++
	m.Bytes += uint64(r.Bytes)
	m.Elapsed += r.Elapsed
	if len(r.Fallbacks) > 0 {
		m.FilesWithFallback++
		m.Fallbacks += uint64(len(r.Fallbacks))
	}
	s := m.PerMethod[r.Method]
	s.Files++
	s.Bytes += uint64(r.Bytes)
	s.Elapsed += r.Elapsed
	m.PerMethod[r.Method] = s
	for i, l := range sizeLimits {
		if l < 0 || r.Bytes <= l {
			m.SizeHistogram[i].Files++
			break
		}
	}
}

// Metrics returns a copy of the process-wide counters.
func Metrics() MetricsSnapshot {
	metrics.Lock()
	defer metrics.Unlock()
	return clone(metrics.m)
}

// ResetMetrics returns the counters and sets them to zero.
func ResetMetrics() MetricsSnapshot {
	metrics.Lock()
	defer metrics.Unlock()
	old := clone(metrics.m)
	metrics.m = emptyMetrics()
	return old
}

func clone(m MetricsSnapshot) MetricsSnapshot {
	out := m
	out.PerMethod = make(map[Method]MethodStats, len(m.PerMethod))
	for k, v := range m.PerMethod {
		out.PerMethod[k] = v
	}
	out.SizeHistogram = append([]SizeBucket(nil), m.SizeHistogram...)
	return out
}
