package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sort"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file holds the CMS SignedData layer (RFC 5652) that firmware packages, load receipts and
// load errors share: DER encoding with a subjectKeyIdentifier SignerInfo (version 3), decoding
// with byte offsets, and signature verification. smallstep/pkcs7 cannot express version 3
// SignerInfos identified by subjectKeyIdentifier, a custom eContentType or DER-sorted custom
// attributes, so the structure is written with cryptobyte.

var (
	tagCtx0C = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagCtx1C = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagCtx2C = cbasn1.Tag(2).ContextSpecific().Constructed()
	tagCtx0P = cbasn1.Tag(0).ContextSpecific()
	tagCtx1P = cbasn1.Tag(1).ContextSpecific()
)

func fmtErr(format string, args ...any) error { return fmt.Errorf(format, args...) }

// attribute is one CMS Attribute with its single DER-encoded value.
type attribute struct {
	oid   asn1.ObjectIdentifier
	value []byte // one DER element
}

// encodeAttributes encodes attrs as the content of a DER SET OF Attribute: elements sorted by
// their encodings (X.690 §11.6).
func encodeAttributes(attrs []attribute) ([]byte, error) {
	encs := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(a.oid)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(a.value) })
		})
		e, err := b.Bytes()
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", OIDName(a.oid), err)
		}
		encs = append(encs, e)
	}
	sort.Slice(encs, func(i, j int) bool { return bytes.Compare(encs[i], encs[j]) < 0 })
	return bytes.Join(encs, nil), nil
}

// SignOptions choose how a SignedData is signed.
type SignOptions struct {
	// SubjectKeyID identifies the signer (SignerInfo sid). Empty: the certificate's
	// SubjectKeyIdentifier, else SubjectKeyID(public key) (RFC 5280 §4.2.1.2 method 1, as
	// OpenSSL computes it).
	SubjectKeyID []byte
	// Certificate (DER) goes into SignedData.certificates; nil leaves it out (a device's trust
	// anchor signed directly).
	Certificate []byte
	// RSAPSS signs RSA keys with RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) instead of
	// PKCS#1 v1.5.
	RSAPSS bool
	// Rand is the randomness source for signatures (crypto/rand when nil).
	Rand io.Reader
}

// SubjectKeyID computes a key identifier as RFC 5280 §4.2.1.2 method 1: SHA-1 of the
// subjectPublicKey BIT STRING's bytes. OpenSSL uses the same method.
func SubjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algo      asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return h[:], nil
}

// sigAlgFor chooses the digest and signature algorithms for a key (RFC 5754, RFC 5758,
// RFC 4056, RFC 8419: Ed25519 with signed attributes uses SHA-512).
func sigAlgFor(pub crypto.PublicKey, pss bool) (digest asn1.ObjectIdentifier, h crypto.Hash, sigAlg []byte, err error) {
	var b cryptobyte.Builder
	switch pub.(type) {
	case *ecdsa.PublicKey:
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDECDSAWithSHA256) })
		digest, h = OIDSHA256, crypto.SHA256
	case *rsa.PublicKey:
		if pss {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(OIDRSAPSS)
				b.AddBytes(pssParamsSHA256)
			})
		} else {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(OIDSHA256WithRSA)
				b.AddASN1NULL()
			})
		}
		digest, h = OIDSHA256, crypto.SHA256
	case ed25519.PublicKey:
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDEd25519) })
		digest, h = OIDSHA512, crypto.SHA512
	default:
		return nil, 0, nil, fmt.Errorf("unsupported key %T (ECDSA, RSA or Ed25519)", pub)
	}
	sigAlg, err = b.Bytes()
	return
}

// pssParamsSHA256 is RSASSA-PSS-params {sha256, mgf1SHA256, saltLength 32} (RFC 4055).
var pssParamsSHA256 = func() []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDSHA256) })
		})
		b.AddASN1(tagCtx1C, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(OIDMGF1)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDSHA256) })
			})
		})
		b.AddASN1(tagCtx2C, func(b *cryptobyte.Builder) { b.AddASN1Int64(32) })
	})
	return b.BytesOrPanic()
}()

func newHash(h crypto.Hash) hash.Hash {
	if h == crypto.SHA512 {
		return sha512.New()
	}
	return sha256.New()
}

// signedDataDER builds ContentInfo(id-signedData) -> SignedData v3 with one SignerInfo v3
// (subjectKeyIdentifier). attrs are the signed attributes besides content-type and
// message-digest, which are computed here.
func signedDataDER(key crypto.Signer, eType asn1.ObjectIdentifier, eContent []byte, attrs []attribute, opts SignOptions) ([]byte, error) {
	return buildSigned(key, eType, eContent, attrs, opts, eType)
}

// buildSigned is signedDataDER with the content-type attribute given separately (tests make
// mismatching packages with it).
func buildSigned(key crypto.Signer, eType asn1.ObjectIdentifier, eContent []byte, attrs []attribute, opts SignOptions, ctAttr asn1.ObjectIdentifier) ([]byte, error) {
	if key == nil {
		return nil, errors.New("cms: no signing key")
	}
	pub := key.Public()
	digestOID, h, sigAlg, err := sigAlgFor(pub, opts.RSAPSS)
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	ski := opts.SubjectKeyID
	if opts.Certificate != nil {
		// A verifier (OpenSSL included) finds the signer's certificate by the SignerInfo's sid,
		// compared with the certificate's Subject Key Identifier extension: without that
		// extension, or with a different sid, the package cannot be verified with it.
		c, err := x509.ParseCertificate(opts.Certificate)
		if err != nil {
			return nil, fmt.Errorf("cms: certificate: %w", err)
		}
		if !publicEqual(c.PublicKey, pub) {
			return nil, errors.New("cms: the certificate is not the signing key's (public keys differ)")
		}
		if len(c.SubjectKeyId) == 0 {
			return nil, errors.New("cms: the certificate has no Subject Key Identifier extension, so a verifier cannot match it to the SignerInfo (RFC 4108 identifies the signer by subjectKeyIdentifier): use --make-cert, or a certificate with a Subject Key Identifier")
		}
		if len(ski) > 0 && !bytes.Equal(ski, c.SubjectKeyId) {
			return nil, fmt.Errorf("cms: the subject key identifier %x differs from the certificate's Subject Key Identifier %x: leave it out, or use the certificate's", ski, c.SubjectKeyId)
		}
		ski = c.SubjectKeyId
	}
	if len(ski) == 0 {
		if ski, err = SubjectKeyID(pub); err != nil {
			return nil, fmt.Errorf("cms: %w", err)
		}
	}
	hh := newHash(h)
	hh.Write(eContent)
	md := hh.Sum(nil)
	ctVal, _ := asn1.Marshal(ctAttr)
	mdVal, _ := asn1.Marshal(md)
	all := append([]attribute{{OIDAttrContentType, ctVal}, {OIDAttrMessageDigest, mdVal}}, attrs...)
	seen := map[string]bool{}
	for _, a := range all {
		if seen[a.oid.String()] {
			return nil, fmt.Errorf("cms: attribute %s given twice", OIDName(a.oid))
		}
		seen[a.oid.String()] = true
	}
	attrsContent, err := encodeAttributes(all)
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	// The signature covers the attributes encoded as SET OF (tag 0x31), RFC 5652 §5.4.
	var sb cryptobyte.Builder
	sb.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(attrsContent) })
	toSign := sb.BytesOrPanic()
	var sig []byte
	switch pub.(type) {
	case ed25519.PublicKey:
		sig, err = key.Sign(opts.Rand, toSign, crypto.Hash(0))
	default:
		d := newHash(h)
		d.Write(toSign)
		var so crypto.SignerOpts = h
		if _, isRSA := pub.(*rsa.PublicKey); isRSA && opts.RSAPSS {
			so = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}
		}
		sig, err = key.Sign(randOr(opts.Rand), d.Sum(nil), so)
	}
	if err != nil {
		return nil, fmt.Errorf("cms: sign: %w", err)
	}
	// A faulty signer (or token) must not produce a package that does not verify.
	if err := checkSignature(pub, sigAlg, toSign, sig); err != nil {
		return nil, fmt.Errorf("cms: the signature does not verify with the key's own public key: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(3)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(digestOID) })
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(eType)
					b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddASN1OctetString(eContent) })
				})
				if opts.Certificate != nil {
					b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddBytes(opts.Certificate) })
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(3)
						b.AddASN1(tagCtx0P, func(b *cryptobyte.Builder) { b.AddBytes(ski) })
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(digestOID) })
						b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddBytes(attrsContent) })
						b.AddBytes(sigAlg)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

var cryptoRand = rand.Reader

func randOr(r io.Reader) io.Reader {
	if r == nil {
		return cryptoRand
	}
	return r
}

func publicEqual(a, b crypto.PublicKey) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(eq); ok {
		return e.Equal(b)
	}
	return false
}

// ---------------------------------------------------------------------------------------------
// Decoding

type algID struct {
	OID    asn1.ObjectIdentifier
	Params []byte // full DER element, nil when absent
}

type rawAttr struct {
	OID    asn1.ObjectIdentifier
	Values [][]byte // full DER elements
	Offset int
}

type signerInfo struct {
	Version         int64
	SKI             []byte
	IssuerSerial    []byte // raw, when the signer is identified by issuer and serial number
	DigestAlg       algID
	SignedAttrsDER  []byte // the [0] element as in the input
	Attrs           []rawAttr
	SigAlg          algID
	SigAlgDER       []byte
	Signature       []byte
	UnsignedAttrs   []rawAttr
	HasUnsignedAttr bool
	Offset          int
}

type signedData struct {
	Version      int64
	DigestAlgs   []algID
	EContentType asn1.ObjectIdentifier
	EContent     []byte
	HasEContent  bool
	Certs        [][]byte
	HasCRLs      bool
	Signers      []signerInfo
}

// decoder reads DER with byte offsets into the whole input.
type decoder struct {
	whole []byte
}

func (d *decoder) off(s cryptobyte.String) int {
	if len(s) == 0 && cap(s) == 0 {
		return len(d.whole)
	}
	return cap(d.whole) - cap(s)
}

// parseContentInfo reads ContentInfo and returns its content type and the [0] content.
func (d *decoder) parseContentInfo() (asn1.ObjectIdentifier, cryptobyte.String, error) {
	in := cryptobyte.String(d.whole)
	var ci cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) {
		return nil, nil, fail(DecodeFailure, "ContentInfo", 0, "not a DER SEQUENCE (is this a CMS file in DER? PEM and BER are not accepted)")
	}
	if !in.Empty() {
		return nil, nil, fail(DecodeFailure, "ContentInfo", d.off(in), "%d bytes of trailing data", len(in))
	}
	var ct asn1.ObjectIdentifier
	if !ci.ReadASN1ObjectIdentifier(&ct) {
		return nil, nil, fail(BadContentInfo, "ContentInfo.contentType", d.off(ci), "not an OBJECT IDENTIFIER")
	}
	var content cryptobyte.String
	if !ci.ReadASN1(&content, tagCtx0C) || !ci.Empty() {
		return nil, nil, fail(BadContentInfo, "ContentInfo.content", d.off(ci), "missing or malformed [0] EXPLICIT content")
	}
	return ct, content, nil
}

func (d *decoder) readAlgID(s *cryptobyte.String, step string, code ErrorCode) (algID, []byte, error) {
	start := d.off(*s)
	var el, body cryptobyte.String
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
		return algID{}, nil, fail(code, step, start, "not an AlgorithmIdentifier SEQUENCE")
	}
	inner := el
	inner.ReadASN1(&body, cbasn1.SEQUENCE)
	var a algID
	if !body.ReadASN1ObjectIdentifier(&a.OID) {
		return algID{}, nil, fail(code, step, start, "AlgorithmIdentifier without OID")
	}
	if !body.Empty() {
		var p cryptobyte.String
		if !body.ReadAnyASN1Element(&p, new(cbasn1.Tag)) || !body.Empty() {
			return algID{}, nil, fail(code, step, start, "malformed parameters")
		}
		a.Params = p
	}
	return a, el, nil
}

// readAttrs reads a SET OF Attribute. Signed attributes must be in DER order (the signature
// covers their DER encoding, RFC 5652 §5.3); unsigned attributes need only be BER, so sorted
// is false for them.
func (d *decoder) readAttrs(s cryptobyte.String, step string, code ErrorCode, sorted bool) ([]rawAttr, error) {
	var out []rawAttr
	var prev []byte
	for i := 0; !s.Empty(); i++ {
		start := d.off(s)
		var el cryptobyte.String
		if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
			return nil, fail(code, fmt.Sprintf("%s[%d]", step, i), start, "not an Attribute SEQUENCE")
		}
		if sorted && prev != nil && bytes.Compare(prev, el) > 0 {
			return nil, fail(code, fmt.Sprintf("%s[%d]", step, i), start, "attributes are not in DER SET OF order")
		}
		prev = el
		var body cryptobyte.String
		outer := el
		outer.ReadASN1(&body, cbasn1.SEQUENCE)
		var a rawAttr
		a.Offset = start
		var set cryptobyte.String
		if !body.ReadASN1ObjectIdentifier(&a.OID) || !body.ReadASN1(&set, cbasn1.SET) || !body.Empty() {
			return nil, fail(code, fmt.Sprintf("%s[%d]", step, i), start, "Attribute must be SEQUENCE { OID, SET OF value }")
		}
		for !set.Empty() {
			var v cryptobyte.String
			if !set.ReadAnyASN1Element(&v, new(cbasn1.Tag)) {
				return nil, fail(code, fmt.Sprintf("%s[%d] (%s)", step, i, OIDName(a.OID)), start, "malformed attribute value")
			}
			a.Values = append(a.Values, v)
		}
		out = append(out, a)
	}
	return out, nil
}

// parseSignedData decodes a ContentInfo(id-signedData).
func parseSignedData(der []byte) (*signedData, *decoder, error) {
	d := &decoder{whole: der[:len(der):len(der)]}
	ct, content, err := d.parseContentInfo()
	if err != nil {
		return nil, d, err
	}
	if !ct.Equal(OIDSignedData) {
		return nil, d, fail(BadContentInfo, "ContentInfo.contentType", 0, "%s, want id-signedData", OIDName(ct))
	}
	var sdS cryptobyte.String
	if !content.ReadASN1(&sdS, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, d, fail(BadSignedData, "SignedData", d.off(content), "not a SEQUENCE")
	}
	sd := &signedData{}
	if !sdS.ReadASN1Integer(&sd.Version) {
		return nil, d, fail(BadSignedData, "SignedData.version", d.off(sdS), "not an INTEGER")
	}
	var das cryptobyte.String
	if !sdS.ReadASN1(&das, cbasn1.SET) {
		return nil, d, fail(BadSignedData, "SignedData.digestAlgorithms", d.off(sdS), "not a SET")
	}
	for !das.Empty() {
		a, _, err := d.readAlgID(&das, "SignedData.digestAlgorithms", BadSignedData)
		if err != nil {
			return nil, d, err
		}
		sd.DigestAlgs = append(sd.DigestAlgs, a)
	}
	var eci cryptobyte.String
	eciOff := d.off(sdS)
	if !sdS.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&sd.EContentType) {
		return nil, d, fail(BadEncapContent, "SignedData.encapContentInfo", eciOff, "not SEQUENCE { eContentType OID, ... }")
	}
	var ec cryptobyte.String
	if !eci.ReadOptionalASN1(&ec, &sd.HasEContent, tagCtx0C) {
		return nil, d, fail(BadEncapContent, "SignedData.encapContentInfo.eContent", d.off(eci), "malformed [0] eContent")
	}
	if sd.HasEContent {
		var oct cryptobyte.String
		if !ec.ReadASN1(&oct, cbasn1.OCTET_STRING) || !ec.Empty() {
			return nil, d, fail(BadEncapContent, "SignedData.encapContentInfo.eContent", d.off(ec), "eContent is not a DER OCTET STRING (constructed/BER strings are not accepted in signed packages)")
		}
		sd.EContent = oct
	}
	if !eci.Empty() {
		return nil, d, fail(BadEncapContent, "SignedData.encapContentInfo", d.off(eci), "unexpected data after eContent")
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sdS.ReadOptionalASN1(&certs, &hasCerts, tagCtx0C) {
		return nil, d, fail(BadCertificate, "SignedData.certificates", d.off(sdS), "malformed [0] certificates")
	}
	for hasCerts && !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadAnyASN1Element(&c, new(cbasn1.Tag)) {
			return nil, d, fail(BadCertificate, "SignedData.certificates", d.off(certs), "malformed certificate")
		}
		sd.Certs = append(sd.Certs, c)
	}
	var crls cryptobyte.String
	if !sdS.ReadOptionalASN1(&crls, &sd.HasCRLs, tagCtx1C) {
		return nil, d, fail(BadSignedData, "SignedData.crls", d.off(sdS), "malformed [1] crls")
	}
	var sis cryptobyte.String
	if !sdS.ReadASN1(&sis, cbasn1.SET) || !sdS.Empty() {
		return nil, d, fail(BadSignedData, "SignedData.signerInfos", d.off(sdS), "missing SET OF SignerInfo (or trailing data)")
	}
	for i := 0; !sis.Empty(); i++ {
		step := fmt.Sprintf("SignedData.signerInfos[%d]", i)
		si := signerInfo{Offset: d.off(sis)}
		var s cryptobyte.String
		if !sis.ReadASN1(&s, cbasn1.SEQUENCE) || !s.ReadASN1Integer(&si.Version) {
			return nil, d, fail(BadSignerInfo, step, si.Offset, "not SEQUENCE { version INTEGER, ... }")
		}
		switch {
		case s.PeekASN1Tag(tagCtx0P):
			var ski cryptobyte.String
			s.ReadASN1(&ski, tagCtx0P)
			si.SKI = ski
		case s.PeekASN1Tag(cbasn1.SEQUENCE):
			var is cryptobyte.String
			s.ReadASN1Element(&is, cbasn1.SEQUENCE)
			si.IssuerSerial = is
		default:
			return nil, d, fail(BadSignerInfo, step+".sid", d.off(s), "neither subjectKeyIdentifier [0] nor issuerAndSerialNumber")
		}
		var err error
		if si.DigestAlg, _, err = d.readAlgID(&s, step+".digestAlgorithm", BadSignerInfo); err != nil {
			return nil, d, err
		}
		var sa cryptobyte.String
		var hasSA bool
		if s.PeekASN1Tag(tagCtx0C) {
			var el cryptobyte.String
			s.ReadASN1Element(&el, tagCtx0C)
			si.SignedAttrsDER = el
			el.ReadASN1(&sa, tagCtx0C)
			hasSA = true
		}
		if hasSA {
			if si.Attrs, err = d.readAttrs(sa, step+".signedAttrs", BadSignedAttrs, true); err != nil {
				return nil, d, err
			}
		}
		if si.SigAlg, si.SigAlgDER, err = d.readAlgID(&s, step+".signatureAlgorithm", BadSignerInfo); err != nil {
			return nil, d, err
		}
		var sig cryptobyte.String
		if !s.ReadASN1(&sig, cbasn1.OCTET_STRING) {
			return nil, d, fail(BadSignerInfo, step+".signature", d.off(s), "not an OCTET STRING")
		}
		si.Signature = sig
		var ua cryptobyte.String
		if !s.ReadOptionalASN1(&ua, &si.HasUnsignedAttr, tagCtx1C) || !s.Empty() {
			return nil, d, fail(BadSignerInfo, step+".unsignedAttrs", d.off(s), "malformed [1] unsignedAttrs or trailing data")
		}
		if si.HasUnsignedAttr {
			if si.UnsignedAttrs, err = d.readAttrs(ua, step+".unsignedAttrs", BadUnsignedAttrs, false); err != nil {
				return nil, d, err
			}
		}
		sd.Signers = append(sd.Signers, si)
	}
	return sd, d, nil
}

// checkSignature verifies sig over the DER signed attributes (SET OF encoding) for a
// signatureAlgorithm given as its DER AlgorithmIdentifier.
func checkSignature(pub crypto.PublicKey, sigAlgDER, signedAttrsSet, sig []byte) error {
	in := cryptobyte.String(sigAlgDER)
	var body cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1ObjectIdentifier(&oid) {
		return fail(BadSignatureAlgorithm, "signatureAlgorithm", -1, "malformed")
	}
	h256 := sha256.Sum256(signedAttrsSet)
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if !oid.Equal(OIDECDSAWithSHA256) {
			return fail(BadSignatureAlgorithm, "signatureAlgorithm", -1, "%s with an ECDSA key (ecdsa-with-SHA256 expected)", OIDName(oid))
		}
		if !body.Empty() {
			return fail(BadSignatureAlgorithm, "signatureAlgorithm", -1, "ecdsa-with-SHA256 with parameters (RFC 5758 §3.2: the parameters field must be absent)")
		}
		if !ecdsa.VerifyASN1(p, h256[:], sig) {
			return fail(SignatureFailure, "signature", -1, "ECDSA signature does not verify")
		}
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return fail(UnsupportedKeySize, "signer key", -1, "RSA key of %d bits (2048 at least)", p.N.BitLen())
		}
		switch {
		case oid.Equal(OIDSHA256WithRSA) || oid.Equal(OIDRSAEncryption):
			if rsa.VerifyPKCS1v15(p, crypto.SHA256, h256[:], sig) != nil {
				return fail(SignatureFailure, "signature", -1, "RSA PKCS#1 v1.5 signature does not verify")
			}
		case oid.Equal(OIDRSAPSS):
			salt, err := parsePSSParams(body)
			if err != nil {
				return fail(BadSignatureAlgorithm, "signatureAlgorithm", -1, "RSASSA-PSS parameters: %v (SHA-256 and MGF1 with SHA-256 are supported, RFC 4055 §3.1)", err)
			}
			if rsa.VerifyPSS(p, crypto.SHA256, h256[:], sig, &rsa.PSSOptions{SaltLength: salt, Hash: crypto.SHA256}) != nil {
				return fail(SignatureFailure, "signature", -1, "RSASSA-PSS signature does not verify")
			}
		default:
			return fail(BadSignatureAlgorithm, "signatureAlgorithm", -1, "%s with an RSA key", OIDName(oid))
		}
	case ed25519.PublicKey:
		if !oid.Equal(OIDEd25519) {
			return fail(BadSignatureAlgorithm, "signatureAlgorithm", -1, "%s with an Ed25519 key", OIDName(oid))
		}
		if !ed25519.Verify(p, signedAttrsSet, sig) {
			return fail(SignatureFailure, "signature", -1, "Ed25519 signature does not verify")
		}
	default:
		return fail(BadSignatureAlgorithm, "signer key", -1, "unsupported key type %T (ECDSA, RSA or Ed25519)", pub)
	}
	return nil
}

// parsePSSParams decodes RSASSA-PSS-params (RFC 4055 §3.1) and returns the salt length. The
// hash must be SHA-256 and the mask generation MGF1 with SHA-256 (their parameters NULL or
// absent, RFC 4055 §2.1); saltLength defaults to 20 and trailerField must be 1 (its default).
// The DER rule that defaults are omitted is not enforced: other encoders write them.
func parsePSSParams(params cryptobyte.String) (int, error) {
	var seq cryptobyte.String
	if !params.ReadASN1(&seq, cbasn1.SEQUENCE) || !params.Empty() {
		return 0, errors.New("not a SEQUENCE")
	}
	readHash := func(s *cryptobyte.String) (asn1.ObjectIdentifier, bool) {
		var ai cryptobyte.String
		var o asn1.ObjectIdentifier
		if !s.ReadASN1(&ai, cbasn1.SEQUENCE) || !ai.ReadASN1ObjectIdentifier(&o) {
			return nil, false
		}
		if ai.PeekASN1Tag(cbasn1.NULL) {
			var n cryptobyte.String
			ai.ReadASN1(&n, cbasn1.NULL)
			if len(n) != 0 {
				return nil, false
			}
		}
		return o, ai.Empty()
	}
	var hashEl, mgfEl, saltEl, trailerEl cryptobyte.String
	var hasHash, hasMGF, hasSalt, hasTrailer bool
	if !seq.ReadOptionalASN1(&hashEl, &hasHash, tagCtx0C) || !seq.ReadOptionalASN1(&mgfEl, &hasMGF, tagCtx1C) ||
		!seq.ReadOptionalASN1(&saltEl, &hasSalt, tagCtx2C) || !seq.ReadOptionalASN1(&trailerEl, &hasTrailer, cbasn1.Tag(3).ContextSpecific().Constructed()) || !seq.Empty() {
		return 0, errors.New("malformed SEQUENCE { [0] hashAlgorithm, [1] maskGenAlgorithm, [2] saltLength, [3] trailerField }")
	}
	if !hasHash {
		return 0, errors.New("hashAlgorithm absent (its default is SHA-1)")
	}
	if o, ok := readHash(&hashEl); !ok || !hashEl.Empty() || !o.Equal(OIDSHA256) {
		return 0, errors.New("hashAlgorithm is not SHA-256")
	}
	if !hasMGF {
		return 0, errors.New("maskGenAlgorithm absent (its default is MGF1 with SHA-1)")
	}
	var mgf cryptobyte.String
	var mgfOID asn1.ObjectIdentifier
	if !mgfEl.ReadASN1(&mgf, cbasn1.SEQUENCE) || !mgfEl.Empty() || !mgf.ReadASN1ObjectIdentifier(&mgfOID) || !mgfOID.Equal(OIDMGF1) {
		return 0, errors.New("maskGenAlgorithm is not MGF1")
	}
	if o, ok := readHash(&mgf); !ok || !mgf.Empty() || !o.Equal(OIDSHA256) {
		return 0, errors.New("MGF1 hash is not SHA-256")
	}
	salt := int64(20)
	if hasSalt && (!saltEl.ReadASN1Integer(&salt) || !saltEl.Empty() || salt < 0 || salt > 1024) {
		return 0, errors.New("saltLength is not an INTEGER 0..1024")
	}
	if hasTrailer {
		var tf int64
		if !trailerEl.ReadASN1Integer(&tf) || !trailerEl.Empty() || tf != 1 {
			return 0, errors.New("trailerField is not 1")
		}
	}
	return int(salt), nil
}

// Trust holds the keys a verifier accepts: public keys and/or certificates used as trust
// anchors. A SignerInfo is checked only against the anchors its sid names (RFC 4108: a signer
// that matches no trust anchor is noTrustAnchor, as OpenSSL's "signer certificate not found"):
//   - subjectKeyIdentifier: a certificate's Subject Key Identifier extension (when it has none,
//     SubjectKeyID of its public key); a bare public key's SubjectKeyID (RFC 5280 §4.2.1.2
//     method 1, SHA-1 of the subjectPublicKey bits), the derivation Create uses.
//   - issuerAndSerialNumber (load receipts only): a certificate's issuer and serial number.
type Trust struct {
	Keys  []crypto.PublicKey
	Certs []*x509.Certificate
}

type anchor struct {
	pub  crypto.PublicKey
	ski  []byte
	cert *x509.Certificate // nil for a bare key
}

func (t Trust) anchors() []anchor {
	var out []anchor
	for _, c := range t.Certs {
		a := anchor{pub: c.PublicKey, ski: c.SubjectKeyId, cert: c}
		if len(a.ski) == 0 {
			a.ski, _ = SubjectKeyID(c.PublicKey)
		}
		out = append(out, a)
	}
	for _, k := range t.Keys {
		s, _ := SubjectKeyID(k)
		out = append(out, anchor{pub: k, ski: s})
	}
	return out
}

// matches reports whether the anchor is the one the SignerInfo's sid names.
func (a anchor) matches(si *signerInfo) bool {
	if len(si.SKI) > 0 {
		return len(a.ski) > 0 && bytes.Equal(a.ski, si.SKI)
	}
	if si.IssuerSerial == nil || a.cert == nil {
		return false
	}
	var ias struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	if rest, err := asn1.Unmarshal(si.IssuerSerial, &ias); err != nil || len(rest) != 0 || ias.Serial == nil {
		return false
	}
	return bytes.Equal(ias.Issuer.FullBytes, a.cert.RawIssuer) && ias.Serial.Cmp(a.cert.SerialNumber) == 0
}

// verifySignedData checks structure, digests and the signature of a decoded SignedData with
// one signer. It returns the signer's public key.
func verifySignedData(sd *signedData, d *decoder, trust Trust, wantType asn1.ObjectIdentifier) (crypto.PublicKey, error) {
	// RFC 5652 §5.1: version 3 because eContentType is not id-data (and, for packages, the
	// SignerInfo is version 3).
	if sd.Version != 3 {
		return nil, fail(BadSignedData, "SignedData.version", -1, "version %d (3 expected: RFC 5652 §5.1, RFC 4108 §2)", sd.Version)
	}
	if len(sd.Signers) != 1 {
		return nil, fail(BadSignedData, "SignedData.signerInfos", -1, "%d SignerInfos (exactly one expected)", len(sd.Signers))
	}
	if len(sd.DigestAlgs) != 1 {
		return nil, fail(BadSignedData, "SignedData.digestAlgorithms", -1, "%d digest algorithms (exactly one expected, the SignerInfo's)", len(sd.DigestAlgs))
	}
	if !sd.DigestAlgs[0].OID.Equal(sd.Signers[0].DigestAlg.OID) {
		return nil, fail(BadDigestAlgorithm, "SignedData.digestAlgorithms", -1, "%s, but the SignerInfo uses %s", OIDName(sd.DigestAlgs[0].OID), OIDName(sd.Signers[0].DigestAlg.OID))
	}
	{
		si := &sd.Signers[0]
		st := "SignedData.signerInfos[0].version"
		switch {
		case si.Version == 3 && len(si.SKI) > 0:
		case si.Version == 1 && si.IssuerSerial != nil && !wantType.Equal(OIDFirmwarePackage):
		case wantType.Equal(OIDFirmwarePackage):
			return nil, fail(BadSignerInfo, st, si.Offset, "version %d: a firmware package's SignerInfo is version 3 with a subjectKeyIdentifier (RFC 4108 §2)", si.Version)
		default:
			return nil, fail(BadSignerInfo, st, si.Offset, "version %d does not fit its sid (RFC 5652 §5.3: v1 with issuerAndSerialNumber, v3 with subjectKeyIdentifier)", si.Version)
		}
	}
	if !sd.EContentType.Equal(wantType) {
		return nil, fail(BadEncapContent, "SignedData.encapContentInfo.eContentType", -1, "%s, want %s", OIDName(sd.EContentType), OIDName(wantType))
	}
	if !sd.HasEContent {
		return nil, fail(MissingContent, "SignedData.encapContentInfo.eContent", -1, "no eContent (detached packages are not supported)")
	}
	si := &sd.Signers[0]
	step := "SignedData.signerInfos[0]"
	if si.SignedAttrsDER == nil {
		return nil, fail(BadSignedAttrs, step+".signedAttrs", si.Offset, "signed attributes are required")
	}
	var h crypto.Hash
	switch {
	case si.DigestAlg.OID.Equal(OIDSHA256):
		h = crypto.SHA256
	case si.DigestAlg.OID.Equal(OIDSHA512):
		h = crypto.SHA512
	default:
		return nil, fail(BadDigestAlgorithm, step+".digestAlgorithm", si.Offset, "%s (SHA-256, or SHA-512 for Ed25519)", OIDName(si.DigestAlg.OID))
	}
	var ct, md *rawAttr
	seen := map[string]bool{}
	for i := range si.Attrs {
		a := &si.Attrs[i]
		if seen[a.OID.String()] {
			return nil, fail(BadSignedAttrs, step+".signedAttrs", a.Offset, "%s appears twice", OIDName(a.OID))
		}
		seen[a.OID.String()] = true
		if len(a.Values) != 1 && knownAttr(a.OID) {
			return nil, fail(BadSignedAttrs, step+".signedAttrs."+OIDName(a.OID), a.Offset, "%d values (exactly one expected)", len(a.Values))
		}
		switch {
		case a.OID.Equal(OIDAttrContentType):
			ct = a
		case a.OID.Equal(OIDAttrMessageDigest):
			md = a
		}
	}
	if ct == nil || md == nil {
		return nil, fail(BadSignedAttrs, step+".signedAttrs", si.Offset, "content-type and message-digest are required")
	}
	var ctOID asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(ct.Values[0], &ctOID); err != nil || len(rest) != 0 {
		return nil, fail(BadSignedAttrs, step+".signedAttrs.content-type", ct.Offset, "not an OBJECT IDENTIFIER")
	}
	if !ctOID.Equal(sd.EContentType) {
		return nil, fail(ContentTypeMismatch, step+".signedAttrs.content-type", ct.Offset, "%s, but eContentType is %s", OIDName(ctOID), OIDName(sd.EContentType))
	}
	for _, ua := range si.UnsignedAttrs {
		if !ua.OID.Equal(OIDAttrWrappedFirmwareKey) {
			return nil, fail(BadUnsignedAttrs, step+".unsignedAttrs", ua.Offset, "%s is not allowed (only wrapped-firmware-key)", OIDName(ua.OID))
		}
	}
	// Signature: find the trust anchor by sid, else try every trusted key.
	set := append([]byte(nil), si.SignedAttrsDER...)
	set[0] = 0x31 // [0] IMPLICIT -> SET OF, RFC 5652 §5.4
	anchors := trust.anchors()
	if len(anchors) == 0 {
		return nil, fail(NoTrustAnchor, "trust", -1, "no trusted key given")
	}
	var signer crypto.PublicKey
	var lastErr error
	matched := 0
	for _, a := range anchors {
		if !a.matches(si) {
			continue
		}
		matched++
		if err := checkSignature(a.pub, si.SigAlgDER, set, si.Signature); err == nil {
			signer = a.pub
			break
		} else {
			lastErr = err
		}
	}
	if signer == nil {
		if matched == 0 {
			if len(si.SKI) > 0 {
				return nil, fail(NoTrustAnchor, step+".sid", si.Offset, "the signer (subjectKeyIdentifier %x) is none of the %d trusted keys", si.SKI, len(anchors))
			}
			return nil, fail(NoTrustAnchor, step+".sid", si.Offset, "the signer (issuerAndSerialNumber) is none of the %d trusted certificates", len(anchors))
		}
		var e *Error
		if errors.As(lastErr, &e) {
			e.Step = step + "." + e.Step
			e.Offset = si.Offset
		}
		return nil, lastErr
	}
	if _, isEd := signer.(ed25519.PublicKey); isEd != (h == crypto.SHA512) {
		return nil, fail(BadDigestAlgorithm, step+".digestAlgorithm", si.Offset, "%s with a %T key (RFC 5754: SHA-256; RFC 8419: SHA-512 for Ed25519)", OIDName(si.DigestAlg.OID), signer)
	}
	// message-digest over the eContent octets.
	var mdv []byte
	if rest, err := asn1.Unmarshal(md.Values[0], &mdv); err != nil || len(rest) != 0 {
		return nil, fail(BadSignedAttrs, step+".signedAttrs.message-digest", md.Offset, "not an OCTET STRING")
	}
	hh := newHash(h)
	hh.Write(sd.EContent)
	if !bytes.Equal(hh.Sum(nil), mdv) {
		return nil, fail(SignatureFailure, step+".signedAttrs.message-digest", md.Offset, "the firmware does not match the signed message digest (the content was changed after signing)")
	}
	return signer, nil
}

// knownAttr reports whether the attribute is one this package interprets: those take exactly
// one value. RFC 4108 §2 asks to ignore unrecognized attributes, which may have several values
// (and, being unrecognized, need no other check).
func knownAttr(oid asn1.ObjectIdentifier) bool {
	for _, k := range []asn1.ObjectIdentifier{OIDAttrContentType, OIDAttrMessageDigest, OIDAttrSigningTime,
		OIDAttrContentHints, OIDAttrSigningCertificate, OIDAttrFirmwarePackageID, OIDAttrTargetHardwareIDs,
		OIDAttrDecryptKeyID, OIDAttrImplCryptoAlgs, OIDAttrWrappedFirmwareKey, OIDAttrCommunityIDs,
		OIDAttrFwPkgMessageDigest, OIDAttrFirmwarePackageInfo, OIDAttrImplCompressAlgs} {
		if oid.Equal(k) {
			return true
		}
	}
	return false
}
