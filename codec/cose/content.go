package cose

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/poly1305"
)

// COSE algorithm ids for payload encryption (RFC 9053 §4, §6; RFC 9459 for
// AES-CTR; draft-ietf-suit-firmware-encryption §6 and §7).
const (
	AlgA128GCM          int64 = 1
	AlgA192GCM          int64 = 2
	AlgA256GCM          int64 = 3
	AlgChaCha20Poly1305 int64 = 24
	AlgA128CTR          int64 = -65534
	AlgA192CTR          int64 = -65533
	AlgA256CTR          int64 = -65532

	AlgA128KW int64 = -3
	AlgA192KW int64 = -4
	AlgA256KW int64 = -5

	AlgECDHESA128KW int64 = -29
	AlgECDHESA192KW int64 = -30
	AlgECDHESA256KW int64 = -31
)

type contentKind int

const (
	contentGCM contentKind = iota + 1
	contentCTR
	contentChaCha
)

// ContentAlgorithm describes a content-encryption algorithm.
type ContentAlgorithm struct {
	ID      int64
	Name    string
	KeySize int  // bytes of the content-encryption key
	IVSize  int  // bytes of the IV / nonce
	TagSize int  // bytes of the authentication tag appended to the ciphertext; 0 for CTR
	AEAD    bool // authenticated: the Enc_structure is the AAD and the tag is checked
	kind    contentKind
}

var contentAlgorithms = map[int64]ContentAlgorithm{
	AlgA128GCM:          {AlgA128GCM, "A128GCM", 16, 12, 16, true, contentGCM},
	AlgA192GCM:          {AlgA192GCM, "A192GCM", 24, 12, 16, true, contentGCM},
	AlgA256GCM:          {AlgA256GCM, "A256GCM", 32, 12, 16, true, contentGCM},
	AlgChaCha20Poly1305: {AlgChaCha20Poly1305, "ChaCha20/Poly1305", 32, 12, 16, true, contentChaCha},
	AlgA128CTR:          {AlgA128CTR, "A128CTR", 16, 16, 0, false, contentCTR},
	AlgA192CTR:          {AlgA192CTR, "A192CTR", 24, 16, 0, false, contentCTR},
	AlgA256CTR:          {AlgA256CTR, "A256CTR", 32, 16, 0, false, contentCTR},
}

// keyWrapSizes gives the KEK size of the AES-KW algorithms, alone or after ECDH-ES.
var keyWrapSizes = map[int64]int{
	AlgA128KW: 16, AlgA192KW: 24, AlgA256KW: 32,
	AlgECDHESA128KW: 16, AlgECDHESA192KW: 24, AlgECDHESA256KW: 32,
}

func init() {
	for id, n := range map[int64]string{
		AlgA128GCM: "A128GCM", AlgA192GCM: "A192GCM", AlgA256GCM: "A256GCM", AlgChaCha20Poly1305: "ChaCha20/Poly1305",
		AlgA128CTR: "A128CTR", AlgA192CTR: "A192CTR", AlgA256CTR: "A256CTR",
		AlgA128KW: "A128KW", AlgA192KW: "A192KW", AlgA256KW: "A256KW",
		AlgECDHESA128KW: "ECDH-ES + A128KW", AlgECDHESA192KW: "ECDH-ES + A192KW", AlgECDHESA256KW: "ECDH-ES + A256KW",
		-25: "ECDH-ES + HKDF-256", -26: "ECDH-ES + HKDF-512", -65531: "A128CBC", -65530: "A192CBC", -65529: "A256CBC",
	} {
		otherAlgorithmNames[id] = n
	}
}

// LookupContentAlgorithm returns the content-encryption algorithm alg.
func LookupContentAlgorithm(alg int64) (ContentAlgorithm, error) {
	a, ok := contentAlgorithms[alg]
	if !ok {
		return a, algErr(alg, "decrypt", ErrUnsupportedAlgorithm,
			"content encryption supported: A128GCM, A192GCM, A256GCM, ChaCha20/Poly1305, A128CTR, A192CTR, A256CTR")
	}
	return a, nil
}

// EncStructure returns the AAD of an AEAD content encryption (RFC 9052 §5.3):
// ["Encrypt", bstr(protected), h”] (the external AAD is empty in SUIT).
func EncStructure(context string, protected []byte) []byte {
	b := make([]byte, 0, 12+len(protected))
	b = append(b, 0x83)
	b = appendTstr(b, context)
	b = appendBstr(b, protected)
	return append(b, 0x40)
}

// SealContent encrypts plaintext with cek: AEAD algorithms append their tag
// and authenticate aad; CTR ignores aad (it must be empty, see EncStructure's
// use in Encrypt).
func SealContent(alg int64, cek, iv, aad, plaintext []byte) ([]byte, error) {
	a, err := LookupContentAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	if err := a.checkKeyIV(cek, iv, "encrypt"); err != nil {
		return nil, err
	}
	switch a.kind {
	case contentGCM:
		block, _ := aes.NewCipher(cek)
		g, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		return g.Seal(nil, iv, plaintext, aad), nil
	case contentChaCha:
		c, err := chacha20poly1305.New(cek)
		if err != nil {
			return nil, err
		}
		return c.Seal(nil, iv, plaintext, aad), nil
	default:
		block, _ := aes.NewCipher(cek)
		out := make([]byte, len(plaintext))
		cipher.NewCTR(block, iv).XORKeyStream(out, plaintext)
		return out, nil
	}
}

// OpenContent decrypts a whole ciphertext (with its tag, for AEAD). A tag that
// does not verify gives ErrVerification and no plaintext.
func OpenContent(alg int64, cek, iv, aad, ciphertext []byte) ([]byte, error) {
	d, err := NewContentDecrypter(alg, cek, iv, aad, len(ciphertext))
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(ciphertext))
	n := d.Update(out, ciphertext)
	if err := d.Final(); err != nil {
		clear(out)
		return nil, err
	}
	return out[:n], nil
}

func (a ContentAlgorithm) checkKeyIV(cek, iv []byte, op string) error {
	if len(cek) != a.KeySize {
		return algErr(a.ID, op, ErrKeyMismatch, "content key is %d bytes, %s needs %d", len(cek), a.Name, a.KeySize)
	}
	if len(iv) != a.IVSize {
		return algErr(a.ID, op, ErrMalformed, "IV is %d bytes, %s needs %d", len(iv), a.Name, a.IVSize)
	}
	return nil
}

// ContentDecrypter decrypts a payload piece by piece in constant memory (a few
// hundred bytes of state), as a device streams an image from flash: Update
// takes the ciphertext in chunks of any size and returns the plaintext bytes;
// the trailing tag of an AEAD algorithm is held back and checked by Final. A
// caller must not trust (mark valid, run) any plaintext before Final returned
// nil.
type ContentDecrypter struct {
	alg    ContentAlgorithm
	total  int // bytes of ciphertext including the tag
	body   int // total - tag
	seen   int // ciphertext bytes consumed
	stream cipher.Stream
	tag    [16]byte
	// GCM
	h, s    [2]uint64
	tagMask [16]byte
	part    [16]byte
	partN   int
	aadLen  int
	// ChaCha20/Poly1305
	mac *poly1305.MAC
}

// NewContentDecrypter starts decrypting a ciphertext of total bytes (the tag
// included) with algorithm alg, content key cek and iv. aad is the
// Enc_structure for AEAD algorithms and is ignored by CTR.
func NewContentDecrypter(alg int64, cek, iv, aad []byte, total int) (*ContentDecrypter, error) {
	a, err := LookupContentAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	if err := a.checkKeyIV(cek, iv, "decrypt"); err != nil {
		return nil, err
	}
	if total < a.TagSize {
		return nil, algErr(alg, "decrypt", ErrMalformed, "ciphertext is %d bytes, shorter than the %d-byte tag", total, a.TagSize)
	}
	d := &ContentDecrypter{alg: a, total: total, body: total - a.TagSize}
	switch a.kind {
	case contentCTR:
		block, _ := aes.NewCipher(cek)
		d.stream = cipher.NewCTR(block, iv)
	case contentGCM:
		block, _ := aes.NewCipher(cek)
		var h [16]byte
		block.Encrypt(h[:], h[:])
		d.h = [2]uint64{binary.BigEndian.Uint64(h[:8]), binary.BigEndian.Uint64(h[8:])}
		var j0 [16]byte
		copy(j0[:], iv)
		j0[15] = 1
		block.Encrypt(d.tagMask[:], j0[:])
		j0[15] = 2
		d.stream = cipher.NewCTR(block, j0[:])
		d.ghashPadded(aad)
		d.aadLen = len(aad)
	case contentChaCha:
		c, err := chacha20.NewUnauthenticatedCipher(cek, iv)
		if err != nil {
			return nil, err
		}
		var pk [32]byte
		c.XORKeyStream(pk[:], pk[:])
		c.SetCounter(1)
		d.stream = c
		d.mac = poly1305.New(&pk)
		d.mac.Write(aad)
		d.mac.Write(zeroPad[:pad16(len(aad))])
		d.aadLen = len(aad)
	}
	return d, nil
}

var zeroPad [16]byte

func pad16(n int) int { return (16 - n%16) % 16 }

// Algorithm is the content-encryption algorithm being decrypted.
func (d *ContentDecrypter) Algorithm() ContentAlgorithm { return d.alg }

// PlaintextSize is the size of the plaintext: the ciphertext without its tag.
func (d *ContentDecrypter) PlaintextSize() int { return d.body }

// Update decrypts the next chunk of ciphertext src into dst (at least
// len(src) bytes) and returns how many plaintext bytes it wrote (fewer than
// len(src) once src reaches the tag). Bytes beyond the declared total are
// ignored.
func (d *ContentDecrypter) Update(dst, src []byte) int {
	n := 0
	if d.seen < d.body {
		k := min(len(src), d.body-d.seen)
		body := src[:k]
		switch d.alg.kind {
		case contentGCM:
			d.ghashStream(body)
		case contentChaCha:
			d.mac.Write(body)
		}
		d.stream.XORKeyStream(dst[:k], body)
		d.seen += k
		src = src[k:]
		n = k
	}
	if len(src) > 0 && d.seen < d.total {
		k := min(len(src), d.total-d.seen)
		copy(d.tag[d.seen-d.body:], src[:k])
		d.seen += k
	}
	return n
}

// Final checks that the whole ciphertext was given and, for an AEAD
// algorithm, that the tag verifies (ErrVerification otherwise).
func (d *ContentDecrypter) Final() error {
	if d.seen != d.total {
		return algErr(d.alg.ID, "decrypt", ErrMalformed, "ciphertext ended after %d of %d bytes", d.seen, d.total)
	}
	switch d.alg.kind {
	case contentGCM:
		if d.partN > 0 {
			clear(d.part[d.partN:])
			d.ghashBlock(d.part[:])
			d.partN = 0
		}
		var l [16]byte
		binary.BigEndian.PutUint64(l[:8], uint64(d.aadLen)*8)
		binary.BigEndian.PutUint64(l[8:], uint64(d.body)*8)
		d.ghashBlock(l[:])
		var t [16]byte
		binary.BigEndian.PutUint64(t[:8], d.s[0])
		binary.BigEndian.PutUint64(t[8:], d.s[1])
		subtle.XORBytes(t[:], t[:], d.tagMask[:])
		if subtle.ConstantTimeCompare(t[:], d.tag[:]) != 1 {
			return algErr(d.alg.ID, "decrypt", ErrVerification, "authentication tag mismatch: wrong key, or the ciphertext, IV or protected header was altered")
		}
	case contentChaCha:
		d.mac.Write(zeroPad[:pad16(d.body)])
		var l [16]byte
		binary.LittleEndian.PutUint64(l[:8], uint64(d.aadLen))
		binary.LittleEndian.PutUint64(l[8:], uint64(d.body))
		d.mac.Write(l[:])
		if !d.mac.Verify(d.tag[:]) {
			return algErr(d.alg.ID, "decrypt", ErrVerification, "authentication tag mismatch: wrong key, or the ciphertext, IV or protected header was altered")
		}
	}
	return nil
}

// ghashPadded absorbs data padded with zeros to a block boundary (the AAD).
func (d *ContentDecrypter) ghashPadded(data []byte) {
	for len(data) >= 16 {
		d.ghashBlock(data[:16])
		data = data[16:]
	}
	if len(data) > 0 {
		var b [16]byte
		copy(b[:], data)
		d.ghashBlock(b[:])
	}
}

// ghashStream absorbs ciphertext whose chunks need not be block aligned.
func (d *ContentDecrypter) ghashStream(data []byte) {
	if d.partN > 0 {
		k := copy(d.part[d.partN:], data)
		d.partN += k
		data = data[k:]
		if d.partN < 16 {
			return
		}
		d.ghashBlock(d.part[:])
		d.partN = 0
	}
	for len(data) >= 16 {
		d.ghashBlock(data[:16])
		data = data[16:]
	}
	d.partN = copy(d.part[:], data)
}

// ghashBlock is S = (S xor X) * H in GF(2^128) (NIST SP 800-38D §6.3,
// Algorithm 1), bit by bit without secret-dependent branches.
func (d *ContentDecrypter) ghashBlock(x []byte) {
	xh := d.s[0] ^ binary.BigEndian.Uint64(x[:8])
	xl := d.s[1] ^ binary.BigEndian.Uint64(x[8:])
	vh, vl := d.h[0], d.h[1]
	var zh, zl uint64
	for i := 0; i < 128; i++ {
		var bit uint64
		if i < 64 {
			bit = (xh >> (63 - i)) & 1
		} else {
			bit = (xl >> (127 - i)) & 1
		}
		m := -bit
		zh ^= vh & m
		zl ^= vl & m
		lsb := vl & 1
		vl = vl>>1 | vh<<63
		vh = vh>>1 ^ (0xe1<<56)&-lsb
	}
	d.s = [2]uint64{zh, zl}
}
