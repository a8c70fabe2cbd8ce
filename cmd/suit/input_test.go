package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestEndlessAndHugeInputsRefusedEarly: /dev/zero and a 1 GiB sparse file are refused (exit 2)
// without being read to the 64 MiB cap: the stream at its first bytes, the file by its size.
func TestEndlessAndHugeInputsRefusedEarly(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse.suit")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0xd8, 0x6b, 0xa2})
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pub := filepath.Join(vectorsDir(t), "public_key.pem")
	for _, in := range []string{"/dev/zero", "/dev/urandom", sparse} {
		for _, args := range [][]string{
			{"show", in},
			{"verify", "--key", pub, in},
			{"sign", "--key", pub, "-o", "-", in},
			{"sever", "-o", "-", in},
			{"create", "-o", "-", in},
			{"cms", "show", in},
			{"cms", "verify", "--trust", pub, in},
			{"sim", "run", "--trust", pub, "--vendor-domain", "arm.com", "--model", "suit", in},
		} {
			if in == "/dev/urandom" && args[0] != "create" {
				continue // random bytes may start like an envelope; the text check is certain
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			code, stderr := runSuit(t, dir, nil, args...)
			runtime.ReadMemStats(&after)
			if code != exitUsage {
				t.Errorf("suit %s: exit %d, want 2\n%s", strings.Join(args, " "), code, stderr)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("suit %s: allocated %d bytes before refusing", strings.Join(args, " "), alloc)
			}
		}
	}
}

// TestCreatePrintsAFewDozenFindings: a source with thousands of errors prints the first few
// dozen and a count, not megabytes; a 3000-deep try-each is refused with one error.
func TestCreatePrintsAFewDozenFindings(t *testing.T) {
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString("manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  install:\n")
	for range 5000 {
		src.WriteString("    - set-component-index: 3\n")
	}
	os.WriteFile(filepath.Join(dir, "many.yaml"), []byte(src.String()), 0o644)
	code, stderr := runSuit(t, dir, nil, "create", "-o", "out.suit", "many.yaml")
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	if n := strings.Count(stderr, "\n"); n > 2*maxPrintedFindings+5 {
		t.Errorf("%d lines of findings printed", n)
	}
	if !regexp.MustCompile(`\.\.\. and 49\d\d more findings`).MatchString(stderr) {
		t.Errorf("no count of the findings left out:\n%s", stderr[max(0, len(stderr)-300):])
	}

	deep := "{set-component-index: 0}"
	var b strings.Builder
	for range 3000 {
		b.WriteString("{try-each: [[")
	}
	b.WriteString(deep)
	for range 3000 {
		b.WriteString("], null]}")
	}
	os.WriteFile(filepath.Join(dir, "deep.yaml"), []byte("manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  install: ["+b.String()+"]\n"), 0o644)
	code, stderr = runSuit(t, dir, nil, "create", "-o", "deep.suit", "deep.yaml")
	if code != exitUsage || !strings.Contains(stderr, "nesting deeper than") || len(stderr) > 2000 {
		t.Errorf("3000-deep try-each: exit %d\n%.2000s", code, stderr)
	}
}
