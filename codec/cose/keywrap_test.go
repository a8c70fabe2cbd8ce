package cose

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// TestKeyWrapRFC3394 runs the six test vectors of RFC 3394 §4.1-§4.6 both ways.
func TestKeyWrapRFC3394(t *testing.T) {
	for _, tc := range []struct{ name, kek, key, wrapped string }{
		{"4.1 128-bit key with 128-bit KEK", "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
			"1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"4.2 128-bit key with 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF",
			"96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
		{"4.3 128-bit key with 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF",
			"64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
		{"4.4 192-bit key with 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF0001020304050607",
			"031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
		{"4.5 192-bit key with 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF0001020304050607",
			"A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
		{"4.6 256-bit key with 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
			"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kek, key, want := mustHex(t, tc.kek), mustHex(t, tc.key), mustHex(t, tc.wrapped)
			got, err := KeyWrap(kek, key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("wrap = %X\nwant %X", got, want)
			}
			back, err := KeyUnwrap(kek, want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, key) {
				t.Fatalf("unwrap = %X, want %X", back, key)
			}
			bad := bytes.Clone(want)
			bad[len(bad)-1] ^= 1
			if _, err := KeyUnwrap(kek, bad); !errors.Is(err, ErrVerification) {
				t.Fatalf("altered wrapped key: err = %v, want ErrVerification", err)
			}
		})
	}
}

func TestKeyWrapRejectsBadSizes(t *testing.T) {
	if _, err := KeyWrap(make([]byte, 15), make([]byte, 16)); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("15-byte KEK: %v", err)
	}
	if _, err := KeyWrap(make([]byte, 16), make([]byte, 12)); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("12-byte key: %v", err)
	}
	if _, err := KeyUnwrap(make([]byte, 16), make([]byte, 17)); !errors.Is(err, ErrMalformed) {
		t.Errorf("17-byte wrapped: %v", err)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
