package fastcopy

import (
	"errors"
	"io/fs"
	"syscall"
)

// Errors of this package that have no counterpart in io/fs or syscall, for
// errors.Is. Every error returned is an *fs.PathError (or, for CopyTree, a
// *TreeError) whose Err also unwraps to the system's syscall.Errno when the
// system gave one.
var (
	// ErrSameFile: source and target are the same file (same path, a hard
	// link, or a symlink to it). Nothing was written.
	ErrSameFile = errors.New("source and target are the same file")
	// ErrNotSupported: what was asked cannot be done here, e.g.
	// ReflinkAlways where no clone can be made.
	ErrNotSupported = errors.New("not supported")
	// ErrNotRegular: the source is not a regular file (a directory, FIFO,
	// socket or device), or the target is a special file that will not be
	// replaced.
	ErrNotRegular = errors.New("not a regular file")
	// ErrSourceChanged: the source's size, mtime or ctime changed while it
	// was copied (set Options.AcceptChangingSource to accept it). The old
	// target is kept and nothing is left behind.
	ErrSourceChanged = errors.New("changed while it was being copied")
)

// kindError is an error of one of the kinds above, with the system's error
// number when there is one: errors.Is matches both.
type kindError struct {
	kind  error
	errno error
	msg   string
}

func (e *kindError) Error() string {
	switch {
	case e.msg != "":
		return e.msg
	case e.errno != nil:
		return e.kind.Error() + ": " + e.errno.Error()
	}
	return e.kind.Error()
}

func (e *kindError) Is(target error) bool { return target == e.kind }

func (e *kindError) Unwrap() error { return e.errno }

func pathError(op, path string, err error) error {
	return &fs.PathError{Op: op, Path: path, Err: err}
}

func kind(k error, errno error, msg string) error {
	return &kindError{kind: k, errno: errno, msg: msg}
}

// existError is the error for an existing target, made the way os.OpenFile
// with O_EXCL makes it, so that errors.Is(err, fs.ErrExist),
// errors.Is(err, syscall.EEXIST) and os.IsExist(err) all hold.
func existError(path string) error {
	return &fs.PathError{Op: "open", Path: path, Err: syscall.EEXIST}
}
