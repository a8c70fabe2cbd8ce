package suit

import (
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"fmt"

	"github.com/suit-studio/suit-studio/model"
)

// digestBytes hashes data with a COSE hash algorithm (SHA-256 -16, SHA-384 -43, SHA-512 -44,
// SHAKE128 -18 with 256-bit output, SHAKE256 -45 with 512-bit output).
func digestBytes(alg int64, data []byte) ([]byte, error) {
	switch alg {
	case model.AlgSHA256:
		s := sha256.Sum256(data)
		return s[:], nil
	case model.AlgSHA384:
		s := sha512.Sum384(data)
		return s[:], nil
	case model.AlgSHA512:
		s := sha512.Sum512(data)
		return s[:], nil
	case model.AlgSHAKE128:
		return sha3.SumSHAKE128(data, 32), nil
	case model.AlgSHAKE256:
		return sha3.SumSHAKE256(data, 64), nil
	}
	return nil, fmt.Errorf("%w: %d (SUIT requires SHA-256, -16)", ErrUnsupportedDigest, alg)
}

// Digest computes a SUIT_Digest of data with alg (0 means SHA-256).
func Digest(alg int64, data []byte) (*model.Digest, error) {
	if alg == 0 {
		alg = model.AlgSHA256
	}
	b, err := digestBytes(alg, data)
	if err != nil {
		return nil, err
	}
	return &model.Digest{Alg: alg, Bytes: b}, nil
}

// DigestName names a COSE hash algorithm.
func DigestName(alg int64) string {
	switch alg {
	case model.AlgSHA256:
		return "SHA-256"
	case model.AlgSHA384:
		return "SHA-384"
	case model.AlgSHA512:
		return "SHA-512"
	case model.AlgSHAKE128:
		return "SHAKE128"
	case model.AlgSHAKE256:
		return "SHAKE256"
	}
	return fmt.Sprintf("unknown (%d)", alg)
}
