package cose

import (
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// keyWrapIV is the default initial value of RFC 3394 §2.2.3.1.
var keyWrapIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// KeyWrap wraps key with kek by the AES Key Wrap algorithm of RFC 3394 §2.2.1
// (the COSE algorithms A128KW, A192KW, A256KW of RFC 9053 §6.2.1). kek is 16,
// 24 or 32 bytes; key is a multiple of 8 bytes, at least 16. The result is 8
// bytes longer than key. Key wrap is deterministic: the same kek and key always
// give the same bytes.
func KeyWrap(kek, key []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("cose: key wrap: %w: the key-encryption key is %d bytes, AES-KW needs 16, 24 or 32", ErrKeyMismatch, len(kek))
	}
	if len(key) < 16 || len(key)%8 != 0 {
		return nil, fmt.Errorf("cose: key wrap: %w: the key to wrap is %d bytes, AES-KW needs a multiple of 8, at least 16", ErrKeyMismatch, len(key))
	}
	n := len(key) / 8
	out := make([]byte, 8+len(key))
	copy(out[8:], key)
	var b [16]byte
	copy(b[:8], keyWrapIV[:])
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(b[8:], out[8*i:8*i+8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:], b[8:])
		}
	}
	copy(out[:8], b[:8])
	return out, nil
}

// KeyUnwrap reverses KeyWrap (RFC 3394 §2.2.2) and checks the integrity value
// (§2.2.3): a wrong kek or an altered wrapped key gives ErrVerification.
func KeyUnwrap(kek, wrapped []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("cose: key unwrap: %w: the key-encryption key is %d bytes, AES-KW needs 16, 24 or 32", ErrKeyMismatch, len(kek))
	}
	if len(wrapped) < 24 || len(wrapped)%8 != 0 {
		return nil, fmt.Errorf("cose: key unwrap: %w: a wrapped key is a multiple of 8 bytes, at least 24; this one is %d", ErrMalformed, len(wrapped))
	}
	n := len(wrapped)/8 - 1
	out := make([]byte, len(wrapped)-8)
	copy(out, wrapped[8:])
	var b [16]byte
	copy(b[:8], wrapped[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(b[8:], out[8*(i-1):8*i])
			block.Decrypt(b[:], b[:])
			copy(out[8*(i-1):], b[8:])
		}
	}
	if subtle.ConstantTimeCompare(b[:8], keyWrapIV[:]) != 1 {
		clear(out)
		return nil, fmt.Errorf("cose: key unwrap: %w: integrity check failed (wrong key-encryption key, or the wrapped key was altered)", ErrVerification)
	}
	return out, nil
}
