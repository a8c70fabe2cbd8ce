package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	testFwID   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}
	testHW     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 1}
	testHW2    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 2}
	testOther  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 9}
	testComm   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 3, 1}
	testDepOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 2}
)

func testFirmware(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func fullAttrs() Attributes {
	typ := int64(1)
	return Attributes{
		ID:          PackageID{OID: testFwID, Version: 7},
		Stale:       &StaleVersion{Version: 5},
		Targets:     []asn1.ObjectIdentifier{testHW, testHW2},
		SigningTime: time.Date(2026, 6, 18, 12, 0, 0, 0, time.UTC),
		Description: "Demo firmware 7 for the SUIT Studio board",
		Info:        &PackageInfo{Type: &typ, Dependencies: []PackageID{{OID: testDepOID, Version: 3}, {Legacy: []byte("boot-1.2")}}},
		Communities: []Community{
			{OID: testComm},
			{HWType: testHW, Serials: []SerialEntry{{All: true}, {Single: []byte{1, 2}}, {Low: []byte{0, 1}, High: []byte{0, 9}}}},
		},
		ImplementedCrypto:   []asn1.ObjectIdentifier{OIDECDSAWithSHA256, OIDSHA256},
		ImplementedCompress: []asn1.ObjectIdentifier{{1, 2, 840, 113549, 1, 9, 16, 3, 8}},
	}
}

func testKeys(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]crypto.Signer{"P-256": p256, "P-384": p384, "RSA": rk, "Ed25519": ed}
}

func requireOpenSSL(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl not found: the CMS interoperability tests need it (scripts/install-deps.sh installs it)")
	}
}

// opensslVerify runs `openssl cms -verify` with the certificate as trust anchor and returns the
// firmware it extracts.
func opensslVerify(t *testing.T, pkg, certDER []byte) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	pp := filepath.Join(dir, "pkg.der")
	cp := filepath.Join(dir, "cert.pem")
	fp := filepath.Join(dir, "fw.bin")
	os.WriteFile(pp, pkg, 0o600)
	os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o600)
	out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-CAfile", cp, "-in", pp, "-out", fp).CombinedOutput()
	if err != nil {
		return nil, errors.New(string(out))
	}
	return os.ReadFile(fp)
}

func TestCreateVerifyOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	fw := testFirmware(100 << 10)
	for name, key := range testKeys(t) {
		for _, pss := range []bool{false, true} {
			if pss && name != "RSA" {
				continue
			}
			label := name
			if pss {
				label += "-PSS"
			}
			t.Run(label, func(t *testing.T) {
				cert, err := SelfSignedCertificate(key, "SUIT Studio test "+label, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				pkg, err := Create(fw, fullAttrs(), key, SignOptions{Certificate: cert, RSAPSS: pss})
				if err != nil {
					t.Fatal(err)
				}
				// OpenSSL 3.0 has no Ed25519 CMS (it cannot even sign one: "no default digest"),
				// so Ed25519 packages (RFC 8419: SHA-512, pure Ed25519 over the DER signed
				// attributes) are checked by our verifier only.
				got, err := fw, error(nil)
				if name != "Ed25519" {
					got, err = opensslVerify(t, pkg, cert)
				}
				if err != nil {
					t.Fatalf("openssl cms -verify rejects the package:\n%s", err)
				}
				if !bytes.Equal(got, fw) {
					t.Fatalf("openssl returned %d bytes, want the %d firmware bytes", len(got), len(fw))
				}
				c, _ := x509.ParseCertificate(cert)
				p, err := Verify(pkg, VerifyOptions{Trust: Trust{Certs: []*x509.Certificate{c}}, HardwareType: testHW2, Communities: []asn1.ObjectIdentifier{testComm}})
				if err != nil {
					t.Fatal(err)
				}
				checkFullAttrs(t, p)
				// Trust by bare public key works too.
				if _, err := Verify(pkg, VerifyOptions{Trust: Trust{Keys: []crypto.PublicKey{key.Public()}}, Communities: []asn1.ObjectIdentifier{testComm}}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func checkFullAttrs(t *testing.T, p *Package) {
	t.Helper()
	want := fullAttrs()
	if !p.ID.OID.Equal(testFwID) || p.ID.Version != 7 || p.Stale == nil || p.Stale.Version != 5 {
		t.Errorf("package id %+v stale %+v", p.ID, p.Stale)
	}
	if len(p.Targets) != 2 || !p.Targets[1].Equal(testHW2) {
		t.Errorf("targets %v", p.Targets)
	}
	if !p.SigningTime.Equal(want.SigningTime) {
		t.Errorf("signing time %v", p.SigningTime)
	}
	if p.Description != want.Description || !p.HintsType.Equal(OIDFirmwarePackage) {
		t.Errorf("content hints %q %v", p.Description, p.HintsType)
	}
	if p.Info == nil || *p.Info.Type != 1 || len(p.Info.Dependencies) != 2 || string(p.Info.Dependencies[1].Legacy) != "boot-1.2" || p.Info.Dependencies[0].Version != 3 {
		t.Errorf("info %+v", p.Info)
	}
	if len(p.Communities) != 2 || !p.Communities[0].OID.Equal(testComm) || len(p.Communities[1].Serials) != 3 || !p.Communities[1].Serials[0].All || !bytes.Equal(p.Communities[1].Serials[2].High, []byte{0, 9}) {
		t.Errorf("communities %+v", p.Communities)
	}
	if len(p.ImplementedCrypto) != 2 || len(p.ImplementedCompress) != 1 {
		t.Errorf("implemented %v %v", p.ImplementedCrypto, p.ImplementedCompress)
	}
	if p.SignedDataVersion != 3 || p.SignerVersion != 3 || len(p.SubjectKeyID) != 20 {
		t.Errorf("versions %d %d ski %x", p.SignedDataVersion, p.SignerVersion, p.SubjectKeyID)
	}
}

// openssl asn1parse shows the firmware package content type and every attribute OID.
func TestASN1ParseShowsOIDs(t *testing.T) {
	requireOpenSSL(t)
	key := testKeys(t)["P-256"]
	pkg, err := Create([]byte("firmware"), fullAttrs(), key, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pkg.der")
	os.WriteFile(p, pkg, 0o600)
	out, err := exec.Command("openssl", "asn1parse", "-inform", "DER", "-in", p).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl asn1parse: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{
		":pkcs7-signedData", ":contentType", ":messageDigest", ":signingTime", ":ecdsa-with-SHA256", ":sha256",
		"1.2.840.113549.1.9.16.1.16", // id-ct-firmwarePackage (OpenSSL has no name for it)
		"1.2.840.113549.1.9.16.2.35", "1.2.840.113549.1.9.16.2.36", "1.2.840.113549.1.9.16.2.38",
		"1.2.840.113549.1.9.16.2.40", "1.2.840.113549.1.9.16.2.42", "1.2.840.113549.1.9.16.2.43",
		":id-smime-aa-contentHint", // id-aa-contentHint 1.2.840.113549.1.9.16.2.4
	} {
		if !strings.Contains(s, want) {
			t.Errorf("asn1parse output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("asn1parse:\n%s", s)
	}
}

func TestVerifyFailures(t *testing.T) {
	keys := testKeys(t)
	key := keys["P-256"]
	trust := Trust{Keys: []crypto.PublicKey{key.Public()}}
	fw := testFirmware(4096)
	pkg, err := Create(fw, fullAttrs(), key, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(pkg, fw[100:132], bytes.Repeat([]byte{0xee}, 32), 1)
	stale := int64(7)
	notStale := int64(6)
	otherKey := Trust{Keys: []crypto.PublicKey{keys["P-384"].Public()}}
	inComm := []asn1.ObjectIdentifier{testComm}
	// A package whose content-type attribute differs from its eContentType, signed properly.
	ctAttrs, _ := encodeFirmwareAttrs(fullAttrs())
	mismatch := mustSigned(t, key, OIDFirmwarePackage, fw, ctAttrs, OIDFirmwareLoadRcpt)

	cases := []struct {
		name string
		pkg  []byte
		opts VerifyOptions
		code ErrorCode
	}{
		{"tampered firmware", tampered, VerifyOptions{Trust: trust}, SignatureFailure},
		{"wrong hardware", pkg, VerifyOptions{Trust: trust, HardwareType: testOther, Communities: inComm}, WrongHardware},
		{"stale", pkg, VerifyOptions{Trust: trust, Communities: inComm, Stale: []StaleEntry{{testFwID, stale}}}, StalePackage},
		{"untrusted signer", pkg, VerifyOptions{Trust: otherKey}, NoTrustAnchor},
		{"no trust", pkg, VerifyOptions{}, NoTrustAnchor},
		{"not in community", pkg, VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testOther}}, NotInCommunity},
		{"garbage", []byte("hello"), VerifyOptions{Trust: trust}, DecodeFailure},
		{"truncated", pkg[:len(pkg)-1], VerifyOptions{Trust: trust}, DecodeFailure},
		{"trailing", append(append([]byte{}, pkg...), 0), VerifyOptions{Trust: trust}, DecodeFailure},
		{"content-type mismatch", mismatch, VerifyOptions{Trust: trust}, ContentTypeMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(c.pkg, c.opts)
			if err == nil {
				t.Fatalf("accepted, want %v", c.code)
			}
			if CodeOf(err) != c.code {
				t.Fatalf("code %v, want %v: %v", CodeOf(err), c.code, err)
			}
			if !strings.HasPrefix(err.Error(), c.code.String()+":") {
				t.Errorf("message %q does not start with the RFC name", err)
			}
		})
	}
	// Not stale: the device refuses 6 and older, this is 7.
	if _, err := Verify(pkg, VerifyOptions{Trust: trust, Stale: []StaleEntry{{testFwID, notStale}}, HardwareType: testHW, HardwareSerial: []byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	// Flip one signature byte: signatureFailure.
	p2 := append([]byte{}, pkg...)
	p2[len(p2)-5] ^= 0x40
	if _, err := Verify(p2, VerifyOptions{Trust: trust}); CodeOf(err) != SignatureFailure && CodeOf(err) != BadSignerInfo {
		t.Errorf("flipped signature: %v", err)
	}
}

// mustSigned builds a SignedData whose content-type attribute is ctAttr, to test mismatches.
func mustSigned(t *testing.T, key crypto.Signer, eType asn1.ObjectIdentifier, content []byte, attrs []attribute, ctAttr asn1.ObjectIdentifier) []byte {
	t.Helper()
	der, err := signedDataWithContentType(key, eType, content, attrs, ctAttr)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCreateRefusesBadInput(t *testing.T) {
	key := testKeys(t)["P-256"]
	a := fullAttrs()
	a.Targets = nil
	if _, err := Create([]byte("x"), a, key, SignOptions{}); err == nil {
		t.Error("no target accepted")
	}
	a = fullAttrs()
	a.Stale = &StaleVersion{Version: 9}
	if _, err := Create([]byte("x"), a, key, SignOptions{}); err == nil {
		t.Error("stale >= version accepted")
	}
	a = fullAttrs()
	a.ID = PackageID{}
	if _, err := Create([]byte("x"), a, key, SignOptions{}); err == nil {
		t.Error("no package id accepted")
	}
	other := testKeys(t)["P-384"]
	cert, _ := SelfSignedCertificate(other, "other", time.Hour)
	if _, err := Create([]byte("x"), fullAttrs(), key, SignOptions{Certificate: cert}); err == nil {
		t.Error("certificate of another key accepted")
	}
}

func TestErrorCodeNames(t *testing.T) {
	for c, n := range map[ErrorCode]string{1: "decodeFailure", 15: "signatureFailure", 27: "wrongHardware", 28: "stalePackage", 36: "breaksDependency", 99: "otherError"} {
		if c.String() != n {
			t.Errorf("%d = %s, want %s", c, c, n)
		}
		if p, ok := ParseErrorCode(n); !ok || p != c {
			t.Errorf("ParseErrorCode(%s)", n)
		}
	}
}

func signedDataWithContentType(key crypto.Signer, eType asn1.ObjectIdentifier, content []byte, attrs []attribute, ct asn1.ObjectIdentifier) ([]byte, error) {
	return buildSigned(key, eType, content, attrs, SignOptions{}, ct)
}
