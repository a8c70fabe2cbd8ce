package cms

import (
	"crypto"
	"testing"
)

// BenchmarkCreate100KiB: a firmware package for a 100 KiB image with a P-256 file key.
func BenchmarkCreate100KiB(b *testing.B) {
	key := testKeys(b)["P-256"]
	fw := testFirmware(100 << 10)
	attrs := fullAttrs()
	b.SetBytes(int64(len(fw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Create(fw, attrs, key, SignOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify100KiB: full verification of that package.
func BenchmarkVerify100KiB(b *testing.B) {
	key := testKeys(b)["P-256"]
	fw := testFirmware(100 << 10)
	pkg, err := Create(fw, fullAttrs(), key, SignOptions{})
	if err != nil {
		b.Fatal(err)
	}
	opts := VerifyOptions{Trust: Trust{Keys: []crypto.PublicKey{key.Public()}}, HardwareType: testHW, HardwareSerial: []byte{1, 2}}
	b.SetBytes(int64(len(fw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(pkg, opts); err != nil {
			b.Fatal(err)
		}
	}
}
