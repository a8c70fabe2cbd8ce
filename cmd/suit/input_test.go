package main

import (
	"os"
	"path/filepath"
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
