package fastcopy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// content returns n bytes of a pattern that differs with seed.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+int(seed)) ^ byte(i>>9)
	}
	return b
}

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

// names lists dir's entries, sorted: a temporary file left behind shows.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func equalNames(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := names(t, dir)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s holds %q, want %q", dir, got, want)
	}
}

// An odd mtime with nanoseconds, so that a copy that rounds shows.
var testMtime = time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)

func TestCopyFileCreatesParentsKeepsContentAndMtime(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := content(300_000, 1)
	writeFile(t, src, data, testMtime)
	if err := os.Chmod(src, 0o751); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "a", "b", "target.bin")

	if err := CopyFile(src, target, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, target), data) {
		t.Fatal("content differs")
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	srcSt, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	// The source's mtime as its filesystem stored it (NTFS keeps 100 ns).
	if !st.ModTime().Equal(srcSt.ModTime()) {
		t.Fatalf("mtime %v, want the source's %v (to the ns)", st.ModTime(), srcSt.ModTime())
	}
	if runtime.GOOS != "windows" && !st.ModTime().Equal(testMtime) {
		t.Fatalf("mtime %v, want %v (to the ns)", st.ModTime(), testMtime)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o751 {
		t.Fatalf("mode %v, want the source's 0751", st.Mode().Perm())
	}
	equalNames(t, filepath.Join(dir, "a", "b"), "target.bin")
	if got := mustRead(t, src); !bytes.Equal(got, data) {
		t.Fatal("source changed")
	}
}

func TestCopyFileOverwriteTrueReplaces(t *testing.T) {
	dir := t.TempDir()
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, []byte("new content"), testMtime)
	writeFile(t, target, []byte("old content that is longer"), time.Time{})

	if err := CopyFile(src, target, true); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, target)); got != "new content" {
		t.Fatalf("target holds %q", got)
	}
	equalNames(t, dir, "src", "target")
}

func TestCopyFileOverwriteFalseRefusesExistingTarget(t *testing.T) {
	dir := t.TempDir()
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, []byte("new"), time.Time{})
	writeFile(t, target, []byte("old"), time.Time{})

	err := CopyFile(src, target, false)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("got %v, want an error matching fs.ErrExist", err)
	}
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != CodeAlreadyExists {
		t.Fatalf("got %#v, want *Error with CodeAlreadyExists", err)
	}
	if !strings.Contains(err.Error(), target) {
		t.Fatalf("message %q does not name the target", err)
	}
	if got := string(mustRead(t, target)); got != "old" {
		t.Fatalf("target changed to %q", got)
	}
	equalNames(t, dir, "src", "target")
}

func TestCopyFileSameFileLeavesSourceIntact(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	data := content(10_000, 2)
	writeFile(t, src, data, testMtime)
	hard := filepath.Join(dir, "hard")
	if err := os.Link(src, hard); err != nil {
		t.Fatal(err)
	}
	sep := string(filepath.Separator)
	targets := []string{src, hard, dir + sep + "." + sep + "src"}
	want := []string{"hard", "src"}
	if runtime.GOOS != "windows" {
		sym := filepath.Join(dir, "sym")
		if err := os.Symlink("src", sym); err != nil {
			t.Fatal(err)
		}
		targets = append(targets, sym)
		want = append(want, "sym")
	}
	for _, target := range targets {
		for _, overwrite := range []bool{true, false} {
			err := CopyFile(src, target, overwrite)
			if !errors.Is(err, ErrSameFile) {
				t.Fatalf("CopyFile(src, %s, %v) = %v, want ErrSameFile", target, overwrite, err)
			}
			if !bytes.Equal(mustRead(t, src), data) {
				t.Fatalf("source damaged by copying onto %s", target)
			}
		}
	}
	equalNames(t, dir, want...)
}

func TestCopyFileMissingSource(t *testing.T) {
	dir := t.TempDir()
	err := CopyFile(filepath.Join(dir, "missing"), filepath.Join(dir, "sub", "target"), true)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want an error matching fs.ErrNotExist", err)
	}
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("got %v, want the system's ENOENT through Unwrap", err)
	}
	if !strings.Contains(err.Error(), "missing") {
		t.Fatalf("message %q does not name the source", err)
	}
	equalNames(t, dir) // no target, no parent created
}

func TestCopyFileWithOptionsReport(t *testing.T) {
	dir := t.TempDir()
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	data := content(123_457, 3)
	writeFile(t, src, data, testMtime)

	opts := DefaultOptions()
	opts.Reflink = ReflinkNever
	rep, err := CopyFileWithOptions(src, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != int64(len(data)) {
		t.Fatalf("report says %d bytes, want %d", rep.Bytes, len(data))
	}
	if rep.Cloned || rep.Method == "reflink" || rep.Method == "" {
		t.Fatalf("ReflinkNever copied with %+v", rep)
	}
	if rep.Elapsed <= 0 {
		t.Fatalf("elapsed %v", rep.Elapsed)
	}
	if !bytes.Equal(mustRead(t, target), data) {
		t.Fatal("content differs")
	}
}

func TestDefaultOptions(t *testing.T) {
	want := Options{Overwrite: true, Reflink: ReflinkAuto, PreserveTimes: true, PreserveMode: true}
	if got := DefaultOptions(); got != want {
		t.Fatalf("DefaultOptions() = %+v, want %+v", got, want)
	}
	if ReflinkAlways.String() != "always" || ReflinkMode(9).String() != "ReflinkMode(9)" {
		t.Fatal("ReflinkMode.String")
	}
}

func TestWithoutPreserveTimesTheMtimeIsNew(t *testing.T) {
	dir := t.TempDir()
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	writeFile(t, src, []byte("x"), testMtime)
	opts := DefaultOptions()
	opts.PreserveTimes = false
	if _, err := CopyFileWithOptions(src, target, opts); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if st.ModTime().Equal(testMtime) {
		t.Fatal("mtime copied although PreserveTimes is false")
	}
}

func TestDirectorySourceIsNotRegular(t *testing.T) {
	dir := t.TempDir()
	err := CopyFile(dir, filepath.Join(dir, "target"), true)
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("got %v, want ErrNotRegular", err)
	}
	equalNames(t, dir)
}

func TestTargetDirectoryReceivesTheFile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("into"), time.Time{})
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CopyFile(src, sub, false); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, filepath.Join(sub, "src"))); got != "into" {
		t.Fatalf("got %q", got)
	}
}

func TestInvalidArguments(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFile(t, src, []byte("x"), time.Time{})
	err := CopyFile(src, filepath.Join(dir, "bad\x00name"), true)
	if !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("NUL in path: got %v, want fs.ErrInvalid", err)
	}
	opts := DefaultOptions()
	opts.Reflink = ReflinkMode(7)
	_, err = CopyFileWithOptions(src, filepath.Join(dir, "t"), opts)
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != CodeInvalidArgument || !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("bad reflink mode: got %v", err)
	}
	if fe.Code.String() != "INVALID_ARGUMENT" || Code(99).String() != "Code(99)" {
		t.Fatalf("Code.String: %s", fe.Code)
	}
	equalNames(t, dir, "src")
}

// Many writers replacing one target at once: the target ends up as one
// whole source (the last rename wins), and no temporary file is left.
func TestConcurrentOverwritesAreAtomic(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var sources [][]byte
	for i := 0; i < n; i++ {
		data := content(50_000+i, byte(i))
		sources = append(sources, data)
		writeFile(t, filepath.Join(dir, fmt.Sprintf("src%d", i)), data, time.Time{})
	}
	target := filepath.Join(dir, "out", "target")
	var wg sync.WaitGroup
	errs := make(chan error, n*4)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				errs <- CopyFile(filepath.Join(dir, fmt.Sprintf("src%d", i)), target, true)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := mustRead(t, target)
	whole := false
	for _, s := range sources {
		whole = whole || bytes.Equal(got, s)
	}
	if !whole {
		t.Fatalf("target (%d bytes) is none of the sources", len(got))
	}
	equalNames(t, filepath.Join(dir, "out"), "target")
}

func TestMetricsCountCopiesAndResetReturnsThem(t *testing.T) {
	ResetMetrics()
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small"), filepath.Join(dir, "big")
	writeFile(t, small, content(10, 1), time.Time{})
	writeFile(t, big, content(70_000, 2), time.Time{})
	r1, err := CopyFileWithOptions(small, filepath.Join(dir, "a"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := CopyFileWithOptions(big, filepath.Join(dir, "b"), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if CopyFile(filepath.Join(dir, "missing"), filepath.Join(dir, "c"), true) == nil {
		t.Fatal("copy of a missing file succeeded")
	}

	m := Metrics()
	if m.Files != 2 || m.Failures != 1 || m.Bytes != 70_010 {
		t.Fatalf("files %d failures %d bytes %d, want 2 1 70010", m.Files, m.Failures, m.Bytes)
	}
	if m.Elapsed != r1.Elapsed+r2.Elapsed {
		t.Fatalf("elapsed %v, want %v", m.Elapsed, r1.Elapsed+r2.Elapsed)
	}
	if m.Fallbacks != uint64(r1.Fallbacks+r2.Fallbacks) {
		t.Fatalf("fallbacks %d", m.Fallbacks)
	}
	var perMethodFiles uint64
	for _, s := range m.PerMethod {
		perMethodFiles += s.Files
	}
	if perMethodFiles != 2 || m.PerMethod[r2.Method].Bytes < 70_000 {
		t.Fatalf("per method %+v", m.PerMethod)
	}
	if len(m.SizeHistogram) != 8 {
		t.Fatalf("histogram has %d buckets", len(m.SizeHistogram))
	}
	// 10 bytes: 1..4096; 70 000: 65537..1 MiB.
	if b := m.SizeHistogram[1]; b.Min != 1 || b.Max != 4096 || b.Files != 1 {
		t.Fatalf("bucket 1: %+v", b)
	}
	if b := m.SizeHistogram[3]; b.Min != 65537 || b.Max != 1<<20 || b.Files != 1 {
		t.Fatalf("bucket 3: %+v", b)
	}
	if r := m.FallbackRate(); r < 0 || r > 1 {
		t.Fatalf("fallback rate %v", r)
	}

	taken := ResetMetrics()
	if taken.Files != 2 || taken.Failures != 1 {
		t.Fatalf("ResetMetrics returned %+v", taken)
	}
	if after := Metrics(); after.Files != 0 || after.Failures != 0 || after.Bytes != 0 || len(after.PerMethod) != 0 {
		t.Fatalf("after reset: %+v", after)
	}
}

func TestVersion(t *testing.T) {
	v := Version()
	if v == "" || strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q", v)
	}
	if linkedABIVersion() != abiVersion {
		t.Fatalf("linked library has ABI %d, header %d: rebuild the static library", linkedABIVersion(), abiVersion)
	}
}
