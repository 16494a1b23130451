//go:build linux || darwin

package fastcopy

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const runtimeIsUnix = true

// Replacing a target with other hard links says so; in place, the links
// see the new content and nothing is said.
func TestHardLinkedTarget(t *testing.T) {
	dir := tempDir(t)
	src, dst, other := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "other")
	writeFile(t, src, []byte("new"), time.Time{})
	for _, inPlace := range []bool{false, true} {
		os.Remove(dst)
		os.Remove(other)
		writeFile(t, dst, []byte("old"), time.Time{})
		if err := os.Link(dst, other); err != nil {
			t.Fatal(err)
		}
		o := DefaultOptions()
		o.InPlace = inPlace
		rep, err := CopyFileWithOptions(src, dst, o)
		if err != nil {
			t.Fatal(err)
		}
		warned := len(rep.Warnings) == 1 && rep.Warnings[0] == "the replaced destination had 1 other hard link, which keeps the old content"
		a, _ := os.Stat(dst)
		b, _ := os.Stat(other)
		if inPlace {
			if len(rep.Warnings) != 0 || string(mustRead(t, other)) != "new" || !os.SameFile(a, b) {
				t.Fatalf("in place: warnings %q, other holds %q", rep.Warnings, mustRead(t, other))
			}
		} else if !warned || string(mustRead(t, other)) != "old" || string(mustRead(t, dst)) != "new" || os.SameFile(a, b) {
			t.Fatalf("replace: warnings %q, other holds %q", rep.Warnings, mustRead(t, other))
		}
	}
	equalNames(t, dir, "dst", "other", "src")
}

// In place keeps the owner (as root: a target owned by nobody stays
// nobody's, where a replaced one gets the source's owner).
func TestInPlaceKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the target another owner")
	}
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, []byte("new"), time.Time{})
	for _, inPlace := range []bool{true, false} {
		writeFile(t, dst, []byte("old"), time.Time{})
		if err := os.Chown(dst, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		o := DefaultOptions()
		o.InPlace = inPlace
		if _, err := CopyFileWithOptions(src, dst, o); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(dst)
		uid := st.Sys().(*syscall.Stat_t).Uid
		if inPlace && uid != 65534 || !inPlace && uid != 0 {
			t.Fatalf("in place %t: owner %d", inPlace, uid)
		}
	}
}

// A target the caller may not write: in place is refused like any
// overwrite without Force; with Force it is replaced (a new inode), as
// Rust does.
func TestInPlaceReadOnlyTarget(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, []byte("new"), time.Time{})
	writeFile(t, dst, []byte("old"), time.Time{})
	os.Chmod(dst, 0o444)
	if os.Geteuid() == 0 {
		t.Skip("root may write a 0444 file")
	}
	o := DefaultOptions()
	o.InPlace = true
	if _, err := CopyFileWithOptions(src, dst, o); !os.IsPermission(err) {
		t.Fatalf("want permission denied, got %v", err)
	}
	o.Force = true
	before, _ := os.Stat(dst)
	if _, err := CopyFileWithOptions(src, dst, o); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(dst)
	if os.SameFile(before, after) || string(mustRead(t, dst)) != "new" {
		t.Fatal("want a replaced target")
	}
}

// Trees share the single copy's overwrite mode; Update is its older
// spelling.
func TestCopyTreeOverwriteModes(t *testing.T) {
	dir := tempDir(t)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(dst, 0o755)
	writeFile(t, filepath.Join(src, "a"), []byte("source a"), older)
	writeFile(t, filepath.Join(src, "b"), []byte("source b"), newer)
	writeFile(t, filepath.Join(src, "c"), []byte("source c"), older)
	os.Symlink("a", filepath.Join(src, "l"))
	writeFile(t, filepath.Join(dst, "a"), []byte("newer target a, longer"), newer)
	writeFile(t, filepath.Join(dst, "b"), []byte("old b"), older)
	os.Symlink("elsewhere", filepath.Join(dst, "l"))

	for _, c := range []struct {
		name  string
		opts  func(*TreeOptions)
		want  map[string]string
		files int64
		kept  int64
		fails bool
	}{
		{"skip", func(o *TreeOptions) { o.File.OnExisting = OverwriteSkip },
			map[string]string{"a": "newer target a, longer", "b": "old b", "c": "source c"}, 1, 3, false},
		{"no-clobber", func(o *TreeOptions) { o.File.Overwrite = false },
			map[string]string{"a": "newer target a, longer", "b": "old b", "c": "source c"}, 1, 0, true},
		{"older", func(o *TreeOptions) { o.File.OnExisting = OverwriteOlder },
			map[string]string{"a": "newer target a, longer", "b": "source b", "c": "source c"}, 2, 2, false},
		{"update", func(o *TreeOptions) { o.Update = true },
			map[string]string{"a": "newer target a, longer", "b": "source b", "c": "source c"}, 2, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(dst, "c"))
			writeFile(t, filepath.Join(dst, "b"), []byte("old b"), older)
			opts := DefaultTreeOptions()
			c.opts(&opts)
			rep, err := CopyTree(src, dst, opts)
			if (err != nil) != c.fails {
				t.Fatalf("error %v", err)
			}
			for n, want := range c.want {
				if got := string(mustRead(t, filepath.Join(dst, n))); got != want {
					t.Fatalf("%s: %q, want %q", n, got, want)
				}
			}
			// The link is kept by skip and older (the target link is
			// newer), and not replaced by no-clobber (an error).
			if l, _ := os.Readlink(filepath.Join(dst, "l")); l != "elsewhere" {
				t.Fatalf("link replaced: %q", l)
			}
			if rep.Files != c.files || rep.UpToDate != c.kept {
				t.Fatalf("report %+v", rep)
			}
			for _, e := range mustReadDir(t, dst) {
				if strings.Contains(e, TempMarker) {
					t.Fatalf("temporary left: %s", e)
				}
			}
		})
	}
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
