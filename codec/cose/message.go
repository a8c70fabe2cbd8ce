package cose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// Message is a parsed COSE_Sign1_Tagged or COSE_Mac0_Tagged message.
type Message struct {
	Tag             uint64 // TagSign1 (18) or TagMac0 (17)
	Protected       []byte // protected header bstr content as received; verification uses these exact bytes
	Alg             int64  // from the protected header, else the unprotected one; 0 when absent
	KID             []byte // key id (label 4), from the protected header, else the unprotected one
	KIDProtected    bool   // the kid is covered by the signature
	Unprotected     []byte // encoded unprotected header map, as received
	Payload         []byte // attached payload (nil when detached)
	PayloadDetached bool   // payload was null: the caller supplies it
	Signature       []byte // signature (Sign1) or MAC tag (Mac0)

	algPresent bool
	algText    string // an alg given as a text string (not supported, kept for the message)
}

// Parse decodes a COSE_Sign1_Tagged (18) or COSE_Mac0_Tagged (17) message. It
// is strict on structure (tag, array of four, member types, no duplicate or
// repeated header labels, no trailing bytes) and lenient on the key order of
// the header maps, whose bytes it keeps as received. COSE_Sign (98) and
// COSE_Mac (97) are recognised and refused with ErrUnsupported.
func Parse(data []byte) (*Message, error) {
	if len(data) == 0 {
		return nil, malformed("empty input")
	}
	if err := decMode.Wellformed(data); err != nil {
		return nil, malformed("not one well-formed CBOR item: %v", err)
	}
	if data[0]>>5 != 6 {
		return nil, malformed("a SUIT authentication block must be a tagged COSE message (18 COSE_Sign1 or 17 COSE_Mac0); got an untagged %s", majorName(data[0]))
	}
	var tagged cbor.RawTag
	if err := decMode.Unmarshal(data, &tagged); err != nil {
		return nil, malformed("%v", err)
	}
	switch tagged.Number {
	case TagSign1, TagMac0:
	case TagSign:
		return nil, fmt.Errorf("cose: %w: COSE_Sign (tag 98, several signers) is not supported; use COSE_Sign1", ErrUnsupported)
	case TagMac:
		return nil, fmt.Errorf("cose: %w: COSE_Mac (tag 97, with recipients) is not supported; use COSE_Mac0", ErrUnsupported)
	default:
		return nil, malformed("tag %d is not a COSE_Sign1 (18) or COSE_Mac0 (17) tag", tagged.Number)
	}
	name := "COSE_Sign1"
	if tagged.Number == TagMac0 {
		name = "COSE_Mac0"
	}
	content := []byte(tagged.Content)
	if len(content) == 0 || content[0]>>5 != 4 {
		return nil, malformed("%s content must be an array", name)
	}
	var fields []cbor.RawMessage
	if err := decMode.Unmarshal(content, &fields); err != nil {
		return nil, malformed("%s: %v", name, err)
	}
	if len(fields) != 4 {
		return nil, malformed("%s must have 4 members [protected, unprotected, payload, signature], it has %d", name, len(fields))
	}
	m := &Message{Tag: tagged.Number}

	// protected: bstr, empty or an encoded header map
	prot, err := byteString(fields[0])
	if err != nil {
		return nil, malformed("%s protected header: %v", name, err)
	}
	m.Protected = prot
	protMap := map[any]cbor.RawMessage{}
	if len(prot) > 0 {
		if prot[0]>>5 != 5 {
			return nil, malformed("%s protected header must encode a map, it encodes a %s", name, majorName(prot[0]))
		}
		if err := decMode.Unmarshal(prot, &protMap); err != nil {
			return nil, malformed("%s protected header: %v", name, err)
		}
	}
	// unprotected: a map
	if fields[1][0]>>5 != 5 {
		return nil, malformed("%s unprotected header must be a map, it is a %s", name, majorName(fields[1][0]))
	}
	m.Unprotected = append([]byte(nil), fields[1]...)
	unprotMap := map[any]cbor.RawMessage{}
	if err := decMode.Unmarshal(fields[1], &unprotMap); err != nil {
		return nil, malformed("%s unprotected header: %v", name, err)
	}
	for k := range protMap {
		if _, dup := unprotMap[k]; dup {
			return nil, malformed("%s header label %v is in both the protected and the unprotected header", name, k)
		}
	}
	if _, ok := protMap[HeaderCrit]; ok {
		return nil, fmt.Errorf("cose: %w: %s has critical header parameters (crit, label 2), which this implementation does not process", ErrUnsupported, name)
	}
	if _, ok := unprotMap[HeaderCrit]; ok {
		return nil, malformed("%s: crit (label 2) must be in the protected header", name)
	}

	// alg
	if raw, ok := protMap[HeaderAlg]; ok {
		err = m.setAlg(raw)
	} else if raw, ok := unprotMap[HeaderAlg]; ok {
		err = m.setAlg(raw)
	}
	if err != nil {
		return nil, malformed("%s alg: %v", name, err)
	}
	// kid
	if raw, ok := protMap[HeaderKID]; ok {
		if m.KID, err = byteString(raw); err != nil {
			return nil, malformed("%s kid: %v", name, err)
		}
		m.KIDProtected = true
	} else if raw, ok := unprotMap[HeaderKID]; ok {
		if m.KID, err = byteString(raw); err != nil {
			return nil, malformed("%s kid: %v", name, err)
		}
	}

	// payload: bstr or null
	if len(fields[2]) == 1 && fields[2][0] == 0xf6 {
		m.PayloadDetached = true
	} else if m.Payload, err = byteString(fields[2]); err != nil {
		return nil, malformed("%s payload must be a byte string or null: %v", name, err)
	}
	if m.Signature, err = byteString(fields[3]); err != nil {
		return nil, malformed("%s signature: %v", name, err)
	}
	return m, nil
}

func (m *Message) setAlg(raw cbor.RawMessage) error {
	switch raw[0] >> 5 {
	case 0, 1:
		var v int64
		if err := decMode.Unmarshal(raw, &v); err != nil {
			return err
		}
		m.Alg, m.algPresent = v, true
		return nil
	case 3:
		var s string
		if err := decMode.Unmarshal(raw, &s); err != nil {
			return err
		}
		m.algText, m.algPresent = s, true
		return nil
	}
	return fmt.Errorf("must be an integer or a text string, it is a %s", majorName(raw[0]))
}

// byteString decodes a CBOR byte string item into a fresh slice.
func byteString(raw cbor.RawMessage) ([]byte, error) {
	if len(raw) == 0 || raw[0]>>5 != 2 {
		if len(raw) == 0 {
			return nil, fmt.Errorf("missing")
		}
		return nil, fmt.Errorf("must be a byte string, it is a %s", majorName(raw[0]))
	}
	var b []byte
	if err := decMode.Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

func majorName(initial byte) string {
	switch initial >> 5 {
	case 0:
		return "unsigned integer"
	case 1:
		return "negative integer"
	case 2:
		return "byte string"
	case 3:
		return "text string"
	case 4:
		return "array"
	case 5:
		return "map"
	case 6:
		return "tag"
	}
	switch initial {
	case 0xf4, 0xf5:
		return "boolean"
	case 0xf6:
		return "null"
	case 0xf7:
		return "undefined"
	}
	return "simple value or float"
}

// checkAlg reports a missing or text alg.
func (m *Message) checkAlg(op string) error {
	if !m.algPresent {
		return fmt.Errorf("cose: %s: %w: no alg (label 1) in the protected or unprotected header", op, ErrMalformed)
	}
	if m.algText != "" {
		return fmt.Errorf("cose: %s: %w: alg %q given as text", op, ErrUnsupportedAlgorithm, m.algText)
	}
	return nil
}

// payload picks the attached payload or the caller's detached one.
func (m *Message) payload(op string, detached []byte) ([]byte, error) {
	if m.PayloadDetached {
		if detached == nil {
			return nil, fmt.Errorf("cose: %s: %w: the payload is detached (null); pass it (for SUIT: the content of auth[0], the encoded SUIT_Digest)", op, ErrMalformed)
		}
		return detached, nil
	}
	if detached != nil && !bytes.Equal(detached, m.Payload) {
		return nil, fmt.Errorf("cose: %s: %w: the message has an attached payload that differs from the payload given", op, ErrVerification)
	}
	return m.Payload, nil
}

// VerifySignature checks a COSE_Sign1 signature with pub (an *ecdsa.PublicKey
// or ed25519.PublicKey). detachedPayload is the payload when the message's
// payload is null; for SUIT it is the encoded SUIT_Digest. The error says
// whether the algorithm is unsupported (ErrUnsupportedAlgorithm), does not fit
// the key (ErrKeyMismatch), or the signature is the wrong length or does not
// verify (ErrVerification).
func (m *Message) VerifySignature(pub crypto.PublicKey, detachedPayload []byte) error {
	const op = "verify"
	if m.Tag != TagSign1 {
		return fmt.Errorf("cose: %s: %w: this is a tag %d message, not a COSE_Sign1 (18); use VerifyMAC for COSE_Mac0", op, ErrUnsupported, m.Tag)
	}
	if err := m.checkAlg(op); err != nil {
		return err
	}
	info, key, err := checkKey(m.Alg, op, pub)
	if err != nil {
		return err
	}
	payload, err := m.payload(op, detachedPayload)
	if err != nil {
		return err
	}
	tbs := SigStructure(m.Protected, payload)
	switch info.kind {
	case kindECDSA:
		size := (info.curve.Params().BitSize + 7) / 8
		if len(m.Signature) != 2*size {
			return algErr(m.Alg, op, ErrVerification, "signature is %d bytes, %s needs %d (r||s)", len(m.Signature), info.name, 2*size)
		}
		h := info.hash.New()
		h.Write(tbs)
		if verifyECDSA(key.(*ecdsa.PublicKey), h.Sum(nil), m.Signature) != nil {
			return algErr(m.Alg, op, ErrVerification, "signature does not verify with this key")
		}
	case kindEd25519:
		if len(m.Signature) != ed25519.SignatureSize {
			return algErr(m.Alg, op, ErrVerification, "signature is %d bytes, %s needs %d", len(m.Signature), info.name, ed25519.SignatureSize)
		}
		if !ed25519.Verify(key.(ed25519.PublicKey), tbs, m.Signature) {
			return algErr(m.Alg, op, ErrVerification, "signature does not verify with this key")
		}
	case kindHSSLMS:
		if err := lms.Verify(key.(lms.PublicKey), tbs, m.Signature); err != nil {
			return algErr(m.Alg, op, ErrVerification, "%v", err)
		}
	}
	return nil
}
