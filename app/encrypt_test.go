package app

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

// TestEncryptPayloadPipeline: for every content algorithm and every kind of
// recipient, `suit encrypt`'s use case encrypts an image, the source snippet
// it prints builds an envelope (write and fetch + copy forms), and the
// envelope's encrypted payload is found and decrypts to the image with each
// recipient's own key.
func TestEncryptPayloadPipeline(t *testing.T) {
	dir := t.TempDir()
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	p256b, _ := ecdh.P256().GenerateKey(rand.Reader)
	x255, _ := ecdh.X25519().GenerateKey(rand.Reader)
	kek16, kek32 := make([]byte, 16), make([]byte, 32)
	rand.Read(kek16)
	rand.Read(kek32)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubPEM := func(k *ecdh.PrivateKey) []byte {
		der, err := x509.MarshalPKIXPublicKey(k.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	privPEM := func(k *ecdh.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	recipients := []struct {
		name, pub, priv string
		kw              int
		wantAlg         int64
	}{
		{"A128KW", write("kek16.bin", kek16), write("kek16b.bin", kek16), 0, cose.AlgA128KW},
		{"A256KW", write("kek32.pem", pem.EncodeToMemory(&pem.Block{Type: KEKPEMType, Bytes: kek32})), write("kek32b.bin", kek32), 0, cose.AlgA256KW},
		{"ECDH-ES+A128KW P-256", write("p256.pub.pem", pubPEM(p256)), write("p256.pem", privPEM(p256)), 16, cose.AlgECDHESA128KW},
		{"ECDH-ES+A256KW P-256", write("p256b.pub.pem", pubPEM(p256b)), write("p256b.pem", privPEM(p256b)), 32, cose.AlgECDHESA256KW},
		{"ECDH-ES+A128KW X25519", write("x.pub.pem", pubPEM(x255)), write("x.pem", privPEM(x255)), 16, cose.AlgECDHESA128KW},
	}
	image := make([]byte, 3000)
	rand.Read(image)
	imageFile := write("fw.bin", image)
	for algName, alg := range ContentAlgorithms {
		var specs []cose.RecipientSpec
		for _, r := range recipients {
			s, err := RecipientKey(r.pub, []byte(r.name), r.kw, signerOpts())
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if s.Alg != r.wantAlg {
				t.Fatalf("%s: alg %d, want %d", r.name, s.Alg, r.wantAlg)
			}
			specs = append(specs, s)
		}
		res, err := EncryptPayload(EncryptRequest{Plaintext: image, ContentAlg: alg, Recipients: specs})
		if err != nil {
			t.Fatal(err)
		}
		write(algName+".enc", res.Ciphertext)
		write(algName+".info", res.Info)
		for _, useWrite := range []bool{true, false} {
			name := algName + "/copy"
			if useWrite {
				name = algName + "/write"
			}
			t.Run(name, func(t *testing.T) {
				install, integrated := res.SourceSnippet(algName+".info", algName+".enc", "fw.bin", 0, 1, useWrite)
				src := "manifest:\n  sequence-number: 1\n  components: [[h'00'], [h'01']]\n" + indent(install) + integrated
				env, err := suit.ParseSource([]byte(src), dir)
				if err != nil {
					t.Fatalf("%v\n%s", err, src)
				}
				data, err := suit.Encode(env)
				if err != nil {
					t.Fatal(err)
				}
				dec, err := suit.Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				ps := FindEncryptedPayloads(dec, nil)
				if len(ps) != 1 || ps[0].Ciphertext == nil {
					t.Fatalf("found %d payloads: %+v\n%s", len(ps), ps, src)
				}
				for i, r := range recipients {
					k, err := LoadDecryptionKey(r.priv)
					if err != nil {
						t.Fatal(err)
					}
					ps[0].Plaintext, ps[0].DecryptErr = nil, nil
					DecryptPayloads(ps, []cose.DecryptionKey{k})
					if ps[0].DecryptErr != nil {
						t.Fatalf("%s: %v", r.name, ps[0].DecryptErr)
					}
					if !bytes.Equal(ps[0].Plaintext, image) {
						t.Fatalf("%s: wrong plaintext", r.name)
					}
					if ps[0].Recipient != i {
						t.Errorf("%s opened recipient %d", r.name, ps[0].Recipient)
					}
				}
			})
		}
	}
	_ = imageFile
}

func signerOpts() signer.LoadOptions {
	return signer.LoadOptions{Getenv: func(string) string { return "" }}
}

func mustHexApp(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readHexFile(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := EnvelopeBytes(raw)
	if !ok {
		t.Fatalf("%s: not CBOR or hex", path)
	}
	return b
}

// indent shifts the top-level keys of a snippet under manifest:.
func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("  " + l)
		}
	}
	return b.String()
}

// TestFindEncryptedPayloadsVectors: every firmware-encryption example
// envelope has its encrypted payload found and decrypted with the draft's
// keys, including the one inside the integrated dependency.
func TestFindEncryptedPayloadsVectors(t *testing.T) {
	vec := "../../shared/spec/vectors/firmware-encryption/"
	kek := cose.DecryptionKey{KEK: []byte("aaaaaaaaaaaaaaaa")}
	d, _ := ecdh.P256().NewPrivateKey(mustHexApp(t, "60FE6DD6D85D5740A5349B6F91267EEAC5BA81B8CB53EE249E4B4EB102C476B3"))
	payload := readHexFile(t, vec+"encrypted-payload-aes-kw-aes-gcm.hex")
	for _, name := range []string{"aes-kw-content", "aes-kw-slot", "aes-kw", "es-ecdh-content", "es-ecdh-dependency"} {
		t.Run(name, func(t *testing.T) {
			e, err := suit.Decode(readHexFile(t, vec+"suit-manifest-"+name+".signed.hex"))
			if err != nil {
				t.Fatal(err)
			}
			ps := FindEncryptedPayloads(e, map[string][]byte{"coaps://example.com/encrypted-firmware": payload})
			if len(ps) != 1 {
				t.Fatalf("%d encrypted payloads", len(ps))
			}
			DecryptPayloads(ps, []cose.DecryptionKey{kek, {Private: d}})
			if ps[0].DecryptErr != nil || string(ps[0].Plaintext) != "This is a real firmware image." {
				t.Fatalf("%q, %v", ps[0].Plaintext, ps[0].DecryptErr)
			}
		})
	}
}

// The plain-words description of an encrypted example says what decrypts, with what.
func TestDescribeEncryptedPayload(t *testing.T) {
	e, err := suit.Decode(readHexFile(t, "../../shared/spec/vectors/firmware-encryption/suit-manifest-aes-kw.signed.hex"))
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range Describe(e).Procedures {
		for _, s := range p.Steps {
			all = append(all, s.Text)
		}
	}
	text := strings.Join(all, "\n")
	if !strings.Contains(text, `decrypting it (A128GCM; content key for 1 recipient(s): A128KW kid "kid-1")`) {
		t.Fatalf("description:\n%s", text)
	}
}
