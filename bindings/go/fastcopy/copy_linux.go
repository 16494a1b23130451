package fastcopy

import (
	"errors"
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// kernelChunk: the most one copy_file_range call is asked for (the
	// kernel stops at MAX_RW_COUNT, 2 GiB minus a page). Rust: KERNEL_CHUNK.
	kernelChunk = 1 << 30
	// progressChunk: the chunk when a context can be cancelled or progress
	// is watched. Rust: PROGRESS_CHUNK.
	progressChunk = 16 << 20
	// spliceMin: files this large take splice where copy_file_range is
	// excluded or refused. Rust: SPLICE_MIN_SIZE.
	spliceMin = 256 << 10
	// pipeSize: splice's pipe. Rust: PIPE_SIZE.
	pipeSize = 1 << 20
	// maxBuffer: the read/write loop's largest buffer. Rust: MAX_BUFFER.
	maxBuffer = 256 << 10
	// autoPreallocateMin: Rust AUTO_PREALLOCATE_MIN.
	autoPreallocateMin = 16 << 20
)

// statfs f_type values.
const (
	magicExt4  = 0xEF53
	magicTmpfs = 0x01021994
	magicRamfs = 0x858458f6
	magicF2fs  = 0xF2F52010
)

// pair is what is known about copies from one filesystem (device) to
// another, decided once per pair of devices and kept for the process.
// Rust keeps the same memo for trees (sys::linux refused_for_the_pair); for
// single files it asks statfs only with Reflink::Never and tries FICLONE
// every time. Go decides for single files too, since CopyFile is called
// once per file by its clients (the small-file target of issue 16).
type pair struct {
	// cloneImpossible: the destination's filesystem has no FICLONE (ext4,
	// tmpfs, ramfs), so it is not even tried.
	cloneImpossible bool
	// neverClones: copy_file_range there never shares blocks (ext4,
	// tmpfs, ramfs, f2fs), so it is allowed with ReflinkNever. Rust:
	// copy_file_range_never_clones.
	neverClones bool
	// ext4: the destination is on ext4 (preallocation decision).
	ext4 bool
	// noClone, noCFR: FICLONE or copy_file_range was refused for every
	// file of the pair (ENOSYS, EOPNOTSUPP, ENOTTY, EXDEV).
	noClone, noCFR atomic.Bool
}

var pairs struct {
	sync.RWMutex
	m map[[2]uint64]*pair
}

func pairFor(srcDev, dstDev uint64, dst int) *pair {
	key := [2]uint64{srcDev, dstDev}
	pairs.RLock()
	p := pairs.m[key]
	pairs.RUnlock()
	if p != nil {
		return p
	}
	p = &pair{}
	var sf unix.Statfs_t
	if unix.Fstatfs(dst, &sf) == nil {
		switch int64(sf.Type) {
		case magicExt4, magicTmpfs, magicRamfs:
			p.cloneImpossible, p.neverClones = true, true
			p.ext4 = int64(sf.Type) == magicExt4
		case magicF2fs:
			p.neverClones = true
		}
	}
	pairs.Lock()
	if pairs.m == nil {
		pairs.m = map[[2]uint64]*pair{}
	}
	if q := pairs.m[key]; q != nil {
		p = q
	} else {
		pairs.m[key] = p
	}
	pairs.Unlock()
	return p
}

// refusedForThePair: a refusal that holds for every file between the same
// two filesystems. Rust: refused_for_the_pair.
func refusedForThePair(err error) bool {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case unix.ENOSYS, unix.EOPNOTSUPP, unix.ENOTTY, unix.EXDEV:
		return true
	}
	return false
}

// /proc/self/fd is needed to give an O_TMPFILE file a name without
// privileges (linkat with AT_SYMLINK_FOLLOW); checked once.
var procFD = sync.OnceValue(func() bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/fd", &st) == nil
})

// openTemp creates the anonymous file (O_TMPFILE) the data goes into: a
// kill at any moment leaves nothing behind. Where the filesystem or kernel
// refuses it, a named hidden temporary. Rust (issue 13): the same.
func (j *job) openTemp(mode uint32) error {
	if procFD() {
		dir := dirOf(j.dest)
		var fd int
		err := retryEINTR(func() (e error) {
			fd, e = unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, mode)
			return e
		})
		if err == nil {
			j.tmp.fd, j.tmp.anon = fd, true
			return nil
		}
		// EISDIR/ENOENT-free refusals of O_TMPFILE: old kernels, NFS,
		// overlayfs lower layers.
		if err != unix.EOPNOTSUPP && err != unix.EISDIR && err != unix.EINVAL {
			return err
		}
	}
	return j.openNamedTemp(mode)
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if i == 0 {
				return "/"
			}
			return p[:i]
		}
	}
	return "."
}

// linkAnonymous gives the anonymous file its name. A missing destination:
// linkat straight to it (which also refuses an existing name atomically,
// the no-clobber rule). An existing one with Overwrite: linkat to a hidden
// name, then rename over the destination (atomic replacement).
func (j *job) linkAnonymous() error {
	if !j.exists || !j.o.Overwrite {
		err := j.linkTo(j.dest)
		if err == nil {
			j.tmp.done = true
			return nil
		}
		if err != unix.EEXIST {
			return &linkErr{j.dest, err}
		}
		if j.lazy {
			if err := j.resolveLate(); err != nil {
				return err
			}
		}
		if !j.o.Overwrite {
			return existError(j.dest)
		}
	}
	for i := 0; ; i++ {
		name := tempPath(j.dest)
		err := j.linkTo(name)
		if err == unix.EEXIST && i < 16 {
			continue
		}
		if err != nil {
			return &linkErr{j.dest, err}
		}
		if err := unix.Rename(name, j.dest); err != nil {
			unix.Unlink(name)
			return &linkErr{j.dest, err}
		}
		j.tmp.done = true
		return nil
	}
}

// emptyPathRefused: linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; once
// it was refused and /proc/self/fd worked, it is not tried again.
var emptyPathRefused atomic.Bool

// linkTo gives the anonymous file the name path: linkat(fd, "",
// AT_EMPTY_PATH) where the process may (root: measured 7 % faster per small
// file on ext4 than the path through /proc), else linkat of
// /proc/self/fd/N with AT_SYMLINK_FOLLOW, which needs no privilege.
func (j *job) linkTo(path string) error {
	if !emptyPathRefused.Load() {
		err := unix.Linkat(j.tmp.fd, "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
		if err != unix.ENOENT && err != unix.EPERM {
			return err
		}
	}
	proc := "/proc/self/fd/" + strconv.Itoa(j.tmp.fd)
	err := unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	if err == nil {
		emptyPathRefused.Store(true)
	}
	return err
}

type linkErr struct {
	path string
	err  error
}

func (e *linkErr) Error() string { return "link " + e.path + ": " + e.err.Error() }
func (e *linkErr) Unwrap() error { return e.err }

func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err != unix.EINVAL && err != unix.ENOSYS && err != unix.EOPNOTSUPP {
		return err
	}
	// No renameat2 here: a hard link also refuses an existing name.
	if err := unix.Link(from, to); err != nil {
		return err
	}
	return unix.Unlink(from)
}

// setTimes: futimens on the descriptor (the anonymous file has no path).
func (j *job) setTimes() error {
	ts := [2]unix.Timespec{j.st.Atim, j.st.Mtim}
	return retryEINTR(func() error {
		// SAFETY (in the Rust sense): utimensat(fd, NULL, ts, 0) is
		// futimens; ts lives on the stack for the call.
		_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(j.tmp.fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		if e != 0 {
			return e
		}
		return nil
	})
}

// copyData runs the Linux ladder. Rust: sys::linux::plan_for and
// run_method: FICLONE -> copy_file_range -> splice (>= 256 KiB) ->
// read/write, holes kept with SEEK_DATA/SEEK_HOLE.
func (j *job) copyData() error {
	if err := j.createTemp(); err != nil {
		return err
	}
	p := pairFor(uint64(j.st.Dev), uint64(j.tmp.st.Dev), j.tmp.fd)
	size := j.st.Size
	o := j.o
	r := j.r

	if o.Reflink == ReflinkAlways || (o.Reflink == ReflinkAuto && size > 0 && !p.cloneImpossible && !p.noClone.Load()) {
		err := j.ficlone()
		if err == nil {
			r.Method, r.Cloned, r.Bytes = MethodReflink, true, size
			return nil
		}
		if o.Reflink == ReflinkAlways {
			if mayFallBack(err) {
				err = kind(ErrNotSupported, err, "cannot clone here: "+err.Error())
			}
			return pathError("clone", j.source, err)
		}
		if !mayFallBack(err) {
			return pathError("clone", j.source, err)
		}
		if refusedForThePair(err) {
			p.noClone.Store(true)
		}
		r.Fallbacks = append(r.Fallbacks, Fallback{Method: MethodReflink, Err: err})
	}

	c := copier{j: j, p: p, size: size, chunk: kernelChunk, pipe: [2]int{-1, -1}}
	defer c.close()
	if o.cancellable(j.ctx) {
		c.chunk = progressChunk
	}
	if size > 0 {
		if (o.Reflink != ReflinkNever || p.neverClones) && !p.noCFR.Load() {
			c.movers = append(c.movers[:0:0], MethodCopyFileRange)
		}
		if size >= spliceMin {
			c.movers = append(c.movers, MethodSplice)
		}
	}
	c.movers = append(c.movers, MethodReadWrite)

	sparse := size > 0 && j.st.Blocks*512 < size
	// Rust Preallocate::Auto: reserve the space before copy_file_range
	// within one ext4 filesystem for files of 16 MiB or more (measured
	// 0.72x-0.82x the time without it; README of the Rust library).
	// KEEP_SIZE: a source that shrinks leaves no tail of zeros; what is
	// reserved past the copy is given back below.
	reserved := false
	if !sparse && size >= autoPreallocateMin && c.movers[0] == MethodCopyFileRange &&
		p.ext4 && j.st.Dev == j.tmp.st.Dev {
		reserved = unix.Fallocate(j.tmp.fd, unix.FALLOC_FL_KEEP_SIZE, 0, size) == nil
	}
	var err error
	if sparse {
		r.Bytes, err = c.sparse()
	} else if size == 0 {
		// Empty, or a pseudo file that says so (procfs): read to the end.
		r.Bytes, err = c.copyRange(0, 1<<62)
	} else {
		r.Bytes, err = c.copyRange(0, size)
	}
	r.Method = c.movers[c.cur]
	if err == nil && reserved && r.Bytes < size {
		err = unix.Ftruncate(j.tmp.fd, r.Bytes)
	}
	if err != nil {
		if e := j.ctx.Err(); e != nil && errors.Is(err, e) {
			return pathError("copy", j.dest, err)
		}
		return pathError("write", j.dest, err)
	}
	return nil
}

// ficlone shares all of the source's blocks; a clone that says it worked
// but left the copy empty counts as refused (Rust: the same check).
func (j *job) ficlone() error {
	err := retryEINTR(func() error { return unix.IoctlFileClone(j.tmp.fd, j.src) })
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(j.tmp.fd, &st); err != nil {
		return &noFallback{err}
	}
	if st.Size == 0 && j.st.Size > 0 {
		return kind(ErrNotSupported, nil, "clone reported success but the copy is empty")
	}
	return nil
}

// testFault, set only by tests, makes a method answer err (errFaultZero:
// copy nothing) before it runs, given the bytes written so far: the
// fall-back rules are tested on real filesystems without a kernel that
// refuses.
var testFault func(m Method, written int64) error

var errFaultZero = errors.New("fault: copy nothing")

// copier moves the data with the methods left in movers, from explicit
// offsets, so that a method that declines after some bytes hands over to
// the next one at the same offset (issue 13, point 4).
type copier struct {
	j       *job
	p       *pair
	size    int64
	written int64
	chunk   int64
	movers  []Method
	cur     int
	pipe    [2]int
	pipeCap int
	buf     *[]byte
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, maxBuffer); return &b }}

func (c *copier) close() {
	if c.pipe[0] >= 0 {
		unix.Close(c.pipe[0])
		unix.Close(c.pipe[1])
	}
	if c.buf != nil {
		bufPool.Put(c.buf)
	}
}

// decline hands over to the next method at the current offset.
func (c *copier) decline(err error) {
	m := c.movers[c.cur]
	if m == MethodCopyFileRange && c.written == 0 && refusedForThePair(err) {
		c.p.noCFR.Store(true)
	}
	c.j.r.Fallbacks = append(c.j.r.Fallbacks, Fallback{Method: m, Offset: c.written, Err: err})
	c.cur++
}

// sparse copies the data segments at their offsets and keeps the holes.
// Rust: Copy::sparse.
func (c *copier) sparse() (int64, error) {
	if err := unix.Ftruncate(c.j.tmp.fd, c.size); err != nil {
		return 0, err
	}
	var pos int64
	for pos < c.size {
		data, err := unix.Seek(c.j.src, pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		if err != nil {
			if pos == 0 && mayFallBack(err) {
				return c.copyRange(0, c.size)
			}
			return c.written, err
		}
		if data >= c.size {
			break
		}
		hole, err := unix.Seek(c.j.src, data, unix.SEEK_HOLE)
		if err != nil {
			return c.written, err
		}
		if hole > c.size {
			hole = c.size
		}
		got, err := c.copyRange(data, hole)
		if err != nil {
			return c.written, err
		}
		pos = data + got
		if got < hole-data {
			// End of file before the hole: the source shrank.
			return pos, unix.Ftruncate(c.j.tmp.fd, pos)
		}
	}
	return c.size, nil
}

// copyRange copies [off, end) and returns the bytes copied (fewer at an
// early end of file).
func (c *copier) copyRange(off, end int64) (int64, error) {
	start := off
	ctx := c.j.ctx
	for off < end {
		want := end - off
		if want > c.chunk {
			want = c.chunk
		}
		m := c.movers[c.cur]
		var n int64
		var err error
		if testFault != nil {
			err = testFault(m, c.written)
		}
		if err == errFaultZero {
			n, err = 0, nil
		} else if err == nil {
			n, err = c.step(m, off, want)
		}
		if err != nil {
			if c.cur < len(c.movers)-1 && mayFallBack(err) {
				c.decline(err)
				continue
			}
			return off - start, err
		}
		if n == 0 {
			if m == MethodReadWrite {
				break // end of file
			}
			if c.written == 0 {
				// A first 0 from a non-empty file: refused (procfs,
				// old overlayfs). Rust: after_zero.
				c.decline(kind(ErrNotSupported, nil, string(m)+" copied nothing from a non-empty file"))
				continue
			}
			var b [1]byte
			k, err := unix.Pread(c.j.src, b[:], off)
			if err != nil {
				return off - start, err
			}
			if k == 0 {
				break // the real end of the file
			}
			c.decline(kind(ErrNotSupported, nil, string(m)+" stopped before the end of the file"))
			continue
		}
		off += n
		if f := c.j.o.Progress; f != nil {
			f(c.written, c.size)
		}
		if ctx.Done() != nil {
			if err := ctx.Err(); err != nil {
				return off - start, err
			}
		}
	}
	return off - start, nil
}

// step moves up to want bytes at off with method m; 0 at end of file.
func (c *copier) step(m Method, off, want int64) (int64, error) {
	src, dst := c.j.src, c.j.tmp.fd
	switch m {
	case MethodCopyFileRange:
		roff, woff := off, off
		var n int
		err := retryEINTR(func() (e error) {
			n, e = unix.CopyFileRange(src, &roff, dst, &woff, int(want), 0)
			return e
		})
		if err != nil {
			return 0, err
		}
		c.written += int64(n)
		return int64(n), nil
	case MethodSplice:
		if c.pipe[0] < 0 {
			var p [2]int
			if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
				return 0, &noFallback{err}
			}
			c.pipe = p
			c.pipeCap = 64 << 10
			if n, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize); err == nil {
				c.pipeCap = n
			}
		}
		if want > int64(c.pipeCap) {
			want = int64(c.pipeCap)
		}
		roff := off
		var n int64
		err := retryEINTR(func() (e error) {
			n, e = unix.Splice(src, &roff, c.pipe[1], nil, int(want), unix.SPLICE_F_MOVE)
			return e
		})
		if err != nil || n == 0 {
			return 0, err
		}
		// Drain the pipe completely: data left in it would be lost, so
		// no error from here on may hand over to another method.
		woff := off
		for left := n; left > 0; {
			var k int64
			err := retryEINTR(func() (e error) {
				k, e = unix.Splice(c.pipe[0], nil, dst, &woff, int(left), unix.SPLICE_F_MOVE)
				return e
			})
			if err != nil {
				return 0, &noFallback{err}
			}
			if k == 0 {
				return 0, &noFallback{unix.EIO}
			}
			left -= k
			c.written += k
		}
		return n, nil
	default:
		if c.buf == nil {
			c.buf = bufPool.Get().(*[]byte)
		}
		buf := *c.buf
		if want < int64(len(buf)) {
			buf = buf[:want]
		}
		var n int
		err := retryEINTR(func() (e error) {
			n, e = unix.Pread(src, buf, off)
			return e
		})
		if err != nil || n == 0 {
			return 0, err
		}
		for w := 0; w < n; {
			var k int
			err := retryEINTR(func() (e error) {
				k, e = unix.Pwrite(dst, buf[w:n], off+int64(w))
				return e
			})
			if err != nil {
				return 0, &noFallback{err}
			}
			if k == 0 {
				return 0, &noFallback{unix.EIO}
			}
			w += k
			c.written += int64(k)
		}
		return int64(n), nil
	}
}

func accessTime(st fs.FileInfo) time.Time {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(s.Atim.Sec), int64(s.Atim.Nsec))
	}
	return st.ModTime()
}
