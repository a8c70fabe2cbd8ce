package cose

import (
	"github.com/fxamacker/cbor/v2"
)

// The one CBOR profile of this package. Encoding is core deterministic so that
// the protected header bytes (which are signed) are reproducible. Decoding is
// strict about structure and bounded, but does not demand canonical key order:
// the header bytes are kept as received, so order does not affect verification.
var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

// Decoder limits. A COSE message in a SUIT envelope is a few hundred bytes with
// header maps of a handful of entries; these bounds leave room for COSE_Key
// structures in headers while refusing hostile input early. fxamacker/cbor
// checks that the whole input is well formed before it decodes, so a claimed
// length larger than the remaining input fails before anything is allocated.
const (
	maxNestedLevels  = 16
	maxArrayElements = 256
	maxMapPairs      = 256
)

func init() {
	var err error
	eo := cbor.CoreDetEncOptions()
	eo.IndefLength = cbor.IndefLengthForbidden
	if encMode, err = eo.EncMode(); err != nil {
		panic(err)
	}
	do := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  maxNestedLevels,
		MaxArrayElements: maxArrayElements,
		MaxMapPairs:      maxMapPairs,
		IntDec:           cbor.IntDecConvertSignedOrFail,
		UTF8:             cbor.UTF8RejectInvalid,
	}
	if decMode, err = do.DecMode(); err != nil {
		panic(err)
	}
}

// bstrHead appends a CBOR byte string head for n content bytes.
func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major<<5|byte(n))
	case n <= 0xff:
		return append(b, major<<5|24, byte(n))
	case n <= 0xffff:
		return append(b, major<<5|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, major<<5|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, major<<5|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

func appendBstr(b, content []byte) []byte {
	b = appendHead(b, 2, uint64(len(content)))
	return append(b, content...)
}

func appendTstr(b []byte, s string) []byte {
	b = appendHead(b, 3, uint64(len(s)))
	return append(b, s...)
}

// appendInt appends a CBOR integer in shortest form.
func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return appendHead(b, 0, uint64(v))
	}
	return appendHead(b, 1, uint64(-(v + 1)))
}
