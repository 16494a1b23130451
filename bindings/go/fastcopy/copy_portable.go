//go:build !linux && !darwin

package fastcopy

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// The copy on systems without the Unix backend (Windows and the rest):
// through the os package, with the platform's data method (copy_windows.go,
// copy_other.go).

type pjob struct {
	ctx          context.Context
	o            *Options
	r            *Report
	source, dest string
	exists       bool
	st           fs.FileInfo
	tmp          string
	tmpDone      bool
	atime, mtime time.Time
}

func platformCopy(ctx context.Context, source, target string, o *Options, r *Report) error {
	j := pjob{ctx: ctx, o: o, r: r, source: source}
	defer func() {
		if j.tmp != "" && !j.tmpDone {
			os.Remove(j.tmp)
		}
	}()
	f, err := os.Open(source)
	if err != nil {
		if st, e := os.Stat(source); e == nil && !st.Mode().IsRegular() {
			return notRegular(source, st)
		}
		return err
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return notRegular(source, st)
	}
	j.st = st
	j.mtime, j.atime = st.ModTime(), accessTime(st)
	if err := j.resolve(target); err != nil {
		return err
	}
	r.Destination = j.dest
	if err := j.copyData(); err != nil {
		return err
	}
	now, err := os.Stat(source)
	if err != nil {
		return err
	}
	if now.Size() != st.Size() || !now.ModTime().Equal(st.ModTime()) || r.Bytes != st.Size() {
		if !o.AcceptChangingSource {
			return pathError("copy", source, ErrSourceChanged)
		}
		r.Warnings = append(r.Warnings, "source changed while it was being copied (accepted)")
	}
	if o.PreserveTimes {
		if err := os.Chtimes(j.tmp, j.atime, j.mtime); err != nil {
			return err
		}
	}
	if o.PreserveMode {
		if err := os.Chmod(j.tmp, st.Mode().Perm()); err != nil {
			return err
		}
	}
	if o.Fsync {
		if err := syncPath(j.tmp); err != nil {
			return err
		}
	}
	if err := renameInto(j.tmp, j.dest, o.Overwrite); err != nil {
		if os.IsExist(err) {
			return existError(j.dest)
		}
		return err
	}
	j.tmpDone = true
	return nil
}

func syncPath(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func notRegular(path string, st fs.FileInfo) error {
	if st.IsDir() {
		return pathError("open", path, kind(ErrNotRegular, syscall.EISDIR, "is a directory"))
	}
	return pathError("open", path, kind(ErrNotRegular, nil, "not a regular file"))
}

// resolve: the same decisions as the Unix backend's job.resolve.
func (j *pjob) resolve(target string) error {
	dest := target
	for round := 0; ; round++ {
		lst, err := os.Lstat(dest)
		if os.IsNotExist(err) {
			j.dest = dest
			return nil
		}
		if err != nil {
			return err
		}
		st := lst
		isLink := lst.Mode()&fs.ModeSymlink != 0
		dangling := false
		if isLink {
			if st, err = os.Stat(dest); os.IsNotExist(err) {
				dangling = true
			} else if err != nil {
				return err
			}
		}
		if !dangling {
			if os.SameFile(st, j.st) {
				return pathError("copy", dest, kind(ErrSameFile, nil, "it is the same file as '"+j.source+"'"))
			}
			if st.IsDir() {
				if j.o.IntoDirectory && round == 0 {
					dest = filepath.Join(dest, filepath.Base(j.source))
					continue
				}
				return pathError("open", dest, syscall.EISDIR)
			}
			if !st.Mode().IsRegular() && !(isLink && j.o.ReplaceSymlink) {
				return pathError("open", dest, kind(ErrNotRegular, nil, "will not replace a special file"))
			}
		} else if !j.o.ReplaceSymlink {
			return pathError("open", dest, kind(fs.ErrNotExist, syscall.ENOENT, "not writing through a dangling symlink"))
		}
		if !j.o.Overwrite {
			return existError(dest)
		}
		if isLink && !j.o.ReplaceSymlink {
			if dest, err = filepath.EvalSymlinks(dest); err != nil {
				return err
			}
		}
		j.dest, j.exists = dest, true
		return nil
	}
}

// readWrite copies the data with a buffer into a new temporary, checking
// the context between chunks.
func (j *pjob) readWrite() error {
	src, err := os.Open(j.source)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := j.createTemp()
	if err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	var done int64
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				dst.Close()
				return err
			}
			done += int64(n)
			if j.o.Progress != nil {
				j.o.Progress(done, j.st.Size())
			}
			if err := j.ctx.Err(); err != nil {
				dst.Close()
				return pathError("copy", j.dest, err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			dst.Close()
			return rerr
		}
	}
	j.r.Method, j.r.Bytes = MethodReadWrite, done
	return dst.Close()
}

func (j *pjob) createTemp() (*os.File, error) {
	for i := 0; ; i++ {
		p := tempPath(j.dest)
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, j.st.Mode().Perm()|0o200)
		if os.IsNotExist(err) && j.o.CreateParents && i == 0 {
			if err := mkdirAllParent(j.dest); err != nil {
				return nil, err
			}
			continue
		}
		if os.IsExist(err) && i < 16 {
			continue
		}
		if err != nil {
			return nil, err
		}
		j.tmp = p
		return f, nil
	}
}
