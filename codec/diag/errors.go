package diag

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrMalformed: the input is not well-formed CBOR (truncated, reserved
	// additional information, a break where none may be, trailing bytes, ...).
	ErrMalformed = errors.New("not well-formed CBOR")
	// ErrLimit: the input exceeds a safety limit (nesting depth, item count).
	ErrLimit = errors.New("input exceeds a safety limit")
)

// Error says where decoding stopped: the byte offset in the original input
// and, when known, the element path of the enclosing item.
type Error struct {
	Offset int    // byte offset in the original input
	Path   string // element path of the enclosing item, if known
	Msg    string
	Err    error // ErrMalformed or ErrLimit
}

func (e *Error) Error() string {
	s := fmt.Sprintf("diag: byte %d", e.Offset)
	if e.Path != "" {
		s += " (" + e.Path + ")"
	}
	return s + ": " + e.Err.Error() + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }
