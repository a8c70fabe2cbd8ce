package suit

import (
	"errors"
	"fmt"
)

// Sentinel errors; every decode error wraps one of them in a *DecodeError.
var (
	// ErrMalformed: the bytes are not well-formed CBOR (truncated, bad head, indefinite length...).
	ErrMalformed = errors.New("malformed CBOR")
	// ErrLimit: the input exceeds a decoder limit (nesting depth, element count, size).
	ErrLimit = errors.New("decoder limit exceeded")
	// ErrStructure: well-formed CBOR that is not the SUIT structure draft-ietf-suit-manifest-37 defines.
	ErrStructure = errors.New("not a valid SUIT structure")
	// ErrDigestMismatch: a severed member in the envelope does not match its digest in the manifest.
	ErrDigestMismatch = errors.New("severed member digest mismatch")
	// ErrUnsupportedDigest: a digest algorithm this implementation cannot compute.
	ErrUnsupportedDigest = errors.New("unsupported digest algorithm")
)

// DecodeError says what was wrong, where (element path and byte offset) and what to do.
type DecodeError struct {
	Path   string // "/"-separated element path, e.g. "envelope/manifest/common/components/0"
	Offset int    // byte offset in the input where the problem starts
	Err    error  // one of the sentinels, possibly wrapped with detail
	Hint   string // what to do about it, may be empty
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("%s (at byte %d): %v", e.Path, e.Offset, e.Err)
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError says which element could not be encoded and why.
type EncodeError struct {
	Path string
	Err  error
}

func (e *EncodeError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *EncodeError) Unwrap() error { return e.Err }
