package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PackageID is PreferredOrLegacyPackageIdentifier: an OID and a version number (preferred), or
// an opaque legacy octet string.
type PackageID struct {
	OID     asn1.ObjectIdentifier
	Version int64  // verNum, 0..MAX
	Legacy  []byte // set for the legacy form (OID then nil)
}

func (p PackageID) String() string {
	if p.OID == nil {
		return fmt.Sprintf("legacy %x", p.Legacy)
	}
	return fmt.Sprintf("%s version %d", p.OID, p.Version)
}

// StaleVersion is PreferredOrLegacyStalePackageIdentifier: the newest version that devices must
// no longer accept once this package is loaded.
type StaleVersion struct {
	Version int64
	Legacy  []byte // set for legacyStaleVersion
}

// PackageInfo is FirmwarePackageInfo: the package type and the minimum versions of other
// packages this one depends on.
type PackageInfo struct {
	Type         *int64
	Dependencies []PackageID
}

// SerialEntry is HardwareSerialEntry: all serial numbers, a single one, or a block low..high.
type SerialEntry struct {
	All       bool
	Single    []byte
	Low, High []byte
}

// Community is CommunityIdentifier: a community OID, or a hardware type with serial numbers.
type Community struct {
	OID     asn1.ObjectIdentifier
	HWType  asn1.ObjectIdentifier
	Serials []SerialEntry
}

// Attributes are the signed attributes of a firmware package, in the RFC's words.
type Attributes struct {
	ID                  PackageID               // firmware-package-identifier (required)
	Stale               *StaleVersion           // firmware-package-identifier stale field
	Targets             []asn1.ObjectIdentifier // target-hardware-module-identifiers (required)
	SigningTime         time.Time               // signing-time (zero: absent)
	Description         string                  // content-hints contentDescription (empty: no content-hints)
	Info                *PackageInfo            // firmware-package-info
	Communities         []Community             // community-identifiers
	ImplementedCrypto   []asn1.ObjectIdentifier // implemented-crypto-algorithms
	ImplementedCompress []asn1.ObjectIdentifier // implemented-compress-algorithms
	DecryptKeyID        []byte                  // decrypt-key-identifier (read only: encryption is not supported)
}

// Package is a decoded firmware package.
type Package struct {
	Attributes
	Firmware           []byte
	ContentType        asn1.ObjectIdentifier // eContentType
	HintsType          asn1.ObjectIdentifier // content-hints contentType
	HasHints           bool
	MessageDigest      []byte
	FwPkgMessageDigest *struct {
		Algorithm asn1.ObjectIdentifier
		Digest    []byte
	}
	HasSigningCertificate bool
	// UnknownAttributes lists signed attributes this package ignores (RFC 4108: unknown
	// attributes are ignored).
	UnknownAttributes []asn1.ObjectIdentifier
	// Signer
	SignedDataVersion  int64
	SignerVersion      int64
	SubjectKeyID       []byte
	DigestAlgorithm    asn1.ObjectIdentifier
	SignatureAlgorithm asn1.ObjectIdentifier
	Certificates       []*x509.Certificate
	HasCRLs            bool
	UnsignedAttributes []asn1.ObjectIdentifier
}

func marshalPackageID(b *cryptobyte.Builder, p PackageID) {
	if p.OID == nil {
		b.AddASN1OctetString(p.Legacy)
		return
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(p.OID)
		b.AddASN1Int64(p.Version)
	})
}

func oidSeq(oids []asn1.ObjectIdentifier) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, o := range oids {
			b.AddASN1ObjectIdentifier(o)
		}
	})
	return b.BytesOrPanic()
}

func checkPackageID(p PackageID, what string) error {
	if p.OID == nil && p.Legacy == nil {
		return fmt.Errorf("cms: %s: give an OID and version (or a legacy identifier)", what)
	}
	if p.OID != nil && len(p.OID) < 2 {
		return fmt.Errorf("cms: %s: invalid OID %v", what, p.OID)
	}
	if p.Version < 0 {
		return fmt.Errorf("cms: %s: version %d is negative (0..MAX)", what, p.Version)
	}
	return nil
}

// encodeFirmwareAttrs turns Attributes into signed attributes (besides content-type and
// message-digest).
func encodeFirmwareAttrs(a Attributes) ([]attribute, error) {
	if err := checkPackageID(a.ID, "firmware-package-identifier"); err != nil {
		return nil, err
	}
	if len(a.Targets) == 0 {
		return nil, errors.New("cms: target-hardware-module-identifiers: give at least one target hardware OID")
	}
	var out []attribute
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		marshalPackageID(b, a.ID)
		if a.Stale != nil {
			if a.Stale.Legacy != nil {
				b.AddASN1OctetString(a.Stale.Legacy)
			} else {
				b.AddASN1Int64(a.Stale.Version)
			}
		}
	})
	v, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	if a.Stale != nil && (a.ID.OID == nil) != (a.Stale.Legacy != nil) {
		return nil, errors.New("cms: firmware-package-identifier: the stale version must use the name's form (RFC 4108 §2.2.3): a numeric stale version with an OID name, a legacy stale version with a legacy name")
	}
	if a.Stale != nil && a.Stale.Legacy == nil && (a.Stale.Version < 0 || (a.ID.OID != nil && a.Stale.Version >= a.ID.Version)) {
		return nil, fmt.Errorf("cms: stale version %d must be 0 or more and below the package version %d", a.Stale.Version, a.ID.Version)
	}
	out = append(out, attribute{OIDAttrFirmwarePackageID, v})
	out = append(out, attribute{OIDAttrTargetHardwareIDs, oidSeq(a.Targets)})
	if !a.SigningTime.IsZero() {
		tv, err := signingTimeValue(a.SigningTime)
		if err != nil {
			return nil, err
		}
		out = append(out, attribute{OIDAttrSigningTime, tv})
	}
	if a.Description != "" {
		var hb cryptobyte.Builder
		hb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.Description)) })
			b.AddASN1ObjectIdentifier(OIDFirmwarePackage)
		})
		out = append(out, attribute{OIDAttrContentHints, hb.BytesOrPanic()})
	}
	if a.Info != nil {
		for i, d := range a.Info.Dependencies {
			if err := checkPackageID(d, fmt.Sprintf("firmware-package-info dependency %d", i)); err != nil {
				return nil, err
			}
		}
		var ib cryptobyte.Builder
		ib.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if a.Info.Type != nil {
				b.AddASN1Int64(*a.Info.Type)
			}
			if len(a.Info.Dependencies) > 0 {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, d := range a.Info.Dependencies {
						marshalPackageID(b, d)
					}
				})
			}
		})
		out = append(out, attribute{OIDAttrFirmwarePackageInfo, ib.BytesOrPanic()})
	}
	if len(a.Communities) > 0 {
		var cb cryptobyte.Builder
		cb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, c := range a.Communities {
				if c.OID != nil {
					b.AddASN1ObjectIdentifier(c.OID)
					continue
				}
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(c.HWType)
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						for _, s := range c.Serials {
							switch {
							case s.All:
								b.AddASN1NULL()
							case s.Single != nil:
								b.AddASN1OctetString(s.Single)
							default:
								b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
									b.AddASN1OctetString(s.Low)
									b.AddASN1OctetString(s.High)
								})
							}
						}
					})
				})
			}
		})
		v, err := cb.Bytes()
		if err != nil {
			return nil, fmt.Errorf("cms: community-identifiers: %w", err)
		}
		out = append(out, attribute{OIDAttrCommunityIDs, v})
	}
	if len(a.ImplementedCrypto) > 0 {
		out = append(out, attribute{OIDAttrImplCryptoAlgs, oidSeq(a.ImplementedCrypto)})
	}
	if len(a.ImplementedCompress) > 0 {
		out = append(out, attribute{OIDAttrImplCompressAlgs, oidSeq(a.ImplementedCompress)})
	}
	if a.DecryptKeyID != nil {
		return nil, errors.New("cms: decrypt-key-identifier: encrypted packages are not supported")
	}
	return out, nil
}

// Create makes an RFC 4108 firmware package: ContentInfo -> SignedData v3, eContentType
// id-ct-firmwarePackage, the firmware as eContent, one SignerInfo v3 identified by
// subjectKeyIdentifier, SHA-256 (SHA-512 for Ed25519, RFC 8419), and DER signed attributes
// content-type, message-digest, firmware-package-identifier, target-hardware-module-identifiers
// and the optional ones set in attrs. key may be any crypto.Signer, a token key included.
func Create(firmware []byte, attrs Attributes, key crypto.Signer, opts SignOptions) ([]byte, error) {
	fa, err := encodeFirmwareAttrs(attrs)
	if err != nil {
		return nil, err
	}
	return signedDataDER(key, OIDFirmwarePackage, firmware, fa, opts)
}

// Parse decodes a firmware package without verifying it (the inspector's view). Structural
// errors carry the RFC error code, the element path and the byte offset.
func Parse(der []byte) (*Package, error) {
	sd, _, err := parseSignedData(der)
	if err != nil {
		return nil, err
	}
	return packageFrom(sd)
}

func packageFrom(sd *signedData) (*Package, error) {
	p := &Package{Firmware: sd.EContent, ContentType: sd.EContentType, SignedDataVersion: sd.Version, HasCRLs: sd.HasCRLs}
	for i, c := range sd.Certs {
		cert, err := x509.ParseCertificate(c)
		if err != nil {
			return nil, fail(BadCertificate, fmt.Sprintf("SignedData.certificates[%d]", i), -1, "%v", err)
		}
		p.Certificates = append(p.Certificates, cert)
	}
	if len(sd.Signers) == 0 {
		return nil, fail(BadSignedData, "SignedData.signerInfos", -1, "no SignerInfo")
	}
	si := sd.Signers[0]
	p.SignerVersion, p.SubjectKeyID = si.Version, si.SKI
	p.DigestAlgorithm, p.SignatureAlgorithm = si.DigestAlg.OID, si.SigAlg.OID
	for _, ua := range si.UnsignedAttrs {
		p.UnsignedAttributes = append(p.UnsignedAttributes, ua.OID)
	}
	step := "SignedData.signerInfos[0].signedAttrs."
	haveID, haveTargets := false, false
	for _, a := range si.Attrs {
		if !knownAttr(a.OID) {
			p.UnknownAttributes = append(p.UnknownAttributes, a.OID)
			continue
		}
		if len(a.Values) != 1 {
			return nil, fail(BadSignedAttrs, step+OIDName(a.OID), a.Offset, "%d values (exactly one expected)", len(a.Values))
		}
		v := cryptobyte.String(a.Values[0])
		bad := func(what string) error {
			return fail(BadSignedAttrs, step+OIDName(a.OID), a.Offset, "%s", what)
		}
		switch {
		case a.OID.Equal(OIDAttrContentType):
		case a.OID.Equal(OIDAttrMessageDigest):
			var md cryptobyte.String
			if !v.ReadASN1(&md, cbasn1.OCTET_STRING) {
				return nil, bad("not an OCTET STRING")
			}
			p.MessageDigest = md
		case a.OID.Equal(OIDAttrFirmwarePackageID):
			var seq cryptobyte.String
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) {
				return nil, bad("not a SEQUENCE")
			}
			id, ok := readPackageID(&seq)
			if !ok {
				return nil, bad("name is neither SEQUENCE { fwPkgID OID, verNum INTEGER } nor OCTET STRING")
			}
			p.ID = id
			if !seq.Empty() {
				st := &StaleVersion{}
				var leg cryptobyte.String
				switch {
				case seq.PeekASN1Tag(cbasn1.INTEGER):
					if !seq.ReadASN1Integer(&st.Version) || st.Version < 0 {
						return nil, bad("stale preferredStaleVerNum is not an INTEGER 0..MAX")
					}
				case seq.ReadASN1(&leg, cbasn1.OCTET_STRING):
					st.Legacy = append([]byte{}, leg...)
				default:
					return nil, bad("stale is neither INTEGER nor OCTET STRING")
				}
				if (p.ID.OID == nil) != (st.Legacy != nil) {
					return nil, bad("the stale version's form differs from the name's (RFC 4108 §2.2.3: preferredStaleVerNum with a preferred name, legacyStaleVersion with a legacy one)")
				}
				p.Stale = st
			}
			if !seq.Empty() {
				return nil, bad("trailing data")
			}
			haveID = true
		case a.OID.Equal(OIDAttrTargetHardwareIDs):
			oids, ok := readOIDSeq(&v)
			if !ok {
				return nil, bad("not a SEQUENCE OF OBJECT IDENTIFIER")
			}
			if len(oids) == 0 {
				return nil, bad("empty list: at least one target hardware module is required")
			}
			p.Targets, haveTargets = oids, true
		case a.OID.Equal(OIDAttrSigningTime):
			t, err := readSigningTime(&v)
			if err != nil {
				return nil, bad(err.Error())
			}
			p.SigningTime = t
		case a.OID.Equal(OIDAttrContentHints):
			var seq, desc cryptobyte.String
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) {
				return nil, bad("not a SEQUENCE")
			}
			// RFC 4108 §2.2.4: both contentDescription and contentType are present; RFC 2634
			// gives the description SIZE (1..MAX).
			if !seq.ReadASN1(&desc, cbasn1.UTF8String) || len(desc) == 0 {
				return nil, bad("contentDescription missing or empty (a UTF8String of 1 or more bytes is required)")
			}
			p.Description = string(desc)
			if !seq.ReadASN1ObjectIdentifier(&p.HintsType) || !seq.Empty() {
				return nil, bad("contentType missing")
			}
			p.HasHints = true
		case a.OID.Equal(OIDAttrFirmwarePackageInfo):
			var seq cryptobyte.String
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) {
				return nil, bad("not a SEQUENCE")
			}
			info := &PackageInfo{}
			if seq.PeekASN1Tag(cbasn1.INTEGER) {
				var t int64
				if !seq.ReadASN1Integer(&t) {
					return nil, bad("fwPkgType is not a small INTEGER")
				}
				info.Type = &t
			}
			if !seq.Empty() {
				var deps cryptobyte.String
				if !seq.ReadASN1(&deps, cbasn1.SEQUENCE) || !seq.Empty() {
					return nil, bad("dependencies is not a SEQUENCE")
				}
				for !deps.Empty() {
					d, ok := readPackageID(&deps)
					if !ok {
						return nil, bad("malformed dependency")
					}
					info.Dependencies = append(info.Dependencies, d)
				}
			}
			p.Info = info
		case a.OID.Equal(OIDAttrCommunityIDs):
			var seq cryptobyte.String
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) {
				return nil, bad("not a SEQUENCE")
			}
			for !seq.Empty() {
				var c Community
				if seq.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) {
					seq.ReadASN1ObjectIdentifier(&c.OID)
					p.Communities = append(p.Communities, c)
					continue
				}
				var hm, serials cryptobyte.String
				if !seq.ReadASN1(&hm, cbasn1.SEQUENCE) || !hm.ReadASN1ObjectIdentifier(&c.HWType) || !hm.ReadASN1(&serials, cbasn1.SEQUENCE) || !hm.Empty() {
					return nil, bad("malformed hwModuleList")
				}
				for !serials.Empty() {
					var s SerialEntry
					var x, lo, hi cryptobyte.String
					switch {
					case serials.PeekASN1Tag(cbasn1.NULL):
						serials.ReadASN1(&x, cbasn1.NULL)
						s.All = true
					case serials.PeekASN1Tag(cbasn1.OCTET_STRING):
						serials.ReadASN1(&x, cbasn1.OCTET_STRING)
						s.Single = append([]byte{}, x...)
					default:
						if !serials.ReadASN1(&x, cbasn1.SEQUENCE) || !x.ReadASN1(&lo, cbasn1.OCTET_STRING) || !x.ReadASN1(&hi, cbasn1.OCTET_STRING) || !x.Empty() {
							return nil, bad("malformed HardwareSerialEntry")
						}
						s.Low, s.High = append([]byte{}, lo...), append([]byte{}, hi...)
					}
					c.Serials = append(c.Serials, s)
				}
				p.Communities = append(p.Communities, c)
			}
		case a.OID.Equal(OIDAttrImplCryptoAlgs):
			oids, ok := readOIDSeq(&v)
			if !ok {
				return nil, bad("not a SEQUENCE OF OBJECT IDENTIFIER")
			}
			p.ImplementedCrypto = oids
		case a.OID.Equal(OIDAttrImplCompressAlgs):
			oids, ok := readOIDSeq(&v)
			if !ok {
				return nil, bad("not a SEQUENCE OF OBJECT IDENTIFIER")
			}
			p.ImplementedCompress = oids
		case a.OID.Equal(OIDAttrDecryptKeyID):
			var k cryptobyte.String
			if !v.ReadASN1(&k, cbasn1.OCTET_STRING) {
				return nil, bad("not an OCTET STRING")
			}
			p.DecryptKeyID = append([]byte{}, k...)
		case a.OID.Equal(OIDAttrFwPkgMessageDigest):
			var seq, alg, dg cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) || !seq.ReadASN1(&dg, cbasn1.OCTET_STRING) || !seq.Empty() {
				return nil, bad("malformed FirmwarePackageMessageDigest (SEQUENCE { algorithm AlgorithmIdentifier, msgDigest OCTET STRING })")
			}
			if alg.PeekASN1Tag(cbasn1.NULL) {
				var n cryptobyte.String
				alg.ReadASN1(&n, cbasn1.NULL)
			}
			if !alg.Empty() {
				return nil, bad("FirmwarePackageMessageDigest algorithm: parameters other than NULL")
			}
			p.FwPkgMessageDigest = &struct {
				Algorithm asn1.ObjectIdentifier
				Digest    []byte
			}{oid, append([]byte{}, dg...)}
		case a.OID.Equal(OIDAttrSigningCertificate):
			p.HasSigningCertificate = true
		default:
			p.UnknownAttributes = append(p.UnknownAttributes, a.OID)
		}
		if !v.Empty() && !a.OID.Equal(OIDAttrContentType) && !a.OID.Equal(OIDAttrSigningCertificate) && !isUnknown(p, a.OID) {
			return nil, bad("trailing data after the value")
		}
	}
	if sd.EContentType.Equal(OIDFirmwarePackage) {
		if !haveID {
			return p, fail(BadSignedAttrs, step+"firmware-package-identifier", -1, "required attribute missing")
		}
		if !haveTargets {
			return p, fail(BadSignedAttrs, step+"target-hardware-module-identifiers", -1, "required attribute missing")
		}
	}
	return p, nil
}

func isUnknown(p *Package, oid asn1.ObjectIdentifier) bool {
	for _, u := range p.UnknownAttributes {
		if u.Equal(oid) {
			return true
		}
	}
	return false
}

func readPackageID(s *cryptobyte.String) (PackageID, bool) {
	var id PackageID
	if s.PeekASN1Tag(cbasn1.OCTET_STRING) {
		var l cryptobyte.String
		s.ReadASN1(&l, cbasn1.OCTET_STRING)
		id.Legacy = append([]byte{}, l...)
		return id, true
	}
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&id.OID) {
		return id, false
	}
	var v big.Int
	if !seq.ReadASN1Integer(&v) || v.Sign() < 0 || !v.IsInt64() || !seq.Empty() {
		return id, false
	}
	id.Version = v.Int64()
	return id, true
}

func readOIDSeq(v *cryptobyte.String) ([]asn1.ObjectIdentifier, bool) {
	var seq cryptobyte.String
	if !v.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, false
	}
	var out []asn1.ObjectIdentifier
	for !seq.Empty() {
		var o asn1.ObjectIdentifier
		if !seq.ReadASN1ObjectIdentifier(&o) {
			return nil, false
		}
		out = append(out, o)
	}
	return out, true
}

// VerifyOptions are a device's view when checking a package.
type VerifyOptions struct {
	Trust Trust
	// HardwareType, when set, must be among target-hardware-module-identifiers (wrongHardware).
	HardwareType asn1.ObjectIdentifier
	// HardwareSerial is the device's hwSerialNum: with HardwareType it is matched against the
	// hwModuleList entries of community-identifiers (all, a single serial, or a block).
	HardwareSerial []byte
	// Stale lists, per package identifier, the newest version this device refuses (from an
	// earlier package's stale field, RFC 4108 §2.2.3): a package whose fwPkgID is listed, at
	// that version or older, is a stalePackage. Other package identifiers are not affected.
	Stale []StaleEntry
	// Communities are the device's communities. A package that lists community-identifiers is
	// accepted only when one of them is the device's community or a hwModuleList entry naming
	// this device (HardwareType and HardwareSerial); a device in no community refuses it
	// (notInCommunity).
	Communities []asn1.ObjectIdentifier
}

// StaleEntry is a device's stale version for one package identifier.
type StaleEntry struct {
	ID      asn1.ObjectIdentifier // fwPkgID
	Version int64                 // this version and older are refused
}

// serialMatches applies a HardwareSerialEntry to a device serial number. Blocks compare the
// serial numbers as unsigned big-endian numbers of the same length (RFC 4108 §2.2.5 leaves
// the ordering to the hardware type; equal-length octet strings is the common case).
func serialMatches(e SerialEntry, serial []byte) bool {
	switch {
	case e.All:
		return true
	case e.Single != nil:
		return bytes.Equal(e.Single, serial)
	default:
		if len(e.Low) != len(serial) || len(e.High) != len(serial) {
			return false
		}
		return bytes.Compare(e.Low, serial) <= 0 && bytes.Compare(serial, e.High) <= 0
	}
}

// inCommunity reports whether the device belongs to one of the package's communities.
func inCommunity(p *Package, opts VerifyOptions) bool {
	for _, c := range p.Communities {
		if c.OID != nil {
			for _, mine := range opts.Communities {
				if c.OID.Equal(mine) {
					return true
				}
			}
			continue
		}
		if opts.HardwareType == nil || !c.HWType.Equal(opts.HardwareType) || opts.HardwareSerial == nil {
			continue
		}
		for _, e := range c.Serials {
			if serialMatches(e, opts.HardwareSerial) {
				return true
			}
		}
	}
	return false
}

// Verify checks a firmware package: structure (DER, SignedData v3, one SignerInfo, required
// signed attributes), the signature with a trusted key, the message digest of the firmware,
// the content types, then the device checks in opts. On success it returns the decoded
// package; on failure an *Error whose Code is the RFC 4108 FirmwarePackageLoadErrorCode.
func Verify(der []byte, opts VerifyOptions) (*Package, error) {
	sd, d, err := parseSignedData(der)
	if err != nil {
		return nil, err
	}
	if sd.EContentType.Equal(OIDCompressed) {
		return nil, fail(BadCompressAlgorithm, "SignedData.encapContentInfo.eContentType", -1, "compressed packages are not supported")
	}
	if sd.EContentType.Equal(OIDEncryptedData) {
		return nil, fail(NoDecryptKey, "SignedData.encapContentInfo.eContentType", -1, "encrypted packages are not supported")
	}
	p, perr := packageFrom(sd)
	if perr != nil && p == nil {
		return nil, perr
	}
	if _, err := verifySignedData(sd, d, opts.Trust, OIDFirmwarePackage); err != nil {
		return p, err
	}
	if perr != nil {
		return p, perr
	}
	if md := p.FwPkgMessageDigest; md != nil {
		// Without compression or encryption the digest is of the eContent itself (RFC 4108 §2.2.10).
		var h crypto.Hash
		switch {
		case md.Algorithm.Equal(OIDSHA256):
			h = crypto.SHA256
		case md.Algorithm.Equal(OIDSHA512):
			h = crypto.SHA512
		default:
			return p, fail(BadDigestAlgorithm, "signedAttrs.firmware-package-message-digest", -1, "%s (SHA-256 or SHA-512)", OIDName(md.Algorithm))
		}
		hh := newHash(h)
		hh.Write(p.Firmware)
		if !bytes.Equal(hh.Sum(nil), md.Digest) {
			return p, fail(SignatureFailure, "signedAttrs.firmware-package-message-digest", -1, "the firmware's %s digest differs from the signed firmware-package-message-digest", OIDName(md.Algorithm))
		}
	}
	if p.HasHints && !p.HintsType.Equal(OIDFirmwarePackage) {
		return p, fail(BadSignedAttrs, "signedAttrs.content-hints", -1, "contentType %s, want id-ct-firmwarePackage", OIDName(p.HintsType))
	}
	if opts.HardwareType != nil {
		ok := false
		for _, t := range p.Targets {
			if t.Equal(opts.HardwareType) {
				ok = true
			}
		}
		if !ok {
			return p, fail(WrongHardware, "signedAttrs.target-hardware-module-identifiers", -1, "hardware %s is not among the targets %v", opts.HardwareType, p.Targets)
		}
	}
	for _, st := range opts.Stale {
		if p.ID.OID != nil && p.ID.OID.Equal(st.ID) && p.ID.Version <= st.Version {
			return p, fail(StalePackage, "signedAttrs.firmware-package-identifier", -1, "version %d is stale: this device refuses version %d and older of %s", p.ID.Version, st.Version, st.ID)
		}
	}
	if len(p.Communities) > 0 && !inCommunity(p, opts) {
		me := "the device is in no community and gave no hardware type and serial number"
		if len(opts.Communities) > 0 || opts.HardwareType != nil {
			me = fmt.Sprintf("the device (communities %v, hardware %v serial %x) is in none of them", opts.Communities, opts.HardwareType, opts.HardwareSerial)
		}
		return p, fail(NotInCommunity, "signedAttrs.community-identifiers", -1, "the package is restricted to %d communities; %s", len(p.Communities), me)
	}
	return p, nil
}

// signingTimeValue encodes a signing-time value: UTCTime for 1950..2049, GeneralizedTime
// otherwise (RFC 5652 §11.3).
func signingTimeValue(t time.Time) ([]byte, error) {
	var tb cryptobyte.Builder
	t = t.UTC().Truncate(time.Second)
	if t.Year() >= 1950 && t.Year() < 2050 {
		tb.AddASN1UTCTime(t)
	} else {
		tb.AddASN1GeneralizedTime(t)
	}
	v, err := tb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cms: signing-time %s: %w", t.Format(time.RFC3339), err)
	}
	return v, nil
}

// readSigningTime decodes a signing-time value, UTCTime or GeneralizedTime (RFC 5652 §11.3).
func readSigningTime(v *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case v.PeekASN1Tag(cbasn1.UTCTime):
		if !v.ReadASN1UTCTime(&t) {
			return t, errors.New("malformed UTCTime")
		}
	case v.PeekASN1Tag(cbasn1.GeneralizedTime):
		if !v.ReadASN1GeneralizedTime(&t) {
			return t, errors.New("malformed GeneralizedTime")
		}
	default:
		return t, errors.New("neither UTCTime nor GeneralizedTime")
	}
	if !v.Empty() {
		return t, errors.New("trailing data after the time")
	}
	return t, nil
}
