package signer

import (
	"crypto"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// An HSS-LMS key file signs with a fresh leaf every time, reserving it in the state file first,
// and refuses once every leaf is used or when the state file is missing.
func TestHSSKeyFileIsStateful(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hss.pem")
	if err := GenerateHSSFile(path, "h5-w8"); err != nil {
		t.Fatal(err)
	}
	if err := GenerateHSSFile(path, "h5-w8"); !errors.Is(err, ErrExists) {
		t.Fatalf("second generate over the same file: %v", err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	k, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(Key)
	if key.Algorithm() != AlgHSSLMS || KeyKind(key.Public()) != "HSS-LMS" {
		t.Fatalf("alg %d kind %s", key.Algorithm(), KeyKind(key.Public()))
	}
	pub, err := LoadPublic(path)
	if err != nil || !pub.(lms.PublicKey).Equal(key.Public()) {
		t.Fatalf("public key from the key file: %v", err)
	}
	seen := map[uint32]bool{}
	for i := 0; i < 3; i++ {
		sig, err := key.Sign(nil, []byte("manifest"), crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if err := lms.Verify(pub.(lms.PublicKey), []byte("manifest"), sig); err != nil {
			t.Fatal(err)
		}
		q := binary.BigEndian.Uint32(sig[4:])
		if seen[q] {
			t.Fatalf("leaf %d used twice", q)
		}
		seen[q] = true
	}
	if used, total, err := HSSRemaining(path); err != nil || used != 3 || total != 32 {
		t.Fatalf("state: %d of %d used (%v)", used, total, err)
	}
	// A second load of the same file continues from the state, never from leaf 0.
	k2, _ := LoadFile(path)
	sig, err := k2.(Key).Sign(nil, []byte("x"), crypto.Hash(0))
	if err != nil || binary.BigEndian.Uint32(sig[4:]) != 3 {
		t.Fatalf("reloaded key signed with leaf %d (%v), want 3", binary.BigEndian.Uint32(sig[4:]), err)
	}
	os.WriteFile(path+".state", []byte("32\n"), 0o600)
	if _, err := key.Sign(nil, []byte("x"), crypto.Hash(0)); !errors.Is(err, ErrKeyExhausted) {
		t.Fatalf("exhausted key: %v", err)
	}
	os.Remove(path + ".state")
	if _, err := key.Sign(nil, []byte("x"), crypto.Hash(0)); err == nil || !strings.Contains(err.Error(), "never recreate it by hand") {
		t.Fatalf("missing state: %v", err)
	}
	b, _ := os.ReadFile(path)
	if _, err := ParsePrivate(b, "bytes"); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("stateful key from bytes: %v", err)
	}
}
