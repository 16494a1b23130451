package fastcopy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The four overwrite modes on single files (Rust: Overwrite and
// policy::decide), on every platform (also under wine).

var (
	older = time.Unix(1_500_000_000, 111_111_111)
	newer = time.Unix(1_600_000_000, 222_222_222)
)

func modeOptions(m OverwriteMode) Options {
	o := DefaultOptions()
	o.Overwrite = false // OnExisting must win over it
	o.OnExisting = m
	return o
}

func TestOverwriteModeNames(t *testing.T) {
	for m, want := range map[OverwriteMode]string{OverwriteReplace: "replace", OverwriteNoClobber: "no-clobber",
		OverwriteSkip: "skip", OverwriteOlder: "older", OverwriteDefault: "default"} {
		if m.String() != want {
			t.Errorf("%d: %q, want %q", m, m.String(), want)
		}
	}
	if (&Options{Overwrite: true}).mode() != OverwriteReplace || (&Options{}).mode() != OverwriteNoClobber {
		t.Fatal("OverwriteDefault does not follow Overwrite")
	}
}

func TestOverwriteReplace(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, []byte("new content"), older)
	writeFile(t, dst, []byte("old"), newer)
	rep, err := CopyFileWithOptions(src, dst, modeOptions(OverwriteReplace))
	if err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, dst)) != "new content" || rep.Skipped != NotSkipped || rep.Bytes != 11 {
		t.Fatalf("report %+v, content %q", rep, mustRead(t, dst))
	}
	equalNames(t, dir, "dst", "src")
}

func TestOverwriteNoClobber(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, []byte("new content"), newer)
	writeFile(t, dst, []byte("old"), older)
	_, err := CopyFileWithOptions(src, dst, modeOptions(OverwriteNoClobber))
	if !errors.Is(err, fs.ErrExist) || !errors.Is(err, syscall.EEXIST) || !os.IsExist(err) {
		t.Fatalf("want an exists error, got %v", err)
	}
	if string(mustRead(t, dst)) != "old" {
		t.Fatal("target changed")
	}
	equalNames(t, dir, "dst", "src")
	// A missing target is copied.
	rep, err := CopyFileWithOptions(src, filepath.Join(dir, "new"), modeOptions(OverwriteNoClobber))
	if err != nil || rep.Skipped != NotSkipped || string(mustRead(t, filepath.Join(dir, "new"))) != "new content" {
		t.Fatalf("%+v, %v", rep, err)
	}
}

func TestOverwriteSkip(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, []byte("new content"), newer)
	writeFile(t, dst, []byte("old"), older)
	rep, err := CopyFileWithOptions(src, dst, modeOptions(OverwriteSkip))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped != SkippedExists || rep.Bytes != 0 || rep.Skipped.String() != "destination exists" {
		t.Fatalf("report %+v", rep)
	}
	st, _ := os.Stat(dst)
	if string(mustRead(t, dst)) != "old" || !st.ModTime().Equal(older.Truncate(timeResolution)) {
		t.Fatalf("target changed: %q %v", mustRead(t, dst), st.ModTime())
	}
	equalNames(t, dir, "dst", "src")
	rep, err = CopyFileWithOptions(src, filepath.Join(dir, "new"), modeOptions(OverwriteSkip))
	if err != nil || rep.Skipped != NotSkipped || string(mustRead(t, filepath.Join(dir, "new"))) != "new content" {
		t.Fatalf("%+v, %v", rep, err)
	}
}

// Older replaces only a strictly older target; never a newer one, whatever
// its size; an equal time is not older.
func TestOverwriteOlder(t *testing.T) {
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("source, 22 bytes long"), older.Add(time.Hour))
	for _, c := range []struct {
		name    string
		mtime   time.Time
		content string
		copied  bool
	}{
		{"older-target", older, "old", true},
		{"older-by-100ns", older.Add(time.Hour - 100), "old", true},
		{"newer-target-smaller", newer, "x", false},
		{"newer-target-larger", newer, "a much larger destination than the source is", false},
		{"same-time", older.Add(time.Hour), "same time, other bytes!", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := filepath.Join(dir, c.name)
			writeFile(t, dst, []byte(c.content), c.mtime)
			rep, err := CopyFileWithOptions(src, dst, modeOptions(OverwriteOlder))
			if err != nil {
				t.Fatal(err)
			}
			got := string(mustRead(t, dst))
			if c.copied {
				if got != "source, 22 bytes long" || rep.Skipped != NotSkipped {
					t.Fatalf("want a copy: %q, report %+v", got, rep)
				}
			} else if got != c.content || rep.Skipped != SkippedNotOlder || rep.Bytes != 0 {
				t.Fatalf("want the target kept: %q, report %+v", got, rep)
			}
		})
	}
	rep, err := CopyFileWithOptions(src, filepath.Join(dir, "missing"), modeOptions(OverwriteOlder))
	if err != nil || rep.Skipped != NotSkipped {
		t.Fatalf("%+v, %v", rep, err)
	}
	for _, n := range []string{"src"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 7 {
		t.Fatalf("%d entries: a temporary left?", len(entries))
	}
}

// CopyFile's semantics (RCCOptions) with the modes.
func TestOverwriteModesWithRCCOptions(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, []byte("new"), older)
	writeFile(t, dst, []byte("newer target"), newer)
	o := RCCOptions(true)
	o.OnExisting = OverwriteOlder
	rep, err := CopyFileWithOptions(src, dst, o)
	if err != nil || rep.Skipped != SkippedNotOlder || string(mustRead(t, dst)) != "newer target" {
		t.Fatalf("%+v, %v", rep, err)
	}
	o.OnExisting = OverwriteSkip
	rep, err = CopyFileWithOptions(src, dst, o)
	if err != nil || rep.Skipped != SkippedExists || string(mustRead(t, dst)) != "newer target" {
		t.Fatalf("%+v, %v", rep, err)
	}
	equalNames(t, dir, "dst", "src")
}

// In place: the target's inode is written; its permission bits stay; the
// mtime is the source's.
func TestInPlace(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, pattern(300000, 3), testMtime)
	writeFile(t, dst, []byte("a longer old content than nothing"), time.Time{})
	if err := os.Chmod(dst, 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(dst)
	o := DefaultOptions()
	o.InPlace = true
	rep, err := CopyFileWithOptions(src, dst, o)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(dst)
	if !os.SameFile(before, after) {
		t.Fatal("the target was replaced, not written in place")
	}
	if string(mustRead(t, dst)) != string(pattern(300000, 3)) || rep.Bytes != 300000 {
		t.Fatalf("content differs; report %+v", rep)
	}
	if !after.ModTime().Equal(testMtime.Truncate(timeResolution)) {
		t.Fatalf("mtime %v", after.ModTime())
	}
	if runtimeIsUnix && after.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want the target's 0600", after.Mode())
	}
	equalNames(t, dir, "dst", "src")
	// A missing target is created as usual.
	if _, err := CopyFileWithOptions(src, filepath.Join(dir, "new"), o); err != nil {
		t.Fatal(err)
	}
	// With Skip, an existing target is kept.
	o.OnExisting = OverwriteSkip
	writeFile(t, dst, []byte("kept"), time.Time{})
	if rep, err := CopyFileWithOptions(src, dst, o); err != nil || rep.Skipped != SkippedExists || string(mustRead(t, dst)) != "kept" {
		t.Fatalf("%+v %v", rep, err)
	}
}
