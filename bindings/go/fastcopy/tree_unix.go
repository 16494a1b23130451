//go:build linux || darwin

package fastcopy

import (
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

type fileID struct{ dev, ino uint64 }

func idOf(st fs.FileInfo) (fileID, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(s.Dev), uint64(s.Ino)}, true
}

func linkCount(st fs.FileInfo) uint64 {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}

// setOwner keeps the owner and group when running as root (Rust: the
// same rule for files and trees, as cp -p does).
func setOwner(p string, st fs.FileInfo) {
	if os.Geteuid() != 0 {
		return
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		os.Lchown(p, int(s.Uid), int(s.Gid))
	}
}

func mkfifo(p string, mode uint32) error { return unix.Mkfifo(p, mode) }

func renameDirNoReplace(from, to string) error {
	err := renameNoReplace(from, to)
	if err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP {
		if err := os.Mkdir(to, 0o700); err != nil {
			return err
		}
		return os.Rename(from, to)
	}
	if err == unix.EEXIST || err == unix.ENOTEMPTY {
		return existError(to)
	}
	return err
}

var umaskOnce = sync.OnceValue(func() uint32 {
	b, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Umask:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					return uint32(n)
				}
			}
		}
	}
	return 0o022
})

func umask() uint32 { return umaskOnce() }
