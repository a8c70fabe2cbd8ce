package signer

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// coseKtySymmetric is the COSE key type of a symmetric key (RFC 9053 §6.1); its key is label -1 (k).
const coseKtySymmetric = 4

// parseCOSESymmetric reads a COSE_Key with kty 4 (Symmetric) as an HMAC 256/256 key: k (-1) of 32
// bytes or more, an optional kid (2), and alg (3), when present, HMAC 256/256 (5). ok is false
// when b is not a symmetric COSE_Key at all.
func parseCOSESymmetric(b []byte, desc string) (k MACKey, ok bool, err error) {
	var m map[int]cbor.RawMessage
	if coseKeyDec.Unmarshal(b, &m) != nil {
		return nil, false, nil
	}
	var kty int64
	if raw, has := m[coseKeyKty]; !has || coseKeyDec.Unmarshal(raw, &kty) != nil || kty != coseKtySymmetric {
		return nil, false, nil
	}
	if raw, has := m[coseKeyAlg]; has {
		var alg int64
		if coseKeyDec.Unmarshal(raw, &alg) != nil || alg != AlgHMAC256 {
			return nil, true, fmt.Errorf("%w: a symmetric COSE_Key for another algorithm than HMAC 256/256 (5)", ErrUnsupportedKey)
		}
	}
	var key, kid []byte
	if raw, has := m[-1]; !has || coseKeyDec.Unmarshal(raw, &key) != nil {
		return nil, true, fmt.Errorf("%w: a symmetric COSE_Key needs k (-1) as a byte string", ErrUnsupportedKey)
	}
	if raw, has := m[coseKeyKid]; has && coseKeyDec.Unmarshal(raw, &kid) != nil {
		return nil, true, fmt.Errorf("%w: the COSE_Key's kid (2) is not a byte string", ErrUnsupportedKey)
	}
	k, err = NewMACKey(key, kid, desc)
	return k, true, err
}

// notAKey is the error for a file that holds no key this tool reads: what it looks like (never its
// content) and, for signing, what to give instead.
func notAKey(b []byte, signing bool) error {
	looks, isPublic := describeKeyBytes(b)
	s := "not a key this tool reads: looks like " + looks
	switch {
	case isPublic && signing:
		s += "; to verify use it with --key, to sign give the private key"
	case signing:
		s += "; give a PEM or DER private key, or an HMAC key named as such (a PEM \"" + MACPEMType + "\" block from 'suit keys generate --type hmac', or a COSE_Key with kty 4)"
	default:
		s += "; give a PEM or DER public key, a certificate, a COSE_Key, or an HMAC key named as such (PEM \"" + MACPEMType + "\" or a COSE_Key with kty 4)"
	}
	return fmt.Errorf("%w: %s", ErrNoKeyInFile, s)
}

// describeKeyBytes says what b looks like, in words that reveal nothing of its content but its
// shape, and whether it is a public key.
func describeKeyBytes(b []byte) (string, bool) {
	if len(b) == 0 {
		return "an empty file", false
	}
	if i := bytes.Index(b, []byte("-----BEGIN ")); i >= 0 {
		var types []string
		rest := b
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			types = append(types, fmt.Sprintf("%q", blk.Type))
		}
		if len(types) == 0 {
			return "a PEM file that does not decode", false
		}
		return "PEM with block(s) " + strings.Join(types, ", "), false
	}
	if pub, err := x509.ParsePKIXPublicKey(b); err == nil {
		return "a DER SubjectPublicKeyInfo (" + KeyKind(pub) + " public key)", true
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		return "a DER X.509 certificate (" + KeyKind(c.PublicKey) + " public key)", true
	}
	if cbor.Wellformed(b) == nil {
		if _, err := ParseCOSEKey(b); err == nil {
			return "a public COSE_Key", true
		}
		var m map[any]cbor.RawMessage
		switch b[0] >> 5 {
		case 5:
			if cbor.Unmarshal(b, &m) == nil {
				if raw, ok := m[uint64(coseKeyKty)]; ok {
					var kty int64
					if cbor.Unmarshal(raw, &kty) == nil {
						return fmt.Sprintf("a COSE_Key of kty %d that this tool does not read", kty), false
					}
				}
				return fmt.Sprintf("CBOR (a map of %d entries)", len(m)), false
			}
			return "CBOR (a map)", false
		default:
			return "CBOR (" + [...]string{"an unsigned integer", "a negative integer", "a byte string", "a text string", "an array", "a map", "a tag", "a simple value or float"}[b[0]>>5] + ")", false
		}
	}
	if b[0] == 0x30 {
		return fmt.Sprintf("DER (an ASN.1 SEQUENCE of %d bytes) that is no key this tool reads", len(b)), false
	}
	if utf8.Valid(b) && printable(b) {
		return fmt.Sprintf("text (%d bytes, %d lines)", len(b), bytes.Count(b, []byte("\n"))+boolInt(b[len(b)-1] != '\n')), false
	}
	return fmt.Sprintf("binary data of %d bytes (not PEM, DER or CBOR); a raw HMAC key must be named as such", len(b)), false
}

func printable(b []byte) bool {
	for _, r := range string(b) {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pemShape(b []byte) string {
	s, _ := describeKeyBytes(b)
	return "the file holds " + s
}
