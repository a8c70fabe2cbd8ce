package signer

import (
	"crypto/rand"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
)

// BenchmarkSoftHSMSignEnvelope: one SUIT envelope signature (COSE_Sign1 over the manifest's
// SUIT_Digest, ES256) made inside a SoftHSM2 token; the login happens before the timer starts.
func BenchmarkSoftHSMSignEnvelope(b *testing.B) {
	h := newSoftHSM(b)
	h.initToken(b, "bench")
	s, err := OpenSession(h.uri("bench", "", h.pinFile(b, testUserPIN)), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ki, err := s.Generate(P256, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	k, err := s.Key(ki.Label, ki.ID)
	if err != nil {
		b.Fatal(err)
	}
	d := officialDigests(b)["example0.hex"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cose.Sign1(rand.Reader, k, AlgES256, k.KeyID(), d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileSignEnvelope is the same with the official PEM key, for comparison.
func BenchmarkFileSignEnvelope(b *testing.B) {
	k, err := LoadSigner(vectors(b)+"/private_key.pem", LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	d := officialDigests(b)["example0.hex"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cose.Sign1(rand.Reader, k, AlgES256, k.KeyID(), d); err != nil {
			b.Fatal(err)
		}
	}
}
