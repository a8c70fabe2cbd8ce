package app

import (
	"strings"
	"testing"
)

func TestInspectExample2(t *testing.T) {
	data := mustHex(t, readVector(t, "example2.hex"))
	in, err := Inspect(data)
	if err != nil {
		t.Fatal(err)
	}
	if in.DecodeErr != nil || in.Envelope == nil {
		t.Fatalf("decode: %v", in.DecodeErr)
	}
	if !strings.Contains(in.Notation, "manifest-sequence-number") {
		t.Error("notation lacks annotations")
	}
	want := map[string]int{"whole envelope": 923, "authentication-wrapper": 118, "manifest": 212, "install": 63, "text": 527}
	for _, s := range in.Sizes {
		if w, ok := want[s.Name]; ok {
			if s.Bytes != w {
				t.Errorf("size of %s = %d, want %d", s.Name, s.Bytes, w)
			}
			delete(want, s.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("size parts missing: %v", want)
	}
	// Envelope members add up to the whole minus the tag and map heads (2 + 1 bytes).
	sum := 0
	for _, s := range in.Sizes {
		if s.Depth == 1 {
			sum += s.Bytes
		}
	}
	if sum != 923-3 {
		t.Errorf("members sum to %d, want %d", sum, 920)
	}
	if len(in.Describe.Procedures) != 2 {
		t.Error("no description")
	}
}

func TestVerifyWithFiles(t *testing.T) {
	data := mustHex(t, readVector(t, "example0.hex"))
	v, errs, err := VerifyWithFiles(data, []string{vectors + "/public_key.pem"})
	if err != nil || len(errs) != 0 {
		t.Fatalf("verify: %v %v", err, errs)
	}
	if !v.Authentic || !v.DigestOK || len(v.Blocks) != 1 || !v.Blocks[0].Verified || v.Blocks[0].KeyName != "public_key.pem" {
		t.Fatalf("verification = %+v", v)
	}
	// A tampered manifest fails, and says so.
	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 1
	v, _, err = VerifyWithFiles(bad, []string{vectors + "/public_key.pem"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Authentic || v.DigestOK {
		t.Fatalf("tampered envelope verified: %+v", v)
	}
	_, errs, _ = VerifyWithFiles(data, []string{"/nonexistent.pem"})
	if len(errs) != 1 {
		t.Fatalf("missing key file: errs = %v", errs)
	}
}

func TestHexDumpCells(t *testing.T) {
	data := make([]byte, 40)
	for i := range data {
		data[i] = byte(i)
	}
	lines := strings.Split(HexDump(data), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "00000010  10 11 12") {
		t.Fatalf("dump:\n%s", HexDump(data))
	}
	for off := 0; off < len(data); off++ {
		r, c := HexCell(off)
		if got := HexOffset(r, c, len(data)); got != off {
			t.Fatalf("HexOffset(HexCell(%d)) = %d", off, got)
		}
		if got := HexOffset(r, c+1, len(data)); got != off {
			t.Fatalf("second digit of %d maps to %d", off, got)
		}
		if lines[r][c:c+2] != strings.ToLower(string("0123456789abcdef"[data[off]>>4])+string("0123456789abcdef"[data[off]&15])) {
			t.Fatalf("cell of %d shows %q", off, lines[r][c:c+2])
		}
	}
	if HexOffset(2, 10+3*15, len(data)) != -1 {
		t.Error("offset past the end accepted")
	}
}
