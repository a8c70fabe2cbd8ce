package main

import (
	"errors"
	"flag"

	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/internal/atomicfile"
)

// The exit-code contract (README "Output and exit codes"), the same for every command:
//
//	0 success
//	1 a negative verdict on usable input: not authentic, refused by the device, invalid package
//	2 unusable input or arguments: malformed or unreadable files, bad flags, an output that exists
//	3 a simulated power cut
//
// exitCode is the one place where an error becomes an exit code. Commands return typed errors
// (cliError from usageErr, inputErr, negative, withCode; the codecs' sentinel errors) and never
// pick a number themselves for malformed input: whatever a command calls its error, input that
// the tool's own decoders call malformed exits 2.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case unusableInput(err):
		return exitUsage
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitUsage
}

// unusableInputErrors: the decoders' "this is not what it claims to be" sentinels, and an output
// file that exists.
var unusableInputErrors = []error{
	suit.ErrMalformed, suit.ErrLimit, suit.ErrStructure, suit.ErrSource,
	cms.ErrMalformed, cose.ErrMalformed, atomicfile.ErrExists, errUnusableInput,
}

// errUnusableInput marks input refused before decoding (too large, not an envelope at all).
var errUnusableInput = errors.New("unusable input")

func unusableInput(err error) bool {
	for _, s := range unusableInputErrors {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// negativeBecause is a negative verdict with its cause: when the cause is malformed input, the
// exit code is 2, not 1 (exitCode decides). The message is the verdict's alone.
func negativeBecause(cause error, hint string, format string, args ...any) error {
	v := negative(hint, format, args...)
	if cause == nil {
		return v
	}
	return &causedError{verdict: v, cause: cause}
}

type causedError struct{ verdict, cause error }

func (e *causedError) Error() string   { return e.verdict.Error() }
func (e *causedError) Unwrap() []error { return []error{e.verdict, e.cause} }
