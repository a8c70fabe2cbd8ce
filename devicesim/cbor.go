package devicesim

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This is the device's own CBOR reader: a cursor over bytes that stay where they are (in flash or
// in a RAM buffer). It never builds a tree and never allocates: a byte string is returned as an
// (offset, length) range, and skipping an item keeps a single counter of items still to skip,
// so hostile nesting costs no memory. It accepts only what SUIT needs (RFC 8949 core deterministic
// encoding): definite lengths, shortest-form heads, no floats.

// ErrMalformed is the sentinel for CBOR the device cannot accept.
var ErrMalformed = errors.New("malformed CBOR")

// DecodeError says what was wrong where (byte offset within the object being read).
type DecodeError struct {
	Where  string // "envelope", "manifest", "install", ...
	Offset int
	What   string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("malformed CBOR in %s at byte %d: %s", e.Where, e.Offset, e.What)
}

func (e *DecodeError) Unwrap() error { return ErrMalformed }

// source is something a cursor reads from: a flash region or a RAM buffer.
type source interface {
	readAt(p []byte, off int) error
	size() int
}

type ramSource []byte

func (r ramSource) readAt(p []byte, off int) error {
	if off < 0 || off+len(p) > len(r) {
		return fmt.Errorf("%w: read past the end", ErrMalformed)
	}
	copy(p, r[off:])
	return nil
}
func (r ramSource) size() int { return len(r) }

type flashSource struct {
	f    *Flash
	base int
	n    int
}

func (s flashSource) readAt(p []byte, off int) error {
	if off < 0 || off+len(p) > s.n {
		return fmt.Errorf("%w: read past the end", ErrMalformed)
	}
	return s.f.ReadAt(p, s.base+off)
}
func (s flashSource) size() int { return s.n }

// CBOR major types.
const (
	majUint  = 0
	majNint  = 1
	majBstr  = 2
	majTstr  = 3
	majArray = 4
	majMap   = 5
	majTag   = 6
	majOther = 7
)

type cursor struct {
	src   source
	where string
	pos   int
	end   int
	hd    [9]byte
}

func newCursor(src source, where string, start, end int) *cursor {
	return &cursor{src: src, where: where, pos: start, end: end}
}

func (c *cursor) errf(off int, format string, args ...any) error {
	return &DecodeError{Where: c.where, Offset: off, What: fmt.Sprintf(format, args...)}
}

func (c *cursor) atEnd() bool { return c.pos >= c.end }

// head reads one item head without consuming it.
func (c *cursor) peek() (major byte, arg uint64, n int, err error) {
	if c.pos >= c.end {
		return 0, 0, 0, c.errf(c.pos, "unexpected end of data")
	}
	if err := c.src.readAt(c.hd[:1], c.pos); err != nil {
		return 0, 0, 0, err
	}
	major = c.hd[0] >> 5
	ai := c.hd[0] & 0x1f
	switch {
	case ai < 24:
		return major, uint64(ai), 1, nil
	case ai <= 27:
		n = 1 << (ai - 24)
		if c.pos+1+n > c.end {
			return 0, 0, 0, c.errf(c.pos, "item head runs past the end")
		}
		if err := c.src.readAt(c.hd[1:1+n], c.pos+1); err != nil {
			return 0, 0, 0, err
		}
		switch n {
		case 1:
			arg = uint64(c.hd[1])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(c.hd[1:]))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(c.hd[1:]))
		default:
			arg = binary.BigEndian.Uint64(c.hd[1:])
		}
		if major != majOther {
			if (n == 1 && arg < 24) || (n == 2 && arg < 1<<8) || (n == 4 && arg < 1<<16) || (n == 8 && arg < 1<<32) {
				return 0, 0, 0, c.errf(c.pos, "head is not in shortest form (deterministic encoding required)")
			}
		}
		return major, arg, 1 + n, nil
	case ai == 31:
		return 0, 0, 0, c.errf(c.pos, "indefinite-length item (only definite lengths are allowed)")
	default:
		return 0, 0, 0, c.errf(c.pos, "reserved additional information %d", ai)
	}
}

func (c *cursor) expect(want byte, what string) (uint64, error) {
	major, arg, n, err := c.peek()
	if err != nil {
		return 0, err
	}
	if major != want {
		return 0, c.errf(c.pos, "expected %s, found %s", what, majorName(major))
	}
	c.pos += n
	return arg, nil
}

func majorName(m byte) string {
	return [...]string{"unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag", "simple value or float"}[m&7]
}

func (c *cursor) uint() (uint64, error) { return c.expect(majUint, "unsigned integer") }

// int reads an integer that fits int64.
func (c *cursor) int() (int64, error) {
	major, arg, n, err := c.peek()
	if err != nil {
		return 0, err
	}
	if major != majUint && major != majNint {
		return 0, c.errf(c.pos, "expected integer, found %s", majorName(major))
	}
	if arg > 1<<63-1 {
		return 0, c.errf(c.pos, "integer out of range")
	}
	c.pos += n
	if major == majNint {
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

// bytesOf reads a bstr (or tstr when major is majTstr) and returns the range of its content.
func (c *cursor) str(major byte) (off, n int, err error) {
	what := "byte string"
	if major == majTstr {
		what = "text string"
	}
	start := c.pos
	l, err := c.expect(major, what)
	if err != nil {
		return 0, 0, err
	}
	if l > uint64(c.end-c.pos) {
		c.pos = start
		return 0, 0, c.errf(start, "%s of %d bytes runs past the end", what, l)
	}
	off = c.pos
	c.pos += int(l)
	return off, int(l), nil
}

func (c *cursor) bstr() (int, int, error) { return c.str(majBstr) }
func (c *cursor) tstr() (int, int, error) { return c.str(majTstr) }

func (c *cursor) array() (int, error) {
	start := c.pos
	n, err := c.expect(majArray, "array")
	if err != nil {
		return 0, err
	}
	if n > uint64(c.end-c.pos) {
		return 0, c.errf(start, "array of %d items cannot fit in %d bytes", n, c.end-c.pos)
	}
	return int(n), nil
}

func (c *cursor) mapHead() (int, error) {
	start := c.pos
	n, err := c.expect(majMap, "map")
	if err != nil {
		return 0, err
	}
	if n > uint64(c.end-c.pos)/2 {
		return 0, c.errf(start, "map of %d pairs cannot fit in %d bytes", n, c.end-c.pos)
	}
	return int(n), nil
}

// optTag consumes a tag if one is next and returns it (ok false when there is none).
func (c *cursor) optTag() (uint64, bool, error) {
	major, arg, n, err := c.peek()
	if err != nil {
		return 0, false, err
	}
	if major != majTag {
		return 0, false, nil
	}
	c.pos += n
	return arg, true, nil
}

// Simple values.
const (
	simFalse = 20
	simTrue  = 21
	simNull  = 22
)

// simple reads false/true/null and returns its number; floats and others are refused.
func (c *cursor) simple() (uint64, error) {
	major, arg, n, err := c.peek()
	if err != nil {
		return 0, err
	}
	if major != majOther || n != 1 || (arg != simFalse && arg != simTrue && arg != simNull) {
		return 0, c.errf(c.pos, "expected true, false or null, found %s", majorName(major))
	}
	c.pos += n
	return arg, nil
}

func (c *cursor) bool() (bool, error) {
	v, err := c.simple()
	if err != nil {
		return false, err
	}
	if v == simNull {
		return false, c.errf(c.pos-1, "expected true or false, found null")
	}
	return v == simTrue, nil
}

// skip consumes one whole item of any depth. It keeps only a count of items still to skip.
func (c *cursor) skip() error {
	pending := uint64(1)
	for pending > 0 {
		major, arg, n, err := c.peek()
		if err != nil {
			return err
		}
		start := c.pos
		c.pos += n
		pending--
		switch major {
		case majBstr, majTstr:
			if arg > uint64(c.end-c.pos) {
				return c.errf(start, "string of %d bytes runs past the end", arg)
			}
			c.pos += int(arg)
		case majArray:
			if arg > uint64(c.end-c.pos) {
				return c.errf(start, "array of %d items cannot fit", arg)
			}
			pending += arg
		case majMap:
			if arg > uint64(c.end-c.pos)/2 {
				return c.errf(start, "map of %d pairs cannot fit", arg)
			}
			pending += 2 * arg
		case majTag:
			pending++
		case majOther:
			if n != 1 && n != 2 {
				return c.errf(start, "floating-point values are not used in SUIT")
			}
		}
		if pending > uint64(c.end-c.pos) {
			return c.errf(start, "more items announced than bytes remain")
		}
	}
	return nil
}

// newItemCursor opens a cursor over [start, end) that must hold exactly one well-formed item: a
// byte string that wraps CBOR (the authentication wrapper, a COSE block, a protected header, the
// manifest, suit-common, a command sequence, a severed member) is checked whole before any of it
// is used, so that an array or map head announcing more items than follow, or bytes trailing
// the item, are refused even where the reader would stop early (a block that verifies, a
// sequence that invokes). The walk is skip's: one counter, no memory.
func newItemCursor(src source, where string, start, end int) (*cursor, error) {
	c := newCursor(src, where, start, end)
	if err := c.whole(); err != nil {
		return nil, err
	}
	return c, nil
}

// whole checks that the rest of the cursor's range is exactly one item, without moving it.
func (c *cursor) whole() error {
	start := c.pos
	if err := c.skip(); err != nil {
		c.pos = start
		return err
	}
	after := c.pos
	c.pos = start
	if after != c.end {
		return c.errf(after, "%d bytes after the item (a byte string that wraps CBOR holds exactly one item)", c.end-after)
	}
	return nil
}

// itemRange skips one item and returns where it starts and ends.
func (c *cursor) itemRange() (start, end int, err error) {
	start = c.pos
	if err := c.skip(); err != nil {
		return 0, 0, err
	}
	return start, c.pos, nil
}
