// Package fastcopy copies files through the fastcopy Rust library: a clone
// (reflink) where the filesystem can make one, the kernel's copy_file_range
// otherwise, a read/write loop as the last resort, and never a half-written
// destination.
//
// CopyFile has the signature of RCC's pathlib.CopyFile, so a call site
// changes only its import:
//
//	err := fastcopy.CopyFile(source, target, overwrite)
//
// Like RCC's, it creates the target's parent directories and keeps the
// source's modification time. Unlike it, the copy is atomic (written next to
// the target and renamed into place), copying a file onto itself is an error
// that leaves the source intact, and an existing target is never deleted
// before the new content is complete.
//
// Errors are *Error values: use errors.Is with fs.ErrNotExist, fs.ErrExist,
// fs.ErrPermission, a syscall.Errno, or this package's ErrSameFile,
// ErrNotSupported, ErrNotRegular and ErrNoSpace.
//
// The package links the static library built by
// `cargo build --release -p fastcopy-ffi` in the fastcopy repository, found
// in its target/release directory or in a directory named by
// CGO_LDFLAGS="-L<dir>"; cgo must be enabled.
package fastcopy

/*
#cgo CFLAGS: -I${SRCDIR}/../../../crates/fastcopy-ffi/include
#cgo linux LDFLAGS: -L${SRCDIR}/../../../target/release -l:libfastcopy_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
#cgo windows LDFLAGS: -L${SRCDIR}/../../../target/release -l:libfastcopy_ffi.a -lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp
#cgo darwin LDFLAGS: -L${SRCDIR}/../../../target/release -lfastcopy_ffi -framework CoreFoundation
#include <stdlib.h>
#include "fastcopy.h"
*/
import "C"

import (
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// ReflinkMode says whether a copy may share data blocks with its source
// (a copy-on-write clone, "reflink").
type ReflinkMode uint8

const (
	// ReflinkAuto clones where the filesystem can (Btrfs, XFS, APFS, ReFS)
	// and copies the data otherwise.
	ReflinkAuto ReflinkMode = C.FASTCOPY_REFLINK_AUTO
	// ReflinkAlways clones or fails with ErrNotSupported, leaving nothing
	// behind.
	ReflinkAlways ReflinkMode = C.FASTCOPY_REFLINK_ALWAYS
	// ReflinkNever always gives the target its own data blocks.
	ReflinkNever ReflinkMode = C.FASTCOPY_REFLINK_NEVER
)

// String returns "auto", "always" or "never".
func (m ReflinkMode) String() string {
	switch m {
	case ReflinkAuto:
		return "auto"
	case ReflinkAlways:
		return "always"
	case ReflinkNever:
		return "never"
	}
	return "ReflinkMode(" + strconv.Itoa(int(m)) + ")"
}

// Options for CopyFileWithOptions. Start from DefaultOptions: the zero
// value turns off keeping times and mode.
type Options struct {
	// Overwrite replaces an existing target (atomically: the new file is
	// renamed over it). When false, an existing target is left alone and
	// the copy fails with an error matching fs.ErrExist.
	Overwrite bool
	// Reflink says whether the copy may share blocks with the source.
	Reflink ReflinkMode
	// PreserveTimes keeps the access and modification times, to the
	// nanosecond where the filesystem stores them.
	PreserveTimes bool
	// PreserveMode keeps the permission bits.
	PreserveMode bool
	// CreateParents creates the target's missing parent directories.
	CreateParents bool
	// Fsync flushes the new file to stable storage before it is renamed
	// into place, so a power failure leaves the old target or the whole
	// new one.
	Fsync bool
}

// DefaultOptions returns the library's defaults: overwrite, ReflinkAuto,
// keep times and mode, no parent creation, no fsync.
func DefaultOptions() Options {
	return optionsFromC(C.fastcopy_options_default())
}

func optionsFromC(o C.FastcopyOptions) Options {
	return Options{
		Overwrite:     o.overwrite != 0,
		Reflink:       ReflinkMode(o.reflink),
		PreserveTimes: o.preserve_times != 0,
		PreserveMode:  o.preserve_mode != 0,
		CreateParents: o.create_parents != 0,
		Fsync:         o.fsync != 0,
	}
}

func (o Options) toC() C.FastcopyOptions {
	return C.FastcopyOptions{
		overwrite:      cbool(o.Overwrite),
		reflink:        C.uint8_t(o.Reflink),
		preserve_times: cbool(o.PreserveTimes),
		preserve_mode:  cbool(o.PreserveMode),
		create_parents: cbool(o.CreateParents),
		fsync:          cbool(o.Fsync),
	}
}

func cbool(b bool) C.uint8_t {
	if b {
		return 1
	}
	return 0
}

// Report says how a successful copy was made.
type Report struct {
	// Method that copied the data: "reflink" (a clone, Linux),
	// "copy_file_range", "splice", "read_write", "direct_io", "clonefile" and
	// "fcopyfile" (macOS), "copy_file_ex" and "block_clone" (Windows).
	Method string
	// Cloned is true when the target shares its data blocks with the
	// source (Method is "reflink", "clonefile" or "block_clone").
	Cloned bool
	// Bytes is the size of the new file.
	Bytes int64
	// Elapsed is the wall time of the whole copy.
	Elapsed time.Duration
	// Fallbacks counts the methods tried and found unsupported before
	// Method.
	Fallbacks int
	// Warnings counts what did not go as asked without failing the copy.
	Warnings int
}

// CopyFile copies the file source to target with RCC's pathlib.CopyFile
// semantics: it creates target's parent directories, keeps the source's
// modification (and access) time and permission bits, and replaces an
// existing target only when overwrite is true; otherwise the error matches
// fs.ErrExist and the target is untouched.
//
// The copy is atomic: the data goes into a temporary file next to target
// that is renamed into place when complete, so target never holds a partial
// file and an existing target is never removed first. Copying a file onto
// itself (same path, hard link or symbolic link) fails with ErrSameFile and
// leaves it intact. A missing source fails with an error matching
// fs.ErrNotExist.
func CopyFile(source, target string, overwrite bool) error {
	opts := DefaultOptions()
	opts.Overwrite = overwrite
	opts.CreateParents = true
	_, err := CopyFileWithOptions(source, target, opts)
	return err
}

// CopyFileWithOptions copies the file source to target with opts and
// reports how. If target is an existing directory, the file is copied into
// it under its own name. On error the Report is zero and the error is an
// *Error.
func CopyFileWithOptions(source, target string, opts Options) (Report, error) {
	for _, p := range [...]string{source, target} {
		if strings.IndexByte(p, 0) >= 0 {
			return Report{}, &Error{
				Code:    CodeInvalidArgument,
				Message: "path contains a NUL byte: " + strings.ReplaceAll(p, "\x00", `\0`),
			}
		}
	}
	cSource := C.CString(source)
	defer C.free(unsafe.Pointer(cSource))
	cTarget := C.CString(target)
	defer C.free(unsafe.Pointer(cTarget))
	cOpts := opts.toC()
	var report C.FastcopyReport
	var cErr C.FastcopyError
	code := C.fastcopy_copy_file(cSource, cTarget, &cOpts, &report, &cErr)
	if code != C.FASTCOPY_OK {
		return Report{}, errorFromC(&cErr)
	}
	return Report{
		Method:    C.GoString(report.method),
		Cloned:    report.cloned != 0,
		Bytes:     int64(report.bytes),
		Elapsed:   duration(report.elapsed_ns),
		Fallbacks: int(report.fallbacks),
		Warnings:  int(report.warnings),
	}, nil
}

// Version returns the version of the linked fastcopy library, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.fastcopy_version())
}

// abiVersion is the C ABI version of the header this package was compiled
// against; linkedABIVersion is the linked library's, and they must match.
const abiVersion = C.FASTCOPY_ABI_VERSION

func linkedABIVersion() uint32 {
	return uint32(C.fastcopy_abi_version())
}
