package devicesim

import (
	"errors"
	"fmt"
	"testing"

	"github.com/suit-studio/suit-studio/codec/suit"
)

// hostVerdict is what `suit verify` says about env with the spec key: nil when authentic.
func hostVerdict(env []byte, keys []suit.VerifyKey) (refusal error, malformed bool) {
	v, err := suit.Verify(env, keys)
	if err != nil {
		return err, errors.Is(err, suit.ErrMalformed) || errors.Is(err, suit.ErrStructure) || errors.Is(err, suit.ErrLimit)
	}
	if !v.Authentic {
		return errors.New(v.Reason), false
	}
	return nil, false
}

// mutationsOf lists single-byte mutations of env as (offset, new value). short: every value of
// byte 6 (the authentication wrapper's array head, 0x82 in every example) and of byte 53 (the
// COSE_Sign1 unprotected header, 0xa0), and for every other byte two values: its low bit
// flipped, and 0x60 (an empty text string: an envelope key becomes an integrated payload's).
// Otherwise every other value of every byte.
func mutationsOf(env []byte, short bool) [][2]int {
	var out [][2]int
	for off, b := range env {
		if short && off != 6 && off != 53 {
			for _, v := range []int{int(b ^ 1), 0x60} {
				if v != int(b) {
					out = append(out, [2]int{off, v})
				}
			}
			continue
		}
		for v := 0; v < 256; v++ {
			if v != int(b) {
				out = append(out, [2]int{off, v})
			}
		}
	}
	return out
}

// TestDeviceAgreesWithHost sweeps single-byte mutations of the official examples: whatever
// `suit verify` (codec/suit with the spec key) refuses, the device must refuse too — in
// particular an authentication wrapper whose array head claims more elements than it holds
// (byte 6, 0x82 -> 0x83). The device may refuse more (it supports less), never less.
// The exhaustive sweep (every value of every byte) runs without -short.
func TestDeviceAgreesWithHost(t *testing.T) {
	keys := []suit.VerifyKey{{Name: "spec", Public: specPublicKey(t)}}
	for n := 0; n <= 5; n++ {
		t.Run(fmt.Sprintf("example%d", n), func(t *testing.T) {
			if !testing.Short() {
				t.Parallel()
			}
			orig := readVector(t, fmt.Sprintf("example%d.hex", n))
			if refusal, _ := hostVerdict(orig, keys); refusal != nil {
				t.Fatalf("the host refuses the unmutated example: %v", refusal)
			}
			d := provisioned(t, Config{}, imgF, 0)
			if err := d.Stage(orig); err != nil {
				t.Fatal(err)
			}
			if rec := d.Verify(); rec.Outcome != Applied {
				t.Fatalf("the device refuses the unmutated example: %s", rec.Reason)
			}
			if orig[6] != 0x82 || orig[53] != 0xa0 {
				t.Fatalf("bytes 6 and 53 are 0x%02x 0x%02x, want the wrapper's array head 0x82 and the unprotected header 0xa0", orig[6], orig[53])
			}
			env := make([]byte, len(orig))
			var cases, hostRefused, malformed, deviceStricter int
			for _, m := range mutationsOf(orig, testing.Short()) {
				copy(env, orig)
				env[m[0]] = byte(m[1])
				cases++
				refusal, isMalformed := hostVerdict(env, keys)
				if err := d.Stage(env); err != nil {
					t.Fatal(err)
				}
				rec := d.Verify()
				if d.RAM.InUse() != 0 {
					t.Fatalf("byte %d = 0x%02x: RAM leak %+v", m[0], m[1], d.RAM.Live())
				}
				if refusal == nil {
					if rec.Outcome != Applied {
						deviceStricter++
					}
					continue
				}
				hostRefused++
				if isMalformed {
					malformed++
				}
				if rec.Outcome == Applied {
					t.Errorf("byte %d 0x%02x -> 0x%02x: the host refuses (%v) but the device accepts", m[0], orig[m[0]], m[1], refusal)
				}
			}
			t.Logf("%d mutations: the host refuses %d (%d as malformed); the device refuses %d the host accepts", cases, hostRefused, malformed, deviceStricter)
		})
	}
}

// TestNestedSequencesCheckedAtLoad: a signed manifest whose try-each holds a malformed
// alternative (an array head announcing 3 items, 1 present) after one that succeeds is refused
// by the host decoder; the device refuses it too, when it reads the manifest, although the
// alternative would never run.
func TestNestedSequencesCheckedAtLoad(t *testing.T) {
	shared := seq(cU(20), identityParams(cU(3), digestParam(imgF), cU(14), cU(uint64(len(imgF)))), cU(1), cU(15), cU(2), cU(15))
	good := seq(cU(3), cU(15))
	for _, tc := range []struct {
		name string
		bad  []byte
	}{
		{"short array", []byte{0x83, 0x01}},
		{"trailing byte", append(seq(cU(3), cU(15)), 0x00)},
		{"run-sequence inside", seq(cU(32), cB([]byte{0x84, 0x03, 0x0f}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			validate := seq(cU(15), cArr(cB(good), cB(tc.bad)))
			man := manifestOf(1, [][]byte{compID(0)}, shared, cU(7), cB(validate))
			env := envelopeOf(t, man, specPrivateKey(t))
			if refusal, _ := hostVerdict(env, []suit.VerifyKey{{Name: "spec", Public: specPublicKey(t)}}); refusal == nil {
				t.Fatalf("the host accepts the manifest")
			}
			d := provisioned(t, Config{}, imgF, 0)
			if err := d.Stage(env); err != nil {
				t.Fatal(err)
			}
			if rec := d.Verify(); rec.Outcome != Refused || !errors.Is(rec.Err, ErrMalformed) {
				t.Fatalf("verify: %s %s", rec.Outcome, rec.Reason)
			}
			if rec := d.Update(nil); rec.Outcome != Refused || !errors.Is(rec.Err, ErrMalformed) {
				t.Fatalf("update: %s %s", rec.Outcome, rec.Reason)
			}
		})
	}
}
