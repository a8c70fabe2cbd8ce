package model

import (
	"fmt"

	"github.com/google/uuid"
)

// NamespaceCBORPEN is UUID5(NAMESPACE_OID, h'D86F452B06010401'), the namespace for class IDs
// under a CBOR PEN vendor ID (draft-ietf-suit-manifest-37 §8.4.8.1).
var NamespaceCBORPEN = uuid.NewSHA1(uuid.NameSpaceOID, []byte{0xD8, 0x6F, 0x45, 0x2B, 0x06, 0x01, 0x04, 0x01})

// VendorID derives the RECOMMENDED vendor ID: UUID5(NAMESPACE_DNS, domain), the domain as
// UTF-8 without IDNA processing (§8.4.8.1). VendorID("arm.com") is fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe.
func VendorID(domain string) []byte {
	u := uuid.NewSHA1(uuid.NameSpaceDNS, []byte(domain))
	return u[:]
}

// ClassID derives the RECOMMENDED class ID: UUID5(vendor ID, class-specific information) such as a
// model name (§8.4.8.2). ClassID(VendorID("arm.com"), "suit") is 1492af14-2569-5e48-bf42-9b2d51f2ab45.
func ClassID(vendorID []byte, info string) ([]byte, error) {
	ns, err := uuid.FromBytes(vendorID)
	if err != nil {
		return nil, fmt.Errorf("vendor ID must be a 16-byte UUID, got %d bytes", len(vendorID))
	}
	u := uuid.NewSHA1(ns, []byte(info))
	return u[:], nil
}

// ClassIDForPEN derives a class ID under a CBOR PEN vendor ID (relative OID bytes under 1.3.6.1.4.1):
// UUID5(UUID5(NamespaceCBORPEN, encoded #6.112(pen)), info).
func ClassIDForPEN(encodedPEN []byte, info string) []byte {
	vendorNS := uuid.NewSHA1(NamespaceCBORPEN, encodedPEN)
	u := uuid.NewSHA1(vendorNS, []byte(info))
	return u[:]
}

// FormatUUID formats 16 bytes as a UUID string; other lengths as hex.
func FormatUUID(b []byte) string {
	if u, err := uuid.FromBytes(b); err == nil {
		return u.String()
	}
	return fmt.Sprintf("%x", b)
}

// ParseUUID parses a UUID string (with or without dashes, or urn:uuid:) into 16 bytes.
func ParseUUID(s string) ([]byte, error) {
	u, err := uuid.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a UUID: %w", s, err)
	}
	return u[:], nil
}
