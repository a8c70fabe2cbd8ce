package cose

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// SUITKDFOther is COSE_KDF_Context.SuppPubInfo.other for SUIT payload
// encryption (draft-ietf-suit-firmware-encryption §5.2.4).
const SUITKDFOther = "SUIT Payload Encryption"

// KDFContext encodes the COSE_KDF_Context of RFC 9053 §5.2 as
// draft-ietf-suit-firmware-encryption §5.2.4 fixes it:
//
//	[ AlgorithmID: kwAlg (A128KW -3, A192KW -4, A256KW -5),
//	  PartyUInfo: [null, null, null], PartyVInfo: [null, null, null],
//	  SuppPubInfo: [keyDataLength (bits), protected (the recipient's protected
//	                header bytes), other: 'SUIT Payload Encryption'] ]
func KDFContext(kwAlg int64, keyBits int, recipientProtected []byte, other string) []byte {
	b := make([]byte, 0, 40+len(recipientProtected)+len(other))
	b = append(b, 0x84)
	b = appendInt(b, kwAlg)
	b = append(b, 0x83, 0xf6, 0xf6, 0xf6, 0x83, 0xf6, 0xf6, 0xf6)
	b = append(b, 0x83)
	b = appendInt(b, int64(keyBits))
	b = appendBstr(b, recipientProtected)
	return appendBstr(b, []byte(other))
}

// ecdhKeyWrapAlg maps ECDH-ES + AxxxKW to the AxxxKW that the KDF context names.
var ecdhKeyWrapAlg = map[int64]int64{
	AlgECDHESA128KW: AlgA128KW, AlgECDHESA192KW: AlgA192KW, AlgECDHESA256KW: AlgA256KW,
}

// ECDHKey is a recipient's static private key for ECDH-ES: an
// *ecdh.PrivateKey, or a key held in a token that can derive a shared secret.
type ECDHKey interface {
	ECDH(remote *ecdh.PublicKey) ([]byte, error)
	Curve() ecdh.Curve
}

// DeriveKEK derives the key-encryption key of an ECDH-ES + AES-KW recipient
// (RFC 9053 §6.4, HKDF-SHA-256): HKDF(salt, Z, KDFContext, L) where Z is the
// ECDH shared secret and L the key size of the AES-KW algorithm.
func DeriveKEK(alg int64, sharedSecret, salt, recipientProtected []byte) ([]byte, error) {
	kw, ok := ecdhKeyWrapAlg[alg]
	if !ok {
		return nil, algErr(alg, "derive key", ErrUnsupportedAlgorithm, "key agreement supported: ECDH-ES + A128KW (-29), + A192KW (-30), + A256KW (-31)")
	}
	n := keyWrapSizes[alg]
	info := KDFContext(kw, 8*n, recipientProtected, SUITKDFOther)
	k, err := hkdf.Key(sha256.New, sharedSecret, salt, string(info), n)
	if err != nil {
		return nil, fmt.Errorf("cose: derive key: %w", err)
	}
	return k, nil
}
