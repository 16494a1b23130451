package fastcopy

/*
#include <stdlib.h>
#include "fastcopy.h"
*/
import "C"

import (
	"strings"
	"time"
	"unsafe"
)

// TreeOptions for CopyTree. Start from DefaultTreeOptions.
type TreeOptions struct {
	// Options says how every regular file is copied (overwrite, reflink,
	// times, mode, fsync); CreateParents applies to the target's own
	// parent directories.
	Options
	// Jobs is the number of worker threads; 0 means one per core.
	Jobs int
	// FollowLinks copies what symbolic links in the source point to
	// instead of recreating the links.
	FollowLinks bool
	// FailFast stops at the first failure instead of copying the rest.
	FailFast bool
	// Update copies a file only when the target lacks it, is older or
	// differs in size.
	Update bool
}

// DefaultTreeOptions returns DefaultOptions for every file, one worker per
// core, links copied as links, going on after failures, copying
// everything.
func DefaultTreeOptions() TreeOptions {
	d := C.fastcopy_tree_options_default()
	return TreeOptions{
		Options:     optionsFromC(d.file),
		Jobs:        int(d.jobs),
		FollowLinks: d.follow_links != 0,
		FailFast:    d.fail_fast != 0,
		Update:      d.update != 0,
	}
}

// TreeReport says what CopyTree did.
type TreeReport struct {
	// Files holds the regular files' figures (counts, bytes, methods,
	// fallbacks, sizes; Failures counts the files that failed).
	Files MetricsSnapshot
	// FailedEntries counts the entries of any kind that failed.
	FailedEntries int
	// Directories created or filled.
	Directories int64
	// Symlinks recreated.
	Symlinks int64
	// HardLinks recreated.
	HardLinks int64
	// SpecialFiles (FIFOs) recreated.
	SpecialFiles int64
	// Skipped sockets and devices.
	Skipped int64
	// UpToDate files left alone (TreeOptions.Update).
	UpToDate int64
	// Warnings counts what did not go as asked without failing.
	Warnings int
	// Jobs is the number of worker threads used.
	Jobs int
	// Elapsed is the wall time of the whole copy.
	Elapsed time.Duration
}

// CopyTree copies the directory tree source to target, which becomes the
// copy (an existing directory is filled). Regular files get CopyFile's
// guarantees (atomic, same-file safe, clones where possible); directories,
// symbolic links, hard links and FIFOs are recreated; sockets and devices
// are skipped. Several workers copy at once.
//
// When some entries fail, the others are still copied (unless FailFast):
// the error then has the first failure's code and errno and a message
// listing the failures, and the report is filled. When the copy cannot
// start (missing source, target inside source), the report is zero.
func CopyTree(source, target string, opts TreeOptions) (TreeReport, error) {
	for _, p := range [...]string{source, target} {
		if strings.IndexByte(p, 0) >= 0 {
			return TreeReport{}, &Error{
				Code:    CodeInvalidArgument,
				Message: "path contains a NUL byte: " + strings.ReplaceAll(p, "\x00", `\0`),
			}
		}
	}
	cSource := C.CString(source)
	defer C.free(unsafe.Pointer(cSource))
	cTarget := C.CString(target)
	defer C.free(unsafe.Pointer(cTarget))
	cOpts := C.FastcopyTreeOptions{
		file:         opts.Options.toC(),
		jobs:         C.uint32_t(opts.Jobs),
		follow_links: cbool(opts.FollowLinks),
		fail_fast:    cbool(opts.FailFast),
		update:       cbool(opts.Update),
	}
	if opts.Jobs < 0 {
		cOpts.jobs = 0
	}
	// jobs == MaxUint32 marks "not written" (the library never uses that many).
	report := C.FastcopyTreeReport{jobs: C.uint32_t(^uint32(0))}
	var cErr C.FastcopyError
	code := C.fastcopy_copy_tree(cSource, cTarget, &cOpts, &report, &cErr)
	var out TreeReport
	if report.jobs != C.uint32_t(^uint32(0)) {
		out = TreeReport{
			Files:         snapshotFromC(&report.metrics),
			FailedEntries: int(report.failed_entries),
			Directories:   int64(report.directories),
			Symlinks:      int64(report.symlinks),
			HardLinks:     int64(report.hard_links),
			SpecialFiles:  int64(report.special_files),
			Skipped:       int64(report.skipped),
			UpToDate:      int64(report.up_to_date),
			Warnings:      int(report.warnings),
			Jobs:          int(report.jobs),
			Elapsed:       duration(report.elapsed_ns),
		}
	}
	if code != C.FASTCOPY_OK {
		return out, errorFromC(&cErr)
	}
	return out, nil
}
