package fastcopy_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fastcopy/fastcopy/bindings/go/fastcopy"
)

// CopyFile is a drop-in for RCC's pathlib.CopyFile.
func ExampleCopyFile() {
	dir, _ := os.MkdirTemp("", "fastcopy-example-")
	defer os.RemoveAll(dir)
	source := filepath.Join(dir, "robot.yaml")
	target := filepath.Join(dir, "cache", "robot.yaml")
	_ = os.WriteFile(source, []byte("tasks: {}\n"), 0o644)

	// Creates dir/cache, keeps the mtime, renames the finished copy into place.
	if err := fastcopy.CopyFile(source, target, false); err != nil {
		fmt.Println(err)
	}
	// A second copy without overwrite leaves the target alone.
	err := fastcopy.CopyFile(source, target, false)
	fmt.Println("exists:", errors.Is(err, fs.ErrExist))
	// A file copied onto itself is refused, never truncated.
	err = fastcopy.CopyFile(source, source, true)
	fmt.Println("same file:", errors.Is(err, fastcopy.ErrSameFile))
	// Output:
	// exists: true
	// same file: true
}

// CopyFileWithOptions reports how the file was copied.
func ExampleCopyFileWithOptions() {
	dir, _ := os.MkdirTemp("", "fastcopy-example-")
	defer os.RemoveAll(dir)
	source := filepath.Join(dir, "data.bin")
	_ = os.WriteFile(source, make([]byte, 1<<20), 0o644)

	opts := fastcopy.DefaultOptions()
	opts.Reflink = fastcopy.ReflinkAuto // clone on Btrfs/XFS, copy elsewhere
	report, err := fastcopy.CopyFileWithOptions(source, filepath.Join(dir, "copy.bin"), opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Bytes, "bytes")
	// Output: 1048576 bytes
}

// Metrics aggregates every copy in the process, for monitoring.
func ExampleMetrics() {
	fastcopy.ResetMetrics()
	dir, _ := os.MkdirTemp("", "fastcopy-example-")
	defer os.RemoveAll(dir)
	source := filepath.Join(dir, "a")
	_ = os.WriteFile(source, []byte("abc"), 0o644)
	_ = fastcopy.CopyFile(source, filepath.Join(dir, "b"), true)
	_ = fastcopy.CopyFile(filepath.Join(dir, "missing"), filepath.Join(dir, "c"), true)

	m := fastcopy.Metrics()
	fmt.Printf("files=%d failures=%d bytes=%d\n", m.Files, m.Failures, m.Bytes)
	// Output: files=1 failures=1 bytes=3
}
