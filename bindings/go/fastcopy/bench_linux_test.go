package fastcopy

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// rccCopyFile is the baseline: what RCC's pathlib.CopyFile does, written
// here (stat the source for its mtime, create the parent, remove an
// existing target when overwriting, O_EXCL create with the source's mode,
// io.Copy, set the mtime).
func rccCopyFile(source, target string, overwrite bool) error {
	st, err := os.Stat(source)
	if err != nil {
		return err
	}
	mark := st.ModTime()
	// RCC's shared.MakeSharedDir: stat the parent, create it if missing,
	// make it mode 0777 if it is not.
	dir := filepath.Dir(target)
	ds, err := os.Stat(dir)
	if err != nil {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		if ds, err = os.Stat(dir); err != nil {
			return err
		}
	}
	if ds.Mode().Perm() != 0o777 {
		if err := os.Chmod(dir, 0o777); err != nil {
			return err
		}
	}
	if overwrite {
		if _, err := os.Stat(target); err == nil {
			if err := os.Remove(target); err != nil {
				return err
			}
		}
	}
	in, err := os.Open(source)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_EXCL, info.Mode())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	os.Chtimes(target, mark, mark)
	return err
}

var copiers = []struct {
	name string
	copy func(string, string, bool) error
}{
	{"fastcopy", CopyFile},
	{"rcc", rccCopyFile},
}

// benchDir is a directory on the loop-mounted filesystem fsName.
func benchDir(b *testing.B, fsName string) string {
	return testfsDir(b, fsName)
}

// 2,000 files of 4 KiB per operation, into a target directory that
// exists (as RCC's holotree restores do).
func BenchmarkSmallFiles(b *testing.B) {
	const files, size = 2000, 4096
	for _, c := range copiers {
		b.Run("impl="+c.name, func(b *testing.B) {
			dir := benchDir(b, "ext4")
			src := filepath.Join(dir, "src")
			os.Mkdir(src, 0o755)
			names := make([]string, files)
			for i := range names {
				names[i] = "f" + strconv.Itoa(i)
				os.WriteFile(filepath.Join(src, names[i]), pattern(size, uint64(i)), 0o644)
			}
			b.ReportAllocs()
			b.SetBytes(files * size)
			var cpu cpuMeter
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				dst := filepath.Join(dir, "dst"+strconv.Itoa(n))
				os.Mkdir(dst, 0o755)
				b.StartTimer()
				cpu.start()
				for _, name := range names {
					if err := c.copy(filepath.Join(src, name), filepath.Join(dst, name), false); err != nil {
						b.Fatal(err)
					}
				}
				cpu.stop()
				b.StopTimer()
				os.RemoveAll(dst)
				b.StartTimer()
			}
			cpu.report(b)
		})
	}
}

// One 256 MiB file per operation (page cache warm).
func BenchmarkLargeFile(b *testing.B) {
	const size = 256 << 20
	for _, c := range copiers {
		b.Run("impl="+c.name, func(b *testing.B) {
			dir := benchDir(b, "ext4")
			src := filepath.Join(dir, "src")
			os.WriteFile(src, pattern(size, 1), 0o644)
			b.ReportAllocs()
			b.SetBytes(size)
			var cpu cpuMeter
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				dst := filepath.Join(dir, "dst")
				cpu.start()
				if err := c.copy(src, dst, false); err != nil {
					b.Fatal(err)
				}
				cpu.stop()
				b.StopTimer()
				os.Remove(dst)
				b.StartTimer()
			}
			cpu.report(b)
		})
	}
}

// A 256 MiB clone on Btrfs and XFS (fastcopy only: the baseline copies).
func BenchmarkClone(b *testing.B) {
	const size = 256 << 20
	for _, fsName := range []string{"btrfs", "xfs"} {
		b.Run("fs="+fsName, func(b *testing.B) {
			dir := benchDir(b, fsName)
			src := filepath.Join(dir, "src")
			os.WriteFile(src, pattern(size, 2), 0o644)
			syncFile(src) // the clone would otherwise include the writeback
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				dst := filepath.Join(dir, "dst")
				rep, err := CopyFileWithOptions(src, dst, RCCOptions(false))
				if err != nil || !rep.Cloned {
					b.Fatal(rep, err)
				}
				b.StopTimer()
				os.Remove(dst)
				b.StartTimer()
			}
		})
	}
}

func syncFile(p string) {
	if f, err := os.Open(p); err == nil {
		f.Sync()
		f.Close()
	}
}

// cpuTime is the process's user+system CPU time: reported beside the wall
// time (cpu-ns/op), which on a shared machine also counts waiting for a CPU.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuMeter accumulates CPU time over the timed parts of a benchmark.
type cpuMeter struct {
	total, since int64
}

func (m *cpuMeter) start() { m.since = cpuTime() }
func (m *cpuMeter) stop()  { m.total += cpuTime() - m.since }
func (m *cpuMeter) report(b *testing.B) {
	b.ReportMetric(float64(m.total)/float64(b.N), "cpu-ns/op")
}

// The floor under BenchmarkSmallFiles: 2,000 new 4 KiB files made the way
// RCC makes them (O_EXCL create under the final name) and the way fastcopy
// must (an anonymous O_TMPFILE, linked when complete, so that a kill leaves
// nothing), the data written from memory.
func BenchmarkCreateFloor(b *testing.B) {
	data := pattern(4096, 1)
	for _, how := range []string{"excl", "tmpfile"} {
		b.Run("how="+how, func(b *testing.B) {
			dir := benchDir(b, "ext4")
			b.ReportAllocs()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				dst := filepath.Join(dir, "dst"+strconv.Itoa(n))
				os.Mkdir(dst, 0o755)
				b.StartTimer()
				for i := 0; i < 2000; i++ {
					p := filepath.Join(dst, "f"+strconv.Itoa(i))
					var fd int
					var err error
					if how == "excl" {
						fd, err = unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
					} else {
						fd, err = unix.Open(dst, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
					}
					if err != nil {
						b.Fatal(err)
					}
					unix.Pwrite(fd, data, 0)
					if how == "tmpfile" {
						if err := unix.Linkat(fd, "", unix.AT_FDCWD, p, unix.AT_EMPTY_PATH); err != nil {
							b.Fatal(err)
						}
					}
					unix.Close(fd)
				}
				b.StopTimer()
				os.RemoveAll(dst)
				b.StartTimer()
			}
		})
	}
}
