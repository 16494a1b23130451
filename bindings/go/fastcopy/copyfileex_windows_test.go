package fastcopy

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Windows' ladder: CopyFileExW by default; its progress routine cancels.

func TestCopyFileExIsUsed(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, pattern(300000, 1), testMtime)
	rep, err := CopyFileWithOptions(src, dst, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Method != MethodCopyFileEx || rep.Bytes != 300000 {
		t.Fatalf("report %+v: want copy_file_ex", rep)
	}
	equalNames(t, dir, "dst", "src")
}

func TestCopyFileExCancelled(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, pattern(256<<20, 2), time.Time{})
	// Cancelled while CopyFileExW runs: through its progress routine on
	// Windows; wine calls no progress routine, and the context is found
	// done when the call returns.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(5*time.Millisecond, cancel)
	_, err := CopyFileContext(ctx, src, dst, DefaultOptions())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	equalNames(t, dir, "src")
}

func TestReflinkAlwaysIsNotSupportedOnWindows(t *testing.T) {
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("x"), time.Time{})
	opts := DefaultOptions()
	opts.Reflink = ReflinkAlways
	if _, err := CopyFileWithOptions(src, filepath.Join(dir, "dst"), opts); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("got %v", err)
	}
	equalNames(t, dir, "src")
}
