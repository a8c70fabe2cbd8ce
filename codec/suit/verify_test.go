package suit

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
)

func specKeys(t testing.TB) (crypto.Signer, crypto.PublicKey) {
	t.Helper()
	dir := vectorsDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ = pem.Decode(b)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer), pub
}

func signedExamples(t testing.TB) map[string][]byte {
	dir := vectorsDir(t)
	out := map[string][]byte{}
	for _, n := range []string{"example0.hex", "example1.hex", "example2.hex", "example2.severed-signed.hex", "example3.hex", "example4.hex", "example5.hex"} {
		out[n] = readHex(t, filepath.Join(dir, n))
	}
	return out
}

func TestVerifyOfficialExamples(t *testing.T) {
	_, pub := specKeys(t)
	keys := []VerifyKey{{Name: "spec key", Public: pub}}
	for name, data := range signedExamples(t) {
		v, err := Verify(data, keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !v.Authentic || !v.DigestOK || len(v.Blocks) != 1 || v.Blocks[0].KeyName != "spec key" || v.Blocks[0].AlgName != "ES256" {
			t.Fatalf("%s: not authentic: %+v", name, v)
		}
		if name == "example2.severed-signed.hex" {
			if len(v.Members) != 2 || v.Members[0].Present {
				t.Fatalf("severed members: %+v", v.Members)
			}
		}
		// Another key does not verify.
		v2, err := Verify(data, []VerifyKey{{Name: "wrong", Public: mustGenKey(t).Public()}})
		if err != nil || v2.Authentic || v2.Blocks[0].Reason == "" {
			t.Fatalf("%s verified with a wrong key: %+v", name, v2)
		}
	}
}

func TestSignThenVerify(t *testing.T) {
	priv, pub := specKeys(t)
	for name, data := range signedExamples(t) {
		unsigned, err := StripAuthBlocks(data)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := AddAuthBlocks(unsigned, func(payload []byte) ([][]byte, error) {
			b, err := cose.Sign1(rand.Reader, priv, cose.AlgES256, nil, payload)
			return [][]byte{b}, err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(signed) != len(data) {
			t.Errorf("%s: re-signed envelope is %d bytes, the official one %d", name, len(signed), len(data))
		}
		v, err := Verify(signed, []VerifyKey{{Name: "k", Public: pub}})
		if err != nil || !v.Authentic {
			t.Fatalf("%s: %v %+v", name, err, v)
		}
		// Only the signature differs from the official bytes.
		if !bytes.Equal(signed[:len(signed)-200], data[:len(data)-200]) && name != "example2.hex" {
			// the signature sits in the auth wrapper at the start; compare the tail instead
			if !bytes.Equal(signed[len(signed)-150:], data[len(data)-150:]) {
				t.Errorf("%s: signing changed bytes outside the signature", name)
			}
		}
	}
}

// Every single-byte change of each signed official example: no panic, no hang, and verification
// fails unless the change touched only unauthenticated bytes (the empty unprotected header).
func TestSingleByteMutations(t *testing.T) {
	_, pub := specKeys(t)
	keys := []VerifyKey{{Name: "spec key", Public: pub}}
	for name, data := range signedExamples(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			unprot := bytes.Index(data, []byte{0x43, 0xa1, 0x01, 0x26, 0xa0, 0xf6}) + 4
			if unprot < 4 {
				t.Fatalf("%s: no unprotected header found", name)
			}
			mut := make([]byte, len(data))
			passed := 0
			for i := range data {
				for x := 1; x < 256; x++ {
					copy(mut, data)
					mut[i] ^= byte(x)
					v, err := Verify(mut, keys)
					if err == nil && v.Authentic {
						if i != unprot {
							t.Fatalf("%s: changing byte %d (%02x -> %02x) still verifies", name, i, data[i], mut[i])
						}
						passed++
					}
				}
			}
			t.Logf("%s: %d mutations, %d of them in the unprotected header still verify", name, len(data)*255, passed)
		})
	}
}

func mustGenKey(t testing.TB) crypto.Signer {
	k, err := ecdsaGenerate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
