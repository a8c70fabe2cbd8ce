package cose

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// CBOR tags of the COSE encryption messages (RFC 9052 §5).
const (
	TagEncrypt  uint64 = 96
	TagEncrypt0 uint64 = 16
)

// Header labels used by encryption (RFC 9052 §3.1, RFC 9053 §6.3).
const (
	HeaderEphemeralKey int64 = -1
	HeaderSalt         int64 = -20
)

// COSE_Key labels and values for the ephemeral key (RFC 9053 §7).
const (
	keyKty      int64 = 1
	keyCrv      int64 = -1
	keyX        int64 = -2
	keyY        int64 = -3
	ktyOKP      int64 = 1
	ktyEC2      int64 = 2
	CurveP256   int64 = 1
	CurveX25519 int64 = 4
)

// Encrypt is a parsed COSE_Encrypt (tag 96) or COSE_Encrypt0 (tag 16): for
// SUIT, the SUIT_Encryption_Info of draft-ietf-suit-firmware-encryption, whose
// ciphertext is usually detached (the payload itself).
type Encrypt struct {
	Tag         uint64 // TagEncrypt or TagEncrypt0
	Protected   []byte // protected header bytes as received (they are in the AAD)
	Alg         int64  // content-encryption algorithm
	IV          []byte
	Unprotected []byte // encoded unprotected header map, as received
	Ciphertext  []byte // attached ciphertext; nil when Detached
	Detached    bool
	Recipients  []Recipient // COSE_Encrypt only
}

// Recipient is one COSE_recipient of a COSE_Encrypt.
type Recipient struct {
	Protected    []byte // protected header bytes as received (in the KDF context for ECDH-ES)
	Alg          int64  // A128KW, A256KW, ECDH-ES + A128KW, ...
	KID          []byte
	Ephemeral    *ecdh.PublicKey // ECDH-ES: the sender's ephemeral key
	EphemeralCrv int64           // its COSE curve (P-256 1, X25519 4)
	Salt         []byte          // HKDF salt (label -20), when present
	EncryptedKey []byte          // the wrapped content key
}

// ParseEncrypt decodes a COSE_Encrypt_Tagged or COSE_Encrypt0_Tagged message.
// It is strict on structure and lenient on header key order (the
// firmware-encryption examples carry non-canonical header maps).
func ParseEncrypt(data []byte) (*Encrypt, error) {
	if len(data) == 0 {
		return nil, malformed("empty input")
	}
	if err := decMode.Wellformed(data); err != nil {
		return nil, malformed("encryption info is not one well-formed CBOR item: %v", err)
	}
	if data[0]>>5 != 6 {
		return nil, malformed("encryption info must be a tagged COSE_Encrypt (96) or COSE_Encrypt0 (16); got an untagged %s", majorName(data[0]))
	}
	var tagged cbor.RawTag
	if err := decMode.Unmarshal(data, &tagged); err != nil {
		return nil, malformed("%v", err)
	}
	name, want := "COSE_Encrypt", 4
	switch tagged.Number {
	case TagEncrypt:
	case TagEncrypt0:
		name, want = "COSE_Encrypt0", 3
	default:
		return nil, malformed("tag %d is not a COSE_Encrypt (96) or COSE_Encrypt0 (16) tag", tagged.Number)
	}
	var fields []cbor.RawMessage
	if len(tagged.Content) == 0 || tagged.Content[0]>>5 != 4 {
		return nil, malformed("%s content must be an array", name)
	}
	if err := decMode.Unmarshal(tagged.Content, &fields); err != nil {
		return nil, malformed("%s: %v", name, err)
	}
	if len(fields) != want {
		return nil, malformed("%s must have %d members, it has %d", name, want, len(fields))
	}
	e := &Encrypt{Tag: tagged.Number}
	h, err := parseHeaders(name, fields[0], fields[1])
	if err != nil {
		return nil, err
	}
	e.Protected, e.Unprotected = h.protected, h.unprotectedRaw
	if e.Alg, err = h.intParam(HeaderAlg); err != nil {
		return nil, malformed("%s alg: %v", name, err)
	}
	if raw, ok := h.get(HeaderIV); ok {
		if e.IV, err = byteString(raw); err != nil {
			return nil, malformed("%s IV: %v", name, err)
		}
	}
	if len(fields[2]) == 1 && fields[2][0] == 0xf6 {
		e.Detached = true
	} else if e.Ciphertext, err = byteString(fields[2]); err != nil {
		return nil, malformed("%s ciphertext must be a byte string or null: %v", name, err)
	}
	if e.Tag == TagEncrypt0 {
		return e, nil
	}
	var recips []cbor.RawMessage
	if fields[3][0]>>5 != 4 {
		return nil, malformed("COSE_Encrypt recipients must be an array, it is a %s", majorName(fields[3][0]))
	}
	if err := decMode.Unmarshal(fields[3], &recips); err != nil {
		return nil, malformed("COSE_Encrypt recipients: %v", err)
	}
	if len(recips) == 0 {
		return nil, malformed("COSE_Encrypt has no recipients")
	}
	for i, raw := range recips {
		r, err := parseRecipient(raw)
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i, err)
		}
		e.Recipients = append(e.Recipients, r)
	}
	return e, nil
}

func parseRecipient(raw cbor.RawMessage) (Recipient, error) {
	var r Recipient
	var fields []cbor.RawMessage
	if raw[0]>>5 != 4 {
		return r, malformed("COSE_recipient must be an array, it is a %s", majorName(raw[0]))
	}
	if err := decMode.Unmarshal(raw, &fields); err != nil {
		return r, malformed("COSE_recipient: %v", err)
	}
	if len(fields) == 4 {
		return r, fmt.Errorf("cose: %w: a COSE_recipient with its own recipients (three layers) is not supported", ErrUnsupported)
	}
	if len(fields) != 3 {
		return r, malformed("COSE_recipient must have 3 members [protected, unprotected, ciphertext], it has %d", len(fields))
	}
	h, err := parseHeaders("COSE_recipient", fields[0], fields[1])
	if err != nil {
		return r, err
	}
	r.Protected = h.protected
	if r.Alg, err = h.intParam(HeaderAlg); err != nil {
		return r, malformed("COSE_recipient alg: %v", err)
	}
	if raw, ok := h.get(HeaderKID); ok {
		if r.KID, err = byteString(raw); err != nil {
			return r, malformed("COSE_recipient kid: %v", err)
		}
	}
	if raw, ok := h.get(HeaderSalt); ok {
		if r.Salt, err = byteString(raw); err != nil {
			return r, malformed("COSE_recipient salt: %v", err)
		}
	}
	if raw, ok := h.get(HeaderEphemeralKey); ok {
		if r.Ephemeral, r.EphemeralCrv, err = parseEphemeral(raw); err != nil {
			return r, malformed("COSE_recipient ephemeral key: %v", err)
		}
	}
	if r.EncryptedKey, err = byteString(fields[2]); err != nil {
		return r, malformed("COSE_recipient ciphertext (the wrapped key): %v", err)
	}
	return r, nil
}

type headers struct {
	protected      []byte
	unprotectedRaw []byte
	prot, unprot   map[any]cbor.RawMessage
}

func (h headers) get(label int64) (cbor.RawMessage, bool) {
	if v, ok := h.prot[label]; ok {
		return v, true
	}
	v, ok := h.unprot[label]
	return v, ok
}

func (h headers) intParam(label int64) (int64, error) {
	raw, ok := h.get(label)
	if !ok {
		return 0, errors.New("missing (label 1, in the protected or unprotected header)")
	}
	if raw[0]>>5 > 1 {
		return 0, fmt.Errorf("must be an integer, it is a %s", majorName(raw[0]))
	}
	var v int64
	if err := decMode.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	return v, nil
}

func parseHeaders(name string, protRaw, unprotRaw cbor.RawMessage) (headers, error) {
	h := headers{prot: map[any]cbor.RawMessage{}, unprot: map[any]cbor.RawMessage{}}
	prot, err := byteString(protRaw)
	if err != nil {
		return h, malformed("%s protected header: %v", name, err)
	}
	h.protected = prot
	if len(prot) > 0 {
		if prot[0]>>5 != 5 {
			return h, malformed("%s protected header must encode a map, it encodes a %s", name, majorName(prot[0]))
		}
		if err := decMode.Unmarshal(prot, &h.prot); err != nil {
			return h, malformed("%s protected header: %v", name, err)
		}
	}
	if unprotRaw[0]>>5 != 5 {
		return h, malformed("%s unprotected header must be a map, it is a %s", name, majorName(unprotRaw[0]))
	}
	h.unprotectedRaw = append([]byte(nil), unprotRaw...)
	if err := decMode.Unmarshal(unprotRaw, &h.unprot); err != nil {
		return h, malformed("%s unprotected header: %v", name, err)
	}
	for k := range h.prot {
		if _, dup := h.unprot[k]; dup {
			return h, malformed("%s header label %v is in both the protected and the unprotected header", name, k)
		}
	}
	if _, ok := h.prot[HeaderCrit]; ok {
		return h, fmt.Errorf("cose: %w: %s has critical header parameters (crit, label 2), which this implementation does not process", ErrUnsupported, name)
	}
	return h, nil
}

// parseEphemeral reads a COSE_Key with an EC2 P-256 or OKP X25519 public key.
func parseEphemeral(raw cbor.RawMessage) (*ecdh.PublicKey, int64, error) {
	if raw[0]>>5 != 5 {
		return nil, 0, fmt.Errorf("must be a COSE_Key map, it is a %s", majorName(raw[0]))
	}
	m := map[any]cbor.RawMessage{}
	if err := decMode.Unmarshal(raw, &m); err != nil {
		return nil, 0, err
	}
	h := headers{prot: m}
	kty, err := h.intParam(keyKty)
	if err != nil {
		return nil, 0, fmt.Errorf("kty: %v", err)
	}
	crv, err := h.intParam(keyCrv)
	if err != nil {
		return nil, 0, fmt.Errorf("crv (-1): %v", err)
	}
	xRaw, ok := m[keyX]
	if !ok {
		return nil, 0, errors.New("x (-2) missing")
	}
	x, err := byteString(xRaw)
	if err != nil {
		return nil, 0, fmt.Errorf("x (-2): %v", err)
	}
	switch {
	case kty == ktyEC2 && crv == CurveP256:
		yRaw, ok := m[keyY]
		if !ok {
			return nil, 0, errors.New("y (-3) missing")
		}
		y, err := byteString(yRaw)
		if err != nil {
			return nil, 0, fmt.Errorf("y (-3) (point compression is not supported): %v", err)
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, 0, fmt.Errorf("P-256 coordinates must be 32 bytes, x is %d and y %d", len(x), len(y))
		}
		pub, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, 0, fmt.Errorf("not a point on P-256: %v", err)
		}
		return pub, crv, nil
	case kty == ktyOKP && crv == CurveX25519:
		pub, err := ecdh.X25519().NewPublicKey(x)
		if err != nil {
			return nil, 0, fmt.Errorf("X25519 key: %v", err)
		}
		return pub, crv, nil
	}
	return nil, 0, fmt.Errorf("%w: key type %d curve %d (supported: EC2 P-256, OKP X25519)", ErrUnsupportedAlgorithm, kty, crv)
}

// encodeEphemeral encodes a COSE_Key for an ephemeral public key.
func encodeEphemeral(pub *ecdh.PublicKey) ([]byte, error) {
	b := []byte{}
	switch pub.Curve() {
	case ecdh.P256():
		raw := pub.Bytes() // 0x04 || x || y
		b = append(b, 0xa4)
		b = appendInt(b, keyKty)
		b = appendInt(b, ktyEC2)
		b = appendInt(b, keyCrv)
		b = appendInt(b, CurveP256)
		b = appendInt(b, keyX)
		b = appendBstr(b, raw[1:33])
		b = appendInt(b, keyY)
		return appendBstr(b, raw[33:]), nil
	case ecdh.X25519():
		b = append(b, 0xa3)
		b = appendInt(b, keyKty)
		b = appendInt(b, ktyOKP)
		b = appendInt(b, keyCrv)
		b = appendInt(b, CurveX25519)
		b = appendInt(b, keyX)
		return appendBstr(b, pub.Bytes()), nil
	}
	return nil, fmt.Errorf("cose: %w: ECDH curve %v (supported: P-256, X25519)", ErrUnsupportedAlgorithm, pub.Curve())
}

// ContentAlgorithm returns the message's content-encryption algorithm.
func (e *Encrypt) ContentAlgorithm() (ContentAlgorithm, error) { return LookupContentAlgorithm(e.Alg) }

// AAD is the additional authenticated data of the content encryption: the
// Enc_structure for AEAD algorithms, nothing for AES-CTR (§7 of the draft).
func (e *Encrypt) AAD() []byte {
	a, err := LookupContentAlgorithm(e.Alg)
	if err != nil || !a.AEAD {
		return nil
	}
	ctx := "Encrypt"
	if e.Tag == TagEncrypt0 {
		ctx = "Encrypt0"
	}
	return EncStructure(ctx, e.Protected)
}

// DecryptionKey is what a recipient holds: a key-encryption key for AES-KW,
// a private key for ECDH-ES, or (COSE_Encrypt0) the content key itself. KID,
// when set, selects the recipients with that kid.
type DecryptionKey struct {
	KID     []byte
	KEK     []byte  // AES-KW: 16, 24 or 32 bytes
	Private ECDHKey // ECDH-ES + AES-KW
	CEK     []byte  // COSE_Encrypt0: the content key
}

// ErrNoRecipient: none of the recipients could be opened with the keys given.
var ErrNoRecipient = errors.New("no recipient matches the keys given")

// ContentKey recovers the content-encryption key with the first key that
// opens a recipient, and says which recipient it was. Recipients whose kid
// differs from a key's kid, or whose algorithm does not fit the key, are
// skipped; a key that fits but fails the key-wrap integrity check is reported.
func (e *Encrypt) ContentKey(keys ...DecryptionKey) ([]byte, int, error) {
	ca, err := e.ContentAlgorithm()
	if err != nil {
		return nil, -1, err
	}
	if e.Tag == TagEncrypt0 {
		for _, k := range keys {
			if len(k.CEK) == ca.KeySize {
				return k.CEK, -1, nil
			}
		}
		return nil, -1, fmt.Errorf("cose: COSE_Encrypt0: %w: it needs the %d-byte content key itself", ErrNoRecipient, ca.KeySize)
	}
	var tried []string
	var firstErr error
	for i, r := range e.Recipients {
		for _, k := range keys {
			if k.KID != nil && r.KID != nil && !bytes.Equal(k.KID, r.KID) {
				continue
			}
			cek, err := r.unwrap(k)
			if err == nil {
				if len(cek) != ca.KeySize {
					return nil, i, algErr(e.Alg, "decrypt", ErrKeyMismatch, "recipient %d carries a %d-byte content key, %s needs %d", i, len(cek), ca.Name, ca.KeySize)
				}
				return cek, i, nil
			}
			if !errors.Is(err, errKeyDoesNotFit) {
				tried = append(tried, fmt.Sprintf("recipient %d (%s): %v", i, AlgorithmName(r.Alg), err))
				if firstErr == nil {
					firstErr = err
				}
			}
		}
	}
	if len(tried) > 0 {
		return nil, -1, &noRecipientError{detail: strings.Join(tried, "; "), cause: firstErr}
	}
	var have []string
	for i, r := range e.Recipients {
		s := fmt.Sprintf("recipient %d: %s", i, AlgorithmName(r.Alg))
		if r.KID != nil {
			s += fmt.Sprintf(" kid %q", r.KID)
		}
		have = append(have, s)
	}
	return nil, -1, fmt.Errorf("cose: %w (the message has %s); give the key-encryption key (AES-KW) or the recipient's private key (ECDH-ES) with the right kid",
		ErrNoRecipient, strings.Join(have, ", "))
}

var errKeyDoesNotFit = errors.New("key does not fit")

func (r *Recipient) unwrap(k DecryptionKey) ([]byte, error) {
	switch r.Alg {
	case AlgA128KW, AlgA192KW, AlgA256KW:
		if len(k.KEK) != keyWrapSizes[r.Alg] {
			return nil, errKeyDoesNotFit
		}
		if len(r.Protected) != 0 {
			// RFC 9053 §6.2.1: the protected header of an AES-KW recipient is empty.
			return nil, malformed("an AES-KW recipient's protected header must be empty")
		}
		return KeyUnwrap(k.KEK, r.EncryptedKey)
	case AlgECDHESA128KW, AlgECDHESA192KW, AlgECDHESA256KW:
		if k.Private == nil || r.Ephemeral == nil || k.Private.Curve() != r.Ephemeral.Curve() {
			if k.Private != nil && r.Ephemeral == nil {
				return nil, malformed("ECDH-ES recipient without an ephemeral key (label -1)")
			}
			return nil, errKeyDoesNotFit
		}
		z, err := k.Private.ECDH(r.Ephemeral)
		if err != nil {
			return nil, fmt.Errorf("ECDH: %w", err)
		}
		kek, err := DeriveKEK(r.Alg, z, r.Salt, r.Protected)
		clear(z)
		if err != nil {
			return nil, err
		}
		defer clear(kek)
		return KeyUnwrap(kek, r.EncryptedKey)
	}
	return nil, errKeyDoesNotFit
}

// Decrypt decrypts the whole ciphertext (the attached one when detached is
// nil) with the keys given, checking the tag of AEAD algorithms.
func (e *Encrypt) Decrypt(detached []byte, keys ...DecryptionKey) ([]byte, error) {
	ct := e.Ciphertext
	if e.Detached {
		if detached == nil {
			return nil, fmt.Errorf("cose: decrypt: %w: the ciphertext is detached; give the encrypted payload", ErrMalformed)
		}
		ct = detached
	}
	if err := e.CheckHeaders(); err != nil {
		return nil, err
	}
	cek, _, err := e.ContentKey(keys...)
	if err != nil {
		return nil, err
	}
	defer clear(cek)
	return OpenContent(e.Alg, cek, e.IV, e.AAD(), ct)
}

// CheckHeaders applies draft-ietf-suit-firmware-encryption §7: a cipher
// without AAD (AES-CTR) must have an empty protected header, since nothing
// would authenticate it.
func (e *Encrypt) CheckHeaders() error {
	a, err := e.ContentAlgorithm()
	if err != nil {
		return err
	}
	if !a.AEAD && len(e.Protected) != 0 {
		return algErr(e.Alg, "decrypt", ErrMalformed, "%s has no AAD: the protected header must be empty (draft-ietf-suit-firmware-encryption §7)", a.Name)
	}
	return nil
}

// RecipientSpec names one recipient when encrypting: either a KEK for AES-KW
// (Alg A128KW, A192KW or A256KW) or a public key for ECDH-ES + AES-KW (Alg
// ECDH-ES + A128KW etc., P-256 or X25519).
type RecipientSpec struct {
	Alg       int64
	KID       []byte
	KEK       []byte
	Public    *ecdh.PublicKey
	Ephemeral *ecdh.PrivateKey // optional: a fixed ephemeral key (tests); fresh otherwise
}

// EncryptOptions control EncryptDetached. CEK and IV are random when nil.
type EncryptOptions struct {
	ContentAlg int64
	Recipients []RecipientSpec
	CEK        []byte
	IV         []byte
	Rand       io.Reader // crypto/rand when nil
}

// EncryptDetached encrypts plaintext for the recipients and returns the
// SUIT_Encryption_Info (a COSE_Encrypt_Tagged with a null ciphertext) and the
// ciphertext (with its tag for AEAD algorithms). One content key is wrapped
// for every recipient (the draft's second deployment option).
func EncryptDetached(opts EncryptOptions, plaintext []byte) (info, ciphertext []byte, err error) {
	ca, err := LookupContentAlgorithm(opts.ContentAlg)
	if err != nil {
		return nil, nil, err
	}
	if len(opts.Recipients) == 0 {
		return nil, nil, fmt.Errorf("cose: encrypt: %w: no recipient (give a key-encryption key or a recipient public key)", ErrKeyMismatch)
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	cek := opts.CEK
	if cek == nil {
		cek = make([]byte, ca.KeySize)
		if _, err := io.ReadFull(rnd, cek); err != nil {
			return nil, nil, fmt.Errorf("cose: encrypt: random content key: %w", err)
		}
		defer clear(cek)
	}
	iv := opts.IV
	if iv == nil {
		iv = make([]byte, ca.IVSize)
		if _, err := io.ReadFull(rnd, iv); err != nil {
			return nil, nil, fmt.Errorf("cose: encrypt: random IV: %w", err)
		}
	}
	if err := ca.checkKeyIV(cek, iv, "encrypt"); err != nil {
		return nil, nil, err
	}
	// Headers: AEAD algorithms put alg in the protected header (it is then
	// authenticated); AES-CTR has no AAD, so its protected header is empty (§7).
	var protected, unprot []byte
	if ca.AEAD {
		protected = appendInt(appendInt([]byte{0xa1}, HeaderAlg), ca.ID)
		unprot = appendBstr(appendInt([]byte{0xa1}, HeaderIV), iv)
	} else {
		protected = []byte{}
		unprot = appendInt(appendInt([]byte{0xa2}, HeaderAlg), ca.ID)
		unprot = appendBstr(appendInt(unprot, HeaderIV), iv)
	}
	var recips [][]byte
	for i, rs := range opts.Recipients {
		r, err := rs.build(cek, rnd)
		if err != nil {
			return nil, nil, fmt.Errorf("recipient %d: %w", i, err)
		}
		recips = append(recips, r)
	}
	b := appendHead(nil, 6, TagEncrypt)
	b = append(b, 0x84)
	b = appendBstr(b, protected)
	b = append(b, unprot...)
	b = append(b, 0xf6)
	b = appendHead(b, 4, uint64(len(recips)))
	for _, r := range recips {
		b = append(b, r...)
	}
	var aad []byte
	if ca.AEAD {
		aad = EncStructure("Encrypt", protected)
	}
	ct, err := SealContent(ca.ID, cek, iv, aad, plaintext)
	if err != nil {
		return nil, nil, err
	}
	return b, ct, nil
}

func (rs RecipientSpec) build(cek []byte, rnd io.Reader) ([]byte, error) {
	var protected, unprot, wrapped []byte
	var err error
	switch rs.Alg {
	case AlgA128KW, AlgA192KW, AlgA256KW:
		if len(rs.KEK) != keyWrapSizes[rs.Alg] {
			return nil, algErr(rs.Alg, "encrypt", ErrKeyMismatch, "key-encryption key is %d bytes, %s needs %d", len(rs.KEK), AlgorithmName(rs.Alg), keyWrapSizes[rs.Alg])
		}
		if wrapped, err = KeyWrap(rs.KEK, cek); err != nil {
			return nil, err
		}
		protected = []byte{}
		n := 1
		if rs.KID != nil {
			n = 2
		}
		unprot = appendInt(appendInt(appendHead(nil, 5, uint64(n)), HeaderAlg), rs.Alg)
		if rs.KID != nil {
			unprot = appendBstr(appendInt(unprot, HeaderKID), rs.KID)
		}
	case AlgECDHESA128KW, AlgECDHESA192KW, AlgECDHESA256KW:
		if rs.Public == nil {
			return nil, algErr(rs.Alg, "encrypt", ErrKeyMismatch, "needs the recipient's public key (P-256 or X25519)")
		}
		eph := rs.Ephemeral
		if eph == nil {
			if eph, err = rs.Public.Curve().GenerateKey(rnd); err != nil {
				return nil, fmt.Errorf("cose: ephemeral key: %w", err)
			}
		}
		if eph.Curve() != rs.Public.Curve() {
			return nil, algErr(rs.Alg, "encrypt", ErrKeyMismatch, "ephemeral and recipient keys are on different curves")
		}
		ek, err := encodeEphemeral(eph.PublicKey())
		if err != nil {
			return nil, err
		}
		z, err := eph.ECDH(rs.Public)
		if err != nil {
			return nil, fmt.Errorf("cose: ECDH: %w", err)
		}
		protected = appendInt(appendInt([]byte{0xa1}, HeaderAlg), rs.Alg)
		kek, err := DeriveKEK(rs.Alg, z, nil, protected)
		clear(z)
		if err != nil {
			return nil, err
		}
		wrapped, err = KeyWrap(kek, cek)
		clear(kek)
		if err != nil {
			return nil, err
		}
		// Canonical order: 4 (0x04) sorts before -1 (0x20).
		n := 1
		if rs.KID != nil {
			n = 2
		}
		unprot = appendHead(nil, 5, uint64(n))
		if rs.KID != nil {
			unprot = appendBstr(appendInt(unprot, HeaderKID), rs.KID)
		}
		unprot = append(appendInt(unprot, HeaderEphemeralKey), ek...)
	default:
		return nil, algErr(rs.Alg, "encrypt", ErrUnsupportedAlgorithm, "content key distribution supported: A128KW, A192KW, A256KW, ECDH-ES + A128KW/A192KW/A256KW")
	}
	b := []byte{0x83}
	b = appendBstr(b, protected)
	b = append(b, unprot...)
	return appendBstr(b, wrapped), nil
}

// noRecipientError is ErrNoRecipient with the reason the first fitting key
// failed (errors.Is finds both).
type noRecipientError struct {
	detail string
	cause  error
}

func (e *noRecipientError) Error() string {
	return "cose: " + ErrNoRecipient.Error() + ": " + e.detail
}

func (e *noRecipientError) Unwrap() []error { return []error{ErrNoRecipient, e.cause} }
