package cose

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps one of them, so
// callers can tell a bad message from a bad key from a forged signature.
var (
	// ErrUnsupportedAlgorithm: the algorithm id is not one this package implements.
	ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")
	// ErrKeyMismatch: the algorithm does not fit the key (type, curve or size).
	ErrKeyMismatch = errors.New("algorithm does not fit the key")
	// ErrVerification: the signature or MAC does not verify.
	ErrVerification = errors.New("verification failed")
	// ErrMalformed: the message is not a well-formed COSE structure.
	ErrMalformed = errors.New("malformed COSE message")
	// ErrUnsupported: a well-formed COSE message of a kind this package does not
	// handle (COSE_Sign, COSE_Mac, critical headers).
	ErrUnsupported = errors.New("unsupported COSE message")
)

// AlgorithmError says which algorithm an operation failed with and why. Err is
// one of the sentinels above.
type AlgorithmError struct {
	Alg    int64  // COSE algorithm id
	Op     string // "sign", "verify", "mac", "verify MAC"
	Detail string // what exactly was wrong, for a person
	Err    error  // sentinel
}

func (e *AlgorithmError) Error() string {
	s := fmt.Sprintf("cose: %s with %s: %v", e.Op, AlgorithmName(e.Alg), e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *AlgorithmError) Unwrap() error { return e.Err }

func algErr(alg int64, op string, sentinel error, format string, args ...any) error {
	return &AlgorithmError{Alg: alg, Op: op, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("cose: %w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
