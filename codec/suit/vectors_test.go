package suit

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorsDir is shared/spec/vectors beside the repository.
func vectorsDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("../../../shared/spec/vectors")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("official vectors not found at %s: %v", d, err)
	}
	return d
}

func readHex(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Join(strings.Fields(string(b)), "")
	d, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// envelopeVectors lists every envelope vector: the official examples (signed, unsigned, severed),
// the trust-domains examples and the firmware-encryption manifests.
func envelopeVectors(t testing.TB) map[string][]byte {
	t.Helper()
	dir := vectorsDir(t)
	out := map[string][]byte{}
	for _, pat := range []string{"example*.hex", "trust-domains/*.hex", "firmware-encryption/suit-manifest-*.signed.hex"} {
		files, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f)
			out[rel] = readHex(t, f)
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d envelope vectors in %s", len(out), dir)
	}
	return out
}

func TestRoundTripVectors(t *testing.T) {
	for name, data := range envelopeVectors(t) {
		t.Run(name, func(t *testing.T) {
			env, err := Decode(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := Encode(env)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, data)
			}
		})
	}
}
