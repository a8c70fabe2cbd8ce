package cose

import (
	"bytes"
	"crypto/ecdsa"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse the auth blocks of every vector; it must never panic,
// and what it accepts must verify or fail with an error, never crash.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(vectorsDir, "example?.hex"))
	more, _ := filepath.Glob(filepath.Join(vectorsDir, "*", "*.hex"))
	for _, file := range append(files, more...) {
		rel, _ := filepath.Rel(vectorsDir, file)
		data := readHex(f, rel)
		if len(data) < 2 || data[0] != 0xd8 || data[1] != 0x6b {
			continue
		}
		_, blocks, _, _ := envelopeAuth(f, data)
		for _, b := range blocks {
			f.Add(b)
		}
	}
	pub := readPEM(f, "public_key.pem").(*ecdsa.PublicKey)
	key := bytes.Repeat([]byte{'a'}, 32)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		if m.Tag != TagSign1 && m.Tag != TagMac0 {
			t.Fatalf("accepted tag %d", m.Tag)
		}
		_ = m.VerifySignature(pub, suitDigest)
		_ = m.VerifyMAC(key, suitDigest)
	})
}
