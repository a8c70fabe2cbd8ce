package suit

// A small CBOR reader and a deterministic writer, fixed once for the SUIT profile: definite
// lengths only, shortest-form heads on output (RFC 8949 §4.2.1), map keys sorted bytewise on
// output. The reader works on absolute byte offsets so that every error can name one, and it
// never allocates on the strength of a claimed length: a length is checked against the bytes
// that are really there before anything is sliced.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// Decoder limits against hostile input.
const (
	maxDepth    = 32
	maxElements = 1 << 16 // per array or map
	maxItems    = 1 << 20 // in one decode
)

const (
	majUint   = 0
	majNint   = 1
	majBytes  = 2
	majText   = 3
	majArray  = 4
	majMap    = 5
	majTag    = 6
	majSimple = 7
)

// item is one decoded CBOR head and the extent of its whole data item.
type item struct {
	major   byte
	arg     uint64 // value, length or count, tag number, simple value
	start   int    // first byte of the head
	headEnd int    // first byte after the head
	end     int    // first byte after the whole item
}

// content returns the payload of a byte or text string.
func (it item) content(data []byte) []byte { return data[it.headEnd:it.end] }

type reader struct {
	data  []byte
	items int
}

func malformed(off int, format string, args ...any) error {
	return &DecodeError{Path: "", Offset: off, Err: fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...),
		Hint: "the input is not well-formed CBOR: check that the file is complete and is a SUIT envelope"}
}

// head reads the head at off.
func (r *reader) head(off int) (item, error) {
	if off >= len(r.data) {
		return item{}, malformed(off, "unexpected end of input")
	}
	ib := r.data[off]
	it := item{major: ib >> 5, start: off}
	ai := ib & 0x1f
	p := off + 1
	switch {
	case ai < 24:
		it.arg = uint64(ai)
	case ai == 24:
		if p+1 > len(r.data) {
			return item{}, malformed(off, "truncated head")
		}
		it.arg = uint64(r.data[p])
		p++
	case ai == 25:
		if p+2 > len(r.data) {
			return item{}, malformed(off, "truncated head")
		}
		it.arg = uint64(binary.BigEndian.Uint16(r.data[p:]))
		p += 2
	case ai == 26:
		if p+4 > len(r.data) {
			return item{}, malformed(off, "truncated head")
		}
		it.arg = uint64(binary.BigEndian.Uint32(r.data[p:]))
		p += 4
	case ai == 27:
		if p+8 > len(r.data) {
			return item{}, malformed(off, "truncated head")
		}
		it.arg = binary.BigEndian.Uint64(r.data[p:])
		p += 8
	case ai == 31:
		return item{}, malformed(off, "indefinite-length item: SUIT requires definite lengths (RFC 8949 §4.2.1)")
	default:
		return item{}, malformed(off, "reserved additional information %d", ai)
	}
	if it.major == majSimple && ai == 24 && it.arg < 32 {
		return item{}, malformed(off, "invalid two-byte simple value %d", it.arg)
	}
	// Deterministic encoding (RFC 8949 §4.2.1, draft-37 §8.1): the shortest head. A longer one would
	// let two encodings of the same key or length coexist (e.g. a second manifest under 0x18 0x03).
	if it.major != majSimple && ai >= 24 && ai <= 27 {
		limit := [...]uint64{23, 0xff, 0xffff, 0xffffffff}[ai-24]
		if it.arg <= limit {
			return item{}, malformed(off, "non-shortest head (value %d in %d bytes): SUIT requires deterministic encoding (RFC 8949 §4.2.1)", it.arg, 1<<(ai-24))
		}
	}
	it.headEnd = p
	return it, nil
}

// next reads the whole data item at off (depth is the current nesting level).
func (r *reader) next(off, depth int) (item, error) {
	if depth > maxDepth {
		return item{}, &DecodeError{Offset: off, Err: fmt.Errorf("%w: nesting deeper than %d", ErrLimit, maxDepth)}
	}
	r.items++
	if r.items > maxItems {
		return item{}, &DecodeError{Offset: off, Err: fmt.Errorf("%w: more than %d data items", ErrLimit, maxItems)}
	}
	it, err := r.head(off)
	if err != nil {
		return item{}, err
	}
	switch it.major {
	case majUint, majNint, majSimple:
		it.end = it.headEnd
	case majBytes, majText:
		if it.arg > uint64(len(r.data)-it.headEnd) {
			return item{}, malformed(off, "string of %d bytes runs past the end of the input (%d bytes left)", it.arg, len(r.data)-it.headEnd)
		}
		it.end = it.headEnd + int(it.arg)
	case majArray, majMap:
		if it.major == majMap && it.arg > math.MaxUint64/2 {
			return item{}, malformed(off, "map too large")
		}
		if it.arg > maxElements {
			return item{}, &DecodeError{Offset: off, Err: fmt.Errorf("%w: %d elements (at most %d)", ErrLimit, it.arg, maxElements)}
		}
		n := it.arg
		if it.major == majMap {
			n *= 2
		}
		// Each element takes at least one byte: reject impossible counts before walking.
		if n > uint64(len(r.data)-it.headEnd) {
			return item{}, malformed(off, "container claims %d elements but only %d bytes follow", it.arg, len(r.data)-it.headEnd)
		}
		p := it.headEnd
		for i := uint64(0); i < n; i++ {
			c, err := r.next(p, depth+1)
			if err != nil {
				return item{}, err
			}
			p = c.end
		}
		it.end = p
	case majTag:
		c, err := r.next(it.headEnd, depth+1)
		if err != nil {
			return item{}, err
		}
		it.end = c.end
	}
	return it, nil
}

// children returns the elements of an array (or the alternating keys and values of a map).
func (r *reader) children(it item, depth int) ([]item, error) {
	n := int(it.arg)
	if it.major == majMap {
		n *= 2
	}
	out := make([]item, 0, n)
	p := it.headEnd
	for i := 0; i < n; i++ {
		c, err := r.next(p, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		p = c.end
	}
	return out, nil
}

// intValue returns the integer value of a uint or nint item.
func intValue(it item) (int64, bool) {
	switch it.major {
	case majUint:
		if it.arg > math.MaxInt64 {
			return 0, false
		}
		return int64(it.arg), true
	case majNint:
		if it.arg > math.MaxInt64 {
			return 0, false
		}
		return -1 - int64(it.arg), true
	}
	return 0, false
}

// writer is a deterministic CBOR encoder.
type writer struct{ buf []byte }

func appendHead(b []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(b, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(b, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return append(b, m|25, byte(arg>>8), byte(arg))
	case arg <= math.MaxUint32:
		return append(b, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
	return append(b, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32), byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
}

func (w *writer) uint(v uint64) { w.buf = appendHead(w.buf, majUint, v) }
func (w *writer) int(v int64) {
	if v >= 0 {
		w.buf = appendHead(w.buf, majUint, uint64(v))
	} else {
		w.buf = appendHead(w.buf, majNint, uint64(-1-v))
	}
}
func (w *writer) bytes(b []byte) { w.buf = append(appendHead(w.buf, majBytes, uint64(len(b))), b...) }
func (w *writer) text(s string)  { w.buf = append(appendHead(w.buf, majText, uint64(len(s))), s...) }
func (w *writer) array(n int)    { w.buf = appendHead(w.buf, majArray, uint64(n)) }
func (w *writer) tag(n uint64)   { w.buf = appendHead(w.buf, majTag, n) }
func (w *writer) raw(b []byte)   { w.buf = append(w.buf, b...) }
func (w *writer) bool(v bool) {
	if v {
		w.buf = append(w.buf, 0xf5)
	} else {
		w.buf = append(w.buf, 0xf4)
	}
}
func (w *writer) null() { w.buf = append(w.buf, 0xf6) }

// pair is one encoded map member.
type pair struct{ key, val []byte }

func encInt(v int64) []byte { var w writer; w.int(v); return w.buf }

// mapOf writes a map with its members sorted by their encoded keys (RFC 8949 §4.2.1).
func (w *writer) mapOf(pairs []pair) {
	sort.SliceStable(pairs, func(i, j int) bool { return bytes.Compare(pairs[i].key, pairs[j].key) < 0 })
	w.buf = appendHead(w.buf, majMap, uint64(len(pairs)))
	for _, p := range pairs {
		w.buf = append(w.buf, p.key...)
		w.buf = append(w.buf, p.val...)
	}
}

// wrap returns the bytes encoded as a CBOR byte string (bstr .cbor X).
func wrap(b []byte) []byte { var w writer; w.bytes(b); return w.buf }
