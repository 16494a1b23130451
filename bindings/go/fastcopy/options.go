package fastcopy

import (
	"context"
	"time"
)

// ReflinkMode says whether a copy may share data blocks with its source
// (a clone, copy-on-write). The same three modes as the Rust library's
// Reflink and the CLI's --reflink.
type ReflinkMode uint8

const (
	// ReflinkAuto clones where the filesystem can and copies otherwise.
	ReflinkAuto ReflinkMode = iota
	// ReflinkAlways clones or fails with ErrNotSupported, leaving nothing
	// behind.
	ReflinkAlways
	// ReflinkNever never shares blocks: the target gets its own data, also
	// on filesystems whose copy_file_range clones by itself (Btrfs, XFS).
	ReflinkNever
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
	return "ReflinkMode(?)"
}

// Options control CopyFileWithOptions and CopyFileContext. Start from
// DefaultOptions (the Rust library's defaults) or RCCOptions (CopyFile's).
type Options struct {
	// Overwrite replaces an existing target atomically (the finished copy
	// is renamed over it). Without it an existing target is an error that
	// satisfies errors.Is(err, fs.ErrExist), errors.Is(err, syscall.EEXIST)
	// and os.IsExist(err); the check and the final link are one atomic
	// step, so two racing copies cannot both win.
	Overwrite bool
	// Force replaces an existing target the caller may not write (as
	// cp -f does); without it that is an error satisfying
	// errors.Is(err, fs.ErrPermission). RCCOptions set it: RCC removes any
	// existing target before writing.
	Force bool
	// Reflink chooses whether the copy may share blocks with the source.
	Reflink ReflinkMode
	// PreserveTimes copies the modification time (to the nanosecond where
	// the filesystem keeps them) and the access time.
	PreserveTimes bool
	// PreserveMode copies the permission bits (set-user-ID and
	// set-group-ID only when running as root). While the data is written
	// the file is never more open than the source.
	PreserveMode bool
	// CreateParents creates missing parent directories of the target
	// (mode 0777 minus the umask, like os.MkdirAll).
	CreateParents bool
	// Fsync flushes the copy to stable storage before it gets its name.
	Fsync bool
	// IntoDirectory copies into an existing directory target under the
	// source's name, as cp and the Rust library do. Without it a directory
	// target is an error (syscall.EISDIR), as RCC's CopyFile does.
	IntoDirectory bool
	// ReplaceSymlink replaces a target that is a symbolic link with the
	// copy (the link's own target is left alone), as RCC's CopyFile does.
	// Without it the copy is written to where the link points, as cp and
	// the Rust library do (never through a dangling link).
	ReplaceSymlink bool
	// AcceptChangingSource accepts a source that changed (size, mtime or
	// ctime) while it was copied: the copy holds what was read and the
	// report carries a warning. Without it such a copy is an error
	// (ErrSourceChanged) and the old target is kept.
	AcceptChangingSource bool
	// Progress, when set, is called on the copying goroutine after every
	// chunk of data (at most 16 MiB) with the bytes copied so far and the
	// source's size.
	Progress func(done, total int64)
}

// DefaultOptions returns the Rust library's defaults (fastcopy::copy):
// replace an existing target, clone where possible, keep times and mode,
// copy into a directory target, write through a symlink target.
func DefaultOptions() Options {
	return Options{
		Overwrite:     true,
		PreserveTimes: true,
		PreserveMode:  true,
		IntoDirectory: true,
	}
}

// RCCOptions returns the options CopyFile uses: those of RCC's
// pathlib.CopyFile (create parents, keep the mtime, refuse a directory
// target, replace a symlink target), with overwrite as given.
func RCCOptions(overwrite bool) Options {
	return Options{
		Overwrite:      overwrite,
		Force:          true,
		PreserveTimes:  true,
		PreserveMode:   true,
		CreateParents:  true,
		ReplaceSymlink: true,
	}
}

// Method names how a copy's data was moved. The names are the Rust
// library's (Method::as_str) and the CLI's.
type Method string

// The methods, in the order a platform tries them.
const (
	MethodReflink       Method = "reflink"         // Linux FICLONE
	MethodCopyFileRange Method = "copy_file_range" // Linux
	MethodSplice        Method = "splice"          // Linux, through a pipe
	MethodReadWrite     Method = "read_write"      // everywhere
	MethodClonefile     Method = "clonefile"       // macOS fclonefileat
	MethodFcopyfile     Method = "fcopyfile"       // macOS (not reachable without cgo; never used)
	MethodCopyFileEx    Method = "copy_file_ex"    // Windows CopyFileExW
	MethodBlockClone    Method = "block_clone"     // Windows ReFS (not implemented)
)

// IsClone reports whether the method shares blocks with the source.
func (m Method) IsClone() bool {
	return m == MethodReflink || m == MethodClonefile || m == MethodBlockClone
}

// Fallback is a method that declined ("not supported here") before the one
// that finished the copy.
type Fallback struct {
	// Method is the method that declined.
	Method Method
	// Offset is how many bytes were already copied when it declined: 0
	// before the first byte; after some bytes the next method carried on
	// from this offset.
	Offset int64
	// Err is the system's answer (e.g. syscall.EOPNOTSUPP).
	Err error
}

// Report says how a file was copied.
type Report struct {
	// Source and Destination are the paths copied from and written to
	// (Destination names the file inside a directory target).
	Source, Destination string
	// Method moved the data (the last one when several did, after a
	// late fallback).
	Method Method
	// Cloned is true when the copy shares the source's blocks.
	Cloned bool
	// Bytes is the size of the copy.
	Bytes int64
	// Elapsed is the time the copy took.
	Elapsed time.Duration
	// Fallbacks are the methods that declined, in order.
	Fallbacks []Fallback
	// Warnings are things that did not stop the copy (a dropped
	// set-user-ID bit, an accepted changing source).
	Warnings []string
}

func (o *Options) cancellable(ctx context.Context) bool {
	return ctx.Done() != nil || o.Progress != nil
}
