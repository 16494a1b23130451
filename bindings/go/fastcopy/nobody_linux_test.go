package fastcopy

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// An existing target the caller may not write is refused unless Force
// (issue 13, point 6), checked as nobody in a child process.
func TestUnwritableTargetRefusedUnlessForced(t *testing.T) {
	if dir := os.Getenv("FASTCOPY_GO_CHILD_DIR"); dir != "" {
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		_, err := CopyFileWithOptions(src, dst, DefaultOptions())
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("as nobody: %v, want a permission error", err)
		}
		if string(mustRead(t, dst)) != "root's" {
			t.Fatal("target changed")
		}
		if err := CopyFile(src, dst, true); err != nil { // RCCOptions: Force
			t.Fatalf("forced: %v", err)
		}
		if string(mustRead(t, dst)) != "new" {
			t.Fatal("not replaced")
		}
		return
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "running as nobody needs root")
	}
	dir := tempDir(t)
	os.Chmod(dir, 0o777)
	writeFile(t, filepath.Join(dir, "src"), []byte("new"), time.Time{})
	writeFile(t, filepath.Join(dir, "dst"), []byte("root's"), time.Time{})
	os.Chmod(filepath.Join(dir, "dst"), 0o444)
	os.Chmod(filepath.Dir(dir), 0o755)
	// The test binary where nobody may run it.
	self, _ := os.Executable()
	exe := filepath.Join(tempDir(t), "fastcopy.test")
	if err := CopyFile(self, exe, false); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(exe), 0o755)
	os.Chmod(exe, 0o755)
	cmd := exec.Command(exe, "-test.run", "^TestUnwritableTargetRefusedUnlessForced$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FASTCOPY_GO_CHILD_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
}

// As root the copy keeps the source's owner and group (one rule for files
// and trees, as in the Rust library).
func TestRootKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: needs root")
	}
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("x"), time.Time{})
	os.Chown(src, 65534, 65534)
	os.Chmod(src, 0o640)
	if err := CopyFile(src, filepath.Join(dir, "dst"), false); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "dst"))
	s := st.Sys().(*syscall.Stat_t)
	if s.Uid != 65534 || s.Gid != 65534 || st.Mode().Perm() != 0o640 {
		t.Fatalf("owner %d:%d mode %v, want 65534:65534 0640", s.Uid, s.Gid, st.Mode())
	}
}
