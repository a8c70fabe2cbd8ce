package cose

import (
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

func BenchmarkSign1ES256(b *testing.B) {
	k := mustECDSA(b, elliptic.P256())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign1(rand.Reader, k, AlgES256, nil, suitDigest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignatureES256(b *testing.B) {
	k := mustECDSA(b, elliptic.P256())
	msg, _ := Sign1(rand.Reader, k, AlgES256, nil, suitDigest)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.VerifySignature(&k.PublicKey, suitDigest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign1EdDSA(b *testing.B) {
	k := mustEd25519(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign1(nil, k, AlgEdDSA, nil, suitDigest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignatureEdDSA(b *testing.B) {
	k := mustEd25519(b)
	msg, _ := Sign1(nil, k, AlgEdDSA, nil, suitDigest)
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.VerifySignature(k.Public(), suitDigest); err != nil {
			b.Fatal(err)
		}
	}
}
