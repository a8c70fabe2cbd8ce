package suit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/codec/cose"
)

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedBy re-signs example 0 (unsigned) with one ES256 block of key.
func signedBy(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	data := readHex(t, filepath.Join(vectorsDir(t), "example0.unsigned.hex"))
	out, err := AddAuthBlocks(data, func(payload []byte) ([][]byte, error) {
		b, err := cose.Sign1(rand.Reader, key, cose.AlgES256, []byte("fw-signer"), payload)
		return [][]byte{b}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func token(t testing.TB, issuer crypto.Signer, kid string, subject crypto.PublicKey, subjectKID string, exp time.Time) []byte {
	t.Helper()
	b, err := MakeDelegationToken(issuer, 0, []byte(kid), DelegationClaims{Subject: subject, SubjectKID: []byte(subjectKID), Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attach(t testing.TB, env []byte, chains ...[][]byte) []byte {
	t.Helper()
	out, err := AttachDelegation(env, chains)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var dlgNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func TestDelegationTokenRoundTrip(t *testing.T) {
	anchor, sub := newP256(t), newP256(t)
	exp := dlgNow.Add(time.Hour)
	b, err := MakeDelegationToken(anchor, 0, []byte("ta"), DelegationClaims{Issuer: "vendor", Subject: &sub.PublicKey, SubjectKID: []byte("fw"), Expires: exp, NotBefore: dlgNow.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseDelegationToken(b)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Alg != cose.AlgES256 || string(tok.KID) != "ta" || tok.Claims.Issuer != "vendor" || string(tok.Claims.SubjectKID) != "fw" ||
		!tok.Claims.Expires.Equal(exp) || !sub.PublicKey.Equal(tok.Claims.Subject) {
		t.Fatalf("round trip lost something: %+v", tok)
	}
	if err := tok.msg.VerifySignature(&anchor.PublicKey, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyDelegationChainOfOne(t *testing.T) {
	anchor, fw := newP256(t), newP256(t)
	env := attach(t, signedBy(t, fw), [][]byte{token(t, anchor, "ta", &fw.PublicKey, "fw", time.Time{})})
	// Not verifiable by the anchor alone without the chain.
	v0, err := VerifyAt(signedBy(t, fw), []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}, dlgNow)
	if err != nil || v0.ManifestAuthentic {
		t.Fatalf("without the chain the anchor must not verify: %v %+v", err, v0)
	}
	v, err := VerifyAt(env, []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}, dlgNow)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Authentic || !v.Blocks[0].Verified || v.Blocks[0].Delegation == nil {
		t.Fatalf("delegated block should verify: %+v", v)
	}
	if got, want := v.Blocks[0].KeyName, `key "fw" delegated from trust anchor TA`; got != want {
		t.Fatalf("key name %q, want %q", got, want)
	}
}

func TestVerifyDelegationChainOfTwo(t *testing.T) {
	anchor, mid, fw := newP256(t), newP256(t), newP256(t)
	chain := [][]byte{token(t, anchor, "ta", &mid.PublicKey, "oem", dlgNow.Add(time.Hour)), token(t, mid, "oem", &fw.PublicKey, "fw", time.Time{})}
	env := attach(t, signedBy(t, fw), chain)
	v, err := VerifyAt(env, []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}, dlgNow)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Authentic || len(v.Chains) != 1 || !v.Chains[0].OK {
		t.Fatalf("two-token chain should verify: %+v", v)
	}
	if got, want := v.Blocks[0].KeyName, `key "fw" delegated from key "oem" delegated from trust anchor TA`; got != want {
		t.Fatalf("key name %q, want %q", got, want)
	}
	// A second, broken chain before the good one does not hurt; more than one chain MAY be used.
	bad := [][]byte{token(t, newP256(t), "x", &fw.PublicKey, "fw", time.Time{})}
	v, err = VerifyAt(attach(t, signedBy(t, fw), bad, chain), []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}, dlgNow)
	if err != nil || !v.Authentic || v.Blocks[0].Delegation.Index != 2 {
		t.Fatalf("second chain should verify: %v %+v", err, v)
	}
}

func TestVerifyDelegationRefused(t *testing.T) {
	anchor, mid, fw, other := newP256(t), newP256(t), newP256(t), newP256(t)
	anchors := []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}
	tampered := token(t, anchor, "ta", &fw.PublicKey, "fw", time.Time{})
	tampered[len(tampered)-1] ^= 1
	// Tamper the claims: swap the delegated key for another one, keeping the anchor's signature.
	good := token(t, anchor, "ta", &fw.PublicKey, "fw", time.Time{})
	swapped := token(t, anchor, "ta", &other.PublicKey, "fw", time.Time{})
	gm, _ := cose.Parse(good)
	sm, _ := cose.Parse(swapped)
	var w writer
	w.tag(cose.TagSign1)
	w.array(4)
	w.bytes(gm.Protected)
	w.raw(gm.Unprotected)
	w.bytes(sm.Payload)
	w.bytes(gm.Signature)
	claimsSwapped := w.buf
	cases := []struct {
		name string
		env  []byte
		want string
	}{
		{"broken link", attach(t, signedBy(t, fw), [][]byte{token(t, anchor, "ta", &mid.PublicKey, "oem", time.Time{}), token(t, other, "x", &fw.PublicKey, "fw", time.Time{})}), "token 2 is not signed by the key token 1 delegates to"},
		{"wrong anchor", attach(t, signedBy(t, fw), [][]byte{token(t, other, "x", &fw.PublicKey, "fw", time.Time{})}), "token 1 is not signed by any trust anchor"},
		{"expired", attach(t, signedBy(t, fw), [][]byte{token(t, anchor, "ta", &fw.PublicKey, "fw", dlgNow.Add(-time.Second))}), "token 1 expired at 2026-05-31T23:59:59Z"},
		{"tampered signature", attach(t, signedBy(t, fw), [][]byte{tampered}), "token 1 is not signed by any trust anchor"},
		{"tampered claims", attach(t, signedBy(t, other), [][]byte{claimsSwapped}), "token 1 is not signed by any trust anchor"},
		{"manifest not signed by the delegated key", attach(t, signedBy(t, other), [][]byte{good}), "the key of delegation chain 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := VerifyAt(c.env, anchors, dlgNow)
			if err != nil {
				t.Fatal(err)
			}
			if v.ManifestAuthentic || v.Blocks[0].Verified {
				t.Fatalf("must be refused: %+v", v)
			}
			if !strings.Contains(v.Blocks[0].Reason, c.want) {
				t.Fatalf("reason %q does not say %q", v.Blocks[0].Reason, c.want)
			}
		})
	}
}

func TestVerifyDelegationNotYetValid(t *testing.T) {
	anchor, fw := newP256(t), newP256(t)
	b, err := MakeDelegationToken(anchor, 0, nil, DelegationClaims{Subject: &fw.PublicKey, NotBefore: dlgNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyAt(attach(t, signedBy(t, fw), [][]byte{b}), []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}, dlgNow)
	if err != nil || v.ManifestAuthentic || !strings.Contains(v.Blocks[0].Reason, "not valid before") {
		t.Fatalf("not-yet-valid token must be refused: %v %+v", err, v)
	}
}

func TestParseDelegationMalformed(t *testing.T) {
	for _, in := range [][]byte{{0x40}, {0x41, 0x80}, {0x42, 0x81, 0x80}, {0x43, 0x81, 0x81, 0x01}, {0x81}} {
		if _, err := ParseDelegation(in); err == nil {
			t.Errorf("%x: want an error", in)
		}
	}
	var chain [][]byte
	for range MaxDelegationChain + 1 {
		chain = append(chain, []byte{0})
	}
	if _, err := ParseDelegation(EncodeDelegation([][][]byte{chain})); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("a chain longer than %d must be refused: %v", MaxDelegationChain, err)
	}
}

func BenchmarkVerifyDelegationChainOfTwo(b *testing.B) {
	anchor, mid, fw := newP256(b), newP256(b), newP256(b)
	env := attach(b, signedBy(b, fw), [][]byte{token(b, anchor, "ta", &mid.PublicKey, "oem", time.Time{}), token(b, mid, "oem", &fw.PublicKey, "fw", time.Time{})})
	keys := []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}
	b.ReportAllocs()
	for b.Loop() {
		v, err := VerifyAt(env, keys, dlgNow)
		if err != nil || !v.Authentic {
			b.Fatal(err, v)
		}
	}
}

// A malformed delegation member is reported in the verdict (not authentic), not as unusable input;
// a block the anchor verifies directly is still reported as verified.
func TestVerifyDelegationMalformedMember(t *testing.T) {
	anchor := newP256(t)
	re, err := SplitEnvelope(signedBy(t, anchor))
	if err != nil {
		t.Fatal(err)
	}
	re.Set(EnvDelegation, wrap([]byte{0x80}))
	v, err := VerifyAt(re.Bytes(), []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}, dlgNow)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Blocks[0].Verified || v.Authentic || !strings.Contains(v.Reason, "suit-delegation) is malformed") {
		t.Fatalf("want a verified block and a not-authentic verdict naming member 1: %+v", v)
	}
}

// FuzzVerifyDelegation: envelopes carrying delegation chains never panic the verifier, and one
// whose block verifies only through a chain names the chain.
func FuzzVerifyDelegation(f *testing.F) {
	anchor, mid, fw := newP256(f), newP256(f), newP256(f)
	f.Add(attach(f, signedBy(f, fw), [][]byte{token(f, anchor, "ta", &mid.PublicKey, "oem", dlgNow.Add(time.Hour)), token(f, mid, "oem", &fw.PublicKey, "fw", time.Time{})}))
	f.Add(attach(f, signedBy(f, fw), [][]byte{token(f, anchor, "ta", &fw.PublicKey, "", time.Time{})}))
	keys := []VerifyKey{{Name: "TA", Public: &anchor.PublicKey}}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := VerifyAt(data, keys, dlgNow)
		if err != nil {
			return
		}
		for _, b := range v.Blocks {
			if b.Verified && b.Delegation != nil && (!b.Delegation.OK || !strings.Contains(b.KeyName, "trust anchor TA")) {
				t.Fatalf("block verified through a chain that is not valid: %+v", b)
			}
		}
	})
}
