package devicesim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

const vectors = "../../shared/spec/vectors"

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatalf("official vectors not found: %v", err)
	}
	if strings.HasSuffix(name, ".hex") {
		d, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	return b
}

func specPrivateKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(readVector(t, "private_key.pem"))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PrivateKey)
}

func specPublicKey(t testing.TB) *ecdsa.PublicKey {
	t.Helper()
	blk, _ := pem.Decode(readVector(t, "public_key.pem"))
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PublicKey)
}

var (
	placeholderA = mustHex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210")
	placeholderB = mustHex("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// testImage is a deterministic pseudo-random image of n bytes.
func testImage(seed uint32, n int) []byte {
	b := make([]byte, n)
	x := seed | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// envelopeRanges finds the item ranges of envelope keys 2 and 3 with the device's own reader.
func envelopeRanges(t testing.TB, env []byte) (auth, man rng) {
	t.Helper()
	c := newCursor(ramSource(env), "test", 0, len(env))
	if _, _, err := c.optTag(); err != nil {
		t.Fatal(err)
	}
	n, err := c.mapHead()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if major, _, _, _ := c.peek(); major == majTstr {
			c.skip()
			c.skip()
			continue
		}
		k, err := c.int()
		if err != nil {
			t.Fatal(err)
		}
		s, e, err := c.itemRange()
		if err != nil {
			t.Fatal(err)
		}
		switch k {
		case 2:
			auth = rng{s, e}
		case 3:
			man = rng{s, e}
		}
	}
	return
}

// resign recomputes the manifest digest and replaces the authentication wrapper with one signed by
// key (ES256). The new wrapper has the same length as the one in the official examples.
func resign(t testing.TB, env []byte, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	a, m := envelopeRanges(t, env)
	dg := sha256.Sum256(env[m.off:m.end])
	d := append([]byte{0x82, 0x2f, 0x58, 0x20}, dg[:]...)
	prot := []byte{0xa1, 0x01, 0x26}
	tbs := []byte{0x84, 0x6a}
	tbs = append(tbs, "Signature1"...)
	tbs = append(tbs, 0x43)
	tbs = append(tbs, prot...)
	tbs = append(tbs, 0x40, 0x58, 0x24)
	tbs = append(tbs, d...)
	h := sha256.Sum256(tbs)
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	sign1 := append([]byte{0xd2, 0x84, 0x43}, prot...)
	sign1 = append(sign1, 0xa0, 0xf6, 0x58, 0x40)
	sign1 = append(sign1, sig...)
	inner := []byte{0x82, 0x58, 0x24}
	inner = append(inner, d...)
	inner = append(inner, 0x58, byte(len(sign1)))
	inner = append(inner, sign1...)
	item := appendHead(nil, majBstr, len(inner))
	item = append(item, inner...)
	if len(item) != a.n() {
		t.Fatalf("new auth wrapper is %d bytes, old %d", len(item), a.n())
	}
	out := append([]byte(nil), env...)
	copy(out[a.off:], item)
	return out
}

// exampleCase is an official example rebuilt with real digests.
type exampleCase struct {
	n        int
	env      []byte
	payloads Payloads
	factory  []byte // factory image in [h'00']
	wantBoot []byte // image the device must boot afterwards
}

var (
	imgA = testImage(1, 34768)
	imgB = testImage(2, 76834)
	imgF = testImage(3, 34768) // factory image
)

// patchedExample returns example n with the placeholder digests replaced by real ones and re-signed
// with the spec's key. The lengths are unchanged, so the CBOR structure is byte-identical apart
// from the digests and the signature.
func patchedExample(t testing.TB, n int) exampleCase {
	t.Helper()
	name := "example" + string(rune('0'+n)) + ".hex"
	env := readVector(t, name)
	c := exampleCase{n: n, factory: imgF, payloads: Payloads{}}
	dA := sha256.Sum256(imgA)
	dB := sha256.Sum256(imgB)
	switch n {
	case 0:
		// Secure boot only: the digest must be that of the image already on the device.
		dF := sha256.Sum256(imgF)
		env = bytes.ReplaceAll(env, placeholderA, dF[:])
		c.wantBoot = imgF
	case 1, 2:
		env = bytes.ReplaceAll(env, placeholderA, dA[:])
		c.payloads["http://example.com/file.bin"] = imgA
		c.payloads["http://example.com/very/long/path/to/file/file.bin"] = imgA
		c.wantBoot = imgA
	case 3:
		env = bytes.ReplaceAll(env, placeholderA, dA[:])
		env = bytes.ReplaceAll(env, placeholderB, dB[:])
		c.payloads["http://example.com/file1.bin"] = imgA
		c.payloads["http://example.com/file2.bin"] = imgB
		c.wantBoot = imgA
	case 4:
		// The load step copies [h'00'] into [h'01'], so [h'01'] must hold image A's digest.
		env = bytes.ReplaceAll(env, placeholderA, dA[:])
		env = bytes.ReplaceAll(env, placeholderB, dA[:])
		c.payloads["http://example.com/file.bin"] = imgA
		c.wantBoot = imgA
	case 5:
		env = bytes.ReplaceAll(env, placeholderA, dA[:])
		env = bytes.ReplaceAll(env, placeholderB, dB[:])
		c.payloads["http://example.com/file1.bin"] = imgA
		c.payloads["http://example.com/file2.bin"] = imgB
		c.wantBoot = imgA
	}
	c.env = resign(t, env, specPrivateKey(t))
	return c
}

func provisioned(t testing.TB, cfg Config, factory []byte, seq uint64) *Device {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vid := model.VendorID("arm.com")
	cid, _ := model.ClassID(vid, "suit")
	if err := d.Provision(Provisioning{
		TrustAnchors: []TrustAnchor{{Name: "spec", Key: specPublicKey(t)}},
		VendorID:     vid, ClassID: cid, Sequence: seq, Image: factory,
	}); err != nil {
		t.Fatal(err)
	}
	return d
}
