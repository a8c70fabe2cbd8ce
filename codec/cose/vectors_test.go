package cose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// vectorsDir is shared/spec/vectors beside the module root (never copied into the repo).
const vectorsDir = "../../../shared/spec/vectors"

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatalf("vector %s: %v", name, err)
	}
	var clean strings.Builder
	for _, c := range string(raw) {
		if strings.ContainsRune("0123456789abcdefABCDEF", c) {
			clean.WriteRune(c)
		}
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("vector %s: %v", name, err)
	}
	return b
}

func readPEM(t testing.TB, name string) any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatalf("key %s: %v", name, err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		t.Fatalf("key %s: no PEM block", name)
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Fatalf("key %s: PEM type %s", name, blk.Type)
	return nil
}

// envelopeAuth takes an encoded SUIT envelope (tagged or not) apart just far
// enough to return D (auth[0]'s content), the auth blocks (auth[1..]'s
// contents), the manifest bstr item (key 3) and the integrated members.
func envelopeAuth(t testing.TB, env []byte) (d []byte, blocks [][]byte, manifestItem []byte, integrated map[string][]byte) {
	t.Helper()
	if env[0] == 0xd8 && env[1] == 0x6b {
		env = env[2:]
	}
	var m map[any]cbor.RawMessage
	if err := cbor.Unmarshal(env, &m); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	var authBytes []byte
	if err := cbor.Unmarshal(m[uint64(2)], &authBytes); err != nil {
		t.Fatalf("auth wrapper: %v", err)
	}
	var auth [][]byte
	if err := cbor.Unmarshal(authBytes, &auth); err != nil {
		t.Fatalf("auth array: %v", err)
	}
	integrated = map[string][]byte{}
	for k, v := range m {
		if s, ok := k.(string); ok {
			var b []byte
			if err := cbor.Unmarshal(v, &b); err != nil {
				t.Fatal(err)
			}
			integrated[s] = b
		}
	}
	return auth[0], auth[1:], m[uint64(3)], integrated
}

func TestOfficialExamplesES256(t *testing.T) {
	pub := readPEM(t, "public_key.pem").(*ecdsa.PublicKey)
	for i := 0; i <= 5; i++ {
		name := "example" + string(rune('0'+i)) + ".hex"
		t.Run(name, func(t *testing.T) {
			d, blocks, manifest, _ := envelopeAuth(t, readHex(t, name))
			if len(blocks) != 1 {
				t.Fatalf("%d auth blocks, want 1", len(blocks))
			}
			sum := sha256.Sum256(manifest)
			if want := append([]byte{0x82, 0x2f, 0x58, 0x20}, sum[:]...); !bytes.Equal(d, want) {
				t.Fatalf("D = %x, want SUIT_Digest of the manifest %x", d, want)
			}
			m, err := Parse(blocks[0])
			if err != nil {
				t.Fatal(err)
			}
			if m.Tag != TagSign1 || m.Alg != AlgES256 || !m.PayloadDetached || m.KID != nil || len(m.Signature) != 64 {
				t.Fatalf("parsed %+v", m)
			}
			if !bytes.Equal(m.Unprotected, []byte{0xa0}) {
				t.Errorf("unprotected %x", m.Unprotected)
			}
			tbs := SigStructure(m.Protected, d)
			want, _ := hex.DecodeString("846a5369676e61747572653143a10126405824822f5820" + hex.EncodeToString(sum[:]))
			if len(tbs) != 55 || !bytes.Equal(tbs, want) {
				t.Fatalf("ToBeSigned %x, want the 55 bytes %x", tbs, want)
			}
			if err := m.VerifySignature(pub, d); err != nil {
				t.Fatalf("official signature: %v", err)
			}
			for j := range m.Signature {
				bad := *m
				bad.Signature = append([]byte(nil), m.Signature...)
				bad.Signature[j] ^= 0x01
				err := bad.VerifySignature(pub, d)
				var ae *AlgorithmError
				if !errors.Is(err, ErrVerification) || !errors.As(err, &ae) || ae.Alg != AlgES256 {
					t.Fatalf("flipped signature byte %d: err = %v, want ErrVerification", j, err)
				}
			}
			badD := append([]byte(nil), d...)
			badD[len(badD)-1] ^= 0x80
			if err := m.VerifySignature(pub, badD); !errors.Is(err, ErrVerification) {
				t.Fatalf("altered digest: %v", err)
			}
		})
	}
}

// The trust-domains examples are ESP256 with RFC 6979 signatures, so Sign1
// with a deterministic signer must reproduce them byte for byte.
func TestTrustDomainsESP256Reproduce(t *testing.T) {
	priv := readPEM(t, "private_key.pem").(*ecdsa.PrivateKey)
	pub := readPEM(t, "public_key.pem").(*ecdsa.PublicKey)
	files, _ := filepath.Glob(filepath.Join(vectorsDir, "trust-domains", "*.hex"))
	if len(files) == 0 {
		t.Fatal("no trust-domains vectors")
	}
	n := 0
	for _, f := range files {
		name := filepath.Join("trust-domains", filepath.Base(f))
		envs := [][]byte{readHex(t, name)}
		for k := 0; k < len(envs); k++ {
			d, blocks, _, integrated := envelopeAuth(t, envs[k])
			for _, v := range integrated {
				if len(v) > 2 && v[0] == 0xd8 && v[1] == 0x6b {
					envs = append(envs, v) // an integrated dependency is itself a signed envelope
				}
			}
			for _, blk := range blocks {
				m, err := Parse(blk)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if m.Alg != AlgESP256 {
					t.Fatalf("%s: alg %s, want ESP256", name, AlgorithmName(m.Alg))
				}
				if err := m.VerifySignature(pub, d); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := Sign1(nil, priv, AlgESP256, nil, d)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, blk) {
					t.Fatalf("%s: Sign1 with RFC 6979\n got %x\nwant %x", name, got, blk)
				}
				n++
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d signatures checked", n)
	}
}

func TestFirmwareEncryptionVectors(t *testing.T) {
	macKey := bytes.Repeat([]byte{'a'}, 32)
	specPub := readPEM(t, "public_key.pem")
	depPub := readPEM(t, "firmware-encryption/dependent_key_public.pem")
	files, _ := filepath.Glob(filepath.Join(vectorsDir, "firmware-encryption", "suit-manifest-*.signed.hex"))
	var macs, sigs int
	for _, f := range files {
		name := filepath.Join("firmware-encryption", filepath.Base(f))
		d, blocks, _, _ := envelopeAuth(t, readHex(t, name))
		for _, blk := range blocks {
			m, err := Parse(blk)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			switch m.Tag {
			case TagMac0:
				if err := m.VerifyMAC(macKey, d); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got, err := Mac0(macKey, AlgHMAC256, nil, d)
				if err != nil || !bytes.Equal(got, blk) {
					t.Fatalf("%s: Mac0 = %x, %v; want %x", name, got, err, blk)
				}
				wrong := bytes.Repeat([]byte{'b'}, 32)
				if err := m.VerifyMAC(wrong, d); !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "MAC mismatch") {
					t.Fatalf("%s: wrong key: %v", name, err)
				}
				macs++
			case TagSign1:
				pub := specPub
				if strings.Contains(name, "dependency") {
					pub = depPub
				}
				if err := m.VerifySignature(pub, d); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				sigs++
			}
		}
	}
	if macs != 3 {
		t.Fatalf("%d COSE_Mac0 vectors checked, want 3", macs)
	}
	t.Logf("%d Mac0, %d Sign1 verified", macs, sigs)
}
