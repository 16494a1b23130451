package fastcopy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// forceNamedTemporary makes the copies of the test take the fallback of
// filesystems that refuse O_TMPFILE (a named hidden temporary).
func forceNamedTemporary(t *testing.T) {
	testNoTmpfile = true
	t.Cleanup(func() { testNoTmpfile = false })
}

// deadPid is the id of a process that has exited and was waited for.
func deadPid(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func leftover(name string, pid int) string {
	return "." + name + TempMarker + strconv.FormatInt(int64(pid), 16) + "-3-1f"
}

func TestTemporaryOwner(t *testing.T) {
	for name, want := range map[string]int{
		".file.txt.fastcopy-tmp-3039-0-1a2b":    0x3039,
		".a.fastcopy-tmp-1.fastcopy-tmp-ff-2-3": 0xff,
		"..fastcopy-tmp-1-0-0":                  1,
		".file.fastcopy-tmp-3039-0":             0x3039, // a tree's staging directory
		"file.txt":                              0,
		"file.fastcopy-tmp-3039-0-1a2b":         0,
		".file.fastcopy-tmp-3039":               0,
		".file.fastcopy-tmp-3039-0-1a2b-7":      0,
		".file.fastcopy-tmp-zz-0-1":             0,
		".file.fastcopy-tmp--0-1":               0,
		".file.fastcopy-tmp-0-0-1":              0,
		".file.fastcopy-tmp-1ffffffff-0-1":      0,
		".file.fastcopy-tmp-":                   0,
	} {
		got, ok := temporaryOwner(name)
		if got != want || ok != (want != 0) {
			t.Errorf("%s: %d %t, want %d", name, got, ok, want)
		}
	}
}

// Where O_TMPFILE is refused, leftovers of dead processes for the same
// destination name are removed before the copy and named in the report's
// warnings; those of live processes (this one, a running one), of other
// names, links and directories with such names are kept. The names are
// the Rust library's (.NAME.fastcopy-tmp-PID-N-NANOS).
func TestStaleTemporariesRemovedInTheFallback(t *testing.T) {
	forceNamedTemporary(t)
	for _, fsName := range testFilesystems {
		t.Run(fsName, func(t *testing.T) {
			dir := testfsDir(t, fsName)
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			writeFile(t, src, pattern(10000, 1), time.Time{})
			dead := deadPid(t)
			live := exec.Command("sleep", "30")
			if err := live.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { live.Process.Kill(); live.Wait() }()
			stale := []string{leftover("dst", dead), "." + "dst" + TempMarker + strconv.FormatInt(int64(dead), 16) + "-0"}
			kept := []string{
				leftover("dst", os.Getpid()),
				leftover("dst", live.Process.Pid),
				leftover("other", dead),
				leftover("dst.bak", dead),
			}
			for _, n := range append(append([]string{}, stale...), kept...) {
				writeFile(t, filepath.Join(dir, n), []byte("partial"), time.Time{})
			}
			link := leftover("dst", dead+1<<20) // a link: never touched
			os.Symlink("src", filepath.Join(dir, link))
			stagingDir := filepath.Join(dir, "."+"dst"+TempMarker+strconv.FormatInt(int64(dead), 16)+"-1")
			os.Mkdir(stagingDir, 0o755)
			kept = append(kept, link, filepath.Base(stagingDir))

			rep, err := CopyFileWithOptions(src, dst, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Skipped != NotSkipped || string(mustRead(t, dst)) != string(pattern(10000, 1)) {
				t.Fatalf("copy: %+v", rep)
			}
			for _, n := range stale {
				if _, err := os.Lstat(filepath.Join(dir, n)); !os.IsNotExist(err) {
					t.Errorf("%s: not removed (%v)", n, err)
				}
				w := "removed '" + filepath.Join(dir, n) + "', left by an interrupted copy"
				found := false
				for _, x := range rep.Warnings {
					found = found || x == w
				}
				if !found {
					t.Errorf("no warning %q in %q", w, rep.Warnings)
				}
			}
			if len(rep.Warnings) != len(stale) {
				t.Errorf("warnings %q", rep.Warnings)
			}
			for _, n := range kept {
				if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
					t.Errorf("%s: removed (%v)", n, err)
				}
			}
			// Nothing of this copy is left, and a second copy has nothing
			// to remove.
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2+len(kept) {
				t.Fatalf("%d entries, want %d", len(entries), 2+len(kept))
			}
			rep, err = CopyFileWithOptions(src, dst, DefaultOptions())
			if err != nil || len(rep.Warnings) != 0 {
				t.Fatalf("second copy: %+v, %v", rep, err)
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), TempMarker) && !contains(kept, e.Name()) {
					t.Fatalf("left: %s", e.Name())
				}
			}
		})
	}
}

// The fallback itself: the copy is written under a hidden name, which is
// gone afterwards, on every filesystem, for new and replaced targets.
func TestNamedTemporaryFallback(t *testing.T) {
	forceNamedTemporary(t)
	dir := testfsDir(t, "ext4")
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFile(t, src, pattern(3<<20, 2), testMtime)
	seen := false
	o := DefaultOptions()
	o.Progress = func(_, _ int64) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			seen = seen || strings.HasPrefix(e.Name(), ".dst"+TempMarker)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := CopyFileWithOptions(src, dst, o); err != nil {
			t.Fatal(err)
		}
	}
	if !seen {
		t.Fatal("no named temporary seen: the fallback was not taken")
	}
	equalNames(t, dir, "dst", "src")
}
