package fastcopy_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fastcopy/fastcopy/bindings/go/fastcopy"
)

// CopyFile is a drop-in for RCC's pathlib.CopyFile.
func ExampleCopyFile() {
	dir, _ := os.MkdirTemp("", "fastcopy-example-")
	defer removeAll(dir)
	source := filepath.Join(dir, "robot.yaml")
	target := filepath.Join(dir, "cache", "robot.yaml")
	_ = os.WriteFile(source, []byte("tasks: {}\n"), 0o644)

	// Creates dir/cache, keeps the mtime, names the copy only when complete.
	if err := fastcopy.CopyFile(source, target, false); err != nil {
		fmt.Println(err)
		return
	}
	// A second copy without overwrite: the target exists.
	err := fastcopy.CopyFile(source, target, false)
	fmt.Println(errors.Is(err, fs.ErrExist), os.IsExist(err))
	// Output: true true
}

// CopyFileContext reports how the file was copied and stops when the
// context is done.
func ExampleCopyFileContext() {
	dir, _ := os.MkdirTemp("", "fastcopy-example-")
	defer removeAll(dir)
	source := filepath.Join(dir, "data.bin")
	_ = os.WriteFile(source, make([]byte, 1<<20), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := fastcopy.DefaultOptions()
	opts.Reflink = fastcopy.ReflinkAuto
	report, err := fastcopy.CopyFileContext(ctx, source, filepath.Join(dir, "copy.bin"), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Bytes)
	// Output: 1048576
}

// CopyTree copies a directory; a partial copy is a *TreeError.
func ExampleCopyTree() {
	dir, _ := os.MkdirTemp("", "fastcopy-example-")
	defer removeAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "src", "sub"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "src", "sub", "file"), []byte("hello"), 0o644)

	report, err := fastcopy.CopyTree(filepath.Join(dir, "src"), filepath.Join(dir, "dst"), fastcopy.DefaultTreeOptions())
	var partial *fastcopy.TreeError
	if errors.As(err, &partial) {
		fmt.Println("failed entries:", len(partial.Report.Errors))
		return
	}
	fmt.Println(report.Files, report.Directories, err)
	// Output: 1 2 <nil>
}

// removeAll is os.RemoveAll, file by file where that fails (under wine).
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	var dirs []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			dirs = append(dirs, p)
		} else if err == nil {
			os.Remove(p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
}
