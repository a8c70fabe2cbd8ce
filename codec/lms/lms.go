// Package lms implements the Leighton-Micali hash-based signatures of RFC
// 8554: LM-OTS one-time signatures (§4), LMS Merkle-tree signatures (§5) and
// the HSS hierarchy (§6), with SHA-256 and n = m = 32 (the parameter sets of
// RFC 8554 §4.1 and §5.1). COSE names the HSS signature algorithm HSS-LMS
// (-46, RFC 9708); draft-ietf-suit-mti's suit-sha256-hsslms-a256kw-a256ctr
// profile uses it.
//
// Verification takes the encoded public key and signature. Signing is
// stateful: an LMS private key may sign each leaf (q) once. PrivateKey.Sign
// signs with the leaf the caller reserved (the signer package persists the
// next q before any signature leaves, see signer.HSSKey); the private key
// values are derived from a seed as in RFC 8554 Appendix A.
package lms

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Typecodes (RFC 8554 §4.1, §5.1; IANA "Leighton-Micali Signatures").
const (
	LMOTS_SHA256_N32_W1 uint32 = 1
	LMOTS_SHA256_N32_W2 uint32 = 2
	LMOTS_SHA256_N32_W4 uint32 = 3
	LMOTS_SHA256_N32_W8 uint32 = 4

	LMS_SHA256_M32_H5  uint32 = 5
	LMS_SHA256_M32_H10 uint32 = 6
	LMS_SHA256_M32_H15 uint32 = 7
	LMS_SHA256_M32_H20 uint32 = 8
	LMS_SHA256_M32_H25 uint32 = 9
)

const n = 32 // hash output bytes (n = m = 32)

// Domain separators (RFC 8554 §3).
const (
	dPBLC = 0x8080
	dMESG = 0x8181
	dLEAF = 0x8282
	dINTR = 0x8383
)

// ErrInvalid: the signature does not verify, or the key or signature is malformed.
var ErrInvalid = errors.New("HSS/LMS signature invalid")

type otsParams struct {
	w, p, ls int
}

var otsTypes = map[uint32]otsParams{
	LMOTS_SHA256_N32_W1: {1, 265, 7},
	LMOTS_SHA256_N32_W2: {2, 133, 6},
	LMOTS_SHA256_N32_W4: {4, 67, 4},
	LMOTS_SHA256_N32_W8: {8, 34, 0},
}

var lmsHeights = map[uint32]int{
	LMS_SHA256_M32_H5: 5, LMS_SHA256_M32_H10: 10, LMS_SHA256_M32_H15: 15, LMS_SHA256_M32_H20: 20, LMS_SHA256_M32_H25: 25,
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// coef is coef(S, i, w) of RFC 8554 §3.1.3.
func coef(s []byte, i, w int) int {
	return int(s[i*w/8]>>(8-(w*(i%(8/w))+w))) & (1<<w - 1)
}

// checksum is Cksm(S) of §4.4, shifted left by ls.
func checksum(s []byte, p otsParams) uint16 {
	sum := 0
	for i := 0; i < n*8/p.w; i++ {
		sum += 1<<p.w - 1 - coef(s, i, p.w)
	}
	return uint16(sum << p.ls)
}

// chain runs the LM-OTS hash chain from step a to b (exclusive) on tmp.
func chain(id []byte, q uint32, i int, tmp []byte, a, b int) []byte {
	buf := make([]byte, 0, 16+4+2+1+n)
	for j := a; j < b; j++ {
		buf = append(buf[:0], id...)
		buf = binary.BigEndian.AppendUint32(buf, q)
		buf = binary.BigEndian.AppendUint16(buf, uint16(i))
		buf = append(buf, byte(j))
		buf = append(buf, tmp...)
		h := sha256.Sum256(buf)
		tmp = h[:]
	}
	return tmp
}

// otsCandidate computes the candidate LM-OTS public key Kc from a signature
// (RFC 8554 Algorithm 4b).
func otsCandidate(id []byte, q uint32, msg, sig []byte, wantType uint32) ([]byte, error) {
	if len(sig) < 4 {
		return nil, fmt.Errorf("%w: LM-OTS signature too short", ErrInvalid)
	}
	typ := binary.BigEndian.Uint32(sig)
	if typ != wantType {
		return nil, fmt.Errorf("%w: LM-OTS type %d, the key says %d", ErrInvalid, typ, wantType)
	}
	p, ok := otsTypes[typ]
	if !ok {
		return nil, fmt.Errorf("%w: unknown LM-OTS type %d", ErrInvalid, typ)
	}
	if len(sig) != 4+n+p.p*n {
		return nil, fmt.Errorf("%w: LM-OTS signature is %d bytes, type %d needs %d", ErrInvalid, len(sig), typ, 4+n+p.p*n)
	}
	c := sig[4 : 4+n]
	h := sha256.New()
	h.Write(id)
	h.Write(u32(q))
	h.Write([]byte{dMESG >> 8, dMESG & 0xff})
	h.Write(c)
	h.Write(msg)
	qh := h.Sum(nil)
	qc := binary.BigEndian.AppendUint16(qh, checksum(qh, p))
	k := sha256.New()
	k.Write(id)
	k.Write(u32(q))
	k.Write([]byte{dPBLC >> 8, dPBLC & 0xff})
	for i := 0; i < p.p; i++ {
		a := coef(qc, i, p.w)
		y := sig[4+n+i*n : 4+n+(i+1)*n]
		k.Write(chain(id, q, i, y, a, 1<<p.w-1))
	}
	return k.Sum(nil), nil
}

// lmsRoot computes the candidate root from a leaf's OTS key and its path.
func lmsRoot(id []byte, q uint32, h int, kc, path []byte) []byte {
	node := uint32(1)<<h + q
	buf := append(append(append([]byte{}, id...), u32(node)...), dLEAF>>8, dLEAF&0xff)
	t := sha256.Sum256(append(buf, kc...))
	tmp := t[:]
	for i := 0; node > 1; i++ {
		sib := path[i*n : (i+1)*n]
		b := append(append(append([]byte{}, id...), u32(node/2)...), dINTR>>8, dINTR&0xff)
		if node&1 == 1 {
			b = append(append(b, sib...), tmp...)
		} else {
			b = append(append(b, tmp...), sib...)
		}
		s := sha256.Sum256(b)
		tmp = s[:]
		node /= 2
	}
	return tmp
}

// lmsSigLen is the length of an LMS signature of otsType and lmsType.
func lmsSigLen(otsType, lmsType uint32) int {
	return 4 + 4 + n + otsTypes[otsType].p*n + 4 + lmsHeights[lmsType]*n
}

// verifyLMS checks an LMS signature (RFC 8554 Algorithm 6a) of msg with the
// encoded LMS public key pub.
func verifyLMS(pub, msg, sig []byte) error {
	if len(pub) != 4+4+16+n {
		return fmt.Errorf("%w: LMS public key is %d bytes, want %d", ErrInvalid, len(pub), 4+4+16+n)
	}
	lmsType, otsType := binary.BigEndian.Uint32(pub), binary.BigEndian.Uint32(pub[4:])
	h, ok := lmsHeights[lmsType]
	if _, ok2 := otsTypes[otsType]; !ok || !ok2 {
		return fmt.Errorf("%w: unknown LMS type %d or LM-OTS type %d", ErrInvalid, lmsType, otsType)
	}
	id, t1 := pub[8:24], pub[24:]
	if len(sig) != lmsSigLen(otsType, lmsType) {
		return fmt.Errorf("%w: LMS signature is %d bytes, want %d", ErrInvalid, len(sig), lmsSigLen(otsType, lmsType))
	}
	q := binary.BigEndian.Uint32(sig)
	if q >= 1<<h {
		return fmt.Errorf("%w: leaf %d beyond the tree of height %d", ErrInvalid, q, h)
	}
	otsLen := 4 + n + otsTypes[otsType].p*n
	kc, err := otsCandidate(id, q, msg, sig[4:4+otsLen], otsType)
	if err != nil {
		return err
	}
	rest := sig[4+otsLen:]
	if binary.BigEndian.Uint32(rest) != lmsType {
		return fmt.Errorf("%w: LMS type in the signature differs from the key's", ErrInvalid)
	}
	if subtle.ConstantTimeCompare(lmsRoot(id, q, h, kc, rest[4:]), t1) != 1 {
		return fmt.Errorf("%w: the signature does not verify with this key", ErrInvalid)
	}
	return nil
}

// Verify checks an HSS signature (RFC 8554 §6.3, Algorithm 6a) of msg with
// the encoded HSS public key pub (u32 L || LMS public key).
func Verify(pub, msg, sig []byte) error {
	if len(pub) < 4 || len(sig) < 4 {
		return fmt.Errorf("%w: key or signature too short", ErrInvalid)
	}
	levels := binary.BigEndian.Uint32(pub)
	nspk := binary.BigEndian.Uint32(sig)
	if levels < 1 || levels > 8 || nspk+1 != levels {
		return fmt.Errorf("%w: the signature has %d signed public keys for a key of %d levels", ErrInvalid, nspk, levels)
	}
	key := pub[4:]
	rest := sig[4:]
	for i := uint32(0); i < nspk; i++ {
		sl, err := lmsSigLenFrom(rest)
		if err != nil {
			return err
		}
		if len(rest) < sl+24 {
			return fmt.Errorf("%w: truncated", ErrInvalid)
		}
		next := rest[sl : sl+24+n]
		if len(rest) < sl+24+n {
			return fmt.Errorf("%w: truncated", ErrInvalid)
		}
		if err := verifyLMS(key, next, rest[:sl]); err != nil {
			return fmt.Errorf("level %d: %w", i+1, err)
		}
		key, rest = next, rest[sl+24+n:]
	}
	return verifyLMS(key, msg, rest)
}

// lmsSigLenFrom reads the types inside an LMS signature to know its length.
func lmsSigLenFrom(sig []byte) (int, error) {
	if len(sig) < 8 {
		return 0, fmt.Errorf("%w: truncated", ErrInvalid)
	}
	otsType := binary.BigEndian.Uint32(sig[4:])
	p, ok := otsTypes[otsType]
	if !ok {
		return 0, fmt.Errorf("%w: unknown LM-OTS type %d", ErrInvalid, otsType)
	}
	at := 4 + 4 + n + p.p*n
	if len(sig) < at+4 {
		return 0, fmt.Errorf("%w: truncated", ErrInvalid)
	}
	lmsType := binary.BigEndian.Uint32(sig[at:])
	if _, ok := lmsHeights[lmsType]; !ok {
		return 0, fmt.Errorf("%w: unknown LMS type %d", ErrInvalid, lmsType)
	}
	return lmsSigLen(otsType, lmsType), nil
}

// PublicKey is an encoded HSS public key (u32 L || LMS public key), the
// crypto.PublicKey of an HSS-LMS signer.
type PublicKey []byte

// Equal reports whether two public keys are the same.
func (k PublicKey) Equal(x any) bool {
	o, ok := x.(PublicKey)
	return ok && subtle.ConstantTimeCompare(k, o) == 1
}

// Check says whether k is a well-formed HSS public key of known types.
func (k PublicKey) Check() error {
	if len(k) != 4+4+4+16+n {
		return fmt.Errorf("%w: HSS public key is %d bytes, want %d", ErrInvalid, len(k), 4+4+4+16+n)
	}
	if l := binary.BigEndian.Uint32(k); l < 1 || l > 8 {
		return fmt.Errorf("%w: HSS public key with %d levels", ErrInvalid, l)
	}
	if _, ok := lmsHeights[binary.BigEndian.Uint32(k[4:])]; !ok {
		return fmt.Errorf("%w: unknown LMS type %d", ErrInvalid, binary.BigEndian.Uint32(k[4:]))
	}
	if _, ok := otsTypes[binary.BigEndian.Uint32(k[8:])]; !ok {
		return fmt.Errorf("%w: unknown LM-OTS type %d", ErrInvalid, binary.BigEndian.Uint32(k[8:]))
	}
	return nil
}
