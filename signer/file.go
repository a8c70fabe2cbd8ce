package signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/suit-studio/suit-studio/codec/lms"
	"github.com/suit-studio/suit-studio/internal/atomicfile"
)

var osGetenv = os.Getenv

// maxKeyFile bounds what we read as a key file: keys are small, anything bigger is a mistake.
const maxKeyFile = 1 << 20

// MACPEMType is the PEM block type of an HMAC key file.
const MACPEMType = "SUIT HMAC KEY"

// fileKey is a private key read from a file.
type fileKey struct {
	signer crypto.Signer
	alg    int64
	kid    []byte
	desc   string
}

func (k *fileKey) Public() crypto.PublicKey { return k.signer.Public() }
func (k *fileKey) Algorithm() int64         { return k.alg }
func (k *fileKey) KeyID() []byte            { return append([]byte(nil), k.kid...) }
func (k *fileKey) Description() string      { return k.desc }

// Sign signs like the standard library key it wraps: a digest for ECDSA and RSA, the message for
// Ed25519. A nil rand gives ECDSA signatures that are deterministic (RFC 6979: signing the same
// manifest with the same key gives the same bytes, so the official vectors are byte-exact
// regression tests); RSA then uses crypto/rand; Ed25519 is deterministic anyway.
func (k *fileKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, isECDSA := k.signer.(*ecdsa.PrivateKey); r == nil && !isECDSA {
		r = rand.Reader
	}
	return k.signer.Sign(r, digest, opts)
}

// NewKey wraps a standard library private key (*ecdsa.PrivateKey, ed25519.PrivateKey,
// *rsa.PrivateKey) as a Key; desc names it for people.
func NewKey(priv crypto.Signer, desc string) (Key, error) {
	pub := priv.Public()
	alg, err := AlgorithmFor(pub)
	if err != nil {
		return nil, err
	}
	kid, err := PublicKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &fileKey{signer: priv, alg: alg, kid: kid, desc: desc + " (" + KeyKind(pub) + ")"}, nil
}

type macKey struct {
	key  []byte
	kid  []byte
	desc string
}

func (k *macKey) MACKey() []byte      { return k.key }
func (k *macKey) KeyID() []byte       { return append([]byte(nil), k.kid...) }
func (k *macKey) Description() string { return k.desc }

// NewMACKey makes a MACKey from raw bytes (32 at least). A nil kid derives one from the key.
func NewMACKey(key, kid []byte, desc string) (MACKey, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("%w: HMAC 256/256 key of %d bytes (32 at least)", ErrUnsupportedKey, len(key))
	}
	if kid == nil {
		h := sha256.New()
		h.Write([]byte("SUIT HMAC key id"))
		h.Write(key)
		kid = h.Sum(nil)[:8]
	}
	return &macKey{key: append([]byte(nil), key...), kid: kid, desc: desc + " (HMAC 256/256)"}, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrNoKeyInFile, maxKeyFile)
	}
	return b, nil
}

// LoadFile reads a private key file and returns a Key, or a MACKey for an HMAC key file.
func LoadFile(path string) (any, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, &KeyError{Ref: path, Step: "read", Err: err}
	}
	if isHSSFile(b) { // stateful: its state file sits beside it (hsslms.go)
		return parseHSSFile(path, b)
	}
	k, err := ParsePrivate(b, "file "+path)
	if err != nil {
		return nil, &KeyError{Ref: path, Step: "parse", Err: err}
	}
	return k, nil
}

// ParsePrivate parses a private key from PEM (PKCS#8, SEC1, PKCS#1, "SUIT HMAC KEY"; the first
// private block wins when the file also holds public keys or certificates), from DER, or an HMAC
// key from a COSE_Key with kty 4 (Symmetric). Anything else is an error saying what the file
// looks like: raw bytes never become an HMAC key.
// desc names the source in the key's Description.
func ParsePrivate(b []byte, desc string) (any, error) {
	rest := b
	sawPEM := false
	var firstErr error
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		sawPEM = true
		switch blk.Type {
		case MACPEMType:
			var kid []byte
			if h, ok := blk.Headers["Key-ID"]; ok {
				d, err := hex.DecodeString(strings.TrimSpace(h))
				if err != nil {
					return nil, fmt.Errorf("%w: Key-ID header is not hex", ErrNoKeyInFile)
				}
				kid = d
			}
			return NewMACKey(blk.Bytes, kid, desc)
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			s, err := parsePrivateDER(blk.Bytes)
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("PEM block %q: %w", blk.Type, err)
				}
				continue
			}
			return NewKey(s, desc)
		case HSSPrivatePEMType:
			return nil, fmt.Errorf("%w: an HSS-LMS key is stateful: load it from its file (its state file sits beside it)", ErrUnsupportedKey)
		case "ENCRYPTED PRIVATE KEY":
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: the key is encrypted; decrypt it first (openssl pkcs8 -in KEY -out PLAIN.pem)", ErrUnsupportedKey)
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if sawPEM {
		hint := ""
		if _, err := ParsePublic(b); err == nil {
			hint = "; to verify use it with --key, to sign give the private key"
		}
		return nil, fmt.Errorf("%w: no PRIVATE KEY, EC PRIVATE KEY, RSA PRIVATE KEY or %s block (%s)%s", ErrNoKeyInFile, MACPEMType, pemShape(b), hint)
	}
	if s, err := parsePrivateDER(b); err == nil {
		return NewKey(s, desc)
	}
	// A symmetric key is read only when it says it is one: never raw bytes, which could be any
	// file (a public key, a password file) silently turned into a shared secret.
	if k, ok, err := parseCOSESymmetric(b, desc); ok {
		return k, err
	}
	return nil, notAKey(b, true)
}

func parsePrivateDER(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok { // X25519 and other key-agreement keys
			return nil, fmt.Errorf("%w: %T cannot sign", ErrUnsupportedKey, k)
		}
		return s, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: not PKCS#8, SEC1 or PKCS#1 DER", ErrNoKeyInFile)
}

// LoadPublic reads a public key from a file: PEM "PUBLIC KEY" (SubjectPublicKeyInfo),
// "CERTIFICATE", a private key file (its public part), DER of any of these, or a COSE_Key.
func LoadPublic(path string) (crypto.PublicKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, &KeyError{Ref: path, Step: "read", Err: err}
	}
	pub, err := ParsePublic(b)
	if err != nil {
		return nil, &KeyError{Ref: path, Step: "parse", Err: err}
	}
	return pub, nil
}

// ParsePublic is LoadPublic on bytes.
func ParsePublic(b []byte) (crypto.PublicKey, error) {
	rest := b
	sawPEM := false
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		sawPEM = true
		switch blk.Type {
		case HSSPublicPEMType:
			k := lms.PublicKey(blk.Bytes)
			if err := k.Check(); err != nil {
				return nil, err
			}
			return k, nil
		case "PUBLIC KEY":
			return parsePublicDER(blk.Bytes)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate: %w", err)
			}
			return c.PublicKey, nil
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY":
			s, err := parsePrivateDER(blk.Bytes)
			if err != nil {
				return nil, err
			}
			return s.Public(), nil
		}
	}
	if sawPEM {
		return nil, fmt.Errorf("%w: no PUBLIC KEY, CERTIFICATE or private key PEM block (%s)", ErrNoKeyInFile, pemShape(b))
	}
	if p, err := parsePublicDER(b); err == nil {
		return p, nil
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		return c.PublicKey, nil
	}
	if s, err := parsePrivateDER(b); err == nil {
		return s.Public(), nil
	}
	if p, err := ParseCOSEKey(b); err == nil {
		return p, nil
	}
	return nil, notAKey(b, false)
}

func parsePublicDER(der []byte) (crypto.PublicKey, error) {
	p, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	if _, err := AlgorithmFor(p); err != nil {
		return nil, err
	}
	return p, nil
}

// GenerateFile creates a new key pair and writes the private key to path as PKCS#8 PEM with
// permissions 0600. The file is written to a temporary file and renamed, and an existing file is
// never overwritten.
func GenerateFile(path string, kind KeyType) error {
	priv, err := generate(kind)
	if err != nil {
		return &KeyError{Ref: path, Step: "generate", Err: err}
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return &KeyError{Ref: path, Step: "generate", Err: err}
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeNewFile(path, data, 0o600); err != nil {
		return &KeyError{Ref: path, Step: "write", Err: err}
	}
	return nil
}

// GenerateMACFile creates a new 32-byte HMAC key in a "SUIT HMAC KEY" PEM file (0600, no overwrite).
func GenerateMACFile(path string) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return &KeyError{Ref: path, Step: "generate", Err: err}
	}
	data := pem.EncodeToMemory(&pem.Block{Type: MACPEMType, Bytes: key})
	if err := writeNewFile(path, data, 0o600); err != nil {
		return &KeyError{Ref: path, Step: "write", Err: err}
	}
	return nil
}

func generate(kind KeyType) (crypto.Signer, error) {
	switch kind {
	case P256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case P384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, kind)
}

// writeNewFile writes data through a temporary file beside path and links it into place, failing
// with ErrExists when path exists (also when it appears meanwhile: a link does not overwrite).
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	err := atomicfile.Write(path, data, perm, atomicfile.Create)
	if atomicfile.IsExists(err) {
		return fmt.Errorf("%w: %s (remove it first or choose another name)", ErrExists, path)
	}
	return err
}

// writeFileAtomic replaces path with data through a temporary file and a rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm, atomicfile.Replace)
}

// equalPublic reports whether two public keys are the same key.
func equalPublic(a, b crypto.PublicKey) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(eq); ok {
		return e.Equal(b)
	}
	da, err1 := x509.MarshalPKIXPublicKey(a)
	db, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(da, db)
}
