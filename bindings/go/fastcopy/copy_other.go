//go:build !linux && !darwin && !windows

package fastcopy

import (
	"io/fs"
	"os"
	"time"
)

// Other systems: the read/write loop only (Rust: sys::generic).

func (j *pjob) copyData() error {
	if j.o.Reflink == ReflinkAlways {
		return pathError("clone", j.source, kind(ErrNotSupported, nil, "cannot clone on this system"))
	}
	return j.readWrite()
}

func accessTime(st fs.FileInfo) time.Time { return st.ModTime() }

func renameInto(from, to string, overwrite bool) error {
	if overwrite {
		return os.Rename(from, to)
	}
	if err := os.Link(from, to); err != nil {
		return err
	}
	return os.Remove(from)
}

// renameDirNoReplace claims the name with an empty directory, which rename
// then replaces.
func renameDirNoReplace(from, to string) error {
	if err := os.Mkdir(to, 0o700); err != nil {
		return err
	}
	return os.Rename(from, to)
}
