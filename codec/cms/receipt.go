package cms

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// LoadReceipt is FirmwarePackageLoadReceipt (RFC 4108 §3): a device's statement that it loaded
// a package.
type LoadReceipt struct {
	Version          int64 // 1 (DEFAULT v1, omitted from DER)
	HWType           asn1.ObjectIdentifier
	HWSerialNum      []byte
	PackageName      PackageID
	TrustAnchorKeyID []byte // optional
	DecryptKeyID     []byte // optional, [1] IMPLICIT
}

// CurrentFWConfig is one package a device runs, reported in a load error.
type CurrentFWConfig struct {
	Type *int64
	Name PackageID
}

// LoadError is FirmwarePackageLoadError (RFC 4108 §4): why a device refused a package.
type LoadError struct {
	Version         int64 // 1
	HWType          asn1.ObjectIdentifier
	HWSerialNum     []byte
	Code            ErrorCode
	VendorErrorCode *int64     // required when Code is OtherError
	PackageName     *PackageID // optional
	Config          []CurrentFWConfig
}

// Report is a decoded load receipt or load error, with its signature state.
type Report struct {
	Receipt *LoadReceipt
	Error   *LoadError
	Signed  bool
	// SigningTime is the signing-time attribute of a signed report (zero when absent).
	SigningTime time.Time
	// SubjectKeyID identifies the device key that signed the report.
	SubjectKeyID []byte
}

// MarshalReceipt encodes a load receipt (the bare structure, DER).
func MarshalReceipt(r *LoadReceipt) ([]byte, error) {
	if len(r.HWType) < 2 {
		return nil, fmt.Errorf("cms: load receipt: hwType is required")
	}
	if err := checkPackageID(r.PackageName, "load receipt fwPkgName"); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if r.Version != 0 && r.Version != 1 {
			b.AddASN1Int64(r.Version)
		}
		b.AddASN1ObjectIdentifier(r.HWType)
		b.AddASN1OctetString(r.HWSerialNum)
		marshalPackageID(b, r.PackageName)
		if r.TrustAnchorKeyID != nil {
			b.AddASN1OctetString(r.TrustAnchorKeyID)
		}
		if r.DecryptKeyID != nil {
			b.AddASN1(tagCtx1P, func(b *cryptobyte.Builder) { b.AddBytes(r.DecryptKeyID) })
		}
	})
	return b.Bytes()
}

// MarshalLoadError encodes a load error (the bare structure, DER).
func MarshalLoadError(e *LoadError) ([]byte, error) {
	if len(e.HWType) < 2 {
		return nil, fmt.Errorf("cms: load error: hwType is required")
	}
	if _, ok := errorCodeNames[e.Code]; !ok {
		return nil, fmt.Errorf("cms: load error: unknown error code %d", int(e.Code))
	}
	if e.Code == OtherError && e.VendorErrorCode == nil {
		return nil, fmt.Errorf("cms: load error: otherError needs a vendorErrorCode (RFC 4108 §4)")
	}
	if e.PackageName != nil {
		if err := checkPackageID(*e.PackageName, "load error fwPkgName"); err != nil {
			return nil, err
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if e.Version != 0 && e.Version != 1 {
			b.AddASN1Int64(e.Version)
		}
		b.AddASN1ObjectIdentifier(e.HWType)
		b.AddASN1OctetString(e.HWSerialNum)
		b.AddASN1Enum(int64(e.Code))
		if e.VendorErrorCode != nil {
			b.AddASN1Int64(*e.VendorErrorCode)
		}
		if e.PackageName != nil {
			marshalPackageID(b, *e.PackageName)
		}
		if len(e.Config) > 0 {
			b.AddASN1(tagCtx1C, func(b *cryptobyte.Builder) {
				for _, c := range e.Config {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						if c.Type != nil {
							b.AddASN1Int64(*c.Type)
						}
						marshalPackageID(b, c.Name)
					})
				}
			})
		}
	})
	return b.Bytes()
}

func unmarshalReceipt(der []byte) (*LoadReceipt, error) {
	in := cryptobyte.String(der)
	var s cryptobyte.String
	bad := func(what string) error {
		return fail(DecodeFailure, "FirmwarePackageLoadReceipt", -1, "%s", what)
	}
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, bad("not a DER SEQUENCE")
	}
	r := &LoadReceipt{Version: 1}
	if s.PeekASN1Tag(cbasn1.INTEGER) {
		if !s.ReadASN1Integer(&r.Version) || r.Version == 1 {
			return nil, bad("version: malformed, or the DEFAULT v1 encoded (not DER)")
		}
	}
	var serial cryptobyte.String
	if !s.ReadASN1ObjectIdentifier(&r.HWType) || !s.ReadASN1(&serial, cbasn1.OCTET_STRING) {
		return nil, bad("hwType OID and hwSerialNum OCTET STRING are required")
	}
	r.HWSerialNum = append([]byte{}, serial...)
	id, ok := readPackageID(&s)
	if !ok {
		return nil, bad("fwPkgName is required")
	}
	r.PackageName = id
	if s.PeekASN1Tag(cbasn1.OCTET_STRING) {
		var t cryptobyte.String
		s.ReadASN1(&t, cbasn1.OCTET_STRING)
		r.TrustAnchorKeyID = append([]byte{}, t...)
	}
	if s.PeekASN1Tag(tagCtx1P) {
		var k cryptobyte.String
		s.ReadASN1(&k, tagCtx1P)
		r.DecryptKeyID = append([]byte{}, k...)
	}
	if !s.Empty() {
		return nil, bad("unexpected data after the last field")
	}
	return r, nil
}

func unmarshalLoadError(der []byte) (*LoadError, error) {
	in := cryptobyte.String(der)
	var s cryptobyte.String
	bad := func(what string) error {
		return fail(DecodeFailure, "FirmwarePackageLoadError", -1, "%s", what)
	}
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, bad("not a DER SEQUENCE")
	}
	e := &LoadError{Version: 1}
	if s.PeekASN1Tag(cbasn1.INTEGER) {
		if !s.ReadASN1Integer(&e.Version) || e.Version == 1 {
			return nil, bad("version: malformed, or the DEFAULT v1 encoded (not DER)")
		}
	}
	var serial cryptobyte.String
	if !s.ReadASN1ObjectIdentifier(&e.HWType) || !s.ReadASN1(&serial, cbasn1.OCTET_STRING) {
		return nil, bad("hwType OID and hwSerialNum OCTET STRING are required")
	}
	e.HWSerialNum = append([]byte{}, serial...)
	var code int
	if !s.ReadASN1Enum(&code) {
		return nil, bad("errorCode ENUMERATED is required")
	}
	e.Code = ErrorCode(code)
	if s.PeekASN1Tag(cbasn1.INTEGER) {
		var v int64
		if !s.ReadASN1Integer(&v) {
			return nil, bad("vendorErrorCode is not a small INTEGER")
		}
		e.VendorErrorCode = &v
	}
	if s.PeekASN1Tag(cbasn1.SEQUENCE) || s.PeekASN1Tag(cbasn1.OCTET_STRING) {
		id, ok := readPackageID(&s)
		if !ok {
			return nil, bad("malformed fwPkgName")
		}
		e.PackageName = &id
	}
	if s.PeekASN1Tag(tagCtx1C) {
		var cfg cryptobyte.String
		s.ReadASN1(&cfg, tagCtx1C)
		for !cfg.Empty() {
			var c cryptobyte.String
			if !cfg.ReadASN1(&c, cbasn1.SEQUENCE) {
				return nil, bad("config entry is not a SEQUENCE")
			}
			var cf CurrentFWConfig
			if c.PeekASN1Tag(cbasn1.INTEGER) {
				var t int64
				if !c.ReadASN1Integer(&t) {
					return nil, bad("config fwPkgType is not a small INTEGER")
				}
				cf.Type = &t
			}
			id, ok := readPackageID(&c)
			if !ok || !c.Empty() {
				return nil, bad("config fwPkgName malformed")
			}
			cf.Name = id
			e.Config = append(e.Config, cf)
		}
	}
	if !s.Empty() {
		return nil, bad("unexpected data after the last field")
	}
	return e, nil
}

// contentInfo wraps content in ContentInfo{contentType, [0] EXPLICIT content}.
func contentInfo(ct asn1.ObjectIdentifier, content []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(ct)
		b.AddASN1(tagCtx0C, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	})
	return b.Bytes()
}

// EncodeReceipt makes a load receipt message: unsigned (ContentInfo id-ct-firmwareLoadReceipt)
// when key is nil, else signed (SignedData with content-type, message-digest and, when
// signingTime is not zero, signing-time).
func EncodeReceipt(r *LoadReceipt, key crypto.Signer, signingTime time.Time, opts SignOptions) ([]byte, error) {
	der, err := MarshalReceipt(r)
	if err != nil {
		return nil, err
	}
	return wrapReport(OIDFirmwareLoadRcpt, der, key, signingTime, opts)
}

// EncodeLoadError makes a load error message, unsigned or signed like EncodeReceipt.
func EncodeLoadError(e *LoadError, key crypto.Signer, signingTime time.Time, opts SignOptions) ([]byte, error) {
	der, err := MarshalLoadError(e)
	if err != nil {
		return nil, err
	}
	return wrapReport(OIDFirmwareLoadError, der, key, signingTime, opts)
}

func wrapReport(ct asn1.ObjectIdentifier, der []byte, key crypto.Signer, signingTime time.Time, opts SignOptions) ([]byte, error) {
	if key == nil {
		return contentInfo(ct, der)
	}
	var attrs []attribute
	if !signingTime.IsZero() {
		v, err := signingTimeValue(signingTime)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, attribute{OIDAttrSigningTime, v})
	}
	return signedDataDER(key, ct, der, attrs, opts)
}

// DecodeReport decodes a load receipt or load error, signed or not. A signed report is
// verified when trust holds keys (Signed stays true either way); with no trusted key the
// signature is not checked, which the caller must say.
func DecodeReport(der []byte, trust *Trust) (*Report, error) {
	d := &decoder{whole: der[:len(der):len(der)]}
	ct, content, err := d.parseContentInfo()
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	var inner []byte
	switch {
	case ct.Equal(OIDFirmwareLoadRcpt) || ct.Equal(OIDFirmwareLoadError):
		inner = content
	case ct.Equal(OIDSignedData):
		sd, d2, err := parseSignedData(der)
		if err != nil {
			return nil, err
		}
		if !sd.HasEContent {
			return nil, fail(MissingContent, "SignedData.encapContentInfo.eContent", -1, "no eContent")
		}
		ct = sd.EContentType
		if !ct.Equal(OIDFirmwareLoadRcpt) && !ct.Equal(OIDFirmwareLoadError) {
			return nil, fail(BadEncapContent, "SignedData.encapContentInfo.eContentType", -1, "%s is neither a load receipt nor a load error", OIDName(ct))
		}
		if trust != nil {
			if _, err := verifySignedData(sd, d2, *trust, ct); err != nil {
				return nil, err
			}
		}
		inner = sd.EContent
		rep.Signed = true
		if len(sd.Signers) > 0 {
			rep.SubjectKeyID = sd.Signers[0].SKI
			for _, a := range sd.Signers[0].Attrs {
				if a.OID.Equal(OIDAttrSigningTime) && len(a.Values) == 1 {
					v := cryptobyte.String(a.Values[0])
					t, err := readSigningTime(&v)
					if err != nil {
						return nil, fail(BadSignedAttrs, "SignedData.signerInfos[0].signedAttrs.signing-time", a.Offset, "%v", err)
					}
					rep.SigningTime = t
				}
			}
		}
	default:
		return nil, fail(BadContentInfo, "ContentInfo.contentType", 0, "%s is neither a load receipt, a load error nor signed data", OIDName(ct))
	}
	if ct.Equal(OIDFirmwareLoadRcpt) {
		rep.Receipt, err = unmarshalReceipt(inner)
	} else {
		rep.Error, err = unmarshalLoadError(inner)
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}
