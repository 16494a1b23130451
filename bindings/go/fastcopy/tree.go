package fastcopy

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// TreeOptions control CopyTree. The zero value plus File: DefaultOptions()
// is what DefaultTreeOptions returns.
type TreeOptions struct {
	// File are the options every regular file is copied with (Overwrite,
	// Reflink, PreserveMode, PreserveTimes, Fsync, AcceptChangingSource).
	// CreateParents, IntoDirectory and Progress are not used; a symlink in
	// the target tree is replaced, never written through (nothing is
	// written outside the target).
	File Options
	// Jobs is the number of files copied at once; 0 means GOMAXPROCS.
	Jobs int
	// FollowLinks copies what symbolic links in the source point to
	// (cp -L) instead of recreating the links.
	FollowLinks bool
	// FailFast stops at the first failed entry.
	FailFast bool
	// Update copies a regular file only when the target lacks it or has
	// an older modification time (cp --update=older): a newer target is
	// never overwritten, whatever its size.
	Update bool
}

// DefaultTreeOptions returns the Rust library's tree defaults: every file
// with DefaultOptions, GOMAXPROCS workers, links copied as links, go on
// after errors, copy everything.
func DefaultTreeOptions() TreeOptions {
	return TreeOptions{File: DefaultOptions()}
}

// TreeReport says what CopyTree did.
type TreeReport struct {
	// Files and Bytes copied, and the files' copy reports' methods.
	Files int64
	Bytes int64
	// Directories, Symlinks, HardLinks (recreated within the tree) and
	// SpecialFiles (FIFOs) created.
	Directories, Symlinks, HardLinks, SpecialFiles int64
	// Skipped: sockets and devices, which are not copied (a warning each).
	Skipped int64
	// UpToDate: files left alone by Update.
	UpToDate int64
	// Errors of the entries that failed (each an *fs.PathError naming the
	// source), in no particular order.
	Errors []error
	// Warnings about entries copied or skipped.
	Warnings []string
	// Elapsed is the time the tree copy took.
	Elapsed time.Duration
}

// Complete reports whether every entry was copied.
func (r *TreeReport) Complete() bool { return len(r.Errors) == 0 }

// TreeError is the error of a tree copy in which some entries failed (or
// that was cancelled): a partial copy is never a success. Report holds what
// was copied and what failed; errors.Is and errors.As look into every
// entry's error.
type TreeError struct {
	Source, Target string
	Report         *TreeReport
}

func (e *TreeError) Error() string {
	n := len(e.Report.Errors)
	return fmt.Sprintf("copy tree %s -> %s: %d entr%s failed, first: %v", e.Source, e.Target, n,
		map[bool]string{true: "y", false: "ies"}[n == 1], e.Report.Errors[0])
}

// Unwrap returns the entries' errors.
func (e *TreeError) Unwrap() []error { return e.Report.Errors }

// CopyTree copies the directory tree source to target, with the rules of
// the Rust library's copy_tree and `fastcopy -r`:
//
//   - target becomes the copy; an existing directory target is filled;
//   - every regular file goes through CopyFileWithOptions (same ladder and
//     guarantees), several at once;
//   - directories, symbolic links (not followed unless FollowLinks), hard
//     links within the tree and FIFOs are recreated; sockets and devices
//     are skipped with a warning;
//   - directory permissions and times are applied once their contents are
//     complete; owners are kept when running as root;
//   - a new target is built in a hidden staging directory beside it
//     (.NAME.fastcopy-tmp-...) and renamed to target at the end; a
//     cancelled copy removes it;
//   - a target inside source is refused;
//   - any failed entry makes the result a *TreeError carrying the report
//     (the other entries are still copied unless FailFast).
func CopyTree(source, target string, opts TreeOptions) (TreeReport, error) {
	return CopyTreeContext(context.Background(), source, target, opts)
}

// CopyTreeContext is CopyTree that stops when ctx is done; the error then
// satisfies errors.Is(err, ctx.Err()).
func CopyTreeContext(ctx context.Context, source, target string, opts TreeOptions) (TreeReport, error) {
	start := time.Now()
	t := &treeCopy{ctx: ctx, opts: opts, source: source, links: map[fileID]string{}}
	t.fileOpts = opts.File
	t.fileOpts.CreateParents, t.fileOpts.IntoDirectory, t.fileOpts.ReplaceSymlink = false, false, true
	t.fileOpts.Progress = nil
	err := t.run(source, target)
	t.rep.Elapsed = time.Since(start)
	if err == nil && len(t.rep.Errors) > 0 {
		err = &TreeError{Source: source, Target: target, Report: &t.rep}
	}
	return t.rep, err
}

type treeCopy struct {
	ctx      context.Context
	opts     TreeOptions
	fileOpts Options
	source   string
	mu       sync.Mutex
	rep      TreeReport
	links    map[fileID]string
	dirs     []dirMeta
	failed   bool
}

type dirMeta struct {
	dst string
	st  fs.FileInfo
}

type fileJob struct {
	src, dst string
	st       fs.FileInfo
}

func (t *treeCopy) fail(err error) {
	t.mu.Lock()
	t.rep.Errors = append(t.rep.Errors, err)
	t.failed = true
	t.mu.Unlock()
}

func (t *treeCopy) warn(msg string) {
	t.mu.Lock()
	t.rep.Warnings = append(t.rep.Warnings, msg)
	t.mu.Unlock()
}

func (t *treeCopy) stop() bool {
	if t.ctx.Err() != nil {
		return true
	}
	if !t.opts.FailFast {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *treeCopy) run(source, target string) error {
	stat := os.Lstat
	if t.opts.FollowLinks {
		stat = os.Stat
	}
	st, err := stat(source)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		// A file or a link: one entry.
		if st.Mode().IsRegular() {
			o := t.fileOpts
			o.CreateParents = t.opts.File.CreateParents
			r, err := CopyFileContext(t.ctx, source, target, o)
			if err != nil {
				return err
			}
			t.rep.Files, t.rep.Bytes = 1, r.Bytes
			return nil
		}
		t.entry(source, target, st, nil)
		if len(t.rep.Errors) > 0 {
			return t.rep.Errors[0]
		}
		return nil
	}
	absSrc, err1 := filepath.Abs(source)
	absDst, err2 := filepath.Abs(target)
	if err1 == nil && err2 == nil {
		if absDst == absSrc || strings.HasPrefix(absDst, absSrc+string(filepath.Separator)) {
			return pathError("copy", target, kind(fs.ErrInvalid, nil, "cannot copy a directory into itself"))
		}
	}
	root := target
	staging := ""
	if _, err := os.Lstat(target); os.IsNotExist(err) {
		if t.opts.File.CreateParents {
			if err := mkdirAllParent(target); err != nil {
				return err
			}
		}
		staging = tempPath(target)
		if err := os.Mkdir(staging, 0o700); err != nil {
			return pathError("mkdir", target, err)
		}
		root = staging
	} else if err != nil {
		return err
	} else if dst, err := os.Stat(target); err != nil || !dst.IsDir() {
		if err == nil {
			err = pathError("copy", target, kind(ErrNotRegular, nil, "the target exists and is not a directory"))
		}
		return err
	}
	t.dirs = append(t.dirs, dirMeta{root, st})
	t.rep.Directories++

	jobs := t.opts.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	work := make(chan fileJob, 256)
	var wg sync.WaitGroup
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if t.stop() {
					continue
				}
				t.copyOne(f)
			}
		}()
	}
	walkErr := t.walk(source, root, work)
	close(work)
	wg.Wait()

	if t.ctx.Err() != nil {
		if staging != "" {
			makeRemovable(staging)
			os.RemoveAll(staging)
		}
		return pathError("copy", target, t.ctx.Err())
	}
	// Directories deepest first: their contents are complete.
	for i := len(t.dirs) - 1; i >= 0; i-- {
		d := t.dirs[i]
		setOwner(d.dst, d.st)
		if t.opts.File.PreserveMode {
			if err := os.Chmod(d.dst, d.st.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				t.fail(err)
			}
		} else if i == 0 && staging != "" {
			os.Chmod(d.dst, fs.FileMode(0o777&^umask()))
		}
		if t.opts.File.PreserveTimes {
			if err := os.Chtimes(d.dst, accessTime(d.st), d.st.ModTime()); err != nil {
				t.fail(err)
			}
		}
	}
	if walkErr != nil {
		t.fail(walkErr)
	}
	if staging != "" {
		if err := renameDirNoReplace(staging, target); err != nil {
			return fmt.Errorf("copy tree: the copy is complete in %s but cannot be renamed to %s: %w", staging, target, err)
		}
	}
	return nil
}

func (t *treeCopy) walk(src, dst string, work chan<- fileJob) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		t.fail(err)
		return nil
	}
	for _, e := range entries {
		if t.stop() {
			return nil
		}
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		var st fs.FileInfo
		if t.opts.FollowLinks {
			st, err = os.Stat(s)
		} else {
			st, err = e.Info()
		}
		if err != nil {
			t.fail(err)
			continue
		}
		t.entry(s, d, st, work)
	}
	return nil
}

// entry copies one entry: directories recursively, files through the
// workers (work nil: now), the rest at once.
func (t *treeCopy) entry(s, d string, st fs.FileInfo, work chan<- fileJob) {
	mode := st.Mode()
	switch {
	case mode.IsDir():
		if err := os.Mkdir(d, 0o700); err != nil && !(os.IsExist(err) && isDir(d)) {
			t.fail(err)
			return
		}
		t.mu.Lock()
		t.dirs = append(t.dirs, dirMeta{d, st})
		t.rep.Directories++
		t.mu.Unlock()
		t.walk(s, d, work)
	case mode.IsRegular():
		if id, ok := idOf(st); ok && linkCount(st) > 1 {
			t.mu.Lock()
			first, seen := t.links[id]
			if !seen {
				t.links[id] = d
			}
			t.mu.Unlock()
			if seen {
				t.hardLink(first, d, s)
				return
			}
		}
		f := fileJob{s, d, st}
		if work == nil {
			t.copyOne(f)
		} else {
			work <- f
		}
	case mode&fs.ModeSymlink != 0:
		link, err := os.Readlink(s)
		if err == nil {
			err = os.Symlink(link, d)
			if os.IsExist(err) && t.opts.File.Overwrite {
				os.Remove(d)
				err = os.Symlink(link, d)
			}
		}
		if err != nil {
			t.fail(err)
			return
		}
		setOwner(d, st)
		t.mu.Lock()
		t.rep.Symlinks++
		t.mu.Unlock()
	case mode&fs.ModeNamedPipe != 0:
		if err := mkfifo(d, uint32(mode.Perm())); err != nil {
			t.fail(pathError("mkfifo", d, err))
			return
		}
		setOwner(d, st)
		if t.opts.File.PreserveTimes {
			os.Chtimes(d, accessTime(st), st.ModTime())
		}
		t.mu.Lock()
		t.rep.SpecialFiles++
		t.mu.Unlock()
	default:
		t.warn("skipped: " + s + " (socket or device)")
		t.mu.Lock()
		t.rep.Skipped++
		t.mu.Unlock()
	}
}

// hardLink recreates a hard link within the tree; its first name may still
// be being copied by a worker, so it waits for it.
func (t *treeCopy) hardLink(first, d, s string) {
	var err error
	for i := 0; i < 2000; i++ {
		if err = os.Link(first, d); err == nil || !os.IsNotExist(err) {
			break
		}
		if t.stop() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	if os.IsExist(err) && t.opts.File.Overwrite {
		os.Remove(d)
		err = os.Link(first, d)
	}
	if err != nil {
		t.fail(pathError("link", s, err))
		return
	}
	t.mu.Lock()
	t.rep.HardLinks++
	t.mu.Unlock()
}

func (t *treeCopy) copyOne(f fileJob) {
	if t.opts.Update {
		if dst, err := os.Stat(f.dst); err == nil && !dst.ModTime().Before(f.st.ModTime()) {
			t.mu.Lock()
			t.rep.UpToDate++
			t.mu.Unlock()
			return
		}
	}
	o := t.fileOpts
	if t.opts.Update {
		o.Overwrite = true
	}
	r, err := CopyFileContext(t.ctx, f.src, f.dst, o)
	if err != nil {
		if t.ctx.Err() != nil {
			return
		}
		t.fail(err)
		return
	}
	setOwner(f.dst, f.st)
	t.mu.Lock()
	t.rep.Files++
	t.rep.Bytes += r.Bytes
	for _, w := range r.Warnings {
		t.rep.Warnings = append(t.rep.Warnings, f.src+": "+w)
	}
	t.mu.Unlock()
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

func makeRemovable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
}
