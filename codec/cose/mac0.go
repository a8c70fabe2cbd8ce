package cose

import (
	"crypto/hmac"
	"fmt"
)

// MinHMACKeySize is the smallest key Mac0 accepts: HMAC 256/256 keys should
// be at least as long as the tag (RFC 9053 §3.1 leaves it to the profile;
// 256 bits matches the hash).
const MinHMACKeySize = 32

// MACStructure returns the MAC input of a COSE_Mac0 without external AAD:
// ["MAC0", bstr(protected), h”, bstr(payload)].
func MACStructure(protected, payload []byte) []byte {
	b := make([]byte, 0, 8+len(protected)+len(payload)+18)
	b = append(b, 0x84)
	b = appendTstr(b, "MAC0")
	b = appendBstr(b, protected)
	b = append(b, 0x40)
	return appendBstr(b, payload)
}

// Mac0 returns the encoded COSE_Mac0_Tagged (tag 17) over detachedPayload:
// protected {1: alg} (plus 4: kid when kid is not nil), unprotected {},
// payload null, and the full 32-byte tag. alg must be AlgHMAC256.
func Mac0(key []byte, alg int64, kid []byte, detachedPayload []byte) ([]byte, error) {
	if alg != AlgHMAC256 {
		return nil, algErr(alg, "mac", ErrUnsupportedAlgorithm, "COSE_Mac0 here supports HMAC 256/256 (5) only")
	}
	if len(key) < MinHMACKeySize {
		return nil, algErr(alg, "mac", ErrKeyMismatch, "key is %d bytes, HMAC 256/256 needs at least %d", len(key), MinHMACKeySize)
	}
	protected := protectedHeader(alg, kid)
	return message(TagMac0, protected, hmacTag(key, protected, detachedPayload)), nil
}

func hmacTag(key, protected, payload []byte) []byte {
	h := hmac.New(algorithms[AlgHMAC256].hash.New, key)
	h.Write(MACStructure(protected, payload))
	return h.Sum(nil)
}

// VerifyMAC checks a COSE_Mac0 tag with key, in constant time. detachedPayload
// is the payload when the message's payload is null.
func (m *Message) VerifyMAC(key []byte, detachedPayload []byte) error {
	const op = "verify MAC"
	if m.Tag != TagMac0 {
		return fmt.Errorf("cose: %s: %w: this is a tag %d message, not a COSE_Mac0 (17); use VerifySignature for COSE_Sign1", op, ErrUnsupported, m.Tag)
	}
	if err := m.checkAlg(op); err != nil {
		return err
	}
	if m.Alg != AlgHMAC256 {
		if _, ok := algorithms[m.Alg]; ok {
			return algErr(m.Alg, op, ErrKeyMismatch, "%s is not a MAC algorithm", AlgorithmName(m.Alg))
		}
		return algErr(m.Alg, op, ErrUnsupportedAlgorithm, "COSE_Mac0 here supports HMAC 256/256 (5) only")
	}
	if len(key) == 0 {
		return algErr(m.Alg, op, ErrKeyMismatch, "empty key")
	}
	payload, err := m.payload(op, detachedPayload)
	if err != nil {
		return err
	}
	if len(m.Signature) != 32 {
		return algErr(m.Alg, op, ErrVerification, "tag is %d bytes, HMAC 256/256 needs 32", len(m.Signature))
	}
	if !hmac.Equal(hmacTag(key, m.Protected, payload), m.Signature) {
		return algErr(m.Alg, op, ErrVerification, "MAC mismatch: wrong key or altered message")
	}
	return nil
}
