package fastcopy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The loop-mounted test filesystems of scripts/testfs.sh (crates/testfs
// for the Rust tests). CI mounts them with `scripts/testfs.sh up`.
const testfsRoot = "/var/tmp/fastcopy-testfs/mnt"

var testFilesystems = []string{"ext4", "btrfs", "xfs", "tmpfs"}

var fsMagics = map[string]int64{
	"ext4":  0xEF53,
	"btrfs": 0x9123683E,
	"xfs":   0x58465342,
	"tmpfs": 0x01021994,
}

// skipOrFail skips the test (printing SKIPPED) or, with
// FASTCOPY_REQUIRE_TESTFS=1 (CI), fails it.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("FASTCOPY_REQUIRE_TESTFS") == "1" {
		t.Fatal(msg + " (and FASTCOPY_REQUIRE_TESTFS=1 forbids skipping)")
	}
	t.Skip("SKIPPED: " + msg)
}

// testfsDir returns a fresh directory on the filesystem name (removed at
// the end of the test), or skips/fails when it is not mounted.
func testfsDir(t testing.TB, name string) string {
	t.Helper()
	roots := []string{filepath.Join(testfsRoot, name)}
	if name == "tmpfs" {
		roots = append(roots, "/dev/shm")
	}
	for _, root := range roots {
		var sf unix.Statfs_t
		if unix.Statfs(root, &sf) != nil || int64(sf.Type) != fsMagics[name] {
			continue
		}
		prefix := "go-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + "-"
		if len(prefix) > 100 {
			prefix = prefix[:100]
		}
		dir, err := os.MkdirTemp(root, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					os.Chmod(p, 0o700)
				}
				return nil
			})
			os.RemoveAll(dir)
		})
		return dir
	}
	skipOrFail(t, name+" unavailable at "+roots[0]+" (scripts/testfs.sh up mounts it)")
	return ""
}

// sharedExtents tells whether `filefrag -v` lists shared extents.
func sharedExtents(t testing.TB, path string) bool {
	t.Helper()
	if f, err := os.Open(path); err == nil {
		f.Sync()
		f.Close()
	}
	out, err := exec.Command("filefrag", "-v", path).CombinedOutput()
	if err != nil {
		t.Fatalf("filefrag -v %s: %v\n%s", path, err, out)
	}
	return strings.Contains(string(out), "shared")
}

// dataSegments lists [start, end) of the data of a file (SEEK_DATA/HOLE).
func dataSegments(t testing.TB, path string) [][2]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	var out [][2]int64
	for pos := int64(0); pos < st.Size(); {
		data, err := unix.Seek(int(f.Fd()), pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]int64{data, hole})
		pos = hole
	}
	return out
}
