package fastcopy

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var testMtime = time.Unix(1_600_000_000, 123_456_789)

func writeFile(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// equalNames asserts that dir holds exactly the entries want.
func equalNames(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("entries of %s: %q, want %q", dir, got, want)
	}
}

// RCC's expectations of CopyFile, one by one.

func TestCopyFileCreatesParentsAndKeepsMtime(t *testing.T) {
	dir := t.TempDir()
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
	if !st.ModTime().Equal(testMtime) {
		t.Fatalf("mtime %v, want %v", st.ModTime(), testMtime)
	}
}

func TestCopyFileExistingTargetErrors(t *testing.T) {
	dir := t.TempDir()
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
	dir := t.TempDir()
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
	dir := t.TempDir()
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
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("data"), time.Time{})
	os.Link(src, filepath.Join(dir, "hard"))
	os.Symlink("src", filepath.Join(dir, "soft"))
	for _, to := range []string{"src", "hard", "soft"} {
		err := CopyFile(src, filepath.Join(dir, to), true)
		if !errors.Is(err, ErrSameFile) {
			t.Fatalf("%s: %v, want ErrSameFile", to, err)
		}
	}
	if got := mustRead(t, src); string(got) != "data" {
		t.Fatalf("source changed: %q", got)
	}
}

func TestSpecialSourcesDoNotBlock(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for _, src := range []string{fifo, dir, "/dev/null"} {
		err := CopyFile(src, filepath.Join(dir, "out"), true)
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("%s: %v, want ErrNotRegular", src, err)
		}
	}
	equalNames(t, dir, "fifo")
}

func TestCancelledCopyLeavesNothing(t *testing.T) {
	dir := t.TempDir()
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
	dir := t.TempDir()
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
	if len(rep.Warnings) == 0 || rep.Bytes != 40<<20 {
		t.Fatalf("report %+v: want a warning and the 40 MiB that were there", rep)
	}
	if !bytes.Equal(mustRead(t, target), pattern(40<<20, 2)) {
		t.Fatal("content differs from the source as it was")
	}
}

func TestMetricsCount(t *testing.T) {
	dir := t.TempDir()
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
