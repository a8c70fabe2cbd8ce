package lms

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC8554Vectors verifies Test Cases 1 and 2 of RFC 8554 Appendix F (two-level HSS), and that
// any altered byte of the signature or message is refused.
func TestRFC8554Vectors(t *testing.T) {
	for _, tc := range []struct{ name, pub, msg, sig string }{
		{"test case 1", tc1Pub, tc1Msg, tc1Sig},
		{"test case 2", tc2Pub, tc2Msg, tc2Sig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, sig, msg := unhex(t, tc.pub), unhex(t, tc.sig), []byte(tc.msg)
			if err := Verify(pub, msg, sig); err != nil {
				t.Fatal(err)
			}
			for _, at := range []int{0, 3, 8, 40, 100, len(sig) / 2, len(sig) - 1} {
				bad := bytes.Clone(sig)
				bad[at] ^= 0x01
				if err := Verify(pub, msg, bad); !errors.Is(err, ErrInvalid) {
					t.Errorf("signature byte %d altered: %v", at, err)
				}
			}
			if err := Verify(pub, append(bytes.Clone(msg), 'x'), sig); !errors.Is(err, ErrInvalid) {
				t.Error("altered message accepted")
			}
		})
	}
}

// TestRFC8554KeyGeneration: the top-level private key of Test Case 2 (SEED and I given in the
// RFC; LMS_SHA256_M32_H10, LMOTS_SHA256_N32_W4) derives the published public key (Appendix A).
func TestRFC8554KeyGeneration(t *testing.T) {
	if testing.Short() {
		t.Skip("long: run by make test-long (a 1024-leaf tree)")
	}
	k := PrivateKey{LMSType: LMS_SHA256_M32_H10, OTSType: LMOTS_SHA256_N32_W4}
	copy(k.ID[:], unhex(t, "d08fabd4a2091ff0a8cb4ed834e74534"))
	copy(k.Seed[:], unhex(t, "558b8966c48ae9cb898b423c83443aae014a72f1b1ab5cc85cf1d892903b5439"))
	if got, want := k.HSSPublicKey(), unhex(t, tc2Pub); !bytes.Equal(got[4:], want[4:]) {
		t.Fatalf("public key\n got %x\nwant %x", got, want)
	}
}

// TestRFC8554SecondLevelSignature: Test Case 2's second-level key (SEED and I given;
// LMS_SHA256_M32_H5, LMOTS_SHA256_N32_W8) reproduces the published public key, and its signature
// of the message at leaf 4 is the published one byte for byte (the randomizer C is derived from
// the seed as the reference implementation does).
func TestRFC8554SecondLevelSignature(t *testing.T) {
	k := PrivateKey{LMSType: LMS_SHA256_M32_H5, OTSType: LMOTS_SHA256_N32_W8}
	copy(k.ID[:], unhex(t, "215f83b7ccb9acbcd08db97b0d04dc2b"))
	copy(k.Seed[:], unhex(t, "a1c4696e2608035a886100d05cd99945eb3370731884a8235e2fb3d4d71f2547"))
	sig := unhex(t, tc2Sig)
	pubAt := bytes.Index(sig, k.ID[:]) - 8
	if pubAt < 0 {
		t.Fatal("second-level public key not in the signature")
	}
	want := sig[pubAt : pubAt+56]
	if got := k.PublicKey(); !bytes.Equal(got, want) {
		t.Fatalf("second-level public key\n got %x\nwant %x", got, want)
	}
	got, err := k.SignLMS(4, []byte(tc2Msg))
	if err != nil {
		t.Fatal(err)
	}
	if last := sig[pubAt+56:]; !bytes.Equal(got, last) {
		t.Fatalf("signature of leaf 4 differs from the RFC's\n got %x\nwant %x", got, last)
	}
}

// TestSignVerifyRoundTrip: every LM-OTS type, a small tree, every leaf verifies, a reused message
// with another leaf too, and a signature of one message does not verify another.
func TestSignVerifyRoundTrip(t *testing.T) {
	for _, ots := range []uint32{LMOTS_SHA256_N32_W1, LMOTS_SHA256_N32_W2, LMOTS_SHA256_N32_W4, LMOTS_SHA256_N32_W8} {
		k := PrivateKey{LMSType: LMS_SHA256_M32_H5, OTSType: ots}
		k.ID[0], k.Seed[0] = byte(ots), 7
		pub := k.HSSPublicKey()
		for _, q := range []uint32{0, 1, 17, 31} {
			sig, err := k.SignHSS(q, []byte("firmware"))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(pub, []byte("firmware"), sig); err != nil {
				t.Fatalf("W%d leaf %d: %v", otsTypes[ots].w, q, err)
			}
			if err := Verify(pub, []byte("firmwarf"), sig); !errors.Is(err, ErrInvalid) {
				t.Fatalf("W%d leaf %d: another message verifies", otsTypes[ots].w, q)
			}
		}
		if _, err := k.SignHSS(32, nil); err == nil {
			t.Fatal("leaf 32 of a 32-leaf tree signed")
		}
	}
}

func BenchmarkVerifyH5W8(b *testing.B) {
	pub, sig, msg := unhex(b, tc1Pub), unhex(b, tc1Sig), []byte(tc1Msg)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzVerify: hostile keys and signatures are refused, never a panic.
func FuzzVerify(f *testing.F) {
	f.Add(unhex(f, tc1Pub), []byte(tc1Msg), unhex(f, tc1Sig))
	f.Add(unhex(f, tc2Pub), []byte(tc2Msg), unhex(f, tc2Sig)[:300])
	f.Fuzz(func(t *testing.T, pub, msg, sig []byte) {
		_ = Verify(pub, msg, sig)
		_ = PublicKey(pub).Check()
	})
}
