package cose

import (
	"crypto/rand"
	"testing"
)

func FuzzParseEncrypt(f *testing.F) {
	for _, v := range feVectors {
		f.Add(readHex(f, feDir+"suit-encryption-info-"+v.name+".hex"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEncrypt(data)
		if err != nil {
			return
		}
		// Whatever parses, key recovery and AAD must not panic.
		e.AAD()
		e.ContentKey(DecryptionKey{KEK: []byte(feKEK)})
	})
}

// BenchmarkContentDecrypt32K streams a 32 KiB image through the decrypter in
// 256-byte chunks, as the device does from flash.
func BenchmarkContentDecrypt32K(b *testing.B) {
	for _, alg := range []int64{AlgA128GCM, AlgChaCha20Poly1305, AlgA128CTR} {
		a, _ := LookupContentAlgorithm(alg)
		key, iv := make([]byte, a.KeySize), make([]byte, a.IVSize)
		rand.Read(key)
		rand.Read(iv)
		aad := EncStructure("Encrypt", []byte{0xa1, 0x01, 0x01})
		pt := make([]byte, 32<<10)
		ct, _ := SealContent(alg, key, iv, aad, pt)
		b.Run(a.Name, func(b *testing.B) {
			b.SetBytes(int64(len(pt)))
			b.ReportAllocs()
			buf := make([]byte, 256)
			for b.Loop() {
				d, _ := NewContentDecrypter(alg, key, iv, aad, len(ct))
				for off := 0; off < len(ct); off += len(buf) {
					d.Update(buf, ct[off:min(off+len(buf), len(ct))])
				}
				if err := d.Final(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
