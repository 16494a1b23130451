package fastcopy

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// timeResolution is the finest file time the system keeps: 1 ns on Unix,
// 100 ns on Windows.
var timeResolution = map[bool]time.Duration{true: 100, false: 1}[runtime.GOOS == "windows"]

// tempDir is t.TempDir, removed file by file: under wine, os.RemoveAll
// fails ("Invalid function") where os.Remove works.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fastcopy-go-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(dir) })
	return dir
}

func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	var dirs []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		os.Chmod(p, 0o700)
		if info.IsDir() {
			dirs = append(dirs, p)
		} else {
			os.Remove(p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
}

// skipSymlinksOnWindows: symbolic links need a privilege on Windows and
// wine emulates them only in part.
func skipSymlinksOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links are not tested on Windows")
	}
}

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

// pattern returns n pseudo-random bytes (xorshift).
func pattern(n int, seed uint64) []byte {
	s := seed*0x9E3779B97F4A7C15 | 1
	b := make([]byte, n)
	for i := range b {
		if i%8 == 0 {
			s ^= s >> 12
			s ^= s << 25
			s ^= s >> 27
		}
		b[i] = byte(s >> (8 * (i % 8)))
	}
	return b
}
