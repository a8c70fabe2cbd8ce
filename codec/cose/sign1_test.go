package cose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	gocose "github.com/veraison/go-cose"
)

var suitDigest = append([]byte{0x82, 0x2f, 0x58, 0x20}, bytes.Repeat([]byte{0xab}, 32)...)

func mustECDSA(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEd25519(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSign1RoundTrip(t *testing.T) {
	p256, p384, p521, ed := mustECDSA(t, elliptic.P256()), mustECDSA(t, elliptic.P384()), mustECDSA(t, elliptic.P521()), mustEd25519(t)
	cases := []struct {
		alg    int64
		key    crypto.Signer
		sigLen int
	}{
		{AlgES256, p256, 64}, {AlgESP256, p256, 64},
		{AlgES384, p384, 96}, {AlgESP384, p384, 96},
		{AlgES512, p521, 132}, {AlgESP512, p521, 132},
		{AlgEdDSA, ed, 64}, {AlgEd25519, ed, 64},
	}
	for _, c := range cases {
		for _, kid := range [][]byte{nil, []byte("key-1")} {
			t.Run(AlgorithmName(c.alg), func(t *testing.T) {
				msg, err := Sign1(rand.Reader, c.key, c.alg, kid, suitDigest)
				if err != nil {
					t.Fatal(err)
				}
				m, err := Parse(msg)
				if err != nil {
					t.Fatal(err)
				}
				if m.Alg != c.alg || !bytes.Equal(m.KID, kid) || m.KIDProtected != (kid != nil) || !m.PayloadDetached || len(m.Signature) != c.sigLen {
					t.Fatalf("parsed %+v", m)
				}
				if err := m.VerifySignature(c.key.Public(), suitDigest); err != nil {
					t.Fatal(err)
				}
				// A different key of the same type does not verify.
				var other crypto.PublicKey
				if c.alg == AlgEdDSA || c.alg == AlgEd25519 {
					other = mustEd25519(t).Public()
				} else {
					other = mustECDSA(t, c.key.Public().(*ecdsa.PublicKey).Curve).Public()
				}
				if err := m.VerifySignature(other, suitDigest); !errors.Is(err, ErrVerification) {
					t.Fatalf("other key: %v", err)
				}
				// Wrong signature length is reported as such.
				short := *m
				short.Signature = m.Signature[:len(m.Signature)-1]
				if err := short.VerifySignature(c.key.Public(), suitDigest); !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "bytes") {
					t.Fatalf("short signature: %v", err)
				}
			})
		}
	}
}

func TestSign1ExactEncoding(t *testing.T) {
	k := mustECDSA(t, elliptic.P256())
	msg, err := Sign1(nil, k, AlgES256, nil, suitDigest)
	if err != nil {
		t.Fatal(err)
	}
	// d2 84 43 a10126 a0 f6 5840 <64>: the 74-byte block of the spec examples (76 with its bstr head).
	if len(msg) != 74 || !bytes.HasPrefix(msg, []byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0xf6, 0x58, 0x40}) {
		t.Fatalf("Sign1 = %x", msg)
	}
	msg, err = Sign1(nil, k, AlgESP256, []byte{1, 2}, suitDigest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte{0xd2, 0x84, 0x47, 0xa2, 0x01, 0x28, 0x04, 0x42, 0x01, 0x02, 0xa0, 0xf6, 0x58, 0x40}) {
		t.Fatalf("Sign1 with kid = %x", msg)
	}
}

func TestAlgorithmKeyMismatch(t *testing.T) {
	p256, p384, ed := mustECDSA(t, elliptic.P256()), mustECDSA(t, elliptic.P384()), mustEd25519(t)
	cases := []struct {
		alg  int64
		key  crypto.Signer
		want error
		text string
	}{
		{AlgES256, p384, ErrKeyMismatch, "needs an ECDSA P-256 key, got an ECDSA P-384 key"},
		{AlgESP384, p256, ErrKeyMismatch, "needs an ECDSA P-384 key"},
		{AlgEdDSA, p256, ErrKeyMismatch, "needs an Ed25519 key"},
		{AlgES256, ed, ErrKeyMismatch, "needs an ECDSA P-256 key, got an Ed25519 key"},
		{AlgHMAC256, p256, ErrKeyMismatch, "MAC algorithm"},
		{-46, p256, ErrKeyMismatch, "needs an HSS-LMS public key, got an ECDSA P-256 key"},
		{-999, p256, ErrUnsupportedAlgorithm, "unknown (-999)"},
	}
	for _, c := range cases {
		_, err := Sign1(rand.Reader, c.key, c.alg, nil, suitDigest)
		var ae *AlgorithmError
		if !errors.Is(err, c.want) || !errors.As(err, &ae) || ae.Alg != c.alg || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Sign1(%s, %T): %v; want %v containing %q", AlgorithmName(c.alg), c.key, err, c.want, c.text)
		}
	}
	// Verification side: an ES256 message checked with a P-384 or Ed25519 key.
	msg, _ := Sign1(rand.Reader, p256, AlgES256, nil, suitDigest)
	m, _ := Parse(msg)
	for _, pub := range []crypto.PublicKey{p384.Public(), ed.Public(), nil, "not a key"} {
		if err := m.VerifySignature(pub, suitDigest); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("verify with %T: %v", pub, err)
		}
	}
	if err := m.VerifyMAC(bytes.Repeat([]byte{1}, 32), suitDigest); !errors.Is(err, ErrUnsupported) {
		t.Errorf("VerifyMAC on a Sign1: %v", err)
	}
	if err := m.VerifySignature(p256.Public(), nil); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "detached") {
		t.Errorf("no detached payload: %v", err)
	}
}

func TestAlgorithmNamesAndKeys(t *testing.T) {
	names := map[int64]string{AlgES256: "ES256", AlgESP256: "ESP256", AlgEdDSA: "EdDSA", AlgEd25519: "Ed25519",
		AlgHMAC256: "HMAC 256/256", AlgES384: "ES384", AlgESP384: "ESP384", AlgES512: "ES512", AlgESP512: "ESP512", -999: "unknown (-999)"}
	for alg, want := range names {
		if got := AlgorithmName(alg); got != want {
			t.Errorf("AlgorithmName(%d) = %q, want %q", alg, got, want)
		}
	}
	for _, c := range []struct {
		pub  crypto.PublicKey
		want int64
	}{
		{mustECDSA(t, elliptic.P256()).Public(), AlgES256},
		{mustECDSA(t, elliptic.P384()).Public(), AlgES384},
		{mustECDSA(t, elliptic.P521()).Public(), AlgES512},
		{mustEd25519(t).Public(), AlgEdDSA},
	} {
		if got, err := AlgorithmForKey(c.pub); err != nil || got != c.want {
			t.Errorf("AlgorithmForKey(%T) = %d, %v; want %d", c.pub, got, err, c.want)
		}
	}
	if _, err := AlgorithmForKey(mustECDSA(t, elliptic.P224()).Public()); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("P-224: %v", err)
	}
	if _, err := AlgorithmForKey([]byte("secret")); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("bytes: %v", err)
	}
}

// opaqueSigner exposes only crypto.Signer, as an HSM key does; rawRS makes it
// return r||s instead of DER, as some PKCS#11 wrappers do.
type opaqueSigner struct {
	k     *ecdsa.PrivateKey
	rawRS bool
	bad   bool
}

func (s opaqueSigner) Public() crypto.PublicKey { return s.k.Public() }
func (s opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.bad {
		digest = append([]byte{1}, digest[1:]...)
	}
	der, err := s.k.Sign(r, digest, opts)
	if err != nil || !s.rawRS {
		return der, err
	}
	raw, err := ecdsaRawSignature(der, 32)
	return raw, err
}

func TestSign1OpaqueSigner(t *testing.T) {
	k := mustECDSA(t, elliptic.P256())
	for _, raw := range []bool{false, true} {
		msg, err := Sign1(rand.Reader, opaqueSigner{k: k, rawRS: raw}, AlgESP256, nil, suitDigest)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := Parse(msg)
		if err := m.VerifySignature(&k.PublicKey, suitDigest); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Sign1(rand.Reader, opaqueSigner{k: k, bad: true}, AlgESP256, nil, suitDigest)
	if !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "own public key") {
		t.Fatalf("faulty signer: %v", err)
	}
}

func TestECDSARawSignaturePadding(t *testing.T) {
	// r and s with leading zeros must be left-padded to the curve size.
	der := []byte{0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x01, 0x02}
	got, err := ecdsaRawSignature(der, 32)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 64)
	want[31], want[62], want[63] = 0x80, 0x01, 0x02
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x", got)
	}
	for _, bad := range [][]byte{{0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x80, 0x02}, append([]byte{0x30, 0x46, 0x02, 0x21}, make([]byte, 68)...)} {
		if _, err := ecdsaRawSignature(bad, 32); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func TestMac0RoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{'k'}, 32)
	msg, err := Mac0(key, AlgHMAC256, []byte("kid"), suitDigest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tag != TagMac0 || m.Alg != AlgHMAC256 || string(m.KID) != "kid" || len(m.Signature) != 32 {
		t.Fatalf("parsed %+v", m)
	}
	if err := m.VerifyMAC(key, suitDigest); err != nil {
		t.Fatal(err)
	}
	for i := range m.Signature {
		bad := *m
		bad.Signature = append([]byte(nil), m.Signature...)
		bad.Signature[i] ^= 0x20
		if err := bad.VerifyMAC(key, suitDigest); !errors.Is(err, ErrVerification) {
			t.Fatalf("flipped tag byte %d: %v", i, err)
		}
	}
	if err := m.VerifySignature(mustEd25519(t).Public(), suitDigest); !errors.Is(err, ErrUnsupported) {
		t.Errorf("VerifySignature on a Mac0: %v", err)
	}
	if _, err := Mac0(key[:16], AlgHMAC256, nil, suitDigest); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("short key: %v", err)
	}
	if _, err := Mac0(key, AlgES256, nil, suitDigest); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("Mac0 with ES256: %v", err)
	}
}

func TestParseMalformed(t *testing.T) {
	cases := []struct {
		name string
		hex  []byte
		want error
		text string
	}{
		{"empty", nil, ErrMalformed, "empty"},
		{"truncated", []byte{0xd2, 0x84, 0x43}, ErrMalformed, "well-formed"},
		{"untagged", []byte{0x84, 0x40, 0xa0, 0xf6, 0x40}, ErrMalformed, "untagged array"},
		{"wrong tag", []byte{0xd8, 0x6b, 0x84, 0x40, 0xa0, 0xf6, 0x40}, ErrMalformed, "tag 107"},
		{"COSE_Sign", []byte{0xd8, 0x62, 0x84, 0x40, 0xa0, 0xf6, 0x80}, ErrUnsupported, "COSE_Sign"},
		{"COSE_Mac", []byte{0xd8, 0x61, 0x85, 0x40, 0xa0, 0xf6, 0x40, 0x80}, ErrUnsupported, "COSE_Mac"},
		{"three members", []byte{0xd2, 0x83, 0x40, 0xa0, 0xf6}, ErrMalformed, "4 members"},
		{"protected not bstr", []byte{0xd2, 0x84, 0xa1, 0x01, 0x26, 0xa0, 0xf6, 0x40}, ErrMalformed, "byte string"},
		{"protected not map", []byte{0xd2, 0x84, 0x41, 0x01, 0xa0, 0xf6, 0x40}, ErrMalformed, "encode a map"},
		{"duplicate key", []byte{0xd2, 0x84, 0x45, 0xa2, 0x01, 0x26, 0x01, 0x26, 0xa0, 0xf6, 0x40}, ErrMalformed, "duplicate"},
		{"label in both", []byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x01, 0x26, 0xf6, 0x40}, ErrMalformed, "both"},
		{"crit", []byte{0xd2, 0x84, 0x46, 0xa2, 0x01, 0x26, 0x02, 0x81, 0x01, 0xa0, 0xf6, 0x40}, ErrUnsupported, "crit"},
		{"indefinite", []byte{0xd2, 0x9f, 0x40, 0xa0, 0xf6, 0x40, 0xff}, ErrMalformed, "indefinite"},
		{"trailing", []byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40, 0x00}, ErrMalformed, ""},
		{"payload int", []byte{0xd2, 0x84, 0x40, 0xa0, 0x01, 0x40}, ErrMalformed, "payload"},
		{"huge claimed length", []byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrMalformed, "well-formed"},
	}
	for _, c := range cases {
		_, err := Parse(c.hex)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v; want %v containing %q", c.name, err, c.want, c.text)
		}
	}
	// Missing alg parses (the structure is fine) but cannot verify.
	m, err := Parse([]byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.VerifySignature(mustEd25519(t).Public(), suitDigest); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "no alg") {
		t.Errorf("missing alg: %v", err)
	}
	// Header key order is not enforced: {4: h'01', 1: -7} parses.
	m, err = Parse([]byte{0xd2, 0x84, 0x46, 0xa2, 0x04, 0x41, 0x01, 0x01, 0x26, 0xa0, 0xf6, 0x40})
	if err != nil || m.Alg != AlgES256 || !bytes.Equal(m.KID, []byte{1}) || !bytes.Equal(m.Protected, []byte{0xa2, 0x04, 0x41, 0x01, 0x01, 0x26}) {
		t.Errorf("non-canonical header: %+v, %v", m, err)
	}
}

// Cross-check with veraison/go-cose: it has no detached API, so the SUIT
// digest travels as an attached payload there; the Sig_structure is the same
// (payload field bstr(D)), so signatures are interchangeable.
func TestCrossCheckGoCOSE(t *testing.T) {
	p256, ed := mustECDSA(t, elliptic.P256()), mustEd25519(t)
	for _, c := range []struct {
		alg   int64
		galg  gocose.Algorithm
		key   crypto.Signer
		ourFn string
	}{
		{AlgES256, gocose.AlgorithmES256, p256, "ES256"},
		{AlgEdDSA, gocose.AlgorithmEdDSA, ed, "EdDSA"},
	} {
		t.Run(c.ourFn, func(t *testing.T) {
			// ours -> go-cose
			msg, err := Sign1(rand.Reader, c.key, c.alg, []byte("k1"), suitDigest)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := Parse(msg)
			var gm gocose.Sign1Message
			attached := append([]byte(nil), msg...)
			// replace the null payload (f6) after the header by bstr(D)
			i := bytes.Index(attached, []byte{0xa0, 0xf6})
			attached = append(append(append([]byte(nil), attached[:i+1]...), appendBstr(nil, suitDigest)...), attached[i+2:]...)
			if err := gm.UnmarshalCBOR(attached); err != nil {
				t.Fatal(err)
			}
			v, err := gocose.NewVerifier(c.galg, c.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			if err := gm.Verify(nil, v); err != nil {
				t.Fatalf("go-cose rejects our signature: %v", err)
			}
			// go-cose -> ours
			s, err := gocose.NewSigner(c.galg, c.key)
			if err != nil {
				t.Fatal(err)
			}
			g := gocose.NewSign1Message()
			g.Headers.Protected.SetAlgorithm(c.galg)
			g.Headers.Protected[gocose.HeaderLabelKeyID] = []byte("k1")
			g.Payload = suitDigest
			if err := g.Sign(rand.Reader, nil, s); err != nil {
				t.Fatal(err)
			}
			enc, err := g.MarshalCBOR()
			if err != nil {
				t.Fatal(err)
			}
			gp, err := Parse(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gp.Protected, m.Protected) {
				t.Errorf("protected headers differ: go-cose %x, ours %x", gp.Protected, m.Protected)
			}
			if gp.PayloadDetached || !bytes.Equal(gp.Payload, suitDigest) {
				t.Fatalf("payload %x", gp.Payload)
			}
			// verify go-cose's signature as if detached
			gp.Payload, gp.PayloadDetached = nil, true
			if err := gp.VerifySignature(c.key.Public(), suitDigest); err != nil {
				t.Fatalf("go-cose signature rejected: %v", err)
			}
		})
	}
}
