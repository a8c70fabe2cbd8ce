package mcuboot

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"strings"
)

// Verification is the verdict on an image for one public key, check by check, as MCUboot's
// boot loader makes them: the hash, the key hash (which key the image names), the signature.
type Verification struct {
	Version Version
	// HashTLV is the hash TLV found (SHA256, SHA384 or SHA512; 0 if none), Hash the digest the
	// image carries and HashOK whether it matches header + body + protected TLVs.
	HashTLV uint16
	Hash    []byte
	HashOK  bool
	// KeyHash is the KEYHASH (or PUBKEY) value the image carries, if any, and KeyHashOK whether
	// it names the given key.
	KeyHash        []byte
	KeyHashPresent bool
	KeyHashOK      bool
	// SignatureTLV is the TLV type the key signs with (ECDSA_SIG, ED25519, RSA2048_PSS, ...);
	// SignaturePresent whether the image has one, SignatureOK whether one verifies.
	SignatureTLV     uint16
	SignaturePresent bool
	SignatureOK      bool
	Pure             bool // SIG_PURE: the Ed25519 signature covers the image, not its digest
	KeyKind          string
	// Valid is HashOK && SignatureOK && (no key hash, or the right one): what MCUboot accepts.
	Valid  bool
	Reason string // why not Valid, in words
}

// Verify checks the image b with the public key pub. The error is for unusable input (not an
// image, a broken TLV area, an unsupported key); a bad hash or signature is a Verification with
// Valid false and a Reason.
func Verify(b []byte, pub crypto.PublicKey) (*Verification, *Image, error) {
	im, err := Parse(b)
	if err != nil {
		return nil, nil, err
	}
	s, err := schemeFor(pub)
	if err != nil {
		return nil, im, err
	}
	v := &Verification{Version: im.Header.Version, SignatureTLV: s.sigTLV, KeyKind: s.kind}
	region := im.HashedRegion()
	var hashFn crypto.Hash
	var digest []byte
	hashes := 0
	for _, t := range im.TLVs {
		var h crypto.Hash
		switch t.Type {
		case TLVSHA256:
			h = crypto.SHA256
		case TLVSHA384:
			h = crypto.SHA384
		case TLVSHA512:
			h = crypto.SHA512
		default:
			if t.Type == TLVSigPure && len(t.Value) == 1 && t.Value[0] == 1 {
				v.Pure = true
			}
			continue
		}
		hashes++
		if hashes > 1 {
			continue
		}
		hashFn = h
		v.HashTLV = t.Type
		v.Hash = t.Value
		hh := h.New()
		hh.Write(region)
		digest = hh.Sum(nil)
		v.HashOK = bytes.Equal(digest, t.Value)
	}
	var why []string
	switch {
	case hashes == 0 && !v.Pure:
		why = append(why, "the image has no hash TLV (is it signed?)")
	case hashes > 1:
		v.HashOK = false
		why = append(why, "the image has several hash TLVs, which MCUboot refuses")
	case !v.HashOK && hashes == 1:
		why = append(why, fmt.Sprintf("the %s TLV does not match the image: header, body or protected TLVs were changed", TLVName(v.HashTLV)))
	}
	if hashFn == 0 {
		hashFn = s.hash
	}
	for _, t := range im.TLVs {
		switch t.Type {
		case TLVKeyHash:
			if !v.KeyHashPresent {
				v.KeyHashPresent = true
				v.KeyHash = t.Value
				h := hashFn.New()
				h.Write(s.pub)
				v.KeyHashOK = bytes.Equal(h.Sum(nil), t.Value)
			}
		case TLVPubKey:
			if !v.KeyHashPresent {
				v.KeyHashPresent = true
				v.KeyHash = t.Value
				v.KeyHashOK = bytes.Equal(s.pub, t.Value)
			}
		}
	}
	if v.KeyHashPresent && !v.KeyHashOK {
		why = append(why, "the image names another key (KEYHASH differs from this key's)")
	}
	for _, t := range im.TLVs {
		if t.Type != s.sigTLV {
			continue
		}
		v.SignaturePresent = true
		if v.SignatureOK = s.verify(pub, region, digest, hashFn == s.hash, t.Value, v.Pure); v.SignatureOK {
			break
		}
	}
	switch {
	case !v.SignaturePresent:
		why = append(why, fmt.Sprintf("the image has no %s signature (%s key)", TLVName(s.sigTLV), s.kind))
	case !v.SignatureOK:
		why = append(why, fmt.Sprintf("the %s signature does not verify with this key", TLVName(s.sigTLV)))
	}
	v.Valid = len(why) == 0
	v.Reason = strings.Join(why, "; ")
	return v, im, nil
}

// verify checks sig over region; digest is the region's hash, reused when sameHash says it was
// made with the scheme's own hash function.
func (s *scheme) verify(pub crypto.PublicKey, region, digest []byte, sameHash bool, sig []byte, pure bool) bool {
	own := func() []byte {
		if sameHash && digest != nil {
			return digest
		}
		return s.sum(region)
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		// Signatures padded for MCUboot < 1.5 carry zeros after the DER (imgtool strips them).
		if len(sig) >= 2 && int(sig[1])+2 <= len(sig) {
			sig = sig[:int(sig[1])+2]
		}
		return ecdsa.VerifyASN1(p, own(), sig)
	case *rsa.PublicKey:
		return rsa.VerifyPSS(p, crypto.SHA256, own(), sig, pssOptions) == nil
	case ed25519.PublicKey:
		if pure {
			return ed25519.Verify(p, region, sig)
		}
		return digest != nil && ed25519.Verify(p, digest, sig)
	}
	return false
}
