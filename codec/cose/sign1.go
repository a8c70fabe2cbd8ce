package cose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
	"io"
	"math/big"

	"github.com/suit-studio/suit-studio/codec/lms"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// CBOR tags of the COSE messages (RFC 9052 §2).
const (
	TagSign1 uint64 = 18
	TagMac0  uint64 = 17
	TagSign  uint64 = 98
	TagMac   uint64 = 97
)

// Header labels (RFC 9052 §3.1).
const (
	HeaderAlg         int64 = 1
	HeaderCrit        int64 = 2
	HeaderContentType int64 = 3
	HeaderKID         int64 = 4
	HeaderIV          int64 = 5
	HeaderPartialIV   int64 = 6
)

// SigStructure returns the ToBeSigned of a COSE_Sign1 without external AAD:
// ["Signature1", bstr(protected), h”, bstr(payload)]. protected is the
// header map's encoding (the bstr content), payload the detached payload (for
// SUIT: the encoded SUIT_Digest).
func SigStructure(protected, payload []byte) []byte {
	b := make([]byte, 0, 16+len(protected)+len(payload)+18)
	b = append(b, 0x84)
	b = appendTstr(b, "Signature1")
	b = appendBstr(b, protected)
	b = append(b, 0x40)
	return appendBstr(b, payload)
}

// protectedHeader encodes {1: alg} or {1: alg, 4: kid} deterministically. The
// kid goes in the protected bucket so that it is covered by the signature.
func protectedHeader(alg int64, kid []byte) []byte {
	b := make([]byte, 0, 8+len(kid))
	if kid == nil {
		b = append(b, 0xa1)
	} else {
		b = append(b, 0xa2)
	}
	b = appendInt(b, HeaderAlg)
	b = appendInt(b, alg)
	if kid != nil {
		b = appendInt(b, HeaderKID)
		b = appendBstr(b, kid)
	}
	return b
}

// message encodes tag([bstr(protected), {}, null, bstr(sig)]).
func message(tag uint64, protected, sig []byte) []byte {
	b := make([]byte, 0, 12+len(protected)+len(sig))
	b = appendHead(b, 6, tag)
	b = append(b, 0x84)
	b = appendBstr(b, protected)
	b = append(b, 0xa0, 0xf6)
	return appendBstr(b, sig)
}

// Sign1 signs detachedPayload and returns the encoded COSE_Sign1_Tagged (tag
// 18): protected {1: alg} (plus 4: kid when kid is not nil), unprotected {},
// payload null, and the signature.
//
// signer may be any crypto.Signer, including a key in an HSM. ECDSA signers
// are given the hash of the ToBeSigned and must return ASN.1 DER (the
// crypto.Signer contract); a signer that returns raw r||s of the right size is
// accepted too. With an *ecdsa.PrivateKey and rand == nil the signature is
// deterministic (RFC 6979). The signature is checked against the signer's
// public key before it is returned, so a faulty signer cannot produce a
// block that will not verify.
func Sign1(rand io.Reader, signer crypto.Signer, alg int64, kid []byte, detachedPayload []byte) ([]byte, error) {
	if signer == nil {
		return nil, algErr(alg, "sign", ErrKeyMismatch, "no signer")
	}
	info, pub, err := checkKey(alg, "sign", signer.Public())
	if err != nil {
		return nil, err
	}
	protected := protectedHeader(alg, kid)
	tbs := SigStructure(protected, detachedPayload)
	var sig []byte
	switch info.kind {
	case kindECDSA:
		h := info.hash.New()
		h.Write(tbs)
		digest := h.Sum(nil)
		out, err := signer.Sign(rand, digest, info.hash)
		if err != nil {
			return nil, fmt.Errorf("cose: sign with %s: signer failed: %w", info.name, err)
		}
		size := (info.curve.Params().BitSize + 7) / 8
		if sig, err = ecdsaRawSignature(out, size); err != nil {
			return nil, algErr(alg, "sign", ErrVerification, "signer output: %v", err)
		}
		if err := verifyECDSA(pub.(*ecdsa.PublicKey), digest, sig); err != nil {
			return nil, algErr(alg, "sign", ErrVerification, "the signer's signature does not verify with its own public key")
		}
	case kindEd25519:
		out, err := signer.Sign(rand, tbs, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("cose: sign with %s: signer failed: %w", info.name, err)
		}
		if len(out) != ed25519.SignatureSize || !ed25519.Verify(pub.(ed25519.PublicKey), tbs, out) {
			return nil, algErr(alg, "sign", ErrVerification, "the signer's signature does not verify with its own public key")
		}
		sig = out
	case kindHSSLMS:
		// HSS signs the message itself (RFC 9708 §4); a stateful signer reserves its leaf.
		out, err := signer.Sign(rand, tbs, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("cose: sign with %s: signer failed: %w", info.name, err)
		}
		if lms.Verify(pub.(lms.PublicKey), tbs, out) != nil {
			return nil, algErr(alg, "sign", ErrVerification, "the signer's signature does not verify with its own public key")
		}
		sig = out
	}
	return message(TagSign1, protected, sig), nil
}

// ecdsaRawSignature turns an ASN.1 DER ECDSA signature into COSE's fixed-size
// r||s (RFC 9053 §2.1), each integer left-padded to the curve's byte size.
func ecdsaRawSignature(sig []byte, size int) ([]byte, error) {
	in := cryptobyte.String(sig)
	var inner, rb, sb cryptobyte.String
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1(&rb, asn1.INTEGER) || !inner.ReadASN1(&sb, asn1.INTEGER) || !inner.Empty() {
		if len(sig) == 2*size {
			return append([]byte(nil), sig...), nil // the signer already gave r||s
		}
		return nil, fmt.Errorf("not an ASN.1 DER ECDSA signature SEQUENCE{r, s} (%d bytes)", len(sig))
	}
	if len(rb) == 0 || len(sb) == 0 || rb[0]&0x80 != 0 || sb[0]&0x80 != 0 {
		return nil, fmt.Errorf("ECDSA r or s is empty or negative")
	}
	r, s := trimInt(rb), trimInt(sb)
	if len(r) > size || len(s) > size {
		return nil, fmt.Errorf("ECDSA r or s longer than %d bytes", size)
	}
	out := make([]byte, 2*size)
	copy(out[size-len(r):size], r)
	copy(out[2*size-len(s):], s)
	return out, nil
}

// trimInt drops the leading zero bytes DER adds to keep an INTEGER positive.
func trimInt(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte) error {
	n := len(sig) / 2
	r := new(big.Int).SetBytes(sig[:n])
	s := new(big.Int).SetBytes(sig[n:])
	if !ecdsa.Verify(pub, digest, r, s) {
		return ErrVerification
	}
	return nil
}
