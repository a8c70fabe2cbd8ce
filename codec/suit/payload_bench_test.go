package suit

import (
	"bytes"
	"testing"
)

// BenchmarkVerifyIntegratedPayload32K: Verify of a signed envelope that carries a 32 KiB image as
// an integrated payload: the signature, then the payload against the image digest its image-match
// uses (the analysis of the sequences plus one SHA-256 of the image).
func BenchmarkVerifyIntegratedPayload32K(b *testing.B) {
	fw := bytes.Repeat([]byte("0123456789abcdef"), 2048)
	data := buildSigned(b, downloadSrc, map[string][]byte{"fw.bin": fw})
	_, pub := specKeys(b)
	keys := []VerifyKey{{Name: "spec", Public: pub}}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		v, err := Verify(data, keys)
		if err != nil || !v.Authentic {
			b.Fatalf("not authentic: %v %+v", err, v)
		}
	}
}

// BenchmarkCheckPayloads: the analysis alone (shared sequence, install, validate; one SHA-256 of a
// 1 KiB integrated image per check).
func BenchmarkCheckPayloads(b *testing.B) {
	env, err := ParseSource([]byte(downloadSrc), writeFiles(b, map[string][]byte{"fw.bin": bytes.Repeat([]byte{1}, 1024)}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := CheckPayloads(env); r[0].Status != PayloadMatches {
			b.Fatal(r)
		}
	}
}
