package cms

import (
	"errors"
	"fmt"
)

// ErrorCode is RFC 4108 §4 FirmwarePackageLoadErrorCode. Every verification failure maps to one.
type ErrorCode int

// FirmwarePackageLoadErrorCode values (RFC 4108 §4).
const (
	DecodeFailure            ErrorCode = 1
	BadContentInfo           ErrorCode = 2
	BadSignedData            ErrorCode = 3
	BadEncapContent          ErrorCode = 4
	BadCertificate           ErrorCode = 5
	BadSignerInfo            ErrorCode = 6
	BadSignedAttrs           ErrorCode = 7
	BadUnsignedAttrs         ErrorCode = 8
	MissingContent           ErrorCode = 9
	NoTrustAnchor            ErrorCode = 10
	NotAuthorized            ErrorCode = 11
	BadDigestAlgorithm       ErrorCode = 12
	BadSignatureAlgorithm    ErrorCode = 13
	UnsupportedKeySize       ErrorCode = 14
	SignatureFailure         ErrorCode = 15
	ContentTypeMismatch      ErrorCode = 16
	BadEncryptedData         ErrorCode = 17
	UnprotectedAttrsPresent  ErrorCode = 18
	BadEncryptContent        ErrorCode = 19
	BadEncryptAlgorithm      ErrorCode = 20
	MissingCiphertext        ErrorCode = 21
	NoDecryptKey             ErrorCode = 22
	DecryptFailure           ErrorCode = 23
	BadCompressAlgorithm     ErrorCode = 24
	MissingCompressedContent ErrorCode = 25
	DecompressFailure        ErrorCode = 26
	WrongHardware            ErrorCode = 27
	StalePackage             ErrorCode = 28
	NotInCommunity           ErrorCode = 29
	UnsupportedPackageType   ErrorCode = 30
	MissingDependency        ErrorCode = 31
	WrongDependencyVersion   ErrorCode = 32
	InsufficientMemory       ErrorCode = 33
	BadFirmware              ErrorCode = 34
	UnsupportedParameters    ErrorCode = 35
	BreaksDependency         ErrorCode = 36
	OtherError               ErrorCode = 99
)

var errorCodeNames = map[ErrorCode]string{
	1: "decodeFailure", 2: "badContentInfo", 3: "badSignedData", 4: "badEncapContent",
	5: "badCertificate", 6: "badSignerInfo", 7: "badSignedAttrs", 8: "badUnsignedAttrs",
	9: "missingContent", 10: "noTrustAnchor", 11: "notAuthorized", 12: "badDigestAlgorithm",
	13: "badSignatureAlgorithm", 14: "unsupportedKeySize", 15: "signatureFailure",
	16: "contentTypeMismatch", 17: "badEncryptedData", 18: "unprotectedAttrsPresent",
	19: "badEncryptContent", 20: "badEncryptAlgorithm", 21: "missingCiphertext",
	22: "noDecryptKey", 23: "decryptFailure", 24: "badCompressAlgorithm",
	25: "missingCompressedContent", 26: "decompressFailure", 27: "wrongHardware",
	28: "stalePackage", 29: "notInCommunity", 30: "unsupportedPackageType",
	31: "missingDependency", 32: "wrongDependencyVersion", 33: "insufficientMemory",
	34: "badFirmware", 35: "unsupportedParameters", 36: "breaksDependency", 99: "otherError",
}

// String is the RFC's name for the code: "wrongHardware", "signatureFailure", ...
func (c ErrorCode) String() string {
	if n, ok := errorCodeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("errorCode(%d)", int(c))
}

// ParseErrorCode reads an RFC name ("stalePackage") or a number.
func ParseErrorCode(s string) (ErrorCode, bool) {
	for c, n := range errorCodeNames {
		if n == s {
			return c, true
		}
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil {
		if _, ok := errorCodeNames[ErrorCode(n)]; ok {
			return ErrorCode(n), true
		}
	}
	return 0, false
}

// ErrMalformed is wrapped by every decoding error (the input is not the structure it claims to be).
var ErrMalformed = errors.New("malformed CMS")

// ErrVerify is wrapped by every verification failure; the *Error carries the RFC error code.
var ErrVerify = errors.New("firmware package rejected")

// Error is a decoding or verification failure: the RFC 4108 error code, the step that failed
// (an element path such as "SignedData.signerInfos[0].signedAttrs"), the byte offset in the
// input when known (-1 otherwise) and the cause.
type Error struct {
	Code   ErrorCode
	Step   string
	Offset int
	Err    error
}

func (e *Error) Error() string {
	s := e.Code.String() + ": " + e.Step
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (byte %d)", e.Offset)
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the RFC error code of err, or OtherError when err carries none.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return OtherError
}

func fail(code ErrorCode, step string, off int, format string, args ...any) error {
	sentinel := ErrVerify
	switch code {
	case DecodeFailure, BadContentInfo, BadSignedData, BadEncapContent, BadCertificate, BadSignerInfo, BadSignedAttrs, BadUnsignedAttrs, MissingContent:
		sentinel = ErrMalformed
	}
	return &Error{Code: code, Step: step, Offset: off, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
