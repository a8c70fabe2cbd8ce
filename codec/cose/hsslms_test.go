package cose

import (
	"crypto"
	"errors"
	"io"
	"testing"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// lmsSigner is a test HSS-LMS signer: one LMS tree, leaves used in order.
type lmsSigner struct {
	k    lms.PrivateKey
	pub  lms.PublicKey
	next uint32
}

func (s *lmsSigner) Public() crypto.PublicKey { return s.pub }
func (s *lmsSigner) Sign(_ io.Reader, msg []byte, _ crypto.SignerOpts) ([]byte, error) {
	q := s.next
	s.next++
	return s.k.SignHSS(q, msg)
}

// TestSign1HSSLMS: a COSE_Sign1 with HSS-LMS (-46) over the detached SUIT_Digest verifies with
// the HSS public key, and not after any change.
func TestSign1HSSLMS(t *testing.T) {
	s := &lmsSigner{k: lms.PrivateKey{LMSType: lms.LMS_SHA256_M32_H5, OTSType: lms.LMOTS_SHA256_N32_W8}}
	s.k.Seed[0], s.k.ID[0] = 1, 2
	s.pub = s.k.HSSPublicKey()
	if alg, err := AlgorithmForKey(s.pub); err != nil || alg != AlgHSSLMS {
		t.Fatalf("AlgorithmForKey = %d, %v", alg, err)
	}
	msg, err := Sign1(nil, s, AlgHSSLMS, []byte("lms"), suitDigest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(msg)
	if err != nil || m.Alg != AlgHSSLMS {
		t.Fatalf("parse: %v alg %d", err, m.Alg)
	}
	if err := m.VerifySignature(s.pub, suitDigest); err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), suitDigest...)
	bad[len(bad)-1] ^= 1
	if err := m.VerifySignature(s.pub, bad); !errors.Is(err, ErrVerification) {
		t.Fatalf("altered digest: %v", err)
	}
	other := &lmsSigner{k: s.k}
	other.k.Seed[0] = 9
	if err := m.VerifySignature(other.k.HSSPublicKey(), suitDigest); !errors.Is(err, ErrVerification) {
		t.Fatalf("another key: %v", err)
	}
	if err := m.VerifySignature(mustEd25519(t).Public(), suitDigest); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("an Ed25519 key: %v", err)
	}
}
