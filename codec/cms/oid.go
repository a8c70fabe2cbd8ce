package cms

import "encoding/asn1"

// Object identifiers (RFC 4108 Appendix A, RFC 5652, RFC 2634, RFC 5754, RFC 5758, RFC 8419).
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	OIDCompressed    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 9}
	// id-ct-firmwarePackage, id-ct-firmwareLoadReceipt, id-ct-firmwareLoadError.
	OIDFirmwarePackage   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 16}
	OIDFirmwareLoadRcpt  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 17}
	OIDFirmwareLoadError = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 18}

	OIDAttrContentType         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrContentHints        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 4}
	OIDAttrSigningCertificate  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	OIDAttrFirmwarePackageID   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 35}
	OIDAttrTargetHardwareIDs   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 36}
	OIDAttrDecryptKeyID        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 37}
	OIDAttrImplCryptoAlgs      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 38}
	OIDAttrWrappedFirmwareKey  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 39}
	OIDAttrCommunityIDs        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 40}
	OIDAttrFwPkgMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 41}
	OIDAttrFirmwarePackageInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 42}
	OIDAttrImplCompressAlgs    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 43}

	OIDSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	OIDECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	OIDEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	// id-on-hardwareModuleName (RFC 4108 §5).
	OIDHardwareModuleName = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 4}
)

var oidNames = map[string]string{
	OIDData.String():                    "id-data",
	OIDSignedData.String():              "id-signedData",
	OIDEncryptedData.String():           "id-encryptedData",
	OIDCompressed.String():              "id-ct-compressedData",
	OIDFirmwarePackage.String():         "id-ct-firmwarePackage",
	OIDFirmwareLoadRcpt.String():        "id-ct-firmwareLoadReceipt",
	OIDFirmwareLoadError.String():       "id-ct-firmwareLoadError",
	OIDAttrContentType.String():         "content-type",
	OIDAttrMessageDigest.String():       "message-digest",
	OIDAttrSigningTime.String():         "signing-time",
	OIDAttrContentHints.String():        "content-hints",
	OIDAttrSigningCertificate.String():  "signing-certificate",
	OIDAttrFirmwarePackageID.String():   "firmware-package-identifier",
	OIDAttrTargetHardwareIDs.String():   "target-hardware-module-identifiers",
	OIDAttrDecryptKeyID.String():        "decrypt-key-identifier",
	OIDAttrImplCryptoAlgs.String():      "implemented-crypto-algorithms",
	OIDAttrWrappedFirmwareKey.String():  "wrapped-firmware-key",
	OIDAttrCommunityIDs.String():        "community-identifiers",
	OIDAttrFwPkgMessageDigest.String():  "firmware-package-message-digest",
	OIDAttrFirmwarePackageInfo.String(): "firmware-package-info",
	OIDAttrImplCompressAlgs.String():    "implemented-compress-algorithms",
	OIDSHA256.String():                  "SHA-256",
	OIDSHA384.String():                  "SHA-384",
	OIDSHA512.String():                  "SHA-512",
	OIDECDSAWithSHA256.String():         "ecdsa-with-SHA256",
	OIDRSAEncryption.String():           "rsaEncryption",
	OIDSHA256WithRSA.String():           "sha256WithRSAEncryption",
	OIDRSAPSS.String():                  "RSASSA-PSS",
	OIDEd25519.String():                 "Ed25519",
}

// OIDName gives the name of a known OID ("id-ct-firmwarePackage") or its dotted form.
func OIDName(oid asn1.ObjectIdentifier) string {
	if n, ok := oidNames[oid.String()]; ok {
		return n
	}
	return oid.String()
}

// ParseOID reads a dotted OID ("1.3.6.1.4.1.99999.1").
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	if s == "" {
		return nil, fmtErr("empty OID")
	}
	n := 0
	seen := false
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if !seen {
				return nil, fmtErr("OID %q: empty arc", s)
			}
			oid = append(oid, n)
			n, seen = 0, false
			continue
		}
		c := s[i]
		if c < '0' || c > '9' {
			return nil, fmtErr("OID %q: %q is not a digit", s, c)
		}
		if n > (1<<31-1)/10 {
			return nil, fmtErr("OID %q: arc too large", s)
		}
		n = n*10 + int(c-'0')
		seen = true
	}
	if len(oid) < 2 || oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmtErr("OID %q: needs at least two arcs, the first 0, 1 or 2", s)
	}
	return oid, nil
}
