package mcuboot

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped by the errors this package returns (errors.Is).
var (
	ErrNotImage    = errors.New("not an MCUboot image")
	ErrTruncated   = errors.New("MCUboot image truncated")
	ErrBadHeader   = errors.New("bad MCUboot image header")
	ErrBadTLV      = errors.New("bad MCUboot TLV area")
	ErrVersion     = errors.New("invalid image version")
	ErrOptions     = errors.New("invalid MCUboot image options")
	ErrTooLarge    = errors.New("does not fit")
	ErrHeaderArea  = errors.New("the input does not start with an empty header area")
	ErrUnsupported = errors.New("unsupported key for MCUboot")
)

// FormatError says where in an image a problem is.
type FormatError struct {
	Offset int // byte offset in the image
	Err    error
	Detail string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%v at byte 0x%x: %s", e.Err, e.Offset, e.Detail)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(off int, err error, format string, args ...any) error {
	return &FormatError{Offset: off, Err: err, Detail: fmt.Sprintf(format, args...)}
}
