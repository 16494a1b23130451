package fastcopy

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// RCC's expectations of CopyFile, one by one.

func TestCopyFileCreatesParentsAndKeepsMtime(t *testing.T) {
	dir := tempDir(t)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "a", "b", "target")
	writeFile(t, src, []byte("robot"), testMtime)
	if err := CopyFile(src, target, false); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, target); string(got) != "robot" {
		t.Fatalf("content %q", got)
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(testMtime.Truncate(timeResolution)) {
		t.Fatalf("mtime %v, want %v", st.ModTime(), testMtime)
	}
}

func TestCopyFileExistingTargetErrors(t *testing.T) {
	dir := tempDir(t)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, []byte("new"), time.Time{})
	writeFile(t, target, []byte("old"), time.Time{})
	err := CopyFile(src, target, false)
	if err == nil {
		t.Fatal("no error for an existing target")
	}
	if !errors.Is(err, fs.ErrExist) || !errors.Is(err, syscall.EEXIST) || !os.IsExist(err) {
		t.Fatalf("%v: errors.Is(fs.ErrExist)=%t errors.Is(EEXIST)=%t os.IsExist=%t", err,
			errors.Is(err, fs.ErrExist), errors.Is(err, syscall.EEXIST), os.IsExist(err))
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != target {
		t.Fatalf("%#v: want an *fs.PathError naming the target", err)
	}
	if got := mustRead(t, target); string(got) != "old" {
		t.Fatalf("target changed to %q", got)
	}
	if err := CopyFile(src, target, true); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, target); string(got) != "new" {
		t.Fatalf("target %q after overwrite", got)
	}
	equalNames(t, dir, "src", "target")
}

func TestCopyFileRefusesDirectoryTarget(t *testing.T) {
	dir := tempDir(t)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "d")
	writeFile(t, src, []byte("x"), time.Time{})
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, overwrite := range []bool{false, true} {
		err := CopyFile(src, target, overwrite)
		if !errors.Is(err, syscall.EISDIR) {
			t.Fatalf("overwrite=%t: got %v, want EISDIR", overwrite, err)
		}
	}
	equalNames(t, target)
	// DefaultOptions copy into it, like cp and the Rust library.
	rep, err := CopyFileWithOptions(src, target, DefaultOptions())
	if err != nil || rep.Destination != filepath.Join(target, "src") {
		t.Fatalf("%+v, %v", rep, err)
	}
}

func TestCopyFileReplacesSymlinkTarget(t *testing.T) {
	skipSymlinksOnWindows(t)
	dir := tempDir(t)
	src, other, link := filepath.Join(dir, "src"), filepath.Join(dir, "other"), filepath.Join(dir, "link")
	writeFile(t, src, []byte("new"), time.Time{})
	writeFile(t, other, []byte("other"), time.Time{})
	if err := os.Symlink("other", link); err != nil {
		t.Fatal(err)
	}
	if err := CopyFile(src, link, false); !os.IsExist(err) {
		t.Fatalf("overwrite=false: %v, want an exist error", err)
	}
	if err := CopyFile(src, link, true); err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(link)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("the link was not replaced by a file: %v %v", st, err)
	}
	if got := mustRead(t, other); string(got) != "other" {
		t.Fatalf("the link's target was written through: %q", got)
	}
}

func TestSameFile(t *testing.T) {
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("data"), time.Time{})
	os.Link(src, filepath.Join(dir, "hard"))
	targets := []string{"src", "hard"}
	if os.Symlink("src", filepath.Join(dir, "soft")) == nil && runtime.GOOS != "windows" {
		targets = append(targets, "soft")
	}
	for _, to := range targets {
		err := CopyFile(src, filepath.Join(dir, to), true)
		if !errors.Is(err, ErrSameFile) {
			t.Fatalf("%s: %v, want ErrSameFile", to, err)
		}
	}
	if got := mustRead(t, src); string(got) != "data" {
		t.Fatalf("source changed: %q", got)
	}
}

func TestCancelledCopyLeavesNothing(t *testing.T) {
	dir := tempDir(t)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, pattern(40<<20, 1), time.Time{})
	writeFile(t, target, []byte("old"), time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	opts := DefaultOptions()
	opts.Reflink = ReflinkNever
	opts.Progress = func(done, total int64) { cancel() }
	_, err := CopyFileContext(ctx, src, target, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if got := mustRead(t, target); string(got) != "old" {
		t.Fatal("target changed")
	}
	equalNames(t, dir, "src", "target")
}

func TestAcceptChangingSource(t *testing.T) {
	dir := tempDir(t)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, pattern(40<<20, 2), time.Time{})
	opts := DefaultOptions()
	opts.Reflink = ReflinkNever
	opts.AcceptChangingSource = true
	once := false
	opts.Progress = func(done, total int64) {
		if !once {
			once = true
			f, _ := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte("more"))
			f.Close()
		}
	}
	rep, err := CopyFileWithOptions(src, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	// What was there at the start (Linux stops at the size it had), or up
	// to the end (the Windows and macOS loops read to end of file).
	if len(rep.Warnings) == 0 || rep.Bytes < 40<<20 {
		t.Fatalf("report %+v: want a warning and at least the 40 MiB that were there", rep)
	}
	if got := mustRead(t, target); !bytes.Equal(got[:40<<20], pattern(40<<20, 2)) {
		t.Fatal("content differs from the source as it was")
	}
}

func TestMetricsCount(t *testing.T) {
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("abc"), time.Time{})
	before := Metrics()
	if err := CopyFile(src, filepath.Join(dir, "t"), false); err != nil {
		t.Fatal(err)
	}
	CopyFile(src, filepath.Join(dir, "t"), false) // fails: exists
	after := Metrics()
	if after.Files != before.Files+1 || after.Failures != before.Failures+1 || after.Bytes != before.Bytes+3 {
		t.Fatalf("before %+v after %+v", before, after)
	}
}

func TestCopyTreePortable(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.MkdirAll(filepath.Join(src, "a", "b"), 0o755)
	writeFile(t, filepath.Join(src, "a", "b", "f"), []byte("one"), testMtime)
	rep, err := CopyTree(src, dst, DefaultTreeOptions())
	if err != nil || rep.Files != 1 || rep.Directories != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	st, err := os.Stat(filepath.Join(dst, "a", "b", "f"))
	if err != nil || !st.ModTime().Equal(testMtime.Truncate(timeResolution)) {
		t.Fatalf("%v, %v", st, err)
	}
}
