package fastcopy

/*
#include "fastcopy.h"
*/
import "C"

import (
	"math"
	"time"
)

// MethodStats are the figures of one copy method.
type MethodStats struct {
	// Files copied by the method.
	Files uint64
	// Bytes of those files.
	Bytes uint64
	// Elapsed is their summed wall time.
	Elapsed time.Duration
}

// SizeBucket is one bucket of the file size histogram.
type SizeBucket struct {
	// Min and Max are the smallest and largest sizes in the bucket, in
	// bytes; Max is math.MaxUint64 for the last, open-ended bucket.
	Min, Max uint64
	// Files whose size fell in the bucket.
	Files uint64
}

// MetricsSnapshot holds aggregated figures over every copy made through
// the library in this process (from Go or any other caller of the C ABI)
// since it started or since the last ResetMetrics.
type MetricsSnapshot struct {
	// Files copied successfully.
	Files uint64
	// Failures: copies that failed (invalid arguments are not counted).
	Failures uint64
	// Bytes copied by the successful copies.
	Bytes uint64
	// FilesWithFallback: successful copies whose first method was not
	// supported.
	FilesWithFallback uint64
	// Fallbacks in all (a copy may fall back more than once).
	Fallbacks uint64
	// Elapsed is the summed wall time of the successful copies.
	Elapsed time.Duration
	// PerMethod has the figures of each method that copied at least one
	// file, keyed by Report.Method's names.
	PerMethod map[string]MethodStats
	// SizeHistogram counts the successful copies by size, smallest bucket
	// first, empty buckets included.
	SizeHistogram []SizeBucket
}

// FallbackRate is the share of successful copies that fell back, from 0
// to 1.
func (m MetricsSnapshot) FallbackRate() float64 {
	if m.Files == 0 {
		return 0
	}
	return float64(m.FilesWithFallback) / float64(m.Files)
}

// Metrics returns the process-wide copy metrics. It is safe to call
// concurrently with copies.
func Metrics() MetricsSnapshot {
	var m C.FastcopyMetrics
	C.fastcopy_metrics(&m)
	return snapshotFromC(&m)
}

// ResetMetrics sets the process-wide metrics back to zero and returns the
// figures they held, read and reset in one step so that no copy is lost or
// counted twice between two monitoring intervals.
func ResetMetrics() MetricsSnapshot {
	var m C.FastcopyMetrics
	C.fastcopy_metrics_reset(&m)
	return snapshotFromC(&m)
}

func snapshotFromC(m *C.FastcopyMetrics) MetricsSnapshot {
	s := MetricsSnapshot{
		Files:             uint64(m.files),
		Failures:          uint64(m.failures),
		Bytes:             uint64(m.bytes),
		FilesWithFallback: uint64(m.files_with_fallback),
		Fallbacks:         uint64(m.fallbacks),
		Elapsed:           duration(m.elapsed_ns),
		PerMethod:         map[string]MethodStats{},
	}
	for id, ms := range m.methods {
		name := C.fastcopy_method_name(C.uint32_t(id))
		if name == nil || ms.files == 0 {
			continue
		}
		s.PerMethod[C.GoString(name)] = MethodStats{
			Files:   uint64(ms.files),
			Bytes:   uint64(ms.bytes),
			Elapsed: duration(ms.elapsed_ns),
		}
	}
	var min uint64
	for i, files := range m.size_buckets {
		max := uint64(C.fastcopy_size_bucket_max(C.uint32_t(i)))
		s.SizeHistogram = append(s.SizeHistogram, SizeBucket{Min: min, Max: max, Files: uint64(files)})
		if max == math.MaxUint64 {
			break
		}
		min = max + 1
	}
	return s
}

func duration(ns C.uint64_t) time.Duration {
	if uint64(ns) > math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}
