package diag

import "fmt"

// Limits on hostile input. A SUIT envelope nests about a dozen levels deep
// (embedded CBOR included) and holds a few hundred items; these bounds are far
// above that and far below what could exhaust memory or the stack.
const (
	MaxDepth = 64      // nesting levels, counting embedded CBOR
	MaxItems = 1 << 17 // data items in one input, counting embedded CBOR
)

// item is one CBOR data item with its position in the original input.
type item struct {
	start, headEnd, end int
	major               byte   // 0..7
	ai                  byte   // additional information of the head (31 = indefinite)
	arg                 uint64 // head argument (value, length, count, tag number, simple value, float bits)
	kids                []*item
	// array: elements; map: key0, value0, key1, value1, ...; tag: content;
	// indefinite-length string: chunks
}

func (it *item) indefinite() bool { return it.ai == 31 }

// content returns the bytes of a definite-length string.
func (it *item) content(data []byte) []byte { return data[it.headEnd:it.end] }

// walker parses CBOR out of one input buffer; offsets are into that buffer.
type walker struct {
	data  []byte
	items int
}

func (w *walker) fail(off int, err error, format string, args ...any) error {
	return &Error{Offset: off, Msg: fmt.Sprintf(format, args...), Err: err}
}

// parse reads one item starting at off that must end at or before limit.
func (w *walker) parse(off, limit, depth int) (*item, error) {
	if depth > MaxDepth {
		return nil, w.fail(off, ErrLimit, "nesting deeper than %d levels", MaxDepth)
	}
	w.items++
	if w.items > MaxItems {
		return nil, w.fail(off, ErrLimit, "more than %d data items", MaxItems)
	}
	if off >= limit {
		return nil, w.fail(off, ErrMalformed, "truncated: a data item was expected")
	}
	ib := w.data[off]
	it := &item{start: off, major: ib >> 5, ai: ib & 0x1f}
	p := off + 1
	switch {
	case it.ai < 24:
		it.arg = uint64(it.ai)
	case it.ai <= 27:
		n := 1 << (it.ai - 24)
		if limit-p < n {
			return nil, w.fail(off, ErrMalformed, "truncated: head needs %d more bytes, %d remain", n, limit-p)
		}
		for i := 0; i < n; i++ {
			it.arg = it.arg<<8 | uint64(w.data[p+i])
		}
		p += n
	case it.ai == 31:
		if it.major == 0 || it.major == 1 || it.major == 6 {
			return nil, w.fail(off, ErrMalformed, "indefinite length is not allowed for major type %d", it.major)
		}
		if it.major == 7 {
			return nil, w.fail(off, ErrMalformed, "unexpected break (0xff) outside an indefinite-length item")
		}
	default:
		return nil, w.fail(off, ErrMalformed, "reserved additional information %d in initial byte 0x%02x", it.ai, ib)
	}
	it.headEnd = p
	switch it.major {
	case 0, 1:
		it.end = p
	case 2, 3:
		if it.indefinite() {
			for {
				if p >= limit {
					return nil, w.fail(p, ErrMalformed, "truncated: indefinite-length string has no break")
				}
				if w.data[p] == 0xff {
					p++
					break
				}
				if w.data[p]>>5 != it.major || w.data[p]&0x1f == 31 {
					return nil, w.fail(p, ErrMalformed, "a chunk of an indefinite-length string must be a definite string of the same type")
				}
				c, err := w.parse(p, limit, depth+1)
				if err != nil {
					return nil, err
				}
				it.kids = append(it.kids, c)
				p = c.end
			}
			it.end = p
			break
		}
		if it.arg > uint64(limit-p) {
			return nil, w.fail(off, ErrMalformed, "truncated: string claims %d bytes, %d remain", it.arg, limit-p)
		}
		it.end = p + int(it.arg)
	case 4, 5:
		per := 1
		if it.major == 5 {
			per = 2
		}
		if it.indefinite() {
			for {
				if p >= limit {
					return nil, w.fail(p, ErrMalformed, "truncated: indefinite-length %s has no break", majorWord(it.major))
				}
				if w.data[p] == 0xff {
					if len(it.kids)%per != 0 {
						return nil, w.fail(p, ErrMalformed, "map ends after a key without a value")
					}
					p++
					break
				}
				c, err := w.parse(p, limit, depth+1)
				if err != nil {
					return nil, err
				}
				it.kids = append(it.kids, c)
				p = c.end
			}
			it.end = p
			break
		}
		// Each item takes at least one byte: a count larger than the bytes
		// left is false, and is refused before anything is allocated for it.
		if it.arg > uint64(limit-p) || it.arg*uint64(per) > uint64(limit-p) {
			return nil, w.fail(off, ErrMalformed, "truncated: %s claims %d items, only %d bytes remain", majorWord(it.major), it.arg, limit-p)
		}
		n := int(it.arg) * per
		it.kids = make([]*item, 0, n)
		for i := 0; i < n; i++ {
			c, err := w.parse(p, limit, depth+1)
			if err != nil {
				return nil, err
			}
			it.kids = append(it.kids, c)
			p = c.end
		}
		it.end = p
	case 6:
		c, err := w.parse(p, limit, depth+1)
		if err != nil {
			return nil, err
		}
		it.kids = []*item{c}
		it.end = c.end
	case 7:
		if it.ai == 24 && it.arg < 32 {
			return nil, w.fail(off, ErrMalformed, "simple value %d must use the one-byte form", it.arg)
		}
		it.end = p
	}
	return it, nil
}

// parseExact parses one item that fills [off, limit) exactly.
func (w *walker) parseExact(off, limit, depth int) (*item, error) {
	it, err := w.parse(off, limit, depth)
	if err != nil {
		return nil, err
	}
	if it.end != limit {
		return nil, w.fail(it.end, ErrMalformed, "%d bytes after the end of the data item", limit-it.end)
	}
	return it, nil
}

func majorWord(m byte) string {
	return [...]string{"uint", "nint", "bstr", "tstr", "array", "map", "tag", "simple"}[m]
}

// preferred reports whether the head uses the shortest form for its argument.
func (it *item) preferred() bool {
	if it.major == 7 || it.ai == 31 {
		return true
	}
	switch {
	case it.ai < 24:
		return true
	case it.ai == 24:
		return it.arg >= 24
	case it.ai == 25:
		return it.arg > 0xff
	case it.ai == 26:
		return it.arg > 0xffff
	default:
		return it.arg > 0xffffffff
	}
}
