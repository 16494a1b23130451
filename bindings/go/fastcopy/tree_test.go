//go:build linux || darwin

package fastcopy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func makeTree(t *testing.T, root string) {
	t.Helper()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "a/b/f1"), []byte("one"), testMtime)
	writeFile(t, filepath.Join(root, "c/f2"), pattern(300000, 7), time.Time{})
	os.Link(filepath.Join(root, "c/f2"), filepath.Join(root, "c/f2-hard"))
	os.Symlink("../a/b/f1", filepath.Join(root, "c/link"))
	syscall.Mkfifo(filepath.Join(root, "fifo"), 0o600)
	os.Chtimes(filepath.Join(root, "a/b"), testMtime, testMtime)
}

func TestCopyTree(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	rep, err := CopyTree(src, dst, DefaultTreeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 2 || rep.HardLinks != 1 || rep.Symlinks != 1 || rep.SpecialFiles != 1 || !rep.Complete() {
		t.Fatalf("report %+v", rep)
	}
	if string(mustRead(t, filepath.Join(dst, "c/link"))) != "one" {
		t.Fatal("link")
	}
	a, _ := os.Stat(filepath.Join(dst, "c/f2"))
	b, _ := os.Stat(filepath.Join(dst, "c/f2-hard"))
	if !os.SameFile(a, b) {
		t.Fatal("hard link not kept")
	}
	st, _ := os.Stat(filepath.Join(dst, "a/b"))
	if !st.ModTime().Equal(testMtime) {
		t.Fatalf("directory mtime %v", st.ModTime())
	}
	equalNames(t, dir, "dst", "src")
}

// A partial tree copy is an error that carries the report.
func TestCopyTreePartialIsAnError(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	// In the way: a directory where the source has a file.
	os.MkdirAll(filepath.Join(dst, "c/f2"), 0o755)
	opts := DefaultTreeOptions()
	rep, err := CopyTree(src, dst, opts)
	var te *TreeError
	if !errors.As(err, &te) || te.Report.Complete() || len(rep.Errors) == 0 {
		t.Fatalf("got %v, report %+v: want a *TreeError", err, rep)
	}
	if !errors.Is(err, syscall.EISDIR) {
		t.Fatalf("%v: the entry's error is not reachable with errors.Is", err)
	}
	if string(mustRead(t, filepath.Join(dst, "a/b/f1"))) != "one" {
		t.Fatal("the rest was not copied")
	}
}

func TestCopyTreeUpdateNeverOverwritesNewer(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	os.MkdirAll(filepath.Join(dst, "a/b"), 0o755)
	newer := testMtime.Add(time.Hour)
	writeFile(t, filepath.Join(dst, "a/b/f1"), []byte("newer and longer"), newer)
	opts := DefaultTreeOptions()
	opts.Update = true
	rep, err := CopyTree(src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, filepath.Join(dst, "a/b/f1"))) != "newer and longer" || rep.UpToDate != 1 {
		t.Fatalf("a newer target was overwritten; report %+v", rep)
	}
}

func TestCopyTreeCancelledLeavesNothing(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := CopyTreeContext(ctx, src, dst, DefaultTreeOptions())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	equalNames(t, dir, "src")
}

func TestCopyTreeIntoItself(t *testing.T) {
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	makeTree(t, src)
	if _, err := CopyTree(src, filepath.Join(src, "a", "copy"), DefaultTreeOptions()); err == nil {
		t.Fatal("copied a tree into itself")
	}
}
