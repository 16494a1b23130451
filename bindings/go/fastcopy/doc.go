// Package fastcopy copies files as fast as the platform allows without ever
// losing data, and says how it did it. It is the Go implementation of the
// fastcopy project (github.com/fastcopy/fastcopy), written in pure Go (no
// cgo; the standard library and golang.org/x/sys only), with the same
// methods, the same fall-back rules and the same contract as the Rust
// library, checked by the shared conformance cases (conformance/cases.json
// in the repository, run by both).
//
// # RCC's CopyFile
//
// CopyFile has the signature of RCC's pathlib.CopyFile and meets its
// callers' expectations: it creates missing parents, refuses a directory
// target, replaces a symlink target (never writes through it) when
// overwrite is true, keeps the mtime, and an existing target gives an error
// for which errors.Is(err, fs.ErrExist), errors.Is(err, syscall.EEXIST) and
// os.IsExist(err) all hold. Migrating is one import and one call:
//
//	import "github.com/fastcopy/fastcopy/bindings/go/fastcopy"
//
//	func CopyFile(source, target string, overwrite bool) error {
//		return fastcopy.CopyFile(source, target, overwrite)
//	}
//
// Differences that remain, each on purpose:
//
//   - The copy is written under no name (O_TMPFILE on Linux; a hidden
//     ".NAME.fastcopy-tmp-..." elsewhere) and gets the target's name only
//     when complete: a failed or killed copy leaves the old target (or
//     nothing) in place. RCC removes the old target first and writes the
//     new one in place, so a failure leaves a partial file or none.
//   - overwrite=false is atomic: the name is claimed when the finished copy
//     is linked (linkat, renameat2(RENAME_NOREPLACE), MoveFileEx without
//     replacing). RCC checks and creates in two steps.
//   - Copying a file onto itself (same path, a hard link, a symlink to it)
//     is ErrSameFile, also with overwrite=false (RCC: an exist error) and
//     with overwrite=true (RCC removes the file, then fails to open it: the
//     data is lost).
//   - A source that changes while it is copied is an error
//     (ErrSourceChanged) and the old target stays; RCC returns nil with
//     whatever it read.
//   - Directories, FIFOs, sockets and devices are refused as sources with
//     ErrNotRegular, without blocking on a FIFO; RCC's io.Copy would block
//     on a FIFO or copy a device's stream.
//   - A FIFO or device at the target's name is refused (ErrNotRegular)
//     instead of removed.
//   - The permission bits are the source's (set-user-ID and set-group-ID
//     only for root) and, as root, the owner and group too; RCC creates
//     the file with the source's mode minus the umask and the caller as
//     owner. The access time is kept as well as the mtime.
//   - Missing parents are made with mode 0777 minus the umask (as
//     os.MkdirAll); RCC's shared directories are forced to 0777.
//   - Errors are *fs.PathError values whose Op names what failed ("open",
//     "clone", "write", "link", ...); RCC's errors come from the os calls
//     it makes, which are other calls. Unlike RCC, CopyFile logs nothing.
//
// # Options and reports
//
// CopyFileWithOptions and CopyFileContext take Options (DefaultOptions
// are the Rust library's defaults: cp-like, into a directory target and
// through a symlink target; RCCOptions are CopyFile's) and return a Report:
// the method, the bytes, the time, the methods that declined (Fallbacks,
// with the offset where each declined) and warnings. Metrics counts every
// copy of the process. CopyTree and CopyTreeContext copy directories with
// the rules of `fastcopy -r`; a partial tree copy is a *TreeError carrying
// the TreeReport. A cancelled context stops a copy between chunks of at
// most 16 MiB, leaving the target as it was.
//
// # Methods and decisions, next to the Rust library's
//
// Linux (the Rust library: sys/linux.rs, copy.rs, ladder.rs):
//
//   - Ladder: FICLONE → copy_file_range (looped, ≤ 1 GiB a call, 16 MiB
//     with a cancellable context or Progress) → splice through a 1 MiB pipe
//     (files ≥ 256 KiB) → pread/pwrite (256 KiB buffer from a pool). Same
//     as Rust.
//   - Fall back only on "not supported" (ENOSYS, EOPNOTSUPP, EXDEV,
//     EINVAL, EPERM, EBADF, ETXTBSY, ENOTTY) or a first 0 from
//     copy_file_range/splice on a non-empty file; EIO, ENOSPC, EDQUOT,
//     ENOMEM and everything else end the copy. Same list as Rust's
//     is_unsupported.
//   - A "not supported" after some bytes: the next method carries on from
//     that offset (every method works with explicit offsets, so there is
//     nothing to reset). A 0 before the end of the file, after some bytes,
//     hands over the same way. Rust: the same since issue 13. Errors after
//     data entered splice's pipe never hand over (the data would be lost).
//   - Cloning is decided once per pair of devices: the destination's
//     filesystem (fstatfs) tells whether FICLONE can work at all (ext4,
//     tmpfs, ramfs: no, not tried) and whether copy_file_range may clone
//     (it is used with ReflinkNever only on ext4, tmpfs, ramfs, f2fs, as
//     in Rust's copy_file_range_never_clones); a refusal for the whole pair
//     (ENOSYS, EOPNOTSUPP, ENOTTY, EXDEV before the first byte) is
//     remembered. Rust remembers refusals per pair in trees and tries
//     FICLONE for each single file; Go also remembers for single files,
//     because CopyFile is called once per file.
//   - Holes: a file with fewer blocks than its size is copied segment by
//     segment with SEEK_DATA/SEEK_HOLE; the size is set first (XFS
//     speculative preallocation). Same as Rust.
//   - The data is copied up to the size the source had when it was opened
//     (one copy_file_range for a small file, no end-of-file probe); growth
//     shows in the final fstat. Rust copies single files to end of file.
//   - Preallocation: fallocate(KEEP_SIZE) before copy_file_range within
//     one ext4 filesystem for files of 16 MiB or more, given back if the
//     copy ends short: Rust's Preallocate::Auto.
//   - Temporary: O_TMPFILE in the target's directory, linked with
//     linkat(AT_EMPTY_PATH) where the process may (root) or through
//     /proc/self/fd; a missing target is linked directly (no rename), an
//     existing one is replaced by linking a hidden name and renaming it.
//     A named temporary where O_TMPFILE is refused. Rust: the same since
//     issue 13 (Go does not yet remove leftovers of dead processes'
//     named temporaries, which only exist where O_TMPFILE is refused).
//   - With RCC's semantics a file under 1 MiB looks at its target only
//     when linking finds that it exists (no lookup before the copy of a
//     new file); the checks and their order are the same.
//
// macOS (Rust: sys/macos.rs): fclonefileat → read/write loop with holes
// kept. Rust uses fcopyfile after the clone; it lives in libSystem and
// x/sys has no wrapper, and calling it without cgo needs assembly
// trampolines, so Go copies with pread/pwrite. The temporary is named;
// no-clobber uses renamex_np(RENAME_EXCL). Compiled and vetted only.
//
// Windows (Rust: sys/windows.rs): CopyFileExW (through
// syscall.LazyDLL-style lookup in x/sys/windows) with one progress routine
// for the process (windows.NewCallback) that reports progress and cancels
// when the context is done; the cancel flag is also set from the context,
// and a context found done when the call returns discards the copy (wine
// calls no progress routine). ReflinkNever uses the read/write loop
// (CopyFileExW may clone on ReFS/Dev Drive). Block cloning
// (FSCTL_DUPLICATE_EXTENTS_TO_FILE) is not implemented: ReflinkAlways
// fails with ErrNotSupported. The mtime is kept to 100 ns (NTFS).
// Tested under wine in CI.
//
// Other systems: read/write loop through the os package.
package fastcopy
