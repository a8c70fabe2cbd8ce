package cose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"
	"strconv"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// COSE algorithm ids used for SUIT authentication blocks (IANA "COSE
// Algorithms"; RFC 9053, RFC 9864 for the fully specified ESP* and Ed25519).
const (
	AlgES256   int64 = -7  // ECDSA w/ SHA-256 (spec examples)
	AlgESP256  int64 = -9  // ECDSA P-256 w/ SHA-256, fully specified (SUIT MTI profiles)
	AlgES384   int64 = -35 // ECDSA w/ SHA-384
	AlgESP384  int64 = -51 // ECDSA P-384 w/ SHA-384
	AlgES512   int64 = -36 // ECDSA w/ SHA-512
	AlgESP512  int64 = -52 // ECDSA P-521 w/ SHA-512
	AlgEdDSA   int64 = -8  // EdDSA (here: Ed25519)
	AlgEd25519 int64 = -19 // Ed25519, fully specified (SUIT MTI profiles)
	AlgHMAC256 int64 = 5   // HMAC w/ SHA-256, 256-bit tag ("HMAC 256/256")
	AlgHSSLMS  int64 = -46 // HSS/LMS hash-based signature (RFC 8554, RFC 9708)
)

type algKind int

const (
	kindECDSA algKind = iota + 1
	kindEd25519
	kindHMAC
	kindHSSLMS
)

// algInfo is what an algorithm id means here. ES256 and ESP256 (and so on)
// share their math; ES* name the hash only, so the curve is the one whose size
// matches the hash, which is what every SUIT implementation does.
type algInfo struct {
	name  string
	kind  algKind
	curve elliptic.Curve // ECDSA only
	hash  crypto.Hash    // ECDSA and HMAC
}

var algorithms = map[int64]algInfo{
	AlgES256:   {"ES256", kindECDSA, elliptic.P256(), crypto.SHA256},
	AlgESP256:  {"ESP256", kindECDSA, elliptic.P256(), crypto.SHA256},
	AlgES384:   {"ES384", kindECDSA, elliptic.P384(), crypto.SHA384},
	AlgESP384:  {"ESP384", kindECDSA, elliptic.P384(), crypto.SHA384},
	AlgES512:   {"ES512", kindECDSA, elliptic.P521(), crypto.SHA512},
	AlgESP512:  {"ESP512", kindECDSA, elliptic.P521(), crypto.SHA512},
	AlgEdDSA:   {"EdDSA", kindEd25519, nil, 0},
	AlgEd25519: {"Ed25519", kindEd25519, nil, 0},
	AlgHMAC256: {"HMAC 256/256", kindHMAC, nil, crypto.SHA256},
	AlgHSSLMS:  {"HSS-LMS", kindHSSLMS, nil, 0},
}

// Names of ids this package recognises but does not implement, so messages
// can still say what they are.
var otherAlgorithmNames = map[int64]string{
	-37: "PS256", -38: "PS384", -39: "PS512",
	4: "HMAC 256/64", 6: "HMAC 384/384", 7: "HMAC 512/512",
}

// AlgorithmName gives the IANA name of a COSE algorithm id, or "unknown (id)".
func AlgorithmName(alg int64) string {
	if a, ok := algorithms[alg]; ok {
		return a.name
	}
	if n, ok := otherAlgorithmNames[alg]; ok {
		return n
	}
	return "unknown (" + strconv.FormatInt(alg, 10) + ")"
}

// Supported reports whether this package can sign and verify (or MAC) with alg.
func Supported(alg int64) bool {
	_, ok := algorithms[alg]
	return ok
}

// AlgorithmForKey picks the classic COSE algorithm for a public key: P-256 ->
// ES256, P-384 -> ES384, P-521 -> ES512, Ed25519 -> EdDSA. These are the ids
// the spec examples use; pass AlgESP256 etc. to Sign1 explicitly for the
// fully specified ids of the MTI profiles.
func AlgorithmForKey(pub crypto.PublicKey) (int64, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return 0, fmt.Errorf("cose: %w: nil ECDSA public key", ErrKeyMismatch)
		}
		switch k.Curve {
		case elliptic.P256():
			return AlgES256, nil
		case elliptic.P384():
			return AlgES384, nil
		case elliptic.P521():
			return AlgES512, nil
		}
		return 0, fmt.Errorf("cose: %w: ECDSA curve %s has no COSE algorithm here (use P-256, P-384 or P-521)",
			ErrUnsupportedAlgorithm, k.Curve.Params().Name)
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return 0, fmt.Errorf("cose: %w: Ed25519 public key is %d bytes, want %d", ErrKeyMismatch, len(k), ed25519.PublicKeySize)
		}
		return AlgEdDSA, nil
	case *ed25519.PublicKey:
		if k == nil {
			return 0, fmt.Errorf("cose: %w: nil Ed25519 public key", ErrKeyMismatch)
		}
		return AlgorithmForKey(*k)
	case lms.PublicKey:
		if err := k.Check(); err != nil {
			return 0, fmt.Errorf("cose: %w: %v", ErrKeyMismatch, err)
		}
		return AlgHSSLMS, nil
	}
	return 0, fmt.Errorf("cose: %w: key type %T (want an ECDSA P-256/P-384/P-521 or Ed25519 key)", ErrUnsupportedAlgorithm, pub)
}

// checkKey tells whether pub is a key that alg can use, and normalises it.
func checkKey(alg int64, op string, pub crypto.PublicKey) (algInfo, crypto.PublicKey, error) {
	info, ok := algorithms[alg]
	if !ok {
		return info, nil, algErr(alg, op, ErrUnsupportedAlgorithm, "supported: ES256, ESP256, ES384, ESP384, ES512, ESP512, EdDSA, Ed25519, HSS-LMS")
	}
	switch info.kind {
	case kindECDSA:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k == nil {
			return info, nil, algErr(alg, op, ErrKeyMismatch, "needs an ECDSA %s key, got %s", info.curve.Params().Name, describeKey(pub))
		}
		if k.Curve != info.curve {
			return info, nil, algErr(alg, op, ErrKeyMismatch, "needs an ECDSA %s key, got %s", info.curve.Params().Name, describeKey(pub))
		}
		return info, k, nil
	case kindEd25519:
		var k ed25519.PublicKey
		switch v := pub.(type) {
		case ed25519.PublicKey:
			k = v
		case *ed25519.PublicKey:
			if v != nil {
				k = *v
			}
		}
		if len(k) != ed25519.PublicKeySize {
			return info, nil, algErr(alg, op, ErrKeyMismatch, "needs an Ed25519 key, got %s", describeKey(pub))
		}
		return info, k, nil
	case kindHSSLMS:
		k, ok := pub.(lms.PublicKey)
		if !ok || k.Check() != nil {
			return info, nil, algErr(alg, op, ErrKeyMismatch, "needs an HSS-LMS public key, got %s", describeKey(pub))
		}
		return info, k, nil
	}
	return info, nil, algErr(alg, op, ErrKeyMismatch, "%s is a MAC algorithm: use Mac0 / VerifyMAC with a symmetric key", info.name)
}

// describeKey names a key's type for an error message (never its value).
func describeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "a nil ECDSA key"
		}
		return "an ECDSA " + k.Curve.Params().Name + " key"
	case ed25519.PublicKey:
		return fmt.Sprintf("an Ed25519 key of %d bytes", len(k))
	case *ed25519.PublicKey:
		return "an Ed25519 key"
	case lms.PublicKey:
		return "an HSS-LMS key"
	case nil:
		return "no key"
	}
	return fmt.Sprintf("a %T", pub)
}
