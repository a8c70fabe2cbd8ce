package devicesim

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// A tiny CBOR writer for hand-built test manifests (host side, tests only).

func cU(n uint64) []byte { return appendHeadU(nil, majUint, n) }
func cN(n int64) []byte {
	if n >= 0 {
		return cU(uint64(n))
	}
	return appendHeadU(nil, majNint, uint64(-1-n))
}
func cB(b []byte) []byte { return append(appendHeadU(nil, majBstr, uint64(len(b))), b...) }
func cT(s string) []byte { return append(appendHeadU(nil, majTstr, uint64(len(s))), s...) }
func cArr(items ...[]byte) []byte {
	out := appendHeadU(nil, majArray, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

// cMap takes key, value, key, value ... already encoded, in the order given (callers keep it canonical).
func cMap(kv ...[]byte) []byte {
	out := appendHeadU(nil, majMap, uint64(len(kv)/2))
	for _, it := range kv {
		out = append(out, it...)
	}
	return out
}

var (
	cTrue = []byte{0xf5}
	cFals = []byte{0xf4}
	cNull = []byte{0xf6}
)

func appendHeadU(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n < 1<<8:
		return append(b, m|24, byte(n))
	case n < 1<<16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n < 1<<32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// seq encodes a command sequence from label/argument pairs.
func seq(pairs ...[]byte) []byte { return cArr(pairs...) }

func digestParam(img []byte) []byte {
	d := sha256.Sum256(img)
	return cB(cArr(cN(model.AlgSHA256), cB(d[:])))
}

func compID(b ...byte) []byte { return cArr(cB(b)) }

// identityParams is override-parameters with arm.com / "suit".
func identityParams(extra ...[]byte) []byte {
	vid := model.VendorID("arm.com")
	cid, _ := model.ClassID(vid, "suit")
	kv := [][]byte{cU(1), cB(vid), cU(2), cB(cid)}
	kv = append(kv, extra...)
	return cMap(kv...)
}

// manifestOf builds a manifest map: common with components and shared, then sections (key → bstr).
func manifestOf(seqNr uint64, comps [][]byte, shared []byte, sections ...[]byte) []byte {
	common := cMap(cU(2), cArr(comps...), cU(4), cB(shared))
	kv := [][]byte{cU(1), cU(1), cU(2), cU(seqNr), cU(3), cB(common)}
	kv = append(kv, sections...)
	return cMap(kv...)
}

// envelopeOf wraps a manifest into a signed envelope; extra are more envelope members (key, value).
func envelopeOf(t testing.TB, manifest []byte, key *ecdsa.PrivateKey, extra ...[]byte) []byte {
	t.Helper()
	man := cB(manifest)
	dg := sha256.Sum256(man)
	d := cArr(cN(-16), cB(dg[:]))
	// Placeholder wrapper of the right length, then re-signed by resign().
	sign1 := append([]byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0xf6, 0x58, 0x40}, make([]byte, 64)...)
	auth := cB(cArr(cB(d), cB(sign1)))
	kv := [][]byte{cU(2), auth, cU(3), man}
	kv = append(kv, extra...)
	env := append([]byte{0xd8, 0x6b}, cMap(kv...)...)
	return resign(t, env, key)
}

// sharedIdentity is the compatibility check of the examples.
func sharedIdentity(extra ...[]byte) []byte {
	return seq(cU(20), identityParams(extra...), cU(1), cU(15), cU(2), cU(15))
}

// installFetch is install: set uri, fetch, image-match.
func installFetch(uri string) []byte {
	return seq(cU(20), cMap(cU(21), cT(uri)), cU(21), cU(2), cU(3), cU(15))
}
