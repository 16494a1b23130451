package fastcopy

import (
	"errors"
	"io/fs"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// macOS: fclonefileat (APFS clone) -> read/write loop with holes kept.
// Rust: sys::macos, fclonefileat -> fcopyfile. fcopyfile lives in libSystem
// and x/sys/unix has no wrapper for it; reaching it without cgo would need
// assembly trampolines, so Go copies the data with pread/pwrite (holes kept
// with SEEK_DATA/SEEK_HOLE, which APFS supports). Compiled and vetted in
// CI (GOOS=darwin); not run (no Mac).

func (j *job) openTemp(mode uint32) error { return j.openNamedTemp(mode) }

func renameNoReplace(from, to string) error {
	return unix.RenamexNp(from, to, unix.RENAME_EXCL)
}

func (j *job) linkAnonymous() error { return errors.New("fastcopy: no anonymous files on macOS") }

func (j *job) setTimes() error {
	ts := []unix.Timespec{j.st.Atim, j.st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, j.tmp.path, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (j *job) copyData() error {
	o, r, size := j.o, j.r, j.st.Size
	if o.Reflink == ReflinkAlways || (o.Reflink == ReflinkAuto && size > 0) {
		if err := j.clonefile(); err == nil {
			r.Method, r.Cloned, r.Bytes = MethodClonefile, true, size
			return nil
		} else if o.Reflink == ReflinkAlways || !mayFallBack(err) {
			if mayFallBack(err) {
				err = kind(ErrNotSupported, err, "cannot clone here: "+err.Error())
			}
			return pathError("clone", j.source, err)
		} else {
			r.Fallbacks = append(r.Fallbacks, Fallback{Method: MethodClonefile, Err: err})
		}
	}
	if err := j.createTemp(); err != nil {
		return err
	}
	r.Method = MethodReadWrite
	n, err := copyReadWrite(j)
	r.Bytes = n
	if err != nil {
		return pathError("write", j.dest, err)
	}
	return nil
}

// clonefile clones the source to a new hidden name next to the
// destination (fclonefileat creates the file) and opens it.
func (j *job) clonefile() error {
	var err error
	for i := 0; i < 16; i++ {
		p := tempPath(j.dest)
		err = unix.Fclonefileat(j.src, unix.AT_FDCWD, p, unix.CLONE_NOFOLLOW)
		if err == unix.ENOENT && j.o.CreateParents {
			if e := mkdirAllParent(j.dest); e != nil {
				return &noFallback{e}
			}
			err = unix.Fclonefileat(j.src, unix.AT_FDCWD, p, unix.CLONE_NOFOLLOW)
		}
		if err == unix.EEXIST {
			continue
		}
		if err != nil {
			return err
		}
		j.tmp.path = p
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			return &noFallback{err}
		}
		j.tmp.fd = fd
		if err := unix.Fstat(fd, &j.tmp.st); err != nil {
			return &noFallback{err}
		}
		return nil
	}
	return err
}

// copyReadWrite copies with pread/pwrite, keeping holes.
func copyReadWrite(j *job) (int64, error) {
	size := j.st.Size
	buf := make([]byte, 256<<10)
	copyRange := func(off, end int64) (int64, error) {
		start := off
		for off < end {
			want := end - off
			if want > int64(len(buf)) {
				want = int64(len(buf))
			}
			n, err := unix.Pread(j.src, buf[:want], off)
			if err != nil {
				return off - start, err
			}
			if n == 0 {
				break
			}
			for w := 0; w < n; {
				k, err := unix.Pwrite(j.tmp.fd, buf[w:n], off+int64(w))
				if err != nil {
					return off - start, err
				}
				w += k
			}
			off += int64(n)
			if j.o.Progress != nil {
				j.o.Progress(off, size)
			}
			if err := j.ctx.Err(); err != nil {
				return off - start, err
			}
		}
		return off - start, nil
	}
	if size == 0 || j.st.Blocks*512 >= size {
		return copyRange(0, size)
	}
	if err := unix.Ftruncate(j.tmp.fd, size); err != nil {
		return 0, err
	}
	var pos int64
	for pos < size {
		data, err := unix.Seek(j.src, pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		if err != nil {
			if pos == 0 {
				return copyRange(0, size)
			}
			return pos, err
		}
		hole, err := unix.Seek(j.src, data, unix.SEEK_HOLE)
		if err != nil {
			return pos, err
		}
		if hole > size {
			hole = size
		}
		got, err := copyRange(data, hole)
		if err != nil {
			return pos, err
		}
		pos = data + got
		if got < hole-data {
			return pos, unix.Ftruncate(j.tmp.fd, pos)
		}
	}
	return size, nil
}

func accessTime(st fs.FileInfo) time.Time {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(s.Atimespec.Sec), int64(s.Atimespec.Nsec))
	}
	return st.ModTime()
}
