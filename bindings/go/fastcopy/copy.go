package fastcopy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// CopyFile copies the regular file source to target with the expectations
// of RCC's pathlib.CopyFile, whose signature it shares (see the package
// documentation for the remaining differences):
//
//   - missing parent directories of target are created;
//   - an existing target is an error unless overwrite is true; that error
//     satisfies errors.Is(err, fs.ErrExist), errors.Is(err, syscall.EEXIST)
//     and os.IsExist(err);
//   - a target that is a directory is an error (syscall.EISDIR);
//   - a target that is a symbolic link is replaced by the copy when
//     overwrite is true (the file the link points to is not touched);
//   - the modification time (to the nanosecond) and the permissions are
//     kept.
//
// The copy is written under a name nobody sees (an anonymous O_TMPFILE on
// Linux, a hidden temporary elsewhere) and gets target's name only when it
// is complete: target never holds a partial file, also after a crash.
func CopyFile(source, target string, overwrite bool) error {
	o := RCCOptions(overwrite)
	_, err := copyFile(context.Background(), source, target, &o)
	return err
}

// CopyFileWithOptions copies the regular file source to target with opts
// and reports how.
func CopyFileWithOptions(source, target string, opts Options) (Report, error) {
	return copyFile(context.Background(), source, target, &opts)
}

// CopyFileContext is CopyFileWithOptions that stops when ctx is done: the
// copy checks ctx between chunks of at most 16 MiB, removes what it wrote
// and returns an error for which errors.Is(err, ctx.Err()) holds. The
// target is left as it was.
func CopyFileContext(ctx context.Context, source, target string, opts Options) (Report, error) {
	return copyFile(ctx, source, target, &opts)
}

func copyFile(ctx context.Context, source, target string, o *Options) (Report, error) {
	start := time.Now()
	r := Report{Source: source, Destination: target}
	var err error
	if e := ctx.Err(); e != nil {
		err = pathError("copy", source, e)
	} else {
		err = platformCopy(ctx, source, target, o, &r)
	}
	r.Elapsed = time.Since(start)
	record(&r, err)
	return r, err
}

// TempMarker is the part of a temporary file's name that marks it as
// fastcopy's: ".NAME.fastcopy-tmp-UNIQUE", the same as the Rust library's
// TEMP_MARKER. On Linux the data is written into an anonymous file and such
// a name exists only for the instant between link and rename when an
// existing target is replaced.
const TempMarker = ".fastcopy-tmp-"

var tempCounter atomic.Uint64

// tempPath returns a new temporary name next to dest, as the Rust library
// makes them: .NAME.fastcopy-tmp-PID-N-NANOS (hex), NAME cut to 180 bytes.
func tempPath(dest string) string {
	dir, name := filepath.Split(dest)
	if len(name) > 180 {
		name = name[:180]
	}
	n := tempCounter.Add(1) - 1
	b := make([]byte, 0, len(dir)+len(name)+64)
	b = append(b, dir...)
	b = append(b, '.')
	b = append(b, name...)
	b = append(b, TempMarker...)
	b = strconv.AppendUint(b, uint64(os.Getpid()), 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, n, 16)
	b = append(b, '-')
	b = strconv.AppendUint(b, uint64(time.Now().Nanosecond()), 16)
	return string(b)
}

func mkdirAllParent(dest string) error {
	return os.MkdirAll(filepath.Dir(dest), 0o777)
}
