package atomicfile

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCreateRefusesAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.suit")
	if err := Write(name, []byte("first"), 0o644, Create); err != nil {
		t.Fatal(err)
	}
	err := Write(name, []byte("second"), 0o644, Create)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: got %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "first" {
		t.Fatalf("the existing file was changed: %q", b)
	}
	if err := Write(name, []byte("third"), 0o644, Replace); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "third" {
		t.Fatalf("Replace wrote %q", b)
	}
	assertOnly(t, dir, "out.suit")
}

func TestCreateDoesNotReplaceAFileThatAppearsMeanwhile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "out.suit")
	testHookBeforeCommit = func(string) { os.WriteFile(name, []byte("theirs"), 0o644) }
	defer func() { testHookBeforeCommit = nil }()
	if err := Write(name, []byte("ours"), 0o644, Create); !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "theirs" {
		t.Fatalf("the file that appeared was replaced: %q", b)
	}
	assertOnly(t, dir, "out.suit")
}

func TestPermissionsFollowTheUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	name := filepath.Join(t.TempDir(), "key.pem")
	if err := Write(name, []byte("x"), 0o666, Create); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(name)
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := Write(secret, []byte("x"), 0o600, Create); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(secret); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

// A device is written into, not replaced, and needs no permission to "overwrite".
func TestDeviceIsWrittenDirectly(t *testing.T) {
	if err := Write(os.DevNull, []byte("x"), 0o644, Create); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v %v", os.DevNull, st, err)
	}
}

func TestDirectoryIsRefused(t *testing.T) {
	if err := Write(t.TempDir(), []byte("x"), 0o644, Replace); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
}

func TestLongNames(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, strings.Repeat("n", 250))
	if err := Write(name, []byte("x"), 0o644, Create); err != nil {
		t.Fatal(err)
	}
}

func TestTempPID(t *testing.T) {
	for name, want := range map[string]int{
		".out.suit.suit-tmp-123-0123456789ab":    123,
		".a.suit-tmp-b.suit-tmp-77-0123456789ab": 77,
		"out.suit.suit-tmp-123-0123456789ab":     0, // not hidden
		".out.suit.suit-tmp-123-0123456789":      0,
		".out.suit.suit-tmp-x-0123456789ab":      0,
		".out.suit.tmp123456":                    0,
		".out.suit.suit-tmp-123-0123456789zz":    0,
		".out.suit.suit-tmp--1-0123456789ab":     0,
	} {
		got, ok := TempPID(name)
		if got != want || ok != (want != 0) {
			t.Errorf("TempPID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}

const childEnv = "ATOMICFILE_TEST_CHILD_DIR"

// TestKilledWriterLeavesNothingBehind: a process killed with SIGKILL between writing its temporary
// file and renaming it leaves the temporary file; the next write into the folder removes it, and
// leaves a live process's temporary file alone.
func TestKilledWriterLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "writing ") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child %d: %q %v", i, line, err)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	// Each writer removed its killed predecessor's file: only the last one's is left.
	if n := countTemps(t, dir); n != 1 {
		t.Fatalf("%d temporary files after 3 writers killed mid-write, want 1 (the last one's)", n)
	}
	// A live writer's temporary file (this process's) is kept; a recent one of a dead PID is removed.
	live := filepath.Join(dir, ".other"+Marker+itoa(os.Getpid())+"-0123456789ab")
	os.WriteFile(live, nil, 0o600)
	if err := Write(filepath.Join(dir, "out.suit"), []byte("ok"), 0o644, Replace); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, ".other"+Marker+itoa(os.Getpid())+"-0123456789ab", "out.suit")
	// Older than StaleAge: removed even though the PID is alive.
	old := time.Now().Add(-2 * StaleAge)
	os.Chtimes(live, old, old)
	if n := CleanStale(dir); n != 1 {
		t.Fatalf("CleanStale removed %d, want 1", n)
	}
	assertOnly(t, dir, "out.suit")
}

// TestHelperWriter is the child of TestKilledWriterLeavesNothingBehind.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("child process only")
	}
	testHookBeforeCommit = func(tmp string) {
		os.Stdout.WriteString("writing " + tmp + "\n")
		select {} // wait for SIGKILL
	}
	Write(filepath.Join(dir, "out.suit"), bytes.Repeat([]byte{0xa5}, 1<<20), 0o644, Replace)
}

func itoa(n int) string { return strconv.Itoa(n) }

func countTemps(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if _, ok := TempPID(e.Name()); ok {
			n++
		}
	}
	return n
}

func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, "|") != strings.Join(names, "|") {
		t.Fatalf("folder holds %q, want %q", got, names)
	}
}
