package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// craft describes a SignedData built by hand, to make packages Create refuses to make.
type craft struct {
	sdVersion  int64
	digestAlgs []asn1.ObjectIdentifier // SignedData.digestAlgorithms
	siVersion  int64
	sid        []byte // full sid element; nil: [0] SKI of the key
	sigAlg     []byte // full AlgorithmIdentifier; nil: chosen by sigAlgFor
	pssOpts    *rsa.PSSOptions
	attrs      []rawAttr // extra signed attributes (values are full DER elements)
	unsigned   []rawAttr
	sortUnsign bool
	cert       []byte
}

func defaultCraft() craft {
	return craft{sdVersion: 3, digestAlgs: []asn1.ObjectIdentifier{OIDSHA256}, siVersion: 3}
}

func attrsSet(attrs []rawAttr, sorted bool) []byte {
	var encs [][]byte
	for _, a := range attrs {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(a.OID)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, v := range a.Values {
					b.AddBytes(v)
				}
			})
		})
		encs = append(encs, b.BytesOrPanic())
	}
	if sorted {
		sortDER(encs)
	}
	var out []byte
	for _, e := range encs {
		out = append(out, e...)
	}
	return out
}

func sortDER(encs [][]byte) {
	for i := range encs {
		for j := i + 1; j < len(encs); j++ {
			if string(encs[j]) < string(encs[i]) {
				encs[i], encs[j] = encs[j], encs[i]
			}
		}
	}
}

// build signs fw as a firmware package with the P-256 or RSA key per c.
func (c craft) build(t *testing.T, key crypto.Signer, fw []byte, a Attributes) []byte {
	t.Helper()
	fa, err := encodeFirmwareAttrs(a)
	if err != nil {
		t.Fatal(err)
	}
	md := sha256.Sum256(fw)
	ctVal, _ := asn1.Marshal(OIDFirmwarePackage)
	mdVal, _ := asn1.Marshal(md[:])
	all := []rawAttr{{OID: OIDAttrContentType, Values: [][]byte{ctVal}}, {OID: OIDAttrMessageDigest, Values: [][]byte{mdVal}}}
outer:
	for _, x := range fa {
		for _, r := range c.attrs { // c.attrs replace the attributes of the same type
			if r.OID.Equal(x.oid) {
				continue outer
			}
		}
		all = append(all, rawAttr{OID: x.oid, Values: [][]byte{x.value}})
	}
	all = append(all, c.attrs...)
	content := attrsSet(all, true)
	var sb cryptobyte.Builder
	sb.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	toSign := sb.BytesOrPanic()
	h := sha256.Sum256(toSign)
	var so crypto.SignerOpts = crypto.SHA256
	if c.pssOpts != nil {
		so = c.pssOpts
	}
	sig, err := key.Sign(rand.Reader, h[:], so)
	if err != nil {
		t.Fatal(err)
	}
	sigAlg := c.sigAlg
	if sigAlg == nil {
		_, _, sigAlg, _ = sigAlgFor(key.Public(), false)
	}
	sid := c.sid
	if sid == nil {
		ski, _ := SubjectKeyID(key.Public())
		var b cryptobyte.Builder
		b.AddASN1(tagCtx0P, func(b *cryptobyte.Builder) { b.AddBytes(ski) })
		sid = b.BytesOrPanic()
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(c.sdVersion)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for _, d := range c.digestAlgs {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(d) })
					}
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(OIDFirmwarePackage)
					b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddASN1OctetString(fw) })
				})
				if c.cert != nil {
					b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddBytes(c.cert) })
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(c.siVersion)
						b.AddBytes(sid)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDSHA256) })
						b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddBytes(content) })
						b.AddBytes(sigAlg)
						b.AddASN1OctetString(sig)
						if c.unsigned != nil {
							b.AddASN1(tagCtx1C, func(b *cryptobyte.Builder) { b.AddBytes(attrsSet(c.unsigned, c.sortUnsign)) })
						}
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func wantCode(t *testing.T, what string, err error, code ErrorCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted, want %v", what, code)
	}
	if CodeOf(err) != code {
		t.Fatalf("%s: %v, want %v: %v", what, CodeOf(err), code, err)
	}
}

func p256(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func skiElem(ski []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(tagCtx0P, func(b *cryptobyte.Builder) { b.AddBytes(ski) })
	return b.BytesOrPanic()
}

// Review item 1: only the anchor the sid names is tried.
func TestVerifyOnlyMatchingAnchor(t *testing.T) {
	key := p256(t)
	fw := testFirmware(256)
	trust := Trust{Keys: []crypto.PublicKey{key.Public()}}
	good := defaultCraft().build(t, key, fw, fullAttrs())
	if _, err := Verify(good, VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testComm}}); err != nil {
		t.Fatalf("well-formed crafted package refused: %v", err)
	}
	c := defaultCraft()
	c.sid = skiElem([]byte("made-up key identifier"))
	_, err := Verify(c.build(t, key, fw, fullAttrs()), VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testComm}})
	wantCode(t, "made-up SKI", err, NoTrustAnchor)

	// issuer-and-serial sid naming the trusted certificate: still no, packages use SKI (v3).
	certDER, _ := SelfSignedCertificate(key, "x", time.Hour)
	cert, _ := x509.ParseCertificate(certDER)
	ias, _ := asn1.Marshal(struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}{asn1.RawValue{FullBytes: cert.RawIssuer}, cert.SerialNumber})
	c = defaultCraft()
	c.sid, c.siVersion = ias, 1
	_, err = Verify(c.build(t, key, fw, fullAttrs()), VerifyOptions{Trust: Trust{Certs: []*x509.Certificate{cert}}})
	wantCode(t, "issuer-and-serial package", err, BadSignerInfo)
	// An issuer-and-serial sid with version 3 is no better.
	c.siVersion = 3
	_, err = Verify(c.build(t, key, fw, fullAttrs()), VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testComm}})
	wantCode(t, "issuer-and-serial v3 package", err, BadSignerInfo)
}

// Review item 2: a certificate given to Create must carry the SKI the SignerInfo uses.
func TestCreateCertificateSKI(t *testing.T) {
	key := p256(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "no ski"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	// Go adds an SKI only to CA certificates: this one has none.
	noSKI, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := x509.ParseCertificate(noSKI); len(c.SubjectKeyId) != 0 {
		t.Fatal("test certificate has an SKI")
	}
	_, err = Create([]byte("fw"), fullAttrs(), key, SignOptions{Certificate: noSKI})
	if err == nil || !strings.Contains(err.Error(), "--make-cert") {
		t.Fatalf("certificate without SKI: %v", err)
	}
	withSKI, _ := SelfSignedCertificate(key, "ski", time.Hour)
	_, err = Create([]byte("fw"), fullAttrs(), key, SignOptions{Certificate: withSKI, SubjectKeyID: []byte{1, 2, 3}})
	if err == nil || !strings.Contains(err.Error(), "differs") {
		t.Fatalf("SKI differing from the certificate's: %v", err)
	}
	if _, err := Create([]byte("fw"), fullAttrs(), key, SignOptions{Certificate: withSKI}); err != nil {
		t.Fatal(err)
	}
}

// Review item 3: SignedData v3, exactly one digestAlgorithm equal to the SignerInfo's, SignerInfo v3.
func TestVerifyVersionsAndDigestAlgorithms(t *testing.T) {
	key := p256(t)
	fw := testFirmware(128)
	trust := Trust{Keys: []crypto.PublicKey{key.Public()}}
	cases := []struct {
		name string
		mod  func(*craft)
		code ErrorCode
	}{
		{"SignedData v1", func(c *craft) { c.sdVersion = 1 }, BadSignedData},
		{"SignedData v4", func(c *craft) { c.sdVersion = 4 }, BadSignedData},
		{"no digestAlgorithm", func(c *craft) { c.digestAlgs = nil }, BadSignedData},
		{"two digestAlgorithms", func(c *craft) { c.digestAlgs = []asn1.ObjectIdentifier{OIDSHA256, OIDSHA512} }, BadSignedData},
		{"other digestAlgorithm", func(c *craft) { c.digestAlgs = []asn1.ObjectIdentifier{OIDSHA512} }, BadDigestAlgorithm},
		{"SignerInfo v1 with SKI", func(c *craft) { c.siVersion = 1 }, BadSignerInfo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultCraft()
			tc.mod(&c)
			_, err := Verify(c.build(t, key, fw, fullAttrs()), VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testComm}})
			wantCode(t, tc.name, err, tc.code)
		})
	}
}

// Review item 4: RSASSA-PSS as OpenSSL writes it (salt length "max", SHA-256 with NULL
// parameters) verifies; the parameters are decoded, not compared byte for byte.
func TestVerifyOpenSSLRSAPSS(t *testing.T) {
	requireOpenSSL(t)
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	fw := testFirmware(300)
	if err := os.WriteFile(filepath.Join(dir, "fw.bin"), fw, 0o600); err != nil {
		t.Fatal(err)
	}
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem", "-subj", "/CN=pss", "-days", "2", "-addext", "subjectKeyIdentifier=hash")
	run("cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in", "fw.bin", "-signer", "c.pem", "-inkey", "k.pem",
		"-keyid", "-md", "sha256", "-nosmimecap", "-econtent_type", OIDFirmwarePackage.String(), "-keyopt", "rsa_padding_mode:pss", "-out", "p.der")
	der, _ := os.ReadFile(filepath.Join(dir, "p.der"))
	cp, _ := os.ReadFile(filepath.Join(dir, "c.pem"))
	blk, _ := pem.Decode(cp)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sd, d, err := parseSignedData(der)
	if err != nil {
		t.Fatal(err)
	}
	if !sd.Signers[0].SigAlg.OID.Equal(OIDRSAPSS) {
		t.Fatalf("OpenSSL did not sign with RSASSA-PSS: %v", sd.Signers[0].SigAlg.OID)
	}
	if salt, err := parsePSSParams(sd.Signers[0].SigAlg.Params); err != nil || salt == 32 {
		t.Fatalf("OpenSSL PSS params: salt %d, %v (expected its own salt length, not ours)", salt, err)
	}
	if _, err := verifySignedData(sd, d, Trust{Certs: []*x509.Certificate{cert}}, OIDFirmwarePackage); err != nil {
		t.Fatalf("OpenSSL RSASSA-PSS package refused: %v", err)
	}
	// The full Verify then refuses it only for lacking the RFC 4108 attributes.
	_, err = Verify(der, VerifyOptions{Trust: Trust{Certs: []*x509.Certificate{cert}}})
	wantCode(t, "OpenSSL package without firmware attributes", err, BadSignedAttrs)
}

func TestParsePSSParams(t *testing.T) {
	hashAI := func(nullParams bool) func(b *cryptobyte.Builder) {
		return func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(OIDSHA256)
				if nullParams {
					b.AddASN1NULL()
				}
			})
		}
	}
	build := func(hash, mgf bool, salt, trailer int64, hashOID asn1.ObjectIdentifier) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if hash {
				b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(hashOID) })
				})
			}
			if mgf {
				b.AddASN1(tagCtx1C, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(OIDMGF1)
						hashAI(true)(b)
					})
				})
			}
			if salt >= 0 {
				b.AddASN1(tagCtx2C, func(b *cryptobyte.Builder) { b.AddASN1Int64(salt) })
			}
			if trailer >= 0 {
				b.AddASN1(cbasn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1Int64(trailer) })
			}
		})
		return b.BytesOrPanic()
	}
	if s, err := parsePSSParams(pssParamsSHA256); err != nil || s != 32 {
		t.Errorf("our own params: %d %v", s, err)
	}
	if s, err := parsePSSParams(build(true, true, -1, 1, OIDSHA256)); err != nil || s != 20 {
		t.Errorf("default salt: %d %v", s, err)
	}
	for name, p := range map[string][]byte{
		"hash absent (SHA-1)": build(false, true, 32, -1, OIDSHA256),
		"MGF absent (SHA-1)":  build(true, false, 32, -1, OIDSHA256),
		"SHA-512 hash":        build(true, true, 32, -1, OIDSHA512),
		"trailer 2":           build(true, true, 32, 2, OIDSHA256),
		"salt too large":      build(true, true, 5000, -1, OIDSHA256),
		"trailing data":       append(build(true, true, 32, -1, OIDSHA256), 0),
	} {
		if _, err := parsePSSParams(p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// Review item 5: unknown signed attributes may carry several values; known ones exactly one.
func TestUnknownAttributeValues(t *testing.T) {
	key := p256(t)
	fw := testFirmware(64)
	trust := Trust{Keys: []crypto.PublicKey{key.Public()}}
	v1, _ := asn1.Marshal(1)
	v2, _ := asn1.Marshal(2)
	c := defaultCraft()
	c.attrs = []rawAttr{{OID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, Values: [][]byte{v1, v2}}}
	p, err := Verify(c.build(t, key, fw, fullAttrs()), VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testComm}})
	if err != nil {
		t.Fatalf("unknown attribute with two values refused: %v", err)
	}
	if len(p.UnknownAttributes) != 1 {
		t.Errorf("unknown attributes %v", p.UnknownAttributes)
	}
	a := fullAttrs()
	a.SigningTime = time.Time{}
	t1, _ := asn1.Marshal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t2, _ := asn1.Marshal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	c.attrs = []rawAttr{{OID: OIDAttrSigningTime, Values: [][]byte{t1, t2}}}
	_, err = Verify(c.build(t, key, fw, a), VerifyOptions{Trust: trust, Communities: []asn1.ObjectIdentifier{testComm}})
	wantCode(t, "signing-time with two values", err, BadSignedAttrs)
}

// Review item 8 (part): ecdsa-with-SHA256 with NULL parameters, and unsupported key types.
func TestSignatureAlgorithmStrictness(t *testing.T) {
	key := p256(t)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDECDSAWithSHA256)
		b.AddASN1NULL()
	})
	c := defaultCraft()
	c.sigAlg = b.BytesOrPanic()
	_, err := Verify(c.build(t, key, testFirmware(64), fullAttrs()), VerifyOptions{Trust: Trust{Keys: []crypto.PublicKey{key.Public()}}})
	wantCode(t, "ecdsa-with-SHA256 with NULL", err, BadSignatureAlgorithm)
	_, _, alg, _ := sigAlgFor(key.Public(), false)
	err = checkSignature(struct{}{}, alg, []byte{0x31, 0}, []byte{1})
	wantCode(t, "unsupported key type", err, BadSignatureAlgorithm)
}

// Review item 6: stale versions per package identifier; communities refuse devices in none;
// hardware module lists match the device's type and serial number.
func TestDeviceChecksPerIdentifier(t *testing.T) {
	key := p256(t)
	trust := Trust{Keys: []crypto.PublicKey{key.Public()}}
	a := fullAttrs() // testFwID version 7; communities testComm and testHW {all, 0102, 0001..0009}
	pkg, err := Create([]byte("fw"), a, key, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := []asn1.ObjectIdentifier{testComm}
	// A stale version of another package identifier does not apply.
	if _, err := Verify(pkg, VerifyOptions{Trust: trust, Communities: in, Stale: []StaleEntry{{testDepOID, 100}}}); err != nil {
		t.Fatalf("stale version of another identifier applied: %v", err)
	}
	_, err = Verify(pkg, VerifyOptions{Trust: trust, Communities: in, Stale: []StaleEntry{{testDepOID, 100}, {testFwID, 7}}})
	wantCode(t, "own identifier stale", err, StalePackage)
	// Restricted package, device in no community.
	_, err = Verify(pkg, VerifyOptions{Trust: trust})
	wantCode(t, "no community", err, NotInCommunity)

	hwOnly := fullAttrs()
	hwOnly.Communities = []Community{{HWType: testHW, Serials: []SerialEntry{{Single: []byte{1, 2}}, {Low: []byte{0, 1}, High: []byte{0, 9}}}}}
	pkg2, err := Create([]byte("fw"), hwOnly, key, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		hw     asn1.ObjectIdentifier
		serial []byte
		ok     bool
	}{
		{testHW, []byte{1, 2}, true},
		{testHW, []byte{0, 5}, true},
		{testHW, []byte{0, 9}, true},
		{testHW, []byte{0, 10}, false},
		{testHW, []byte{5}, false},
		{testHW, nil, false},
		{testHW2, []byte{1, 2}, false},
	} {
		_, err := Verify(pkg2, VerifyOptions{Trust: trust, HardwareType: c.hw, HardwareSerial: c.serial})
		if c.ok && err != nil {
			t.Errorf("%v %x refused: %v", c.hw, c.serial, err)
		}
		if !c.ok {
			if c.hw.Equal(testHW2) {
				wantCode(t, "other hardware", err, NotInCommunity)
			} else {
				wantCode(t, "serial outside the list", err, NotInCommunity)
			}
		}
	}
}

// Review item 7: a receipt's signing-time after 2049 is a GeneralizedTime (UTCTime cannot hold
// it), and DecodeReport reads both forms back.
func TestReceiptSigningTimeForms(t *testing.T) {
	key := p256(t)
	rcpt := &LoadReceipt{HWType: testHW, HWSerialNum: []byte("SN1"), PackageName: PackageID{OID: testFwID, Version: 7}}
	trust := &Trust{Keys: []crypto.PublicKey{key.Public()}}
	for _, when := range []time.Time{
		time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		time.Date(2051, 3, 4, 5, 6, 7, 0, time.UTC),
		time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		der, err := EncodeReceipt(rcpt, key, when, SignOptions{})
		if err != nil {
			t.Fatalf("%v: %v", when, err)
		}
		rep, err := DecodeReport(der, trust)
		if err != nil {
			t.Fatalf("%v: %v", when, err)
		}
		if !rep.SigningTime.Equal(when) {
			t.Errorf("signing time %v, want %v", rep.SigningTime, when)
		}
	}
}

func der(t *testing.T, f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Review item 8: content-hints, empty targets, name/stale forms, firmware-package-message-digest,
// unsorted unsigned attributes.
func TestAttributeStrictness(t *testing.T) {
	key := p256(t)
	fw := testFirmware(200)
	opts := VerifyOptions{Trust: Trust{Keys: []crypto.PublicKey{key.Public()}}, Communities: []asn1.ObjectIdentifier{testComm}}
	hints := func(desc *string) []byte {
		return der(t, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if desc != nil {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(*desc)) })
				}
				b.AddASN1ObjectIdentifier(OIDFirmwarePackage)
			})
		})
	}
	empty := ""
	fwDigest := func(alg asn1.ObjectIdentifier, d []byte, extra bool) []byte {
		return der(t, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(alg) })
				b.AddASN1OctetString(d)
				if extra {
					b.AddASN1Int64(1)
				}
			})
		})
	}
	sum := sha256.Sum256(fw)
	legacyNumeric := der(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString([]byte("legacy-1"))
			b.AddASN1Int64(0)
		})
	})
	preferredLegacy := der(t, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			marshalPackageID(b, PackageID{OID: testFwID, Version: 7})
			b.AddASN1OctetString([]byte("old"))
		})
	})
	cases := []struct {
		name string
		attr rawAttr
		code ErrorCode // 0: accepted
	}{
		{"content-hints without description", rawAttr{OID: OIDAttrContentHints, Values: [][]byte{hints(nil)}}, BadSignedAttrs},
		{"content-hints with empty description", rawAttr{OID: OIDAttrContentHints, Values: [][]byte{hints(&empty)}}, BadSignedAttrs},
		{"empty target list", rawAttr{OID: OIDAttrTargetHardwareIDs, Values: [][]byte{oidSeq(nil)}}, BadSignedAttrs},
		{"legacy name, numeric stale", rawAttr{OID: OIDAttrFirmwarePackageID, Values: [][]byte{legacyNumeric}}, BadSignedAttrs},
		{"preferred name, legacy stale", rawAttr{OID: OIDAttrFirmwarePackageID, Values: [][]byte{preferredLegacy}}, BadSignedAttrs},
		{"fw digest matches", rawAttr{OID: OIDAttrFwPkgMessageDigest, Values: [][]byte{fwDigest(OIDSHA256, sum[:], false)}}, 0},
		{"fw digest differs", rawAttr{OID: OIDAttrFwPkgMessageDigest, Values: [][]byte{fwDigest(OIDSHA256, make([]byte, 32), false)}}, SignatureFailure},
		{"fw digest trailing data", rawAttr{OID: OIDAttrFwPkgMessageDigest, Values: [][]byte{fwDigest(OIDSHA256, sum[:], true)}}, BadSignedAttrs},
		{"fw digest unknown algorithm", rawAttr{OID: OIDAttrFwPkgMessageDigest, Values: [][]byte{fwDigest(OIDSHA384, sum[:], false)}}, BadDigestAlgorithm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultCraft()
			c.attrs = []rawAttr{tc.attr}
			a := fullAttrs()
			a.Description = ""
			_, err := Verify(c.build(t, key, fw, a), opts)
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, tc.name, err, tc.code)
		})
	}
	// Create refuses mismatched forms too.
	a := fullAttrs()
	a.ID = PackageID{Legacy: []byte("legacy-1")}
	a.Stale = &StaleVersion{Version: 0}
	if _, err := Create(fw, a, key, SignOptions{}); err == nil || !strings.Contains(err.Error(), "form") {
		t.Errorf("legacy name with numeric stale: %v", err)
	}
	a = fullAttrs()
	a.Stale = &StaleVersion{Legacy: []byte("old")}
	if _, err := Create(fw, a, key, SignOptions{}); err == nil {
		t.Error("preferred name with legacy stale accepted")
	}
	// Unsigned attributes need not be in DER order.
	c := defaultCraft()
	c.unsigned = []rawAttr{
		{OID: OIDAttrWrappedFirmwareKey, Values: [][]byte{{0x04, 0x01, 0xff}}},
		{OID: OIDAttrWrappedFirmwareKey, Values: [][]byte{{0x04, 0x01, 0x01}}},
	}
	if _, err := Verify(c.build(t, key, fw, fullAttrs()), opts); err != nil {
		t.Fatalf("unsorted unsigned attributes refused: %v", err)
	}
}
