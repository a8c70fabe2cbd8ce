package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

// TestSignReproducesVectors: re-signing an official example with the key it
// was made with, through the `suit sign` path (SignEnvelope with --replace),
// gives the published envelope byte for byte: ECDSA file keys sign
// deterministically (RFC 6979) and HMAC is deterministic. Integrated
// dependencies (themselves signed envelopes) are re-signed and compared too.
//
// Examples 0-5 of the manifest draft are not here: their ES256 signatures are
// randomized (not RFC 6979), so no signer can reproduce them
// (../shared/spec/vectors/README.md); they are verified instead.
func TestSignReproducesVectors(t *testing.T) {
	vec := "../../shared/spec/vectors/"
	specKey := loadKey(t, vec+"private_key.pem")
	depKey := loadKey(t, vec+"firmware-encryption/dependent_key_private.pkcs8.pem")
	hmacKey, err := signer.NewMACKey(bytes.Repeat([]byte{'a'}, 32), nil, "spec HMAC key")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file      string
		key, dep  any // dep: the key of an integrated dependency
		alg       int64
		wantCount int
	}{
		{"trust-domains/example0_dependent.hex", specKey, nil, cose.AlgESP256, 1},
		{"trust-domains/example1_process.hex", specKey, nil, cose.AlgESP256, 1},
		{"trust-domains/example2_integrated.hex", specKey, specKey, cose.AlgESP256, 2},
		{"firmware-encryption/suit-manifest-es-ecdh-content.signed.hex", specKey, nil, cose.AlgESP256, 1},
		{"firmware-encryption/suit-manifest-es-ecdh-dependency.signed.hex", depKey, specKey, cose.AlgESP256, 2},
		{"firmware-encryption/suit-manifest-aes-kw-content.signed.hex", hmacKey, nil, 0, 1},
		{"firmware-encryption/suit-manifest-aes-kw.signed.hex", hmacKey, nil, 0, 1},
		{"firmware-encryption/suit-manifest-aes-kw-slot.signed.hex", hmacKey, nil, 0, 1},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			want := readHexFile(t, vec+tc.file)
			n := 0
			check := func(env []byte, key any) {
				got, err := SignEnvelope(env, []any{key}, SignOptions{Algorithm: tc.alg, Replace: true, NoKID: true})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, env) {
					t.Fatalf("re-signed envelope differs from the published one\n got %x\nwant %x", got, env)
				}
				n++
			}
			check(want, tc.key)
			if tc.dep != nil {
				e, err := suit.Decode(want)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range e.Integrated {
					if bytes.HasPrefix(p.Data, []byte{0xd8, 0x6b}) {
						check(p.Data, tc.dep)
					}
				}
			}
			if n != tc.wantCount {
				t.Fatalf("%d envelopes compared, want %d", n, tc.wantCount)
			}
		})
	}
}

func loadKey(t testing.TB, path string) any {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	k, err := signer.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
