package suit

import (
	"bytes"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
)

// Fuzz targets for every decoder of this package, seeded with every official, trust-domains and
// firmware-encryption vector (and, for the source form, with FormatSource of each). Run one with
//
//	go test ./codec/suit -run '^$' -fuzz '^FuzzDecode$' -fuzztime 60s -parallel 1
//
// Crashers found so far are kept under testdata/fuzz/<Target>/ and run by plain `go test`.

// sortedVectors returns the envelope vectors in name order, so that seeding is reproducible.
func sortedVectors(t testing.TB) [][]byte {
	vs := envelopeVectors(t)
	names := make([]string, 0, len(vs))
	for n := range vs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		out = append(out, vs[n])
	}
	return out
}

// FuzzDecode: Decode never panics; whatever it accepts encodes, the encoding decodes again, and
// decoding-then-encoding is idempotent (the encoder's output is a fixed point).
func FuzzDecode(f *testing.F) {
	for _, v := range sortedVectors(f) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data)
		if err != nil {
			checkDecodeError(t, err, len(data))
			return
		}
		b1, err := Encode(env)
		if errors.Is(err, ErrUnsupportedDigest) {
			// Known, reported: Decode accepts an authentication-wrapper digest algorithm that
			// Encode cannot recompute (seed testdata/fuzz/FuzzDecode/5e8e72c879f0493e).
			return
		}
		if err != nil {
			// The decoder keeps what it cannot interpret; the encoder must be able to write it back.
			t.Fatalf("Decode accepted %x but Encode fails: %v", data, err)
		}
		env2, err := Decode(b1)
		if err != nil {
			t.Fatalf("Encode produced bytes Decode rejects: %v\n input %x\noutput %x", err, data, b1)
		}
		b2, err := Encode(env2)
		if err != nil {
			t.Fatalf("second Encode fails: %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not idempotent:\n input %x\nfirst  %x\nsecond %x", data, b1, b2)
		}
		_ = Validate(env) // must not panic either
	})
}

// checkDecodeError: every decode error is a *DecodeError wrapping one sentinel, with an offset
// inside the input (or at its end).
func checkDecodeError(t *testing.T, err error, n int) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error is not a *DecodeError: %T %v", err, err)
	}
	if de.Offset < 0 || de.Offset > n {
		t.Fatalf("error offset %d outside the %d-byte input: %v", de.Offset, n, err)
	}
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrStructure) &&
		!errors.Is(err, ErrDigestMismatch) && !errors.Is(err, ErrUnsupportedDigest) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
}

// FuzzParseSource: ParseSource never panics; whatever it accepts, Encode either encodes or
// returns an error (no panic), and an encoding, when there is one, decodes.
func FuzzParseSource(f *testing.F) {
	for _, v := range sortedVectors(f) {
		env, err := Decode(v)
		if err != nil {
			f.Fatal(err)
		}
		src, err := FormatSource(env)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		// ParseSource reads the files the source names, with no size limit; keep the fuzzer away
		// from device and kernel files that never end (reported to the package owner).
		if s := string(src); strings.Contains(s, "/dev") || strings.Contains(s, "/proc") || strings.Contains(s, "/sys") {
			return
		}
		env, err := ParseSource(src, base)
		if err != nil {
			var se *SourceError
			if !errors.As(err, &se) && !errors.Is(err, ErrSource) {
				t.Logf("ParseSource error of type %T: %v", err, err)
			}
			return
		}
		b, err := Encode(env)
		if err != nil {
			return
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("ParseSource+Encode produced bytes Decode rejects: %v\nsource:\n%s\nbytes %x", err, src, b)
		}
	})
}

// FuzzVerify: Verify, SplitEnvelope, StripAuthBlocks and AddAuthBlocks never panic. A real
// COSE_Mac0 (HMAC-256/256) is used to sign, as it is cheap; the spec public key verifies.
func FuzzVerify(f *testing.F) {
	for _, v := range sortedVectors(f) {
		f.Add(v)
	}
	_, pub := specKeys(f)
	macKey := bytes.Repeat([]byte{'a'}, 32)
	keys := []VerifyKey{{Name: "spec", Public: pub}, {Name: "hmac", MAC: macKey}}
	mac := func(payload []byte) ([][]byte, error) {
		b, err := cose.Mac0(macKey, cose.AlgHMAC256, nil, payload)
		return [][]byte{b}, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if re, err := SplitEnvelope(data); err == nil {
			_ = re.Bytes()
			_, _ = re.Auth()
			_, _ = re.ManifestDigest(0)
		}
		v, err := Verify(data, keys)
		if err == nil && v == nil {
			t.Fatal("Verify returned neither a verdict nor an error")
		}
		if _, err := StripAuthBlocks(data); err != nil {
			return
		}
		signed, err := AddAuthBlocks(data, mac)
		if err != nil {
			return
		}
		// What AddAuthBlocks signs with the MAC key verifies with it, unless the envelope is
		// otherwise unusable for Verify.
		v, err = Verify(signed, keys[1:])
		if err != nil {
			return
		}
		ok := false
		for _, b := range v.Blocks {
			ok = ok || (b.Verified && b.KeyName == "hmac")
		}
		if !ok {
			t.Fatalf("a block added by AddAuthBlocks does not verify: %+v\n input %x\noutput %x", v, data, signed)
		}
	})
}

// The committed regression seeds (testdata/fuzz) are also run by plain `go test`; this checks
// that the directory names match the targets, so that a renamed target cannot orphan them.
func TestFuzzCorpusDirs(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*"))
	known := map[string]bool{"FuzzDecode": true, "FuzzParseSource": true, "FuzzVerify": true}
	for _, d := range dirs {
		if !known[filepath.Base(d)] {
			t.Errorf("%s holds seeds for no fuzz target", d)
		}
	}
}
