package fastcopy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func makeTree(t *testing.T, root string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "top.txt"), []byte("top"), testMtime)
	writeFile(t, filepath.Join(root, "sub", "a.bin"), content(5000, 1), testMtime)
	writeFile(t, filepath.Join(root, "sub", "deeper", "b.txt"), []byte("bee"), testMtime)
	if runtime.GOOS != "windows" {
		if err := os.Symlink("top.txt", filepath.Join(root, "link")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCopyTree(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "out", "dst")
	makeTree(t, src)
	ResetMetrics()
	opts := DefaultTreeOptions()
	opts.CreateParents = true
	rep, err := CopyTree(src, dst, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, filepath.Join(dst, "sub", "deeper", "b.txt"))); got != "bee" {
		t.Fatalf("b.txt holds %q", got)
	}
	st, err := os.Stat(filepath.Join(dst, "sub", "a.bin"))
	if err != nil || !st.ModTime().Equal(testMtime) {
		t.Fatalf("a.bin: %v %v", st, err)
	}
	if rep.Files.Files != 3 || rep.Files.Bytes != 5006 || rep.FailedEntries != 0 || rep.Directories < 3 {
		t.Fatalf("report %+v", rep)
	}
	if runtime.GOOS != "windows" {
		if l, err := os.Readlink(filepath.Join(dst, "link")); err != nil || l != "top.txt" || rep.Symlinks != 1 {
			t.Fatalf("link %q %v, report %+v", l, err, rep)
		}
	}
	if m := Metrics(); m.Files != 3 || m.Bytes != 5006 {
		t.Fatalf("process metrics %+v", m)
	}
}

func TestCopyTreePartialFailureKeepsGoing(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	makeTree(t, src)
	if err := os.MkdirAll(filepath.Join(dst, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dst, "sub", "a.bin"), []byte("keep me"), time.Time{})
	opts := DefaultTreeOptions()
	opts.Overwrite = false
	rep, err := CopyTree(src, dst, opts)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "a.bin") {
		t.Fatalf("got %v, want fs.ErrExist naming a.bin", err)
	}
	if rep.FailedEntries != 1 || rep.Files.Files != 2 {
		t.Fatalf("report %+v", rep)
	}
	if got := string(mustRead(t, filepath.Join(dst, "sub", "a.bin"))); got != "keep me" {
		t.Fatalf("existing file changed to %q", got)
	}
	if got := string(mustRead(t, filepath.Join(dst, "top.txt"))); got != "top" {
		t.Fatalf("top.txt holds %q", got)
	}
}

func TestCopyTreeMissingSource(t *testing.T) {
	dir := t.TempDir()
	rep, err := CopyTree(filepath.Join(dir, "missing"), filepath.Join(dir, "dst"), DefaultTreeOptions())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
	if rep.Jobs != 0 || rep.Files.PerMethod != nil || rep.Elapsed != 0 {
		t.Fatalf("report %+v, want zero", rep)
	}
	equalNames(t, dir)
}
