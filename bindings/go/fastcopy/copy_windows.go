package fastcopy

import (
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows: CopyFileExW with a progress routine that cancels when the
// context is done -> read/write loop. Rust: sys::windows tries block
// cloning (FSCTL_DUPLICATE_EXTENTS_TO_FILE on ReFS/Dev Drive) first; Go
// does not (a gap, documented in the README): ReflinkAlways fails with
// ErrNotSupported, and ReflinkNever uses the read/write loop because
// CopyFileExW may clone by itself on ReFS/Dev Drive (as in Rust).

var (
	kernel32        = windows.NewLazySystemDLL("kernel32.dll")
	procCopyFileExW = kernel32.NewProc("CopyFileExW")
)

const (
	copyFileFailIfExists = 0x1
	progressContinue     = 0
	progressCancel       = 1
)

// One callback for the process (Windows callbacks are a limited resource);
// the copy it belongs to is found by the id passed as lpData.
var (
	progressRoutine = windows.NewCallback(progressCallback)
	winJobs         sync.Map // uintptr -> *pjob
	winJobID        uintptr
	winJobMu        sync.Mutex
)

// progressCallback is CopyFileExW's LPPROGRESS_ROUTINE (64-bit Windows:
// every argument fits a register-sized word).
func progressCallback(total, transferred, streamSize, streamTransferred, stream, reason, src, dst, data uintptr) uintptr {
	v, ok := winJobs.Load(data)
	if !ok {
		return progressContinue
	}
	j := v.(*pjob)
	if j.o.Progress != nil {
		j.o.Progress(int64(transferred), int64(total))
	}
	if j.ctx.Err() != nil {
		return progressCancel
	}
	return progressContinue
}

func (j *pjob) copyData() error {
	switch j.o.Reflink {
	case ReflinkAlways:
		return pathError("clone", j.source, kind(ErrNotSupported, nil, "block cloning is not implemented in the Go package"))
	case ReflinkNever:
		return j.readWrite()
	}
	err := j.copyFileEx()
	if err == nil {
		return nil
	}
	if j.ctx.Err() != nil {
		return pathError("copy", j.dest, j.ctx.Err())
	}
	if mayFallBackWindows(err) {
		j.r.Fallbacks = append(j.r.Fallbacks, Fallback{Method: MethodCopyFileEx, Err: err})
		return j.readWrite()
	}
	return pathError("copy", j.dest, err)
}

func mayFallBackWindows(err error) bool {
	switch err {
	case windows.ERROR_NOT_SUPPORTED, windows.ERROR_INVALID_FUNCTION, windows.ERROR_CALL_NOT_IMPLEMENTED:
		return true
	}
	return false
}

func (j *pjob) copyFileEx() error {
	if err := procCopyFileExW.Find(); err != nil {
		return windows.ERROR_CALL_NOT_IMPLEMENTED
	}
	winJobMu.Lock()
	winJobID++
	id := winJobID
	winJobMu.Unlock()
	winJobs.Store(id, j)
	defer winJobs.Delete(id)
	src, err := windows.UTF16PtrFromString(j.source)
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		p := tempPath(j.dest)
		dst, err := windows.UTF16PtrFromString(p)
		if err != nil {
			return err
		}
		// pbCancel is also set when the context is done (a copy whose
		// progress routine is not called, as under wine, still stops).
		cancel := new(int32)
		stop := make(chan struct{})
		if done := j.ctx.Done(); done != nil {
			go func() {
				select {
				case <-done:
					atomic.StoreInt32(cancel, 1)
				case <-stop:
				}
			}()
		}
		r1, _, e := procCopyFileExW.Call(uintptr(unsafe.Pointer(src)), uintptr(unsafe.Pointer(dst)),
			progressRoutine, id, uintptr(unsafe.Pointer(cancel)), copyFileFailIfExists)
		close(stop)
		if r1 != 0 {
			j.tmp = p
			if err := j.ctx.Err(); err != nil {
				return err
			}
			j.r.Method, j.r.Bytes = MethodCopyFileEx, j.st.Size()
			if st, err := os.Stat(p); err == nil {
				j.r.Bytes = st.Size()
			}
			return nil
		}
		if (e == windows.ERROR_PATH_NOT_FOUND) && j.o.CreateParents && i == 0 {
			if err := mkdirAllParent(j.dest); err != nil {
				return err
			}
			continue
		}
		if (e == windows.ERROR_FILE_EXISTS || e == windows.ERROR_ALREADY_EXISTS) && i < 16 {
			continue
		}
		return e
	}
}

func accessTime(st fs.FileInfo) time.Time {
	if d, ok := st.Sys().(*syscall.Win32FileAttributeData); ok {
		return time.Unix(0, d.LastAccessTime.Nanoseconds())
	}
	return st.ModTime()
}

// renameInto: MoveFileEx, replacing only with overwrite (without
// MOVEFILE_REPLACE_EXISTING it refuses an existing name atomically).
func renameInto(from, to string, overwrite bool) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	var flags uint32
	if overwrite {
		flags = windows.MOVEFILE_REPLACE_EXISTING
	}
	if err := windows.MoveFileEx(f, t, flags); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// renameDirNoReplace: MoveFileEx without MOVEFILE_REPLACE_EXISTING fails on
// an existing name, atomically.
func renameDirNoReplace(from, to string) error {
	err := renameInto(from, to, false)
	if os.IsExist(err) {
		return existError(to)
	}
	return err
}
