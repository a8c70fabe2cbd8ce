package lms

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// PrivateKey is a single-tree LMS private key (the one level of an HSS key
// with L = 1): its types, identifier I and seed, from which every LM-OTS
// private value is derived (RFC 8554 Appendix A).
type PrivateKey struct {
	LMSType, OTSType uint32
	ID               [16]byte
	Seed             [32]byte
}

// Height is the tree height: the key signs 2^Height messages.
func (k *PrivateKey) Height() int { return lmsHeights[k.LMSType] }

// Check says whether the types are known.
func (k *PrivateKey) Check() error {
	if _, ok := lmsHeights[k.LMSType]; !ok {
		return fmt.Errorf("unknown LMS type %d", k.LMSType)
	}
	if _, ok := otsTypes[k.OTSType]; !ok {
		return fmt.Errorf("unknown LM-OTS type %d", k.OTSType)
	}
	return nil
}

// otsPrivate is x_q[i] = H(I || u32str(q) || u16str(i) || u8str(0xff) || SEED).
func (k *PrivateKey) otsPrivate(q uint32, i int) []byte {
	b := make([]byte, 0, 16+4+2+1+32)
	b = append(b, k.ID[:]...)
	b = binary.BigEndian.AppendUint32(b, q)
	b = binary.BigEndian.AppendUint16(b, uint16(i))
	b = append(b, 0xff)
	b = append(b, k.Seed[:]...)
	h := sha256.Sum256(b)
	return h[:]
}

// otsPublic is the LM-OTS public key K of leaf q (Algorithm 1).
func (k *PrivateKey) otsPublic(q uint32) []byte {
	p := otsTypes[k.OTSType]
	h := sha256.New()
	h.Write(k.ID[:])
	h.Write(u32(q))
	h.Write([]byte{dPBLC >> 8, dPBLC & 0xff})
	for i := 0; i < p.p; i++ {
		h.Write(chain(k.ID[:], q, i, k.otsPrivate(q, i), 0, 1<<p.w-1))
	}
	return h.Sum(nil)
}

// tree computes the whole Merkle tree T[1 .. 2^(h+1)-1] (index 0 unused).
func (k *PrivateKey) tree() [][]byte {
	h := k.Height()
	leaves := uint32(1) << h
	t := make([][]byte, 2*leaves)
	for q := uint32(0); q < leaves; q++ {
		r := leaves + q
		b := append(append(append([]byte{}, k.ID[:]...), u32(r)...), dLEAF>>8, dLEAF&0xff)
		s := sha256.Sum256(append(b, k.otsPublic(q)...))
		t[r] = s[:]
	}
	for r := leaves - 1; r >= 1; r-- {
		b := append(append(append([]byte{}, k.ID[:]...), u32(r)...), dINTR>>8, dINTR&0xff)
		b = append(append(b, t[2*r]...), t[2*r+1]...)
		s := sha256.Sum256(b)
		t[r] = s[:]
	}
	return t
}

// PublicKey returns the encoded LMS public key u32 type || u32 otstype || I || T[1].
func (k *PrivateKey) PublicKey() []byte {
	return k.publicFrom(k.tree())
}

func (k *PrivateKey) publicFrom(t [][]byte) []byte {
	b := append(u32(k.LMSType), u32(k.OTSType)...)
	b = append(b, k.ID[:]...)
	return append(b, t[1]...)
}

// HSSPublicKey is the HSS public key of this one-level key: u32(1) || LMS public key.
func (k *PrivateKey) HSSPublicKey() PublicKey { return append(u32(1), k.PublicKey()...) }

// randomizer is the LM-OTS C of leaf q, derived from the seed as the
// reference implementation does (H(I || q || 0xFFFD || 0xFF || SEED)), so that
// signing is deterministic for a given leaf.
func (k *PrivateKey) randomizer(q uint32) []byte {
	b := make([]byte, 0, 16+4+2+1+32)
	b = append(b, k.ID[:]...)
	b = binary.BigEndian.AppendUint32(b, q)
	b = binary.BigEndian.AppendUint16(b, 0xfffd)
	b = append(b, 0xff)
	b = append(b, k.Seed[:]...)
	h := sha256.Sum256(b)
	return h[:]
}

// SignLMS signs msg with leaf q (Algorithm 5). The caller must never use a
// leaf twice: that reveals enough of the one-time key to forge.
func (k *PrivateKey) SignLMS(q uint32, msg []byte) ([]byte, error) {
	if err := k.Check(); err != nil {
		return nil, err
	}
	h := k.Height()
	if q >= 1<<h {
		return nil, fmt.Errorf("leaf %d: the key is exhausted (it signs %d messages)", q, 1<<h)
	}
	p := otsTypes[k.OTSType]
	c := k.randomizer(q)
	hq := sha256.New()
	hq.Write(k.ID[:])
	hq.Write(u32(q))
	hq.Write([]byte{dMESG >> 8, dMESG & 0xff})
	hq.Write(c)
	hq.Write(msg)
	qh := hq.Sum(nil)
	qc := binary.BigEndian.AppendUint16(qh, checksum(qh, p))
	sig := append(u32(q), u32(k.OTSType)...)
	sig = append(sig, c...)
	for i := 0; i < p.p; i++ {
		sig = append(sig, chain(k.ID[:], q, i, k.otsPrivate(q, i), 0, coef(qc, i, p.w))...)
	}
	sig = append(sig, u32(k.LMSType)...)
	t := k.tree()
	for node := uint32(1)<<h + q; node > 1; node /= 2 {
		sig = append(sig, t[node^1]...)
	}
	return sig, nil
}

// SignHSS signs msg with leaf q as a one-level HSS signature: u32(0) || LMS signature.
func (k *PrivateKey) SignHSS(q uint32, msg []byte) ([]byte, error) {
	s, err := k.SignLMS(q, msg)
	if err != nil {
		return nil, err
	}
	return append(u32(0), s...), nil
}
