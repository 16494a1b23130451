package fastcopy

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// withFault installs the fault hook for one test.
func withFault(t *testing.T, f func(m Method, written int64) error) {
	testFault = f
	t.Cleanup(func() {
		testFault = nil
		// Injected refusals must not stay in the per-pair memo.
		pairs.Lock()
		pairs.m = nil
		pairs.Unlock()
	})
}

// A "not supported" after some bytes carries on with the next method from
// the same offset (issue 13, point 4): no gap, nothing copied twice, the
// report names the offset.
func TestLateNotSupportedCarriesOnFromTheOffset(t *testing.T) {
	for _, fsName := range []string{"ext4", "tmpfs"} {
		t.Run(fsName, func(t *testing.T) {
			dir := testfsDir(t, fsName)
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			data := pattern(40<<20, 3)
			writeFile(t, src, data, time.Time{})
			withFault(t, func(m Method, written int64) error {
				if m == MethodCopyFileRange && written > 0 {
					return syscall.EXDEV
				}
				return nil
			})
			opts := DefaultOptions()
			opts.Progress = func(done, total int64) {} // 16 MiB steps
			rep, err := CopyFileWithOptions(src, dst, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustRead(t, dst), data) {
				t.Fatal("content differs")
			}
			if len(rep.Fallbacks) != 1 || rep.Fallbacks[0].Method != MethodCopyFileRange ||
				rep.Fallbacks[0].Offset != 16<<20 || rep.Method != MethodSplice {
				t.Fatalf("report %+v: want copy_file_range declining at 16 MiB, splice carrying on", rep)
			}
		})
	}
}

// A first 0 from copy_file_range on a non-empty file hands over from 0.
func TestFirstZeroFallsBack(t *testing.T) {
	dir := testfsDir(t, "ext4")
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	data := pattern(5000, 4)
	writeFile(t, src, data, time.Time{})
	withFault(t, func(m Method, written int64) error {
		if m == MethodCopyFileRange {
			return errFaultZero
		}
		return nil
	})
	rep, err := CopyFileWithOptions(src, dst, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, dst), data) || rep.Method != MethodReadWrite || len(rep.Fallbacks) != 1 {
		t.Fatalf("report %+v", rep)
	}
}

// Real errors end the copy cleanly: nothing left, the old target kept.
func TestRealErrorsDoNotFallBack(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EIO, syscall.ENOSPC, syscall.EDQUOT, syscall.ENOMEM} {
		dir := testfsDir(t, "ext4")
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		writeFile(t, src, pattern(1<<20, 5), time.Time{})
		writeFile(t, dst, []byte("old"), time.Time{})
		withFault(t, func(m Method, written int64) error { return errno })
		_, err := CopyFileWithOptions(src, dst, DefaultOptions())
		if err == nil || !errorsIs(err, errno) {
			t.Fatalf("%v: got %v", errno, err)
		}
		if string(mustRead(t, dst)) != "old" {
			t.Fatal("old target lost")
		}
		equalNames(t, dir, "dst", "src")
	}
}

func errorsIs(err error, errno syscall.Errno) bool {
	for e := err; e != nil; {
		if x, ok := e.(syscall.Errno); ok && x == errno {
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

// A kill leaves nothing: the data is in an anonymous file until linked.
func TestNoNamedTemporaryWhileCopying(t *testing.T) {
	dir := testfsDir(t, "ext4")
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, pattern(40<<20, 6), time.Time{})
	opts := DefaultOptions()
	var seen []string
	opts.Progress = func(done, total int64) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			seen = append(seen, e.Name())
		}
	}
	if _, err := CopyFileWithOptions(src, dst, opts); err != nil {
		t.Fatal(err)
	}
	for _, n := range seen {
		if n != "src" {
			t.Fatalf("a name appeared while the data was written: %s", n)
		}
	}
}

// Cloning is decided once per pair of filesystems: no FICLONE on ext4.
func TestNoCloneAttemptOnExt4(t *testing.T) {
	dir := testfsDir(t, "ext4")
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("abc"), time.Time{})
	for i := 0; i < 3; i++ {
		rep, err := CopyFileWithOptions(src, filepath.Join(dir, "dst"), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Fallbacks) != 0 || rep.Method != MethodCopyFileRange {
			t.Fatalf("report %+v: want copy_file_range with no clone tried", rep)
		}
	}
}

// Both ways of naming the anonymous file work (AT_EMPTY_PATH as root,
// /proc/self/fd otherwise).
func TestLinkThroughProc(t *testing.T) {
	old := emptyPathRefused.Load()
	emptyPathRefused.Store(true)
	t.Cleanup(func() { emptyPathRefused.Store(old) })
	dir := tempDir(t)
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("abc"), time.Time{})
	if err := CopyFile(src, filepath.Join(dir, "dst"), false); err != nil {
		t.Fatal(err)
	}
	if err := CopyFile(src, filepath.Join(dir, "dst"), true); err != nil {
		t.Fatal(err)
	}
	equalNames(t, dir, "dst", "src")
}
