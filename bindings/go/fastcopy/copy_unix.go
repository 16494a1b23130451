//go:build linux || darwin

package fastcopy

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// lazyMax: below this size CopyFile's target is looked at only when it
// turns out to exist.
const lazyMax = 1 << 20

// job is one file copy on a Unix system.
type job struct {
	ctx    context.Context
	o      *Options
	r      *Report
	source string
	dest   string
	// exists: something (a file, or a link being replaced) has the
	// destination's name.
	exists bool
	// lazy: the target is examined only if it turns out to exist.
	lazy bool
	src  int
	st   unix.Stat_t
	tmp  tempFile
}

// tempFile is the file being written: anonymous (O_TMPFILE, Linux) or a
// hidden name next to the destination.
type tempFile struct {
	fd   int
	path string // "" while anonymous
	anon bool
	st   unix.Stat_t
	done bool
}

func (t *tempFile) discard() {
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
	if !t.done && t.path != "" {
		unix.Unlink(t.path)
	}
}

func platformCopy(ctx context.Context, source, target string, o *Options, r *Report) error {
	j := job{ctx: ctx, o: o, r: r, source: source, src: -1, tmp: tempFile{fd: -1}}
	defer func() {
		if j.src >= 0 {
			unix.Close(j.src)
		}
		j.tmp.discard()
	}()
	if err := j.openSource(); err != nil {
		return err
	}
	// RCC's semantics (no copy into a directory, a symlink replaced): an
	// existing target shows itself when the finished copy is linked or
	// renamed to its name without replacing (EEXIST), and only then is it
	// examined (persist). A missing target, the common case, costs no
	// lookup before the copy. The cp semantics need to know first where
	// the copy goes. Files of 1 MiB or more are checked first all the same:
	// copying them only to find the name taken would cost more than the
	// lookup saves.
	j.lazy = !o.IntoDirectory && o.ReplaceSymlink && j.st.Size < lazyMax
	if j.lazy {
		j.dest = target
	} else if err := j.resolve(target); err != nil {
		return err
	}
	r.Destination = j.dest
	if err := j.copyData(); err != nil {
		return err
	}
	if err := j.checkUnchanged(); err != nil {
		return err
	}
	if err := j.finish(); err != nil {
		return err
	}
	return j.persist()
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

func isRegular(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

// specialKind names a file that is not a regular file, as the Rust
// library's special_kind does.
func specialKind(st *unix.Stat_t) (string, error) {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "is a directory", syscall.EISDIR
	case unix.S_IFIFO:
		return "is a FIFO", nil
	case unix.S_IFSOCK:
		return "is a socket", nil
	case unix.S_IFBLK:
		return "is a block device", nil
	case unix.S_IFCHR:
		return "is a character device", nil
	}
	return "not a regular file", nil
}

// openSource opens the source without blocking (O_NONBLOCK: a FIFO would
// block an ordinary open; regular files ignore the flag) and insists on a
// regular file. Rust: sys::unix::open_source and copy::open_source.
func (j *job) openSource() error {
	var fd int
	err := retryEINTR(func() (e error) {
		fd, e = unix.Open(j.source, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		return e
	})
	if err != nil {
		// Sockets cannot be opened at all (ENXIO, EOPNOTSUPP): name what it is.
		var st unix.Stat_t
		if unix.Stat(j.source, &st) == nil && !isRegular(&st) {
			what, errno := specialKind(&st)
			return pathError("open", j.source, kind(ErrNotRegular, errno, what))
		}
		return pathError("open", j.source, err)
	}
	j.src = fd
	if err := unix.Fstat(fd, &j.st); err != nil {
		return pathError("stat", j.source, err)
	}
	if !isRegular(&j.st) {
		what, errno := specialKind(&j.st)
		return pathError("open", j.source, kind(ErrNotRegular, errno, what))
	}
	return nil
}

// resolve decides where the copy goes and refuses what must not be
// replaced. Rust: copy::resolve_destination (which always copies into a
// directory target and always writes through a symlink target; here
// Options.IntoDirectory and Options.ReplaceSymlink choose).
func (j *job) resolve(target string) error {
	dest := target
	for round := 0; ; round++ {
		var lst unix.Stat_t
		err := unix.Lstat(dest, &lst)
		if err == unix.ENOENT {
			// Nothing there. Missing parents are created only when the
			// temporary file cannot be made (no mkdir for a parent that
			// exists).
			j.dest = dest
			return nil
		}
		if err != nil {
			return pathError("stat", dest, err)
		}
		st := lst
		isLink := lst.Mode&unix.S_IFMT == unix.S_IFLNK
		dangling := false
		if isLink {
			if err := unix.Stat(dest, &st); err == unix.ENOENT {
				dangling = true
			} else if err != nil {
				return pathError("stat", dest, err)
			}
		}
		if !dangling {
			if st.Dev == j.st.Dev && st.Ino == j.st.Ino {
				return pathError("copy", dest, kind(ErrSameFile, nil, "it is the same file as '"+j.source+"'"))
			}
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				if j.o.IntoDirectory && round == 0 {
					dest = filepath.Join(dest, filepath.Base(j.source))
					continue
				}
				return pathError("open", dest, syscall.EISDIR)
			}
			if !isRegular(&st) && !(isLink && j.o.ReplaceSymlink) {
				what, _ := specialKind(&st)
				return pathError("open", dest, kind(ErrNotRegular, nil, "will not replace a special file ("+what+")"))
			}
		} else if !j.o.ReplaceSymlink {
			return pathError("open", dest, kind(fs.ErrNotExist, syscall.ENOENT, "not writing through a dangling symlink"))
		}
		if !j.o.Overwrite {
			return existError(dest)
		}
		if !dangling && !(isLink && j.o.ReplaceSymlink) {
			// An existing file the caller may not write is refused like
			// cp does ("Permission denied"), unless Force. Rust: the same
			// (sys::unix::may_write).
			if !j.o.Force {
				if err := unix.Faccessat(unix.AT_FDCWD, dest, unix.W_OK, unix.AT_EACCESS); err == unix.EACCES || err == unix.EPERM {
					return pathError("open", dest, syscall.EACCES)
				}
			}
			if st.Nlink > 1 {
				j.r.Warnings = append(j.r.Warnings, "the replaced file had other hard links, which keep the old content")
			}
		}
		if isLink && !j.o.ReplaceSymlink {
			// Write where the link points, leaving the link alone (cp).
			real, err := filepath.EvalSymlinks(dest)
			if err != nil {
				return pathError("stat", dest, err)
			}
			dest = real
		}
		j.dest = dest
		j.exists = true
		return nil
	}
}

// createTemp makes the file the data goes into, in the destination's
// directory, with the source's permission bits (minus the umask): never
// more open than the source while it is written. Creates missing parents
// when the directory is missing and Options.CreateParents is set.
func (j *job) createTemp() error {
	mode := uint32(j.st.Mode & 0o777)
	err := j.openTemp(mode)
	if err == unix.ENOENT && j.o.CreateParents {
		if dir := filepath.Dir(j.dest); dir != "" {
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return err
			}
			err = j.openTemp(mode)
		}
	}
	if err != nil {
		return pathError("create", j.dest, err)
	}
	if err := unix.Fstat(j.tmp.fd, &j.tmp.st); err != nil {
		return pathError("stat", j.dest, err)
	}
	return nil
}

// openNamedTemp creates a hidden temporary next to the destination,
// exclusively (O_EXCL), trying new names on a collision.
func (j *job) openNamedTemp(mode uint32) error {
	var last error
	for i := 0; i < 16; i++ {
		p := tempPath(j.dest)
		var fd int
		err := retryEINTR(func() (e error) {
			fd, e = unix.Open(p, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, mode)
			return e
		})
		if err == nil {
			j.tmp.fd, j.tmp.path = fd, p
			return nil
		}
		if err != unix.EEXIST {
			return err
		}
		last = err
	}
	return last
}

// checkUnchanged fails the copy when the source's size, mtime or ctime
// are not what they were when it was opened, or the copy's size is not the
// source's (issue 13: "a source that changed during the copy is an
// error"). Rust: the same rule in copy.rs.
func (j *job) checkUnchanged() error {
	var now unix.Stat_t
	if err := unix.Fstat(j.src, &now); err != nil {
		return pathError("stat", j.source, err)
	}
	// Pseudo files (procfs says 0 bytes) have no blocks and read
	// differently from their size: that is no change (Rust: changed()).
	sizeOK := j.r.Bytes == j.st.Size || j.st.Blocks == 0
	if now.Size == j.st.Size && now.Mtim == j.st.Mtim && now.Ctim == j.st.Ctim && sizeOK {
		return nil
	}
	if j.o.AcceptChangingSource {
		j.r.Warnings = append(j.r.Warnings, "source changed while it was being copied (accepted)")
		return nil
	}
	return pathError("copy", j.source, ErrSourceChanged)
}

// finish sets permissions and times on the finished data and flushes it
// when asked.
func (j *job) finish() error {
	// As root the copy keeps the source's owner and group (cp -p; the Rust
	// library's one rule for files and trees); otherwise it is the
	// caller's.
	chowned := false
	if os.Geteuid() == 0 && (j.tmp.st.Uid != j.st.Uid || j.tmp.st.Gid != j.st.Gid) {
		if err := unix.Fchown(j.tmp.fd, int(j.st.Uid), int(j.st.Gid)); err != nil {
			return pathError("chown", j.dest, err)
		}
		chowned = true
	}
	if j.o.PreserveMode {
		want := uint32(j.st.Mode & 0o7777)
		if want&0o6000 != 0 && os.Geteuid() != 0 {
			want &^= 0o6000
			j.r.Warnings = append(j.r.Warnings, "set-user-ID/set-group-ID bits not copied (not running as root)")
		}
		// The file was created with the source's bits minus the umask:
		// only when the umask took some is a chmod needed.
		if chowned || uint32(j.tmp.st.Mode&0o7777) != want {
			if err := retryEINTR(func() error { return unix.Fchmod(j.tmp.fd, want) }); err != nil {
				return pathError("chmod", j.dest, err)
			}
		}
	}
	if j.o.PreserveTimes {
		if err := j.setTimes(); err != nil {
			return pathError("chtimes", j.dest, err)
		}
	}
	if j.o.Fsync {
		if err := retryEINTR(func() error { return unix.Fsync(j.tmp.fd) }); err != nil {
			return pathError("sync", j.dest, err)
		}
	}
	return nil
}

// persist gives the finished copy its name. An anonymous file is linked
// in (see linkAnonymous); a named temporary is renamed, atomically
// refusing an existing destination without Overwrite.
func (j *job) persist() error {
	if j.tmp.anon {
		return j.linkAnonymous()
	}
	var err error
	if j.o.Overwrite && !j.lazy {
		err = unix.Rename(j.tmp.path, j.dest)
	} else {
		err = renameNoReplace(j.tmp.path, j.dest)
		if err == unix.EEXIST && j.lazy {
			if err := j.resolveLate(); err != nil {
				return err
			}
			err = unix.Rename(j.tmp.path, j.dest)
		}
	}
	if err == unix.EEXIST {
		return existError(j.dest)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: j.tmp.path, New: j.dest, Err: err}
	}
	j.tmp.done = true
	return nil
}

// resolveLate examines a target found to exist when the copy was to be
// given its name (lazy resolution): the same refusals as resolve, in the
// same order (same file, directory, special file, no overwrite).
func (j *job) resolveLate() error {
	target := j.dest
	if err := j.resolve(target); err != nil {
		return err
	}
	if !j.exists {
		// Removed meanwhile: the caller's no-replace attempt will tell.
		j.exists = true
	}
	if j.dest != target {
		return pathError("copy", target, kind(ErrNotSupported, nil, "the target changed while it was copied"))
	}
	return nil
}

// mayFallBack: whether errno, from a method that must hand over, means
// "not supported here". Rust: sys::linux::is_unsupported (the same list).
func mayFallBack(err error) bool {
	var nf *noFallback
	if errors.As(err, &nf) {
		return false
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return errors.Is(err, ErrNotSupported)
	}
	switch errno {
	case unix.ENOSYS, unix.EOPNOTSUPP, unix.EXDEV, unix.EINVAL, unix.EPERM,
		unix.EBADF, unix.ETXTBSY, unix.ENOTTY:
		return true
	}
	// ENOTSUP is EOPNOTSUPP on Linux, another number on macOS.
	return errno == unix.ENOTSUP
}

// noFallback marks an error after which no other method may carry on
// (data was in flight, e.g. in splice's pipe).
type noFallback struct{ err error }

func (e *noFallback) Error() string { return e.err.Error() }
func (e *noFallback) Unwrap() error { return e.err }
