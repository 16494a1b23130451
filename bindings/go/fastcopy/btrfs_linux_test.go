package fastcopy

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The loop-mounted test filesystems of scripts/testfs.sh (CI mounts them
// with `scripts/testfs.sh up` before the tests).
const testfsRoot = "/var/tmp/fastcopy-testfs/mnt"

const (
	btrfsMagic = 0x9123683e
	ext4Magic  = 0xef53
)

// testfsDir returns a fresh directory on the loop-mounted filesystem name,
// skipping the test when it is not mounted, or failing it when
// FASTCOPY_REQUIRE_TESTFS=1 (as in CI).
func testfsDir(t *testing.T, name string, magic int64) string {
	t.Helper()
	mnt := filepath.Join(testfsRoot, name)
	var st syscall.Statfs_t
	err := syscall.Statfs(mnt, &st)
	if err == nil && int64(st.Type) != magic {
		err = errors.New("not mounted (scripts/testfs.sh up mounts it)")
	}
	if err != nil {
		msg := name + " unavailable at " + mnt + ": " + err.Error()
		if os.Getenv("FASTCOPY_REQUIRE_TESTFS") == "1" {
			t.Fatal(msg + " (and FASTCOPY_REQUIRE_TESTFS=1 forbids skipping)")
		}
		t.Skip("SKIPPED: " + msg)
	}
	dir, err := os.MkdirTemp(mnt, "go-"+t.Name()+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// filefragShared runs `filefrag -v` and tells whether it lists shared
// extents.
func filefragShared(t *testing.T, path string) (bool, string) {
	t.Helper()
	out, err := exec.Command("filefrag", "-v", path).CombinedOutput()
	if err != nil {
		if os.Getenv("FASTCOPY_REQUIRE_TESTFS") != "1" && errors.Is(err, exec.ErrNotFound) {
			t.Skip("SKIPPED: filefrag not installed (e2fsprogs)")
		}
		t.Fatalf("filefrag -v %s: %v\n%s", path, err, out)
	}
	return strings.Contains(string(out), "shared"), string(out)
}

func TestCloneOnBtrfs(t *testing.T) {
	dir := testfsDir(t, "btrfs", btrfsMagic)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "sub", "target")
	data := content(4<<20, 5)
	writeFile(t, src, data, testMtime)

	if err := CopyFile(src, target, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, target), data) {
		t.Fatal("content differs")
	}
	if shared, out := filefragShared(t, target); !shared {
		t.Fatalf("CopyFile on Btrfs did not clone; filefrag -v:\n%s", out)
	}

	target2 := filepath.Join(dir, "target2")
	opts := DefaultOptions()
	opts.Reflink = ReflinkAlways
	rep, err := CopyFileWithOptions(src, target2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Method != "reflink" || !rep.Cloned || rep.Bytes != int64(len(data)) {
		t.Fatalf("report %+v, want a reflink of %d bytes", rep, len(data))
	}
	shared, out := filefragShared(t, target2)
	if !shared {
		t.Fatalf("no shared extents after a reflink; filefrag -v:\n%s", out)
	}
	st, err := os.Stat(target2)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(testMtime) {
		t.Fatalf("mtime %v, want %v", st.ModTime(), testMtime)
	}

	// A control: ReflinkNever on the same filesystem shares nothing, so the
	// check above can fail.
	target3 := filepath.Join(dir, "target3")
	opts.Reflink = ReflinkNever
	if rep, err = CopyFileWithOptions(src, target3, opts); err != nil {
		t.Fatal(err)
	}
	if err := syncFile(target3); err != nil {
		t.Fatal(err)
	}
	if shared, out := filefragShared(t, target3); shared || rep.Cloned {
		t.Fatalf("ReflinkNever shared extents (%+v):\n%s", rep, out)
	}
}

func TestReflinkAlwaysOnExt4IsNotSupported(t *testing.T) {
	dir := testfsDir(t, "ext4", ext4Magic)
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, content(100_000, 6), time.Time{})
	opts := DefaultOptions()
	opts.Reflink = ReflinkAlways
	_, err := CopyFileWithOptions(src, target, opts)
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("got %v, want ErrNotSupported", err)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Errno == 0 {
		t.Fatalf("got %#v, want the system's errno", err)
	}
	equalNames(t, dir, "src")
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
