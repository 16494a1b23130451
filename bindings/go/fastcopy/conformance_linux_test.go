package fastcopy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The shared conformance cases (conformance/cases.json at the repository
// root), run against the Go package as "go" (DefaultOptions, the Rust
// library's semantics) and "go_rcc" (CopyFile, RCC's semantics) on the
// four loop-mounted filesystems. crates/fastcopy/tests/conformance.rs runs
// the same file against the Rust library.

const casesPath = "../../../conformance/cases.json"

type confFile struct {
	Cases []confCase `json:"cases"`
}

type confCase struct {
	Name        string                 `json:"name"`
	Filesystems []string               `json:"filesystems"`
	Setup       []map[string]any       `json:"setup"`
	Copy        confCopy               `json:"copy"`
	Expect      *confExpect            `json:"expect"`
	ExpectOn    map[string]*confExpect `json:"expect_on"`
	Go          *confExpect            `json:"go"`
	GoRCC       *confExpect            `json:"go_rcc"`
	Rust        *confExpect            `json:"rust"`
}

type confCopy struct {
	From      string         `json:"from"`
	To        string         `json:"to"`
	Overwrite *bool          `json:"overwrite"`
	Reflink   string         `json:"reflink"`
	Accept    bool           `json:"accept_changing"`
	During    map[string]any `json:"during"`
}

type confExpect struct {
	Result string           `json:"result"`
	Checks []map[string]any `json:"checks"`
	Skip   string           `json:"skip"`
	Reason string           `json:"reason"`
}

func loadCases(t *testing.T) []confCase {
	b, err := os.ReadFile(casesPath)
	if err != nil {
		t.Fatal(err)
	}
	var f confFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", casesPath, err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	return f.Cases
}

func TestConformance(t *testing.T) {
	cases := loadCases(t)
	for _, fsName := range testFilesystems {
		t.Run(fsName, func(t *testing.T) {
			for _, c := range cases {
				c := c
				if len(c.Filesystems) > 0 && !contains(c.Filesystems, fsName) {
					continue
				}
				t.Run(c.Name, func(t *testing.T) {
					for _, impl := range []string{"go", "go_rcc"} {
						t.Run(impl, func(t *testing.T) { runCase(t, fsName, c, impl) })
					}
				})
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *confCase) expectation(fsName, impl string) *confExpect {
	switch {
	case impl == "go" && c.Go != nil:
		return c.Go
	case impl == "go_rcc" && c.GoRCC != nil:
		return c.GoRCC
	}
	if e := c.ExpectOn[fsName]; e != nil {
		return e
	}
	return c.Expect
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }
func num(m map[string]any, k string) int64  { f, _ := m[k].(float64); return int64(f) }

func runCase(t *testing.T, fsName string, c confCase, impl string) {
	exp := c.expectation(fsName, impl)
	if exp.Skip != "" {
		t.Skip("SKIPPED: " + exp.Skip)
	}
	dir := testfsDir(t, fsName)
	at := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for _, s := range c.Setup {
		switch {
		case s["file"] != nil:
			var data []byte
			if txt, ok := s["text"].(string); ok {
				data = []byte(txt)
			} else {
				data = pattern(int(num(s, "size")), uint64(num(s, "seed")))
			}
			must(t, os.WriteFile(at(str(s, "file")), data, 0o644))
		case s["sparse"] != nil:
			f, err := os.Create(at(str(s, "sparse")))
			must(t, err)
			for _, seg := range s["data"].([]any) {
				r := seg.([]any)
				off, n := int64(r[0].(float64)), int(r[1].(float64))
				_, err := f.WriteAt(pattern(n, uint64(num(s, "seed"))+uint64(off)), off)
				must(t, err)
			}
			must(t, f.Truncate(num(s, "size")))
			must(t, f.Close())
		case s["chmod"] != nil:
			m, _ := strconv.ParseUint(str(s, "mode"), 8, 32)
			must(t, os.Chmod(at(str(s, "chmod")), os.FileMode(m)))
		case s["mtime"] != nil:
			mt := time.Unix(num(s, "sec"), num(s, "nsec"))
			must(t, os.Chtimes(at(str(s, "mtime")), mt, mt))
		case s["mkdir"] != nil:
			must(t, os.MkdirAll(at(str(s, "mkdir")), 0o755))
		case s["symlink"] != nil:
			must(t, os.Symlink(str(s, "to"), at(str(s, "symlink"))))
		case s["hardlink"] != nil:
			must(t, os.Link(at(str(s, "to")), at(str(s, "hardlink"))))
		case s["fifo"] != nil:
			must(t, unix.Mkfifo(at(str(s, "fifo")), 0o644))
		case s["mount_tmpfs"] != nil:
			mnt := at(str(s, "mount_tmpfs"))
			must(t, os.Mkdir(mnt, 0o755))
			if os.Geteuid() != 0 {
				skipOrFail(t, "mounting a small tmpfs needs root")
			}
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+str(s, "size"), "tmpfs", mnt).CombinedOutput(); err != nil {
				skipOrFail(t, "mount -t tmpfs: "+err.Error()+": "+string(out))
			}
			t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
		default:
			t.Fatalf("unknown setup step %v", s)
		}
	}

	overwrite := true
	if c.Copy.Overwrite != nil {
		overwrite = *c.Copy.Overwrite
	}
	var opts Options
	if impl == "go" {
		opts = DefaultOptions()
	} else {
		opts = RCCOptions(overwrite)
	}
	opts.Overwrite = overwrite
	opts.AcceptChangingSource = c.Copy.Accept
	switch c.Copy.Reflink {
	case "never":
		opts.Reflink = ReflinkNever
	case "always":
		opts.Reflink = ReflinkAlways
	}
	if d := c.Copy.During; d != nil {
		done := false
		opts.Progress = func(_, _ int64) {
			if done {
				return
			}
			done = true
			switch {
			case d["append"] != nil:
				f, err := os.OpenFile(at(str(d, "append")), os.O_WRONLY|os.O_APPEND, 0)
				must(t, err)
				_, err = f.Write(pattern(int(num(d, "size")), 99))
				must(t, err)
				must(t, f.Close())
			case d["truncate"] != nil:
				must(t, os.Truncate(at(str(d, "truncate")), num(d, "size")))
			}
		}
	}
	from, to := at(c.Copy.From), at(c.Copy.To)
	var rep Report
	var err error
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if impl == "go_rcc" && c.Copy.Reflink == "" && c.Copy.During == nil && !c.Copy.Accept {
			err = CopyFile(from, to, overwrite)
		} else {
			rep, err = CopyFileWithOptions(from, to, opts)
		}
	}()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("the copy did not return within 60 s (blocked?)")
	}

	if exp.Result == "ok" {
		if err != nil {
			t.Fatalf("want success, got %v", err)
		}
	} else if !errorIs(err, exp.Result) {
		t.Fatalf("want error %q, got %v (%#v)", exp.Result, err, err)
	}
	for _, ck := range exp.Checks {
		check(t, fsName, at, ck, &rep, impl)
	}
}

func errorIs(err error, want string) bool {
	if err == nil {
		return false
	}
	switch want {
	case "exists":
		return errors.Is(err, fs.ErrExist) && errors.Is(err, syscall.EEXIST) && os.IsExist(err)
	case "same_file":
		return errors.Is(err, ErrSameFile)
	case "not_regular":
		return errors.Is(err, ErrNotRegular)
	case "is_directory":
		return errors.Is(err, syscall.EISDIR)
	case "not_found":
		return errors.Is(err, fs.ErrNotExist)
	case "no_space":
		return errors.Is(err, syscall.ENOSPC)
	case "not_supported":
		return errors.Is(err, ErrNotSupported)
	case "changed":
		return errors.Is(err, ErrSourceChanged)
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	must(t, err)
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func check(t *testing.T, fsName string, at func(string) string, ck map[string]any, rep *Report, impl string) {
	t.Helper()
	switch {
	case ck["same_content"] != nil:
		p := ck["same_content"].([]any)
		a, err := os.ReadFile(at(p[0].(string)))
		must(t, err)
		b, err := os.ReadFile(at(p[1].(string)))
		must(t, err)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s and %s differ (%d and %d bytes)", p[0], p[1], len(a), len(b))
		}
	case ck["text"] != nil:
		b, err := os.ReadFile(at(str(ck, "text")))
		must(t, err)
		if string(b) != str(ck, "value") {
			t.Fatalf("%s holds %q, want %q", str(ck, "text"), b, str(ck, "value"))
		}
	case ck["size"] != nil:
		st, err := os.Stat(at(str(ck, "size")))
		must(t, err)
		if st.Size() != num(ck, "value") {
			t.Fatalf("%s: size %d, want %d", str(ck, "size"), st.Size(), num(ck, "value"))
		}
	case ck["no_temp"] != nil:
		for _, n := range names(t, at(str(ck, "no_temp"))) {
			if bytes.Contains([]byte(n), []byte(TempMarker)) {
				t.Fatalf("temporary file left: %s", n)
			}
		}
	case ck["names"] != nil:
		want := []string{}
		for _, v := range ck["value"].([]any) {
			want = append(want, v.(string))
		}
		sort.Strings(want)
		got := names(t, at(str(ck, "names")))
		if len(got) != len(want) || (len(got) > 0 && !equalStrings(got, want)) {
			t.Fatalf("entries of %s: %q, want %q", str(ck, "names"), got, want)
		}
	case ck["mode"] != nil:
		st, err := os.Stat(at(str(ck, "mode")))
		must(t, err)
		want, _ := strconv.ParseUint(str(ck, "value"), 8, 32)
		if uint64(st.Sys().(*syscall.Stat_t).Mode&0o7777) != want {
			t.Fatalf("%s: mode %o, want %o", str(ck, "mode"), st.Mode().Perm(), want)
		}
	case ck["mtime"] != nil:
		st, err := os.Stat(at(str(ck, "mtime")))
		must(t, err)
		want := time.Unix(num(ck, "sec"), num(ck, "nsec"))
		if !st.ModTime().Equal(want) {
			t.Fatalf("%s: mtime %v, want %v", str(ck, "mtime"), st.ModTime(), want)
		}
	case ck["holes_kept"] != nil:
		p := ck["holes_kept"].([]any)
		src, dst := dataSegments(t, at(p[0].(string))), dataSegments(t, at(p[1].(string)))
		for _, d := range dst {
			ok := false
			for _, s := range src {
				if s[0] <= d[0] && d[1] <= s[1] {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("data %v of the copy is a hole in the source; source %v, copy %v", d, src, dst)
			}
		}
	case ck["shared"] != nil:
		if fsName == "tmpfs" {
			return // no FIEMAP on tmpfs
		}
		want := ck["value"].(bool)
		if got := sharedExtents(t, at(str(ck, "shared"))); got != want {
			t.Fatalf("%s: shared extents %t, want %t", str(ck, "shared"), got, want)
		}
	case ck["cloned"] != nil:
		if impl == "go_rcc" && rep.Method == "" {
			return // CopyFile has no report
		}
		if rep.Cloned != ck["cloned"].(bool) {
			t.Fatalf("report %+v: cloned %t, want %t", rep, rep.Cloned, ck["cloned"])
		}
	case ck["symlink"] != nil:
		got, err := os.Readlink(at(str(ck, "symlink")))
		if err != nil || got != str(ck, "to") {
			t.Fatalf("%s: want a symlink to %s, got %q, %v", str(ck, "symlink"), str(ck, "to"), got, err)
		}
	case ck["regular"] != nil:
		st, err := os.Lstat(at(str(ck, "regular")))
		if err != nil || !st.Mode().IsRegular() {
			t.Fatalf("%s: want a regular file, got %v, %v", str(ck, "regular"), st, err)
		}
	case ck["fifo"] != nil:
		st, err := os.Lstat(at(str(ck, "fifo")))
		if err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
			t.Fatalf("%s: want a FIFO, got %v, %v", str(ck, "fifo"), st, err)
		}
	default:
		t.Fatalf("unknown check %v", ck)
	}
}

func equalStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
