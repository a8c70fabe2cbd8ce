package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// COSE_Key labels and values (RFC 9052 §7, RFC 9053 §7).
const (
	coseKeyKty = 1
	coseKeyKid = 2
	coseKeyAlg = 3
	coseKeyCrv = -1 // also RSA n
	coseKeyX   = -2 // also RSA e
	coseKeyY   = -3

	coseKtyOKP = 1
	coseKtyEC2 = 2
	coseKtyRSA = 3

	coseCrvP256    = 1
	coseCrvP384    = 2
	coseCrvP521    = 3
	coseCrvEd25519 = 6
)

var coseKeyEnc, _ = cbor.CoreDetEncOptions().EncMode()

var coseKeyDec, _ = cbor.DecOptions{
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	IndefLength:      cbor.IndefLengthForbidden,
	MaxNestedLevels:  4,
	MaxArrayElements: 16,
	MaxMapPairs:      16,
}.DecMode()

// PublicPEM encodes a public key as a PEM "PUBLIC KEY" block (SubjectPublicKeyInfo).
func PublicPEM(pub crypto.PublicKey) ([]byte, error) {
	if k, ok := pub.(lms.PublicKey); ok { // no SubjectPublicKeyInfo here: the raw HSS key
		return pem.EncodeToMemory(&pem.Block{Type: HSSPublicPEMType, Bytes: k}), nil
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// COSEKey encodes a public key as a COSE_Key map in deterministic CBOR (RFC 8949 §4.2.1):
// kty, kid (when given), alg, crv and x/y (EC2, OKP) or n/e (RSA).
func COSEKey(pub crypto.PublicKey, kid []byte) ([]byte, error) {
	alg, err := AlgorithmFor(pub)
	if err != nil {
		return nil, err
	}
	m := map[int]any{coseKeyAlg: alg}
	if len(kid) > 0 {
		m[coseKeyKid] = kid
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		crv, size := 0, (p.Curve.Params().BitSize+7)/8
		switch p.Curve {
		case elliptic.P256():
			crv = coseCrvP256
		case elliptic.P384():
			crv = coseCrvP384
		case elliptic.P521():
			crv = coseCrvP521
		}
		m[coseKeyKty] = coseKtyEC2
		m[coseKeyCrv] = crv
		m[coseKeyX] = p.X.FillBytes(make([]byte, size))
		m[coseKeyY] = p.Y.FillBytes(make([]byte, size))
	case ed25519.PublicKey:
		m[coseKeyKty] = coseKtyOKP
		m[coseKeyCrv] = coseCrvEd25519
		m[coseKeyX] = []byte(p)
	case *rsa.PublicKey:
		m[coseKeyKty] = coseKtyRSA
		m[coseKeyCrv] = p.N.Bytes()
		m[coseKeyX] = big.NewInt(int64(p.E)).Bytes()
	}
	return coseKeyEnc.Marshal(m)
}

// ParseCOSEKey decodes a public COSE_Key (EC2 P-256/384/521, OKP Ed25519, RSA). A key
// with a private part (d) is refused: public key files must not carry secrets.
func ParseCOSEKey(b []byte) (crypto.PublicKey, error) {
	var m map[int]cbor.RawMessage
	if err := coseKeyDec.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("COSE_Key: %w", err)
	}
	getInt := func(l int) (int64, bool) {
		var v int64
		raw, ok := m[l]
		if !ok || coseKeyDec.Unmarshal(raw, &v) != nil {
			return 0, false
		}
		return v, true
	}
	getBytes := func(l int) ([]byte, bool) {
		var v []byte
		raw, ok := m[l]
		if !ok || coseKeyDec.Unmarshal(raw, &v) != nil {
			return nil, false
		}
		return v, true
	}
	kty, ok := getInt(coseKeyKty)
	if !ok {
		return nil, fmt.Errorf("%w: COSE_Key without kty (1)", ErrUnsupportedKey)
	}
	if _, has := m[-4]; has && kty != coseKtyRSA {
		return nil, fmt.Errorf("%w: COSE_Key holds a private key (d, label -4); export the public part", ErrUnsupportedKey)
	}
	switch kty {
	case coseKtyEC2:
		crv, _ := getInt(coseKeyCrv)
		var c elliptic.Curve
		switch crv {
		case coseCrvP256:
			c = elliptic.P256()
		case coseCrvP384:
			c = elliptic.P384()
		case coseCrvP521:
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("%w: COSE_Key EC2 curve %d", ErrUnsupportedKey, crv)
		}
		x, okx := getBytes(coseKeyX)
		y, oky := getBytes(coseKeyY)
		size := (c.Params().BitSize + 7) / 8
		if !okx || !oky || len(x) != size || len(y) != size {
			return nil, fmt.Errorf("%w: COSE_Key EC2 needs x (-2) and y (-3) of %d bytes (compressed points are not supported)", ErrUnsupportedKey, size)
		}
		pt := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(c, pt)
	case coseKtyOKP:
		crv, _ := getInt(coseKeyCrv)
		x, okx := getBytes(coseKeyX)
		if crv != coseCrvEd25519 || !okx || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: COSE_Key OKP must be Ed25519 (crv 6) with a 32-byte x", ErrUnsupportedKey)
		}
		return ed25519.PublicKey(x), nil
	case coseKtyRSA:
		if _, has := m[-3]; has {
			return nil, fmt.Errorf("%w: COSE_Key holds a private RSA key; export the public part", ErrUnsupportedKey)
		}
		n, okn := getBytes(coseKeyCrv)
		e, oke := getBytes(coseKeyX)
		if !okn || !oke || len(e) > 4 {
			return nil, fmt.Errorf("%w: COSE_Key RSA needs n (-1) and e (-2)", ErrUnsupportedKey)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if _, err := AlgorithmFor(pub); err != nil {
			return nil, err
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: COSE_Key kty %d", ErrUnsupportedKey, kty)
}

// CArray renders a public key as C source ready to compile into a device as its trust anchor:
// the uncompressed point 04||x||y for EC keys, the raw 32 bytes for Ed25519, the DER
// SubjectPublicKeyInfo for RSA. name is the C identifier ("suit_trust_anchor" when empty).
func CArray(pub crypto.PublicKey, kid []byte, name string) (string, error) {
	if name == "" {
		name = "suit_trust_anchor"
	}
	var raw []byte
	var form string
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := p.Bytes()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
		}
		raw, form = b, "uncompressed point 04||x||y"
	case ed25519.PublicKey:
		raw, form = p, "raw Ed25519 public key"
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(p)
		if err != nil {
			return "", err
		}
		raw, form = der, "DER SubjectPublicKeyInfo"
	default:
		return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	alg, err := AlgorithmFor(pub)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "/* SUIT trust anchor: %s, COSE alg %s (%d), %s, %d bytes", KeyKind(pub), AlgorithmName(alg), alg, form, len(raw))
	if len(kid) > 0 {
		fmt.Fprintf(&sb, ",\n * kid %x", kid)
	}
	sb.WriteString(" */\n")
	fmt.Fprintf(&sb, "static const uint8_t %s[] = {", name)
	for i, c := range raw {
		if i%12 == 0 {
			sb.WriteString("\n   ")
		}
		fmt.Fprintf(&sb, " 0x%02x,", c)
	}
	sb.WriteString("\n};\n")
	if len(kid) > 0 {
		fmt.Fprintf(&sb, "static const uint8_t %s_kid[] = {", name)
		for i, c := range kid {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, " 0x%02x", c)
		}
		sb.WriteString(" };\n")
	}
	return sb.String(), nil
}
