// Package signer gives SUIT Studio one notion of a signing key, wherever the key lives.
//
// A Key is a crypto.Signer plus the COSE algorithm it signs with, a key identifier and a
// human description. COSE (codec/cose) and CMS (codec/cms) signing only see a Key, so a key in
// a PEM file and a key inside an HSM reached through PKCS#11 sign the same way.
//
// Keys are named by a reference string:
//
//   - a file path: a PEM file holding a private key (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1
//     "RSA PRIVATE KEY", Ed25519 PKCS#8) or an HMAC key (PEM block "SUIT HMAC KEY");
//   - an RFC 7512 PKCS#11 URI, the convention of p11-kit and OpenSSL:
//     pkcs11:token=dev;object=fw?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/path/pin
//
// The PIN of a token comes from, in order: the URI's pin-source (file:), the SUIT_PKCS11_PIN
// environment variable, then the caller's PINSource (a terminal prompt without echo, a GUI
// dialog). A PIN is never taken from a pin-value URI attribute or a command-line flag, and it
// never appears in an error, a log or a file written by this package.
//
// Signature conventions follow the standard library so that any crypto.Signer consumer works:
// ECDSA keys take a digest and return an ASN.1 DER signature (like *ecdsa.PrivateKey), Ed25519
// keys take the whole message with crypto.Hash(0), RSA keys take a digest and sign PKCS#1 v1.5
// or, when opts is *rsa.PSSOptions, RSASSA-PSS.
package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// COSE algorithm identifiers (IANA "COSE Algorithms").
const (
	AlgES256   int64 = -7
	AlgES384   int64 = -35
	AlgES512   int64 = -36
	AlgEdDSA   int64 = -8
	AlgPS256   int64 = -37
	AlgHMAC256 int64 = 5 // HMAC 256/256
)

// Key is a signing key wherever it lives: a crypto.Signer plus its COSE algorithm and public key.
type Key interface {
	crypto.Signer // Public() and Sign(); for ECDSA Sign returns ASN.1 DER like ecdsa.PrivateKey
	// Algorithm is the COSE algorithm the key signs with: -7 ES256 for P-256, -35 ES384 for
	// P-384, -36 ES512 for P-521, -8 EdDSA for Ed25519, -37 PS256 for RSA.
	Algorithm() int64
	// KeyID is the COSE kid: for files the first 8 bytes of SHA-256 over the
	// SubjectPublicKeyInfo, for tokens the object's CKA_ID.
	KeyID() []byte
	// Description names the key for people, e.g. "file ./dev.pem (P-256)" or
	// "pkcs11 token=dev;object=fw (P-256)". It never contains secret material.
	Description() string
}

// MACKey is a symmetric key for HMAC 256/256 (COSE alg 5) COSE_Mac0 authentication.
//
// On disk it is a PEM block of type "SUIT HMAC KEY" whose bytes are the raw key (at least 32
// bytes). An optional PEM header "Key-ID: <hex>" sets the kid; otherwise the kid is the first 8
// bytes of SHA-256("SUIT HMAC key id" || key), which identifies the key without revealing it.
// A file that is not PEM and not a DER private key, of 32 bytes or more, is taken as a raw key.
type MACKey interface {
	MACKey() []byte
	KeyID() []byte
	Description() string
}

// KeyType names a kind of key pair to generate.
type KeyType int

// Key types that SUIT Studio can generate, in files or on tokens.
const (
	P256 KeyType = iota + 1
	P384
	Ed25519
	RSA3072
)

func (k KeyType) String() string {
	switch k {
	case P256:
		return "P-256"
	case P384:
		return "P-384"
	case Ed25519:
		return "Ed25519"
	case RSA3072:
		return "RSA-3072"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// ParseKeyType reads a key type name as users type it: "p256", "P-256", "ec", "ed25519", "rsa".
func ParseKeyType(s string) (KeyType, error) {
	switch strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(s, "-", ""), "_", "")) {
	case "p256", "ec", "ecdsa", "es256", "secp256r1", "prime256v1":
		return P256, nil
	case "p384", "es384", "secp384r1":
		return P384, nil
	case "ed25519", "eddsa":
		return Ed25519, nil
	case "rsa", "rsa3072", "ps256":
		return RSA3072, nil
	}
	return 0, fmt.Errorf("%w: %q (use p256, p384, ed25519 or rsa3072)", ErrUnsupportedKey, s)
}

// PINRequest tells a PINSource which token wants a PIN.
type PINRequest struct {
	// Token is the token label, URI the key reference without its query (no secrets).
	Token string
	URI   string
	// Retry is true when a previous PIN for this token was refused.
	Retry bool
}

// PINSource supplies a token PIN on demand: a terminal prompt, a GUI dialog, a test fixture.
type PINSource interface {
	PIN(ctx context.Context, req PINRequest) (string, error)
}

// PINFunc adapts a function to a PINSource.
type PINFunc func(ctx context.Context, req PINRequest) (string, error)

// PIN calls f.
func (f PINFunc) PIN(ctx context.Context, req PINRequest) (string, error) { return f(ctx, req) }

// LoadOptions configure LoadPrivate.
type LoadOptions struct {
	// PIN is asked when neither the URI's pin-source nor SUIT_PKCS11_PIN gives the PIN.
	PIN PINSource
	// Getenv reads the environment (os.Getenv when nil); tests and the CLI pass their own.
	Getenv func(string) string
	// Context bounds PIN prompts (context.Background when nil).
	Context context.Context
	// Algorithm, when not zero, is the COSE algorithm the caller needs: a key that signs with
	// another algorithm is refused with ErrWrongKeyType.
	Algorithm int64
	// Warn receives warnings (a pin-source file readable by others); standard error when nil.
	Warn func(msg string)
}

func (o LoadOptions) getenv(k string) string {
	if o.Getenv == nil {
		return osGetenv(k)
	}
	return o.Getenv(k)
}

func (o LoadOptions) ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

// LoadPrivate loads the key named by ref: a "pkcs11:" URI or a file path. It returns a Key, or a
// MACKey for an HMAC key file. Keys from tokens hold a session: release them with CloseKey.
func LoadPrivate(ref string, opts LoadOptions) (any, error) {
	var (
		k   any
		err error
	)
	if strings.HasPrefix(strings.ToLower(ref), "pkcs11:") {
		k, err = loadPKCS11(ref, opts)
	} else {
		k, err = LoadFile(ref)
	}
	if err != nil || opts.Algorithm == 0 {
		return k, err
	}
	switch kk := k.(type) {
	case Key:
		err = checkAlgorithm(kk, opts.Algorithm)
	case MACKey:
		if opts.Algorithm != AlgHMAC256 {
			err = &KeyError{Ref: kk.Description(), Step: "check algorithm", Err: fmt.Errorf("%w: an HMAC key cannot sign with %s", ErrWrongKeyType, AlgorithmName(opts.Algorithm))}
		}
	}
	if err != nil {
		CloseKey(k)
		return nil, err
	}
	return k, nil
}

// LoadSigner is LoadPrivate for callers that need a signature key and not a MAC key.
func LoadSigner(ref string, opts LoadOptions) (Key, error) {
	k, err := LoadPrivate(ref, opts)
	if err != nil {
		return nil, err
	}
	if s, ok := k.(Key); ok {
		return s, nil
	}
	return nil, &KeyError{Ref: ref, Step: "load", Err: fmt.Errorf("%w: an HMAC key cannot make signatures", ErrWrongKeyType)}
}

// CloseKey releases what a key holds (a PKCS#11 session and module reference). It does nothing
// for file keys, so callers can always defer it.
func CloseKey(k any) error {
	if c, ok := k.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// PublicKeyID is the kid of a public key: the first 8 bytes of SHA-256 over its DER
// SubjectPublicKeyInfo.
func PublicKeyID(pub crypto.PublicKey) ([]byte, error) {
	if k, ok := pub.(lms.PublicKey); ok {
		return hssKeyID(k), nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	sum := sha256.Sum256(der)
	return sum[:8], nil
}

// AlgorithmFor gives the COSE algorithm used for a public key.
func AlgorithmFor(pub crypto.PublicKey) (int64, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return AlgES256, nil
		case elliptic.P384():
			return AlgES384, nil
		case elliptic.P521():
			return AlgES512, nil
		}
		return 0, fmt.Errorf("%w: curve %s", ErrUnsupportedKey, p.Curve.Params().Name)
	case ed25519.PublicKey:
		return AlgEdDSA, nil
	case lms.PublicKey:
		return AlgHSSLMS, nil
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return 0, fmt.Errorf("%w: RSA key of %d bits (2048 at least)", ErrUnsupportedKey, p.N.BitLen())
		}
		return AlgPS256, nil
	}
	return 0, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// KeyKind describes a public key in words: "P-256", "Ed25519", "RSA-3072".
func KeyKind(pub crypto.PublicKey) string {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		return p.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case lms.PublicKey:
		return "HSS-LMS"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", p.N.BitLen())
	}
	return fmt.Sprintf("%T", pub)
}

// AlgorithmName gives the COSE name of an algorithm: "ES256", "EdDSA", "PS256", "HMAC 256/256".
func AlgorithmName(alg int64) string {
	switch alg {
	case AlgES256:
		return "ES256"
	case AlgES384:
		return "ES384"
	case AlgES512:
		return "ES512"
	case AlgEdDSA:
		return "EdDSA"
	case AlgPS256:
		return "PS256"
	case AlgHMAC256:
		return "HMAC 256/256"
	case AlgHSSLMS:
		return "HSS-LMS"
	}
	return fmt.Sprintf("alg %d", alg)
}

// Sentinel errors; concrete errors wrap them (errors.Is) inside a *KeyError.
var (
	ErrNotFound        = errors.New("key not found")
	ErrNoKeyInFile     = errors.New("no private key in file")
	ErrUnsupportedKey  = errors.New("unsupported key")
	ErrWrongKeyType    = errors.New("key of the wrong type")
	ErrExists          = errors.New("file already exists")
	ErrBadURI          = errors.New("invalid pkcs11 URI")
	ErrModule          = errors.New("PKCS#11 module cannot be loaded")
	ErrTokenNotFound   = errors.New("token not found")
	ErrPINIncorrect    = errors.New("PIN incorrect")
	ErrPINLocked       = errors.New("token PIN locked")
	ErrNoPIN           = errors.New("no PIN available")
	ErrToken           = errors.New("PKCS#11 token error")
	ErrClosed          = errors.New("key closed")
	ErrSoftHSMMissing  = errors.New("softhsm2 is not installed")
	ErrUnsupportedHash = errors.New("unsupported hash for this key")
)

// KeyError says which key failed, at which step, and why.
type KeyError struct {
	Ref  string // file path or PKCS#11 URI without query (never a PIN)
	Step string // "load", "parse", "login", "find key", "sign", "generate", ...
	Err  error
}

func (e *KeyError) Error() string {
	if e.Ref == "" {
		return e.Step + ": " + e.Err.Error()
	}
	return strconv.Quote(e.Ref) + ": " + e.Step + ": " + e.Err.Error()
}

func (e *KeyError) Unwrap() error { return e.Err }
