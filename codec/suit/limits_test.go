package suit

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// Hostile input: a few bytes that claim a huge length or a deep nesting must be refused at once,
// with ErrMalformed or ErrLimit and the byte offset of the offending head, and without allocating
// anything near the claimed size. Every entry point that reads envelope bytes is tried.

type hostile struct {
	name   string
	data   []byte
	want   error // ErrMalformed or ErrLimit
	offset int   // byte offset of the head that claims too much (-1: not checked)
}

// inner: the hostile item sits inside the manifest's byte string, which the raw-envelope
// functions (SplitEnvelope, AddAuthBlocks) do not look into.
func (h hostile) inner() bool { return strings.HasPrefix(h.name, "embedded") }

func nested(prefix []byte, open byte, n int, leaf []byte) []byte {
	b := append([]byte(nil), prefix...)
	b = append(b, bytes.Repeat([]byte{open}, n)...)
	return append(b, leaf...)
}

// envelopeWith returns a tagged envelope {3: value} whose value is given encoded; the value starts
// at byte 4.
func envelopeWith(value []byte) []byte {
	return append([]byte{0xd8, 0x6b, 0xa1, 0x03}, value...)
}

func hostileInputs() []hostile {
	bstr63 := []byte{0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0}                       // bstr of 2^63 bytes
	bstrMax := []byte{0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} // bstr of 2^64-1 bytes
	tstr63 := []byte{0x7b, 0x80, 0, 0, 0, 0, 0, 0, 0}                       // tstr of 2^63 bytes
	arr32 := []byte{0x9b, 0, 0, 0, 1, 0, 0, 0, 0}                           // array of 2^32 elements
	arr64 := []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	map31 := []byte{0xba, 0x80, 0, 0, 0}             // map of 2^31 pairs
	map63 := []byte{0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0} // map of 2^63 pairs (count*2 overflows)
	// A map within the limit on elements but claiming more than the input holds.
	mapShort := []byte{0xb9, 0x80, 0x00, 0x00}
	return []hostile{
		{"bstr 2^63 at top", bstr63, ErrMalformed, 0},
		{"bstr 2^64-1 at top", bstrMax, ErrMalformed, 0},
		{"tstr 2^63 at top", tstr63, ErrMalformed, 0},
		{"array 2^32 at top", arr32, ErrLimit, 0},
		{"array 2^64-1 at top", arr64, ErrLimit, 0},
		{"map 2^31 at top", map31, ErrLimit, 0},
		{"map 2^63 at top", map63, ErrMalformed, 0},
		{"map 32768 pairs, 0 bytes follow", mapShort, ErrMalformed, 0},
		{"manifest bstr 2^63", envelopeWith(bstr63), ErrMalformed, 4},
		{"manifest array 2^32", envelopeWith(arr32), ErrLimit, 4},
		{"manifest map 2^31", envelopeWith(map31), ErrLimit, 4},
		// Inside the manifest's byte string: the string itself is small and complete, its content claims.
		{"embedded map 2^31", envelopeWith(append([]byte{0x45}, map31...)), ErrLimit, 5},
		{"embedded bstr 2^63", envelopeWith(append([]byte{0x49}, bstr63...)), ErrMalformed, 5},
		{"arrays nested 10000 deep", nested(nil, 0x81, 10000, []byte{0x00}), ErrLimit, maxDepth + 1},
		{"maps nested 10000 deep", nested(nil, 0xa1, 10000, []byte{0x00}), ErrLimit, -1},
		{"tags nested 10000 deep", nested(nil, 0xc1, 10000, []byte{0x00}), ErrLimit, maxDepth + 1},
		{"arrays nested 10000 deep in the manifest", envelopeWith(nested(nil, 0x81, 10000, []byte{0x00})), ErrLimit, -1},
		{"indefinite array", []byte{0x9f, 0x00, 0xff}, ErrMalformed, 0},
		{"truncated 8-byte head", []byte{0xd8, 0x6b, 0xa1, 0x03, 0x5b, 0x00, 0x00}, ErrMalformed, 4},
	}
}

func TestHostileLengthsFailFast(t *testing.T) {
	for _, h := range hostileInputs() {
		t.Run(h.name, func(t *testing.T) {
			_, err := Decode(h.data)
			checkHostile(t, "Decode", err, h)
			_, err = Verify(h.data, nil)
			if !h.inner() {
				checkHostile(t, "Verify", err, h)
			} else if err == nil {
				t.Errorf("Verify accepted %s", h.name)
			}
			if h.inner() {
				return
			}
			_, err = SplitEnvelope(h.data)
			checkHostile(t, "SplitEnvelope", err, h)
			_, err = AddAuthBlocks(h.data, func([]byte) ([][]byte, error) { return nil, nil })
			checkHostile(t, "AddAuthBlocks", err, h)
		})
	}
}

func checkHostile(t *testing.T, fn string, err error, h hostile) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s accepted %x", fn, h.data)
	}
	if !errors.Is(err, h.want) {
		t.Fatalf("%s: want %v, got %v", fn, h.want, err)
	}
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("%s: error is %T, not *DecodeError: %v", fn, err, err)
	}
	if h.offset >= 0 && de.Offset != h.offset {
		t.Fatalf("%s: error at byte %d, want %d: %v", fn, de.Offset, h.offset, err)
	}
	if de.Offset < 0 || de.Offset > len(h.data) {
		t.Fatalf("%s: offset %d outside the %d-byte input", fn, de.Offset, len(h.data))
	}
	if de.Path == "" {
		t.Fatalf("%s: error has no element path: %v", fn, err)
	}
}

// Refusing a hostile input costs a few small allocations (the error), never the claimed size.
func TestHostileLengthsDoNotAllocate(t *testing.T) {
	for _, h := range hostileInputs() {
		t.Run(h.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(20, func() { _, _ = Decode(h.data) })
			if allocs > 64 {
				t.Errorf("Decode made %.0f allocations refusing %d bytes", allocs, len(h.data))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := 0; i < 10; i++ {
				_, _ = Decode(h.data)
				_, _ = SplitEnvelope(h.data)
				_, _ = Verify(h.data, nil)
			}
			runtime.ReadMemStats(&after)
			if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
				t.Errorf("refusing a %d-byte input 10 times allocated %d bytes", len(h.data), d)
			}
		})
	}
}

// Nesting exactly at the limit is accepted by the reader (it is structure, not CBOR, that then
// refuses it), one level more is refused: the limit is where the constant says.
func TestNestingLimitBoundary(t *testing.T) {
	at := nested(nil, 0x81, maxDepth, []byte{0x00})
	r := reader{data: at}
	if _, err := r.next(0, 0); err != nil {
		t.Fatalf("%d levels refused: %v", maxDepth, err)
	}
	over := nested(nil, 0x81, maxDepth+1, []byte{0x00})
	r = reader{data: over}
	_, err := r.next(0, 0)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("%d levels: want ErrLimit, got %v", maxDepth+1, err)
	}
}

// A container claiming more elements than the per-container limit is refused before any element is
// read, even when the input really holds that many bytes.
func TestElementLimit(t *testing.T) {
	n := 2*maxElements + 1
	data := append([]byte{0x9a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, make([]byte, n)...)
	_, err := Decode(data)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("array of %d zeros: want ErrLimit, got %v", n, err)
	}
}

// A huge but genuine input (many small items) stops at the item limit rather than running on.
func TestItemLimit(t *testing.T) {
	// 20 arrays of 65536 zeros each: 1.3 M items, beyond maxItems (1 M).
	var data []byte
	data = append(data, 0x94)
	for i := 0; i < 20; i++ {
		data = append(data, 0x99, 0xff, 0xff)
		data = append(data, make([]byte, 0xffff)...)
	}
	_, err := Decode(data)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("want ErrLimit, got %v", err)
	}
}
