//go:build linux || darwin

package fastcopy

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
)

func TestSpecialSourcesDoNotBlock(t *testing.T) {
	dir := tempDir(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for _, src := range []string{fifo, dir, "/dev/null"} {
		err := CopyFile(src, filepath.Join(dir, "out"), true)
		if !errors.Is(err, ErrNotRegular) {
			t.Fatalf("%s: %v, want ErrNotRegular", src, err)
		}
	}
	equalNames(t, dir, "fifo")
}
