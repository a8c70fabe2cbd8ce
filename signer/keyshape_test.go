package signer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Issue 9 item 2: a file of 32 bytes or more that is not a recognised key must not silently
// become an HMAC key; the error says what the file looks like, and never echoes its content.
func TestUnrecognisedFileIsNotAnHMACKey(t *testing.T) {
	dir := t.TempDir()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	spki, _ := x509.MarshalPKIXPublicKey(ec.Public())
	cborMap, _ := cbor.Marshal(map[string]string{"secret-field": "hunter2-hunter2-hunter2-hunter2"})
	random := make([]byte, 64)
	rand.Read(random)
	random[0] = 0xff // not a CBOR item head that decodes
	cases := []struct {
		name, looks string
		data        []byte
	}{
		{"key.der", "looks like a DER SubjectPublicKeyInfo (P-256 public key)", spki},
		{"shadow", "looks like text", []byte("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")},
		{"map.cbor", "looks like CBOR (a map", cborMap},
		{"random.bin", "looks like binary data", random},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := LoadPrivate(p, LoadOptions{})
		if err == nil {
			t.Errorf("%s: loaded as %T", c.name, k)
			continue
		}
		if !errors.Is(err, ErrNoKeyInFile) || !strings.Contains(err.Error(), c.looks) || !strings.Contains(err.Error(), "not a key this tool reads") {
			t.Errorf("%s: error %q, want %q", c.name, err, c.looks)
		}
		for _, secret := range []string{"root", "hunter2"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error echoes the file's content: %q", c.name, err)
			}
		}
	}
	// As a public key: the same description.
	if _, err := LoadPublic(filepath.Join(dir, "shadow")); err == nil || !strings.Contains(err.Error(), "looks like text") || strings.Contains(err.Error(), "root") {
		t.Errorf("LoadPublic of text: %v", err)
	}
	// A public key given to sign with says how to use it.
	if _, err := LoadPrivate(filepath.Join(dir, "key.der"), LoadOptions{}); err == nil || !strings.Contains(err.Error(), "give the private key") {
		t.Errorf("public key to sign with: %v", err)
	}
}

// A symmetric key is named as such: a PEM "SUIT HMAC KEY" block or a COSE_Key with kty 4.
func TestCOSESymmetricKey(t *testing.T) {
	dir := t.TempDir()
	secret := bytes.Repeat([]byte{0x5a}, 32)
	b, _ := cbor.Marshal(map[int]any{1: 4, 2: []byte("mac-1"), 3: 5, -1: secret})
	p := filepath.Join(dir, "mac.cose")
	os.WriteFile(p, b, 0o600)
	k, err := LoadPrivate(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mk, ok := k.(MACKey)
	if !ok || !bytes.Equal(mk.MACKey(), secret) || !bytes.Equal(mk.KeyID(), []byte("mac-1")) {
		t.Fatalf("got %T %v", k, ok)
	}
	// Another algorithm than HMAC 256/256, or a short key, is refused with the reason.
	b, _ = cbor.Marshal(map[int]any{1: 4, 3: -5, -1: secret})
	os.WriteFile(p, b, 0o600)
	if _, err := LoadPrivate(p, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "HMAC 256/256") {
		t.Errorf("A256KW COSE_Key: %v", err)
	}
	b, _ = cbor.Marshal(map[int]any{1: 4, -1: secret[:16]})
	os.WriteFile(p, b, 0o600)
	if _, err := LoadPrivate(p, LoadOptions{}); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("short COSE_Key: %v", err)
	}
	// A public COSE_Key is described, not read as a MAC key.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ck, _ := COSEKey(ec.Public(), nil)
	os.WriteFile(p, ck, 0o600)
	if _, err := LoadPrivate(p, LoadOptions{}); err == nil || !strings.Contains(err.Error(), "COSE_Key") {
		t.Errorf("public COSE_Key to sign with: %v", err)
	}
}
