package signer

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	gocose "github.com/veraison/go-cose"
)

// officialDigests returns the encoded SUIT_Digest (the COSE payload) of every official example.
func officialDigests(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for i := 0; i <= 5; i++ {
		name := fmt.Sprintf("example%d.hex", i)
		b, err := os.ReadFile(filepath.Join(vectors(t), name))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := decodeHex(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		env, err := suit.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = suit.EncodeDigest(&env.Auth.Digest)
	}
	return out
}

func decodeHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	out := make([]byte, len(s)/2)
	for i := range out {
		var v byte
		if _, err := fmt.Sscanf(s[2*i:2*i+2], "%02x", &v); err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Every official example's manifest digest signed with token keys verifies with the exported
// public key (codec/cose), and ES256 with veraison/go-cose too.
func TestPKCS11SignOfficialExamples(t *testing.T) {
	h := newSoftHSM(t)
	s := openTestSession(t, h, "examples")
	digests := officialDigests(t)
	for _, kt := range []KeyType{P256, P384, Ed25519} {
		ki, err := s.Generate(kt, "ex-"+kt.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := ParseURI(ki.URI)
		u.PINSource = h.pinFile(t, testUserPIN)
		k, err := LoadSigner(u.String(), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pemb, _ := PublicPEM(k.Public())
		exported, err := ParsePublic(pemb)
		if err != nil {
			t.Fatal(err)
		}
		for name, d := range digests {
			msg, err := cose.Sign1(rand.Reader, k, k.Algorithm(), k.KeyID(), d)
			if err != nil {
				t.Fatalf("%s %s: %v", kt, name, err)
			}
			m, err := cose.Parse(msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.VerifySignature(exported, d); err != nil {
				t.Errorf("%s %s: %v", kt, name, err)
			}
			// A different digest must not verify.
			other := append([]byte(nil), d...)
			other[len(other)-1] ^= 1
			if err := m.VerifySignature(exported, other); err == nil {
				t.Errorf("%s %s: signature verifies over another digest", kt, name)
			}
			if kt != P256 {
				continue
			}
			var gm gocose.Sign1Message
			if err := gm.UnmarshalCBOR(msg); err != nil {
				t.Fatalf("go-cose cannot parse: %v", err)
			}
			gm.Payload = d
			v, err := gocose.NewVerifier(gocose.AlgorithmES256, exported)
			if err != nil {
				t.Fatal(err)
			}
			if err := gm.Verify(nil, v); err != nil {
				t.Errorf("go-cose rejects the token's ES256 signature on %s: %v", name, err)
			}
			// And go-cose signing through the token key verifies with codec/cose.
			gs, err := gocose.NewSigner(gocose.AlgorithmES256, k)
			if err != nil {
				t.Fatal(err)
			}
			g := gocose.NewSign1Message()
			g.Headers.Protected.SetAlgorithm(gocose.AlgorithmES256)
			g.Payload = d
			if err := g.Sign(rand.Reader, nil, gs); err != nil {
				t.Fatal(err)
			}
			g.Payload = nil
			out, err := g.MarshalCBOR()
			if err != nil {
				t.Fatal(err)
			}
			gm2, err := cose.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := gm2.VerifySignature(exported, d); err != nil {
				t.Errorf("go-cose signature through the token does not verify: %v", err)
			}
		}
		CloseKey(k)
	}
}
