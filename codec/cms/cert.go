package cms

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// SelfSignedCertificate makes a self-signed certificate (DER) for a signing key, so that a
// verifier such as `openssl cms -verify -CAfile` can use it as trust anchor. It works with any
// crypto.Signer, a key on a token included. The SubjectKeyIdentifier extension is
// SubjectKeyID(public key), the value Create puts in the SignerInfo's sid.
func SelfSignedCertificate(key crypto.Signer, commonName string, validFor time.Duration) ([]byte, error) {
	ski, err := SubjectKeyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("cms: certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	if validFor <= 0 {
		validFor = 5 * 365 * 24 * time.Hour
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("cms: certificate: %w", err)
	}
	return der, nil
}
