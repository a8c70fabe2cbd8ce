package devicesim

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"

	"github.com/suit-studio/suit-studio/codec/cms"
)

// The device's own check of an RFC 4108 firmware package, written like the SUIT path: a DER walk
// over the package where it lies in flash (a head scratch buffer, never a copy of the package),
// the signed attributes hashed in chunks from flash with their [0] IMPLICIT tag re-tagged as
// SET OF (0x31, RFC 5652 §5.4), the eContent octets hashed in chunks from flash, and every
// buffer and hash state charged to the RAM budget. It checks what codec/cms Verify checks (the
// host decoder `suit cms verify` uses), with the same RFC 4108 error codes, except that it does
// not parse the certificates a package may carry (its trust anchors are keys, matched by
// subjectKeyIdentifier). Only DER is accepted: an eContent given as a constructed or
// indefinite-length OCTET STRING is refused as badEncapContent, as the host refuses it.

// RAM costs of the RFC 4108 check.
const (
	// DERWalkSize: the DER reader's scratch (a head of up to 6 bytes, 2 × 16 bytes to compare
	// object identifiers and attribute encodings) and the offsets and lengths the walk keeps
	// (eContent, signed attributes, signature, sid, message digests, package identifier).
	DERWalkSize = 128
	// SHA512CtxSize: state (8×8) + bit count (16) + block buffer (128) + flags, as in Mbed TLS's
	// mbedtls_sha512_context (~ 216 B).
	SHA512CtxSize = 216
	// SHA1CtxSize: state (5×4) + count (8) + block buffer (64), as mbedtls_sha1_context, rounded.
	SHA1CtxSize = 96
	// CMSSignedAttrsMax: Ed25519 (PureEdDSA, RFC 8419) signs the DER signed attributes
	// themselves, so the device holds them in RAM to verify; larger ones are refused.
	CMSSignedAttrsMax = 1024
	// CMSSignatureMax: a DER ECDSA P-256 signature is at most 72 bytes, Ed25519 64.
	CMSSignatureMax = 72
)

// The object identifiers the device compares with, as DER contents (constants in its ROM).
var (
	oidSignedData      = oidContent(cms.OIDSignedData)
	oidFirmwarePackage = oidContent(cms.OIDFirmwarePackage)
	oidCompressed      = oidContent(cms.OIDCompressed)
	oidEncryptedData   = oidContent(cms.OIDEncryptedData)
	oidSHA256          = oidContent(cms.OIDSHA256)
	oidSHA512          = oidContent(cms.OIDSHA512)
	oidECDSAWithSHA256 = oidContent(cms.OIDECDSAWithSHA256)
	oidEd25519         = oidContent(cms.OIDEd25519)
	oidWrappedFwKey    = oidContent(cms.OIDAttrWrappedFirmwareKey)

	attrContentType  = oidContent(cms.OIDAttrContentType)
	attrMessageDig   = oidContent(cms.OIDAttrMessageDigest)
	attrSigningTime  = oidContent(cms.OIDAttrSigningTime)
	attrContentHints = oidContent(cms.OIDAttrContentHints)
	attrSigningCert  = oidContent(cms.OIDAttrSigningCertificate)
	attrFwPkgID      = oidContent(cms.OIDAttrFirmwarePackageID)
	attrTargets      = oidContent(cms.OIDAttrTargetHardwareIDs)
	attrDecryptKeyID = oidContent(cms.OIDAttrDecryptKeyID)
	attrImplCrypto   = oidContent(cms.OIDAttrImplCryptoAlgs)
	attrCommunities  = oidContent(cms.OIDAttrCommunityIDs)
	attrFwPkgMD      = oidContent(cms.OIDAttrFwPkgMessageDigest)
	attrFwPkgInfo    = oidContent(cms.OIDAttrFirmwarePackageInfo)
	attrImplCompress = oidContent(cms.OIDAttrImplCompressAlgs)
)

// knownAttrs are the signed attributes that take exactly one value (codec/cms knownAttr).
var knownAttrs = [][]byte{attrContentType, attrMessageDig, attrSigningTime, attrContentHints, attrSigningCert,
	attrFwPkgID, attrTargets, attrDecryptKeyID, attrImplCrypto, oidWrappedFwKey, attrCommunities, attrFwPkgMD,
	attrFwPkgInfo, attrImplCompress}

// oidContentOf is the DER content of the device's own OID (its hardware type); nil when it has
// none or it cannot be encoded (first arc above 2): then it matches nothing.
func oidContentOf(o asn1.ObjectIdentifier) []byte {
	if len(o) == 0 {
		return nil
	}
	der, err := asn1.Marshal(o)
	if err != nil {
		return nil
	}
	return der[2:]
}

func oidContent(o asn1.ObjectIdentifier) []byte {
	der, err := asn1.Marshal(o)
	if err != nil {
		panic(err)
	}
	return der[2:]
}

// DER tags.
const (
	tagInteger   = 0x02
	tagOctets    = 0x04
	tagNull      = 0x05
	tagOID       = 0x06
	tagUTF8      = 0x0c
	tagUTCTime   = 0x17
	tagGenTime   = 0x18
	tagSequence  = 0x30
	tagSet       = 0x31
	tagCtx0      = 0xa0 // [0] constructed
	tagCtx1      = 0xa1
	tagCtx0Prim  = 0x80 // [0] primitive
	tagOctetsCon = 0x24 // constructed OCTET STRING (BER)
)

// derItem is one TLV in flash: its tag, where its head starts, where its content starts, and
// the content length.
type derItem struct {
	tag  byte
	off  int
	c, n int
}

func (it derItem) end() int { return it.c + it.n }

// derWalk reads DER from flash through the charged scratch of the walk block.
type derWalk struct {
	d    *Device
	f    *Flash
	base int    // offset of the package in flash (error offsets are package-relative)
	buf  []byte // the walk block: [0:6] head, [16:32] and [32:48] compare scratch
}

func cmsFail(code cms.ErrorCode, step string, off int, format string, args ...any) error {
	return &cms.Error{Code: code, Step: step, Offset: off, Err: fmt.Errorf(format, args...)}
}

// item reads the TLV at off, which must end by end.
func (w *derWalk) item(off, end int, code cms.ErrorCode, step string) (derItem, error) {
	rel := off - w.base
	if end-off < 2 {
		return derItem{}, cmsFail(code, step, rel, "missing (the enclosing element ends)")
	}
	h := w.buf[:min(6, end-off)]
	if err := w.f.ReadAt(h, off); err != nil {
		return derItem{}, err
	}
	it := derItem{tag: h[0], off: off}
	if h[0]&0x1f == 0x1f {
		return derItem{}, cmsFail(code, step, rel, "high-tag-number form is not used in a firmware package")
	}
	l := int(h[1])
	it.c = off + 2
	switch {
	case l == 0x80:
		return derItem{}, cmsFail(code, step, rel, "indefinite length (BER): a firmware package is DER")
	case l > 0x80:
		k := l & 0x7f
		if k > 4 || 2+k > len(h) {
			return derItem{}, cmsFail(code, step, rel, "length of %d bytes is too long", k)
		}
		l = 0
		for i := 0; i < k; i++ {
			l = l<<8 | int(h[2+i])
		}
		if l < 0x80 || (k > 1 && h[2] == 0) {
			return derItem{}, cmsFail(code, step, rel, "length not in its shortest form (DER)")
		}
		it.c += k
	}
	if l > end-it.c {
		return derItem{}, cmsFail(code, step, rel, "length %d runs past the end of the enclosing element", l)
	}
	it.n = l
	return it, nil
}

// expect reads the TLV at off and checks its tag.
func (w *derWalk) expect(off, end int, tag byte, code cms.ErrorCode, step string) (derItem, error) {
	it, err := w.item(off, end, code, step)
	if err != nil {
		return it, err
	}
	if it.tag != tag {
		return it, cmsFail(code, step, off-w.base, "tag 0x%02x, want 0x%02x", it.tag, tag)
	}
	return it, nil
}

// equal compares an item's content with bytes the device holds (an OID constant).
func (w *derWalk) equal(it derItem, want []byte) (bool, error) {
	if it.n != len(want) {
		return false, nil
	}
	s := w.buf[16:32]
	for done := 0; done < it.n; done += len(s) {
		k := min(len(s), it.n-done)
		if err := w.f.ReadAt(s[:k], it.c+done); err != nil {
			return false, err
		}
		if subtle.ConstantTimeCompare(s[:k], want[done:done+k]) != 1 {
			return false, nil
		}
	}
	return true, nil
}

// compare orders two flash ranges as byte strings (DER SET OF order, RFC 5652 / X.690 §11.6).
func (w *derWalk) compare(a, an, b, bn int) (int, error) {
	x, y := w.buf[16:32], w.buf[32:48]
	for done := 0; done < min(an, bn); done += len(x) {
		k := min(len(x), min(an, bn)-done)
		if err := w.f.ReadAt(x[:k], a+done); err != nil {
			return 0, err
		}
		if err := w.f.ReadAt(y[:k], b+done); err != nil {
			return 0, err
		}
		for i := 0; i < k; i++ {
			if x[i] != y[i] {
				return int(x[i]) - int(y[i]), nil
			}
		}
	}
	return an - bn, nil
}

// smallInt reads a non-negative DER INTEGER that fits int64.
func (w *derWalk) smallInt(it derItem, code cms.ErrorCode, step string) (int64, error) {
	if it.tag != tagInteger || it.n < 1 || it.n > 8 {
		return 0, cmsFail(code, step, it.off-w.base, "not an INTEGER 0..2^63-1")
	}
	b := w.buf[16 : 16+it.n]
	if err := w.f.ReadAt(b, it.c); err != nil {
		return 0, err
	}
	if b[0]&0x80 != 0 || (it.n > 1 && b[0] == 0 && b[1]&0x80 == 0) {
		return 0, cmsFail(code, step, it.off-w.base, "negative, out of range or not minimally encoded INTEGER")
	}
	var v int64
	for _, x := range b {
		v = v<<8 | int64(x)
	}
	return v, nil
}

// algID reads an AlgorithmIdentifier with absent or NULL parameters and returns its OID item.
// withNull reports whether NULL parameters were given.
func (w *derWalk) algID(off, end int, code cms.ErrorCode, step string) (seq, oid derItem, withNull bool, err error) {
	if seq, err = w.expect(off, end, tagSequence, code, step); err != nil {
		return
	}
	if oid, err = w.expect(seq.c, seq.end(), tagOID, code, step); err != nil {
		return
	}
	if oid.end() < seq.end() {
		var p derItem
		if p, err = w.expect(oid.end(), seq.end(), tagNull, code, step+" parameters"); err != nil {
			return
		}
		if p.n != 0 || p.end() != seq.end() {
			err = cmsFail(code, step, off-w.base, "parameters other than NULL")
			return
		}
		withNull = true
	}
	return
}

// count counts the items of a constructed element (each must be well-formed).
func (w *derWalk) count(it derItem, code cms.ErrorCode, step string) (int, error) {
	n := 0
	for off := it.c; off < it.end(); n++ {
		x, err := w.item(off, it.end(), code, step)
		if err != nil {
			return 0, err
		}
		off = x.end()
	}
	return n, nil
}

// cmsCheck is what the walk learns: ranges in flash and a few small values.
type cmsCheck struct {
	fw        derItem // eContent octets
	sa        derItem // signedAttrs [0] element (head and content)
	sig       derItem
	ski       derItem
	digestAlg []byte // oidSHA256 or oidSHA512
	ed25519   bool   // signatureAlgorithm Ed25519 (else ecdsa-with-SHA256)

	md                    derItem // message-digest value
	haveCT, haveMD        bool
	haveID, haveTargets   bool
	idOID                 derItem // preferred name's fwPkgID (n == 0: legacy)
	legacyID              derItem
	version               int64
	hasStale, staleLegacy bool
	stale                 int64
	targetMatch           bool
	hasHints              bool
	fwmd                  derItem // firmware-package-message-digest digest
	fwmdAlg               []byte
	hasCommunities        bool
	inCommunity           bool
}

// walkPackage checks the structure of the package staged at [base, base+size) and returns what
// the checks after it need. The order and codes follow codec/cms parseSignedData and
// verifySignedData.
func (d *Device) walkPackage(w *derWalk, base, size int, id CMSIdentity) (*cmsCheck, error) {
	k := &cmsCheck{}
	end := base + size
	ci, err := w.expect(base, end, tagSequence, cms.DecodeFailure, "ContentInfo")
	if err != nil {
		return nil, err
	}
	if ci.end() != end {
		return nil, cmsFail(cms.DecodeFailure, "ContentInfo", ci.end()-base, "%d bytes of trailing data", end-ci.end())
	}
	ct, err := w.expect(ci.c, ci.end(), tagOID, cms.BadContentInfo, "ContentInfo.contentType")
	if err != nil {
		return nil, err
	}
	if ok, err := w.equal(ct, oidSignedData); err != nil {
		return nil, err
	} else if !ok {
		return nil, cmsFail(cms.BadContentInfo, "ContentInfo.contentType", ct.off-base, "not id-signedData")
	}
	content, err := w.expect(ct.end(), ci.end(), tagCtx0, cms.BadContentInfo, "ContentInfo.content")
	if err != nil {
		return nil, err
	}
	if content.end() != ci.end() {
		return nil, cmsFail(cms.BadContentInfo, "ContentInfo", content.end()-base, "data after [0] content")
	}
	sd, err := w.expect(content.c, content.end(), tagSequence, cms.BadSignedData, "SignedData")
	if err != nil {
		return nil, err
	}
	if sd.end() != content.end() {
		return nil, cmsFail(cms.BadSignedData, "SignedData", sd.end()-base, "data after the SignedData")
	}
	ver, err := w.expect(sd.c, sd.end(), tagInteger, cms.BadSignedData, "SignedData.version")
	if err != nil {
		return nil, err
	}
	if v, err := w.smallInt(ver, cms.BadSignedData, "SignedData.version"); err != nil {
		return nil, err
	} else if v != 3 {
		return nil, cmsFail(cms.BadSignedData, "SignedData.version", ver.off-base, "version %d (3 expected: RFC 5652 §5.1, RFC 4108 §2)", v)
	}
	das, err := w.expect(ver.end(), sd.end(), tagSet, cms.BadSignedData, "SignedData.digestAlgorithms")
	if err != nil {
		return nil, err
	}
	var daOID derItem
	nda := 0
	for off := das.c; off < das.end(); nda++ {
		seq, oid, _, err := w.algID(off, das.end(), cms.BadSignedData, "SignedData.digestAlgorithms")
		if err != nil {
			return nil, err
		}
		daOID, off = oid, seq.end()
	}
	// encapContentInfo
	eci, err := w.expect(das.end(), sd.end(), tagSequence, cms.BadEncapContent, "SignedData.encapContentInfo")
	if err != nil {
		return nil, err
	}
	ect, err := w.expect(eci.c, eci.end(), tagOID, cms.BadEncapContent, "SignedData.encapContentInfo.eContentType")
	if err != nil {
		return nil, err
	}
	hasEContent := ect.end() < eci.end()
	if hasEContent {
		ec, err := w.expect(ect.end(), eci.end(), tagCtx0, cms.BadEncapContent, "SignedData.encapContentInfo.eContent")
		if err != nil {
			return nil, err
		}
		if ec.end() != eci.end() {
			return nil, cmsFail(cms.BadEncapContent, "SignedData.encapContentInfo", ec.end()-base, "unexpected data after eContent")
		}
		oct, err := w.item(ec.c, ec.end(), cms.BadEncapContent, "SignedData.encapContentInfo.eContent")
		if err != nil {
			return nil, err
		}
		if oct.tag == tagOctetsCon {
			return nil, cmsFail(cms.BadEncapContent, "SignedData.encapContentInfo.eContent", oct.off-base,
				"a constructed (BER) OCTET STRING: a signed firmware package carries its eContent as one DER OCTET STRING (the host refuses it too)")
		}
		if oct.tag != tagOctets || oct.end() != ec.end() {
			return nil, cmsFail(cms.BadEncapContent, "SignedData.encapContentInfo.eContent", oct.off-base, "eContent is not a DER OCTET STRING")
		}
		k.fw = oct
	}
	// certificates [0] and crls [1]: not used (the trust anchors are keys)
	next := eci.end()
	if next < sd.end() {
		it, err := w.item(next, sd.end(), cms.BadCertificate, "SignedData.certificates")
		if err != nil {
			return nil, err
		}
		if it.tag == tagCtx0 {
			if _, err := w.count(it, cms.BadCertificate, "SignedData.certificates"); err != nil {
				return nil, err
			}
			next = it.end()
		}
	}
	if next < sd.end() {
		it, err := w.item(next, sd.end(), cms.BadSignedData, "SignedData.crls")
		if err != nil {
			return nil, err
		}
		if it.tag == tagCtx1 {
			next = it.end()
		}
	}
	sis, err := w.expect(next, sd.end(), tagSet, cms.BadSignedData, "SignedData.signerInfos")
	if err != nil {
		return nil, err
	}
	if sis.end() != sd.end() {
		return nil, cmsFail(cms.BadSignedData, "SignedData.signerInfos", sis.end()-base, "trailing data")
	}
	// SignerInfo (exactly one, checked after its structure like the host)
	nsi, err := w.count(sis, cms.BadSignerInfo, "SignedData.signerInfos")
	if err != nil {
		return nil, err
	}
	if nsi == 0 {
		return nil, cmsFail(cms.BadSignedData, "SignedData.signerInfos", sis.off-base, "no SignerInfo")
	}
	const sstep = "SignedData.signerInfos[0]"
	si, err := w.expect(sis.c, sis.end(), tagSequence, cms.BadSignerInfo, sstep)
	if err != nil {
		return nil, err
	}
	siv, err := w.expect(si.c, si.end(), tagInteger, cms.BadSignerInfo, sstep+".version")
	if err != nil {
		return nil, err
	}
	sv, err := w.smallInt(siv, cms.BadSignerInfo, sstep+".version")
	if err != nil {
		return nil, err
	}
	sid, err := w.item(siv.end(), si.end(), cms.BadSignerInfo, sstep+".sid")
	if err != nil {
		return nil, err
	}
	switch sid.tag {
	case tagCtx0Prim:
		k.ski = sid
	case tagSequence:
	default:
		return nil, cmsFail(cms.BadSignerInfo, sstep+".sid", sid.off-base, "neither subjectKeyIdentifier [0] nor issuerAndSerialNumber")
	}
	dseq, dOID, _, err := w.algID(sid.end(), si.end(), cms.BadSignerInfo, sstep+".digestAlgorithm")
	if err != nil {
		return nil, err
	}
	next = dseq.end()
	sa, err := w.item(next, si.end(), cms.BadSignerInfo, sstep+".signatureAlgorithm")
	if err != nil {
		return nil, err
	}
	hasSA := sa.tag == tagCtx0
	if hasSA {
		k.sa = sa
		next = sa.end()
	}
	sseq, sOID, sNull, err := w.algID(next, si.end(), cms.BadSignerInfo, sstep+".signatureAlgorithm")
	if err != nil {
		return nil, err
	}
	sig, err := w.expect(sseq.end(), si.end(), tagOctets, cms.BadSignerInfo, sstep+".signature")
	if err != nil {
		return nil, err
	}
	k.sig = sig
	var ua derItem
	if sig.end() < si.end() {
		if ua, err = w.expect(sig.end(), si.end(), tagCtx1, cms.BadSignerInfo, sstep+".unsignedAttrs"); err != nil {
			return nil, err
		}
		if ua.end() != si.end() {
			return nil, cmsFail(cms.BadSignerInfo, sstep+".unsignedAttrs", ua.end()-base, "trailing data")
		}
	}
	if hasSA {
		if err := d.walkAttrs(w, k, id); err != nil {
			return nil, err
		}
	}
	if ua.n > 0 || ua.tag == tagCtx1 {
		for off := ua.c; off < ua.end(); {
			a, err := w.expect(off, ua.end(), tagSequence, cms.BadUnsignedAttrs, sstep+".unsignedAttrs")
			if err != nil {
				return nil, err
			}
			o, err := w.expect(a.c, a.end(), tagOID, cms.BadUnsignedAttrs, sstep+".unsignedAttrs")
			if err != nil {
				return nil, err
			}
			if ok, err := w.equal(o, oidWrappedFwKey); err != nil {
				return nil, err
			} else if !ok {
				return nil, cmsFail(cms.BadUnsignedAttrs, sstep+".unsignedAttrs", a.off-base, "only wrapped-firmware-key is allowed")
			}
			off = a.end()
		}
	}
	// verifySignedData's checks, in its order.
	if nsi != 1 {
		return nil, cmsFail(cms.BadSignedData, "SignedData.signerInfos", sis.off-base, "%d SignerInfos (exactly one expected)", nsi)
	}
	if nda != 1 {
		return nil, cmsFail(cms.BadSignedData, "SignedData.digestAlgorithms", das.off-base, "%d digest algorithms (exactly one expected, the SignerInfo's)", nda)
	}
	if c, err := w.compare(daOID.c, daOID.n, dOID.c, dOID.n); err != nil {
		return nil, err
	} else if c != 0 {
		return nil, cmsFail(cms.BadDigestAlgorithm, "SignedData.digestAlgorithms", das.off-base, "differs from the SignerInfo's digest algorithm")
	}
	if sv != 3 || k.ski.n == 0 {
		return nil, cmsFail(cms.BadSignerInfo, sstep+".version", si.off-base, "version %d: a firmware package's SignerInfo is version 3 with a subjectKeyIdentifier (RFC 4108 §2)", sv)
	}
	isFw, err := w.equal(ect, oidFirmwarePackage)
	if err != nil {
		return nil, err
	}
	if !isFw {
		if ok, _ := w.equal(ect, oidCompressed); ok {
			return nil, cmsFail(cms.BadCompressAlgorithm, "SignedData.encapContentInfo.eContentType", ect.off-base, "compressed packages are not supported")
		}
		if ok, _ := w.equal(ect, oidEncryptedData); ok {
			return nil, cmsFail(cms.NoDecryptKey, "SignedData.encapContentInfo.eContentType", ect.off-base, "encrypted packages are not supported")
		}
		return nil, cmsFail(cms.BadEncapContent, "SignedData.encapContentInfo.eContentType", ect.off-base, "not id-ct-firmwarePackage")
	}
	if !hasEContent {
		return nil, cmsFail(cms.MissingContent, "SignedData.encapContentInfo.eContent", eci.off-base, "no eContent (detached packages are not supported)")
	}
	if !hasSA {
		return nil, cmsFail(cms.BadSignedAttrs, sstep+".signedAttrs", si.off-base, "signed attributes are required")
	}
	switch {
	case mustEqual(w, dOID, oidSHA256):
		k.digestAlg = oidSHA256
	case mustEqual(w, dOID, oidSHA512):
		k.digestAlg = oidSHA512
	default:
		return nil, cmsFail(cms.BadDigestAlgorithm, sstep+".digestAlgorithm", dseq.off-base, "not SHA-256 (nor SHA-512 for Ed25519)")
	}
	if !k.haveCT || !k.haveMD {
		return nil, cmsFail(cms.BadSignedAttrs, sstep+".signedAttrs", si.off-base, "content-type and message-digest are required")
	}
	switch {
	case mustEqual(w, sOID, oidECDSAWithSHA256):
		if sNull {
			return nil, cmsFail(cms.BadSignatureAlgorithm, sstep+".signatureAlgorithm", sseq.off-base, "ecdsa-with-SHA256 with parameters (RFC 5758 §3.2: absent)")
		}
	case mustEqual(w, sOID, oidEd25519):
		k.ed25519 = true
	default:
		return nil, cmsFail(cms.BadSignatureAlgorithm, sstep+".signatureAlgorithm", sseq.off-base, "this device verifies ecdsa-with-SHA256 (P-256) and Ed25519")
	}
	return k, nil
}

func mustEqual(w *derWalk, it derItem, want []byte) bool {
	ok, err := w.equal(it, want)
	return err == nil && ok
}

// walkAttrs walks the signed attributes in flash: DER SET OF order, no attribute twice, one
// value for the attributes the device knows, and the values it needs.
func (d *Device) walkAttrs(w *derWalk, k *cmsCheck, id CMSIdentity) error {
	const step = "SignedData.signerInfos[0].signedAttrs"
	base := w.base
	prev := derItem{}
	for off := k.sa.c; off < k.sa.end(); {
		a, err := w.expect(off, k.sa.end(), tagSequence, cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		if prev.n > 0 {
			if c, err := w.compare(prev.off, prev.end()-prev.off, a.off, a.end()-a.off); err != nil {
				return err
			} else if c > 0 {
				return cmsFail(cms.BadSignedAttrs, step, a.off-base, "attributes are not in DER SET OF order")
			}
		}
		prev = a
		o, err := w.expect(a.c, a.end(), tagOID, cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		set, err := w.expect(o.end(), a.end(), tagSet, cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		if set.end() != a.end() {
			return cmsFail(cms.BadSignedAttrs, step, a.off-base, "Attribute must be SEQUENCE { OID, SET OF value }")
		}
		nv, err := w.count(set, cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		// No attribute twice: compare this OID with those before it (no table is kept).
		for p := k.sa.c; p < a.off; {
			pa, _ := w.item(p, k.sa.end(), cms.BadSignedAttrs, step)
			po, _ := w.item(pa.c, pa.end(), cms.BadSignedAttrs, step)
			if c, err := w.compare(po.c, po.n, o.c, o.n); err != nil {
				return err
			} else if c == 0 {
				return cmsFail(cms.BadSignedAttrs, step, a.off-base, "an attribute appears twice")
			}
			p = pa.end()
		}
		off = a.end()
		known := false
		for _, ka := range knownAttrs {
			if mustEqual(w, o, ka) {
				known = true
			}
		}
		if !known {
			continue // RFC 4108 §2: unrecognized attributes are ignored
		}
		if nv != 1 {
			return cmsFail(cms.BadSignedAttrs, step, a.off-base, "%d values (exactly one expected)", nv)
		}
		v, err := w.item(set.c, set.end(), cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		bad := func(what string) error { return cmsFail(cms.BadSignedAttrs, step, a.off-base, "%s", what) }
		switch {
		case mustEqual(w, o, attrContentType):
			if v.tag != tagOID {
				return bad("content-type: not an OBJECT IDENTIFIER")
			}
			if !mustEqual(w, v, oidFirmwarePackage) {
				return cmsFail(cms.ContentTypeMismatch, step+".content-type", a.off-base, "not id-ct-firmwarePackage, the eContentType")
			}
			k.haveCT = true
		case mustEqual(w, o, attrMessageDig):
			if v.tag != tagOctets {
				return bad("message-digest: not an OCTET STRING")
			}
			k.md, k.haveMD = v, true
		case mustEqual(w, o, attrFwPkgID):
			if err := d.walkPackageID(w, k, v, bad); err != nil {
				return err
			}
		case mustEqual(w, o, attrTargets):
			if v.tag != tagSequence {
				return bad("target-hardware-module-identifiers: not a SEQUENCE OF OBJECT IDENTIFIER")
			}
			hw := oidContentOf(id.HWType)
			n := 0
			for p := v.c; p < v.end(); n++ {
				t, err := w.expect(p, v.end(), tagOID, cms.BadSignedAttrs, step+".target-hardware-module-identifiers")
				if err != nil {
					return err
				}
				if hw != nil && mustEqual(w, t, hw) {
					k.targetMatch = true
				}
				p = t.end()
			}
			if n == 0 {
				return bad("target-hardware-module-identifiers: empty list (at least one target is required)")
			}
			k.haveTargets = true
		case mustEqual(w, o, attrSigningTime):
			if v.tag != tagUTCTime && v.tag != tagGenTime {
				return bad("signing-time: neither UTCTime nor GeneralizedTime")
			}
		case mustEqual(w, o, attrContentHints):
			if v.tag != tagSequence {
				return bad("content-hints: not a SEQUENCE")
			}
			desc, err := w.expect(v.c, v.end(), tagUTF8, cms.BadSignedAttrs, step+".content-hints")
			if err != nil || desc.n == 0 {
				return bad("content-hints: contentDescription missing or empty")
			}
			ht, err := w.expect(desc.end(), v.end(), tagOID, cms.BadSignedAttrs, step+".content-hints")
			if err != nil || ht.end() != v.end() {
				return bad("content-hints: contentType missing")
			}
			if !mustEqual(w, ht, oidFirmwarePackage) {
				return bad("content-hints: contentType is not id-ct-firmwarePackage")
			}
			k.hasHints = true
		case mustEqual(w, o, attrFwPkgMD):
			seq := v
			alg, aoid, _, err := w.algID(seq.c, seq.end(), cms.BadSignedAttrs, step+".firmware-package-message-digest")
			if seq.tag != tagSequence || err != nil {
				return bad("malformed FirmwarePackageMessageDigest (SEQUENCE { algorithm AlgorithmIdentifier, msgDigest OCTET STRING })")
			}
			dg, err := w.expect(alg.end(), seq.end(), tagOctets, cms.BadSignedAttrs, step+".firmware-package-message-digest")
			if err != nil || dg.end() != seq.end() {
				return bad("malformed FirmwarePackageMessageDigest")
			}
			switch {
			case mustEqual(w, aoid, oidSHA256):
				k.fwmdAlg = oidSHA256
			case mustEqual(w, aoid, oidSHA512):
				k.fwmdAlg = oidSHA512
			default:
				k.fwmdAlg = []byte{}
			}
			k.fwmd = dg
		case mustEqual(w, o, attrCommunities):
			if err := d.walkCommunities(w, k, v, id, bad); err != nil {
				return err
			}
		case mustEqual(w, o, attrDecryptKeyID):
			if v.tag != tagOctets {
				return bad("decrypt-key-identifier: not an OCTET STRING")
			}
		case mustEqual(w, o, attrImplCrypto), mustEqual(w, o, attrImplCompress):
			if v.tag != tagSequence {
				return bad("not a SEQUENCE OF OBJECT IDENTIFIER")
			}
			for p := v.c; p < v.end(); {
				t, err := w.expect(p, v.end(), tagOID, cms.BadSignedAttrs, step)
				if err != nil {
					return err
				}
				p = t.end()
			}
		case mustEqual(w, o, attrFwPkgInfo):
			if v.tag != tagSequence {
				return bad("firmware-package-info: not a SEQUENCE")
			}
		}
	}
	return nil
}

// walkPackageID reads FirmwarePackageIdentifier ::= SEQUENCE { name, stale OPTIONAL }.
func (d *Device) walkPackageID(w *derWalk, k *cmsCheck, v derItem, bad func(string) error) error {
	const step = "SignedData.signerInfos[0].signedAttrs.firmware-package-identifier"
	if v.tag != tagSequence {
		return bad("firmware-package-identifier: not a SEQUENCE")
	}
	name, err := w.item(v.c, v.end(), cms.BadSignedAttrs, step)
	if err != nil {
		return err
	}
	switch name.tag {
	case tagOctets:
		k.legacyID = name
	case tagSequence:
		oid, err := w.expect(name.c, name.end(), tagOID, cms.BadSignedAttrs, step)
		if err != nil {
			return bad("firmware-package-identifier: name is neither SEQUENCE { fwPkgID OID, verNum INTEGER } nor OCTET STRING")
		}
		vn, err := w.expect(oid.end(), name.end(), tagInteger, cms.BadSignedAttrs, step)
		if err != nil || vn.end() != name.end() {
			return bad("firmware-package-identifier: name is neither SEQUENCE { fwPkgID OID, verNum INTEGER } nor OCTET STRING")
		}
		if k.version, err = w.smallInt(vn, cms.BadSignedAttrs, step); err != nil {
			return err
		}
		k.idOID = oid
	default:
		return bad("firmware-package-identifier: name is neither SEQUENCE { fwPkgID OID, verNum INTEGER } nor OCTET STRING")
	}
	if name.end() < v.end() {
		st, err := w.item(name.end(), v.end(), cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		switch st.tag {
		case tagInteger:
			if k.stale, err = w.smallInt(st, cms.BadSignedAttrs, step+" stale"); err != nil {
				return err
			}
		case tagOctets:
			k.staleLegacy = true
		default:
			return bad("firmware-package-identifier: stale is neither INTEGER nor OCTET STRING")
		}
		if (k.idOID.n == 0) != k.staleLegacy {
			return bad("firmware-package-identifier: the stale version's form differs from the name's (RFC 4108 §2.2.3)")
		}
		if st.end() != v.end() {
			return bad("firmware-package-identifier: trailing data")
		}
		k.hasStale = true
	}
	k.haveID = true
	return nil
}

// walkCommunities reads community-identifiers and decides whether this device is in one: the
// device belongs to no community OID; a hwModuleList entry names it by hardware type and serial.
func (d *Device) walkCommunities(w *derWalk, k *cmsCheck, v derItem, id CMSIdentity, bad func(string) error) error {
	const step = "SignedData.signerInfos[0].signedAttrs.community-identifiers"
	if v.tag != tagSequence {
		return bad("community-identifiers: not a SEQUENCE")
	}
	k.hasCommunities = v.n > 0
	hw := oidContentOf(id.HWType)
	for p := v.c; p < v.end(); {
		c, err := w.item(p, v.end(), cms.BadSignedAttrs, step)
		if err != nil {
			return err
		}
		p = c.end()
		if c.tag == tagOID {
			continue
		}
		if c.tag != tagSequence {
			return bad("community-identifiers: malformed hwModuleList")
		}
		t, err := w.expect(c.c, c.end(), tagOID, cms.BadSignedAttrs, step)
		if err != nil {
			return bad("community-identifiers: malformed hwModuleList")
		}
		serials, err := w.expect(t.end(), c.end(), tagSequence, cms.BadSignedAttrs, step)
		if err != nil || serials.end() != c.end() {
			return bad("community-identifiers: malformed hwModuleList")
		}
		mine := hw != nil && id.HWSerial != nil && mustEqual(w, t, hw)
		for q := serials.c; q < serials.end(); {
			e, err := w.item(q, serials.end(), cms.BadSignedAttrs, step)
			if err != nil {
				return err
			}
			q = e.end()
			match := false
			switch e.tag {
			case tagNull:
				match = true
			case tagOctets:
				match = mustEqual(w, e, id.HWSerial)
			case tagSequence:
				lo, err1 := w.expect(e.c, e.end(), tagOctets, cms.BadSignedAttrs, step)
				hi, err2 := w.expect(lo.end(), e.end(), tagOctets, cms.BadSignedAttrs, step)
				if err1 != nil || err2 != nil || hi.end() != e.end() {
					return bad("community-identifiers: malformed HardwareSerialEntry")
				}
				if lo.n == len(id.HWSerial) && hi.n == len(id.HWSerial) {
					match = w.serialInBlock(lo, hi, id.HWSerial)
				}
			default:
				return bad("community-identifiers: malformed HardwareSerialEntry")
			}
			if mine && match {
				k.inCommunity = true
			}
		}
	}
	return nil
}

// serialInBlock reports lo <= serial <= hi, all of the same length, compared from flash.
func (w *derWalk) serialInBlock(lo, hi derItem, serial []byte) bool {
	cmp := func(it derItem) int {
		s := w.buf[16:32]
		for done := 0; done < it.n; done += len(s) {
			k := min(len(s), it.n-done)
			if w.f.ReadAt(s[:k], it.c+done) != nil {
				return 2
			}
			for i := 0; i < k; i++ {
				if s[i] != serial[done+i] {
					if s[i] < serial[done+i] {
						return -1
					}
					return 1
				}
			}
		}
		return 0
	}
	return cmp(lo) <= 0 && cmp(hi) >= 0
}

// hashState is a SHA-256 or SHA-512 state charged to the RAM budget while it lives.
type hashState struct {
	hash.Hash
	blk *Block
}

func (d *Device) newHashState(alg []byte, what string) (*hashState, error) {
	if string(alg) == string(oidSHA512) {
		b, err := d.RAM.alloc("SHA-512 context ("+what+")", SHA512CtxSize, false)
		if err != nil {
			return nil, err
		}
		return &hashState{sha512.New(), b}, nil
	}
	b, err := d.RAM.alloc("SHA-256 context ("+what+")", SHA256CtxSize, false)
	if err != nil {
		return nil, err
	}
	return &hashState{sha256.New(), b}, nil
}

func (h *hashState) free() { h.blk.Free() }

// digestFlash hashes n bytes of flash at off with alg, its state charged; the digest lands in out
// (a charged buffer of at least 64 bytes) and its length is returned.
func (d *Device) digestFlash(alg []byte, what string, off, n int, out []byte) (int, error) {
	h, err := d.newHashState(alg, what)
	if err != nil {
		return 0, err
	}
	defer h.free()
	if err := d.hashRegion(d.Int, off, n, h); err != nil {
		return 0, err
	}
	return len(h.Sum(out[:0])), nil
}

// verifyCMS checks the package staged at [base, base+size): structure, signature with a trust
// anchor, message digest, target hardware, stale version, communities. It returns the check (for
// the receipt) and the number of the trust anchor that verified, or an error carrying the RFC
// 4108 error code (*cms.Error), ErrInsufficientMemory or a flash error.
func (d *Device) verifyCMS(st *bootState, base, size int, id CMSIdentity) (*cmsCheck, int, error) {
	walk, err := d.RAM.alloc("DER walk (head and compare scratch, item offsets)", DERWalkSize, true)
	if err != nil {
		return nil, 0, err
	}
	defer walk.Free()
	w := &derWalk{d: d, f: d.Int, base: base, buf: walk.Buf}
	k, err := d.walkPackage(w, base, size, id)
	if err != nil {
		return nil, 0, err
	}
	const sstep = "SignedData.signerInfos[0]"
	// The signer: the trust anchor whose subjectKeyIdentifier (SHA-1 of its key) is the sid.
	if k.ski.n > 64 {
		return nil, 0, cmsFail(cms.NoTrustAnchor, sstep+".sid", k.ski.off-base, "subjectKeyIdentifier of %d bytes matches no trust anchor", k.ski.n)
	}
	skiBuf, err := d.RAM.alloc("subjectKeyIdentifier", k.ski.n, true)
	if err != nil {
		return nil, 0, err
	}
	defer skiBuf.Free()
	if err := d.Int.ReadAt(skiBuf.Buf, k.ski.c); err != nil {
		return nil, 0, err
	}
	signer := -1
	for i, a := range st.anchors {
		ctx, err := d.RAM.alloc("SHA-1 context (subjectKeyIdentifier)", SHA1CtxSize, false)
		if err != nil {
			return nil, 0, err
		}
		s := sha1.Sum(a.key)
		d.chargeHash(len(a.key))
		ctx.Free()
		if subtle.ConstantTimeCompare(s[:], skiBuf.Buf) == 1 {
			signer = i
			break
		}
	}
	if signer < 0 {
		return nil, 0, cmsFail(cms.NoTrustAnchor, sstep+".sid", k.ski.off-base, "the signer (subjectKeyIdentifier %x) is none of the %d trust anchors", skiBuf.Buf, len(st.anchors))
	}
	a := st.anchors[signer]
	if (a.kind == anchorEd25519) != k.ed25519 {
		return nil, 0, cmsFail(cms.BadSignatureAlgorithm, sstep+".signatureAlgorithm", -1, "the signature algorithm does not fit the trust anchor's key")
	}
	if (a.kind == anchorEd25519) != (string(k.digestAlg) == string(oidSHA512)) {
		return nil, 0, cmsFail(cms.BadDigestAlgorithm, sstep+".digestAlgorithm", -1, "RFC 5754: SHA-256 with ECDSA P-256; RFC 8419: SHA-512 with Ed25519")
	}
	if k.sig.n > CMSSignatureMax {
		return nil, 0, cmsFail(cms.SignatureFailure, sstep+".signature", k.sig.off-base, "signature of %d bytes (at most %d)", k.sig.n, CMSSignatureMax)
	}
	sig, err := d.RAM.alloc("signature", k.sig.n, true)
	if err != nil {
		return nil, 0, err
	}
	defer sig.Free()
	if err := d.Int.ReadAt(sig.Buf, k.sig.c); err != nil {
		return nil, 0, err
	}
	ok, err := d.checkCMSSignature(a, k, sig.Buf)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, cmsFail(cms.SignatureFailure, sstep+".signature", k.sig.off-base, "the signature does not verify with trust anchor #%d", signer+1)
	}
	// message-digest over the eContent octets, hashed from flash.
	dg, err := d.RAM.alloc("computed digest and message-digest", 128, true)
	if err != nil {
		return nil, 0, err
	}
	defer dg.Free()
	n, err := d.digestFlash(k.digestAlg, "eContent", k.fw.c, k.fw.n, dg.Buf[:64])
	if err != nil {
		return nil, 0, err
	}
	if k.md.n != n {
		return nil, 0, cmsFail(cms.SignatureFailure, sstep+".signedAttrs.message-digest", k.md.off-base, "the firmware does not match the signed message digest (the content was changed after signing)")
	}
	if err := d.Int.ReadAt(dg.Buf[64:64+n], k.md.c); err != nil {
		return nil, 0, err
	}
	if subtle.ConstantTimeCompare(dg.Buf[:n], dg.Buf[64:64+n]) != 1 {
		return nil, 0, cmsFail(cms.SignatureFailure, sstep+".signedAttrs.message-digest", k.md.off-base, "the firmware does not match the signed message digest (the content was changed after signing)")
	}
	// The attributes RFC 4108 requires, checked after the signature as the host does.
	if !k.haveID {
		return nil, 0, cmsFail(cms.BadSignedAttrs, sstep+".signedAttrs.firmware-package-identifier", -1, "required attribute missing")
	}
	if !k.haveTargets {
		return nil, 0, cmsFail(cms.BadSignedAttrs, sstep+".signedAttrs.target-hardware-module-identifiers", -1, "required attribute missing")
	}
	if k.fwmdAlg != nil {
		if len(k.fwmdAlg) == 0 {
			return nil, 0, cmsFail(cms.BadDigestAlgorithm, "signedAttrs.firmware-package-message-digest", -1, "not SHA-256 or SHA-512")
		}
		if string(k.fwmdAlg) != string(k.digestAlg) {
			if n, err = d.digestFlash(k.fwmdAlg, "eContent, firmware-package-message-digest", k.fw.c, k.fw.n, dg.Buf[:64]); err != nil {
				return nil, 0, err
			}
		}
		ok := k.fwmd.n == n
		if ok {
			if err := d.Int.ReadAt(dg.Buf[64:64+n], k.fwmd.c); err != nil {
				return nil, 0, err
			}
			ok = subtle.ConstantTimeCompare(dg.Buf[:n], dg.Buf[64:64+n]) == 1
		}
		if !ok {
			return nil, 0, cmsFail(cms.SignatureFailure, "signedAttrs.firmware-package-message-digest", -1, "the firmware's digest differs from the signed firmware-package-message-digest")
		}
	}
	if id.HWType != nil && !k.targetMatch {
		return k, signer, cmsFail(cms.WrongHardware, "signedAttrs.target-hardware-module-identifiers", -1, "hardware %s is not among the package's targets", id.HWType)
	}
	if st.hasStale && k.idOID.n > 0 && uint64(k.version) <= st.stale {
		return k, signer, cmsFail(cms.StalePackage, "signedAttrs.firmware-package-identifier", -1, "version %d is stale: this device refuses version %d and older", k.version, st.stale)
	}
	if k.hasCommunities && !k.inCommunity {
		return k, signer, cmsFail(cms.NotInCommunity, "signedAttrs.community-identifiers", -1, "the package is restricted to communities this device (hardware %s serial %x) is not in", id.HWType, id.HWSerial)
	}
	return k, signer, nil
}

// checkCMSSignature verifies the signature over the signed attributes re-tagged as SET OF.
// ECDSA: SHA-256 over them in chunks from flash, then the verification. Ed25519 (PureEdDSA)
// signs the message itself: it is read into RAM (at most CMSSignedAttrsMax bytes).
func (d *Device) checkCMSSignature(a anchor, k *cmsCheck, sig []byte) (bool, error) {
	saLen := k.sa.end() - k.sa.off
	if a.kind == anchorEd25519 {
		if saLen > CMSSignedAttrsMax {
			return false, &InsufficientMemoryError{What: "signed attributes for Ed25519", Asked: saLen, InUse: d.RAM.InUse(), Budget: d.RAM.Budget()}
		}
		msg, err := d.RAM.alloc("signed attributes (Ed25519 message)", saLen, true)
		if err != nil {
			return false, err
		}
		defer msg.Free()
		if err := d.Int.ReadAt(msg.Buf, k.sa.off); err != nil {
			return false, err
		}
		msg.Buf[0] = tagSet
		ctx, err := d.RAM.alloc("Ed25519 verify context", Ed25519VerifyCtxSize, false)
		if err != nil {
			return false, err
		}
		defer ctx.Free()
		d.clock += Ed25519VerifyTime
		d.chargeHash(saLen)
		return len(a.key) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(a.key), msg.Buf, sig), nil
	}
	var h [32]byte
	{
		st, err := d.newHashState(oidSHA256, "signed attributes")
		if err != nil {
			return false, err
		}
		st.Write([]byte{tagSet})
		err = d.hashRegion(d.Int, k.sa.off+1, saLen-1, st)
		st.Sum(h[:0])
		st.free()
		if err != nil {
			return false, err
		}
	}
	ctx, err := d.RAM.alloc("P-256 verify context", P256VerifyCtxSize, false)
	if err != nil {
		return false, err
	}
	defer ctx.Free()
	d.clock += P256VerifyTime
	x, y := elliptic.Unmarshal(elliptic.P256(), a.key) //nolint:staticcheck // raw point from the state area
	if x == nil {
		return false, errors.New("trust anchor is not a P-256 point")
	}
	return ecdsa.VerifyASN1(&ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, h[:], sig), nil
}

// packageID decodes the package identifier for the receipt (the report is built by the host
// library, see report).
func (w *derWalk) packageID(k *cmsCheck) cms.PackageID {
	var p cms.PackageID
	if k.idOID.n > 0 {
		raw := make([]byte, k.idOID.end()-k.idOID.off)
		if w.f.ReadAt(raw, k.idOID.off) == nil {
			var o asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(raw, &o); err == nil {
				p.OID = o
			}
		}
		p.Version = k.version
		return p
	}
	p.Legacy = make([]byte, k.legacyID.n)
	_ = w.f.ReadAt(p.Legacy, k.legacyID.c)
	return p
}

// readRange copies an item's content out of flash for the result (not device RAM).
func (d *Device) readRange(it derItem) []byte {
	b := make([]byte, it.n)
	if d.Int.ReadAt(b, it.c) != nil {
		return nil
	}
	return b
}
