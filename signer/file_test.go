package signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// vectors is shared/spec/vectors beside the repository (module root's parent holds shared/).
func vectors(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("../../shared/spec/vectors")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "private_key.pem")); err != nil {
		t.Fatalf("official vectors not found at %s: %v", d, err)
	}
	return d
}

// verifySig checks a signature made by a Key with the standard library, as a verifier would.
func verifySig(t *testing.T, pub crypto.PublicKey, msg, sig []byte, pss bool) {
	t.Helper()
	h := sha256.Sum256(msg)
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		d := h[:]
		if p.Curve.Params().BitSize == 384 {
			h384 := crypto.SHA384.New()
			h384.Write(msg)
			d = h384.Sum(nil)
		}
		if !ecdsa.VerifyASN1(p, d, sig) {
			t.Fatalf("ECDSA signature does not verify")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(p, msg, sig) {
			t.Fatalf("Ed25519 signature does not verify")
		}
	case *rsa.PublicKey:
		var err error
		if pss {
			err = rsa.VerifyPSS(p, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(p, crypto.SHA256, h[:], sig)
		}
		if err != nil {
			t.Fatalf("RSA signature does not verify: %v", err)
		}
	default:
		t.Fatalf("unexpected public key %T", pub)
	}
}

// signMsg signs msg with k the way COSE does for k's algorithm.
func signMsg(t *testing.T, k Key, msg []byte) []byte {
	t.Helper()
	var (
		sig []byte
		err error
	)
	switch k.Algorithm() {
	case AlgES256:
		h := sha256.Sum256(msg)
		sig, err = k.Sign(rand.Reader, h[:], crypto.SHA256)
	case AlgES384:
		h := crypto.SHA384.New()
		h.Write(msg)
		sig, err = k.Sign(rand.Reader, h.Sum(nil), crypto.SHA384)
	case AlgEdDSA:
		sig, err = k.Sign(rand.Reader, msg, crypto.Hash(0))
	case AlgPS256:
		h := sha256.Sum256(msg)
		sig, err = k.Sign(rand.Reader, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	default:
		t.Fatalf("unexpected alg %d", k.Algorithm())
	}
	if err != nil {
		t.Fatalf("%s: sign: %v", k.Description(), err)
	}
	return sig
}

func TestLoadOfficialKey(t *testing.T) {
	vec := vectors(t)
	for _, name := range []string{"private_key.pem", "keys.pem"} {
		k, err := LoadSigner(filepath.Join(vec, name), LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.Algorithm() != AlgES256 {
			t.Errorf("%s: alg %d, want -7", name, k.Algorithm())
		}
		pub, err := LoadPublic(filepath.Join(vec, "public_key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if !equalPublic(pub, k.Public()) {
			t.Fatalf("%s: public part differs from public_key.pem", name)
		}
		// The kid is SHA-256 of the SubjectPublicKeyInfo, truncated to 8 bytes.
		der, _ := x509.MarshalPKIXPublicKey(pub)
		sum := sha256.Sum256(der)
		if !bytes.Equal(k.KeyID(), sum[:8]) {
			t.Errorf("kid %x, want %x", k.KeyID(), sum[:8])
		}
		if !strings.Contains(k.Description(), "P-256") || !strings.Contains(k.Description(), name) {
			t.Errorf("description %q", k.Description())
		}
		verifySig(t, pub, []byte("suit"), signMsg(t, k, []byte("suit")), false)
		// The private-key file also gives its public key.
		if pub2, err := LoadPublic(filepath.Join(vec, name)); err != nil || !equalPublic(pub, pub2) {
			t.Fatalf("LoadPublic(%s) = %v", name, err)
		}
	}
}

func TestGenerateFileEachType(t *testing.T) {
	dir := t.TempDir()
	for _, kt := range []KeyType{P256, P384, Ed25519, RSA3072} {
		t.Run(kt.String(), func(t *testing.T) {
			p := filepath.Join(dir, kt.String()+".pem")
			if err := GenerateFile(p, kt); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			if err := GenerateFile(p, kt); !errors.Is(err, ErrExists) {
				t.Errorf("second GenerateFile = %v, want ErrExists", err)
			}
			k, err := LoadSigner(p, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("firmware digest input")
			verifySig(t, k.Public(), msg, signMsg(t, k, msg), k.Algorithm() == AlgPS256)
			// OpenSSL reads what we write.
			if out, err := exec.Command("openssl", "pkey", "-in", p, "-noout", "-text").CombinedOutput(); err != nil {
				t.Fatalf("openssl pkey: %v\n%s", err, out)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("temporary file left behind: %s", e.Name())
				}
			}
		})
	}
}

func TestParseSEC1AndPKCS1(t *testing.T) {
	dir := t.TempDir()
	ec := filepath.Join(dir, "ec.pem")
	if out, err := exec.Command("openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", ec).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(ec)
	if !bytes.Contains(b, []byte("EC PRIVATE KEY")) {
		t.Fatalf("openssl did not write SEC1:\n%s", b)
	}
	k, err := LoadSigner(ec, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Algorithm() != AlgES384 {
		t.Errorf("alg %d want -35", k.Algorithm())
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	rp := filepath.Join(dir, "rsa.pem")
	os.WriteFile(rp, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), 0o600)
	k, err = LoadSigner(rp, LoadOptions{})
	if err != nil || k.Algorithm() != AlgPS256 {
		t.Fatalf("PKCS#1: %v", err)
	}
	// DER PKCS#8 without PEM armour.
	der, _ := x509.MarshalPKCS8PrivateKey(rk)
	dp := filepath.Join(dir, "rsa.der")
	os.WriteFile(dp, der, 0o600)
	if _, err := LoadSigner(dp, LoadOptions{}); err != nil {
		t.Fatalf("DER: %v", err)
	}
}

func TestMACKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mac.pem")
	if err := GenerateMACFile(p); err != nil {
		t.Fatal(err)
	}
	k, err := LoadPrivate(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mk, ok := k.(MACKey)
	if !ok || len(mk.MACKey()) != 32 || len(mk.KeyID()) != 8 {
		t.Fatalf("got %T", k)
	}
	if _, err := LoadSigner(p, LoadOptions{}); !errors.Is(err, ErrWrongKeyType) {
		t.Errorf("LoadSigner on a MAC key = %v", err)
	}
	// Explicit kid header.
	p2 := filepath.Join(dir, "mac2.pem")
	os.WriteFile(p2, pem.EncodeToMemory(&pem.Block{Type: MACPEMType, Headers: map[string]string{"Key-ID": "0102"}, Bytes: bytes.Repeat([]byte{7}, 32)}), 0o600)
	k, err = LoadPrivate(p2, LoadOptions{})
	if err != nil || !bytes.Equal(k.(MACKey).KeyID(), []byte{1, 2}) {
		t.Fatalf("kid header: %v", err)
	}
	// Too short.
	os.WriteFile(p2, pem.EncodeToMemory(&pem.Block{Type: MACPEMType, Bytes: []byte("short")}), 0o600)
	if _, err := LoadPrivate(p2, LoadOptions{}); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("short MAC key = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	pubOnly := filepath.Join(vectors(t), "public_key.pem")
	if _, err := LoadPrivate(pubOnly, LoadOptions{}); !errors.Is(err, ErrNoKeyInFile) {
		t.Errorf("public key as private = %v", err)
	}
	if _, err := LoadPrivate(filepath.Join(dir, "missing.pem"), LoadOptions{}); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file = %v", err)
	}
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("hello"), 0o600)
	if _, err := LoadPrivate(junk, LoadOptions{}); !errors.Is(err, ErrNoKeyInFile) {
		t.Errorf("junk = %v", err)
	}
	if _, err := LoadPublic(junk); !errors.Is(err, ErrNoKeyInFile) {
		t.Errorf("junk public = %v", err)
	}
}

func TestExportFormats(t *testing.T) {
	dir := t.TempDir()
	for _, kt := range []KeyType{P256, P384, Ed25519, RSA3072} {
		p := filepath.Join(dir, kt.String()+".pem")
		if err := GenerateFile(p, kt); err != nil {
			t.Fatal(err)
		}
		k, _ := LoadSigner(p, LoadOptions{})
		pemb, err := PublicPEM(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		if pub, err := ParsePublic(pemb); err != nil || !equalPublic(pub, k.Public()) {
			t.Fatalf("%v PEM round trip: %v", kt, err)
		}
		ck, err := COSEKey(k.Public(), k.KeyID())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublic(ck)
		if err != nil || !equalPublic(pub, k.Public()) {
			t.Fatalf("%v COSE_Key round trip: %v", kt, err)
		}
		ck2, _ := COSEKey(pub, k.KeyID())
		if !bytes.Equal(ck, ck2) {
			t.Errorf("%v COSE_Key not deterministic", kt)
		}
		c, err := CArray(k.Public(), k.KeyID(), "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c, "static const uint8_t suit_trust_anchor[] = {") {
			t.Errorf("C array:\n%s", c)
		}
	}
}

// The official key's COSE_Key is fixed: kty 2, kid, alg -7, crv 1, x, y in deterministic order.
func TestCOSEKeyOfficial(t *testing.T) {
	pub, err := LoadPublic(filepath.Join(vectors(t), "public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := COSEKey(pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := pub.(*ecdsa.PublicKey)
	raw, _ := ep.Bytes()
	want := append([]byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20}, raw[1:33]...)
	want = append(append(want, 0x22, 0x58, 0x20), raw[33:]...)
	if !bytes.Equal(ck, want) {
		t.Fatalf("COSE_Key\n got %x\nwant %x", ck, want)
	}
	c, _ := CArray(pub, []byte{1, 2}, "")
	if !strings.Contains(c, "0x04, 0x84, 0x96, 0x81,") || !strings.Contains(c, "kid 0102") {
		t.Errorf("C array of official key:\n%s", c)
	}
}

var cryptoSHA256 = crypto.SHA256

func sha256sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
