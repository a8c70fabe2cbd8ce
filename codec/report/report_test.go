package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

func sample() *Report {
	d, _ := cbor.Marshal([]any{-16, bytes.Repeat([]byte{0xab}, 32)})
	ds, _ := cbor.Marshal(d)
	return &Report{
		ManifestURI: "coap://127.0.0.1/fw.suit", ManifestDigestAlg: -16, ManifestDigest: bytes.Repeat([]byte{1}, 32),
		Nonce: []byte{9, 9},
		Records: []Record{
			{ManifestID: []uint64{}, Section: 20, Offset: 35, Component: 0, Properties: map[int64]cbor.RawMessage{}},
			{ManifestID: []uint64{1, 0}, Section: 7, Offset: 1, Component: 1, Properties: map[int64]cbor.RawMessage{3: ds}},
		},
		Properties:   []SystemProperties{{Component: [][]byte{{0}}, Properties: map[int64]cbor.RawMessage{3: ds}}},
		ResultCode:   16,
		ResultRecord: Record{ManifestID: []uint64{}, Section: 7, Offset: 1, Properties: map[int64]cbor.RawMessage{}},
		ResultReason: ReasonConditionFailed,
	}
}

// The encoding follows the CDDL: keys 99, 2, 3, 4 with the result map 5, 6, 7, records as arrays
// of five, system-property-claims as a map with key 0.
func TestEncodeMatchesCDDL(t *testing.T) {
	b, err := sample().Encode()
	if err != nil {
		t.Fatal(err)
	}
	var m map[int64]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ref := m[99].([]any)
	if ref[0] != "coap://127.0.0.1/fw.suit" || len(ref[1].([]any)) != 2 {
		t.Fatalf("suit-reference: %v", ref)
	}
	recs := m[3].([]any)
	if len(recs) != 3 || len(recs[0].([]any)) != 5 {
		t.Fatalf("records: %v", recs)
	}
	if _, ok := recs[2].(map[any]any); !ok {
		t.Fatalf("system-property-claims is not a map: %T", recs[2])
	}
	res := m[4].(map[any]any)
	if res[uint64(5)] != uint64(16) || res[uint64(7)] != uint64(10) {
		t.Fatalf("result: %v", res)
	}
	ok := &Report{ManifestURI: "", ManifestDigestAlg: -16, ManifestDigest: []byte{}, Success: true}
	b2, _ := ok.Encode()
	// {3: [], 4: true, 99: ["", [-16, h'']]}
	if want := "a30380 04f5 1863 82 60 82 2f 40"; hex.EncodeToString(b2) != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("success report encodes as %x, want %s", b2, want)
	}
}

func TestRoundTripSignVerify(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signed, err := Sign(sample(), rand.Reader, k, -7, []byte("dev-1"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Verify(signed, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Report.Encode()
	orig, _ := sample().Encode()
	if !bytes.Equal(again, orig) || string(s.KID) != "dev-1" || s.Alg != -7 {
		t.Fatal("the report does not survive the round trip")
	}
	if _, err := Verify(signed, &other.PublicKey); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong key: %v, want ErrSignature", err)
	}
	// Flip a byte of the payload (the report URI's text).
	i := bytes.Index(signed, []byte("coap://"))
	bad := append([]byte(nil), signed...)
	bad[i+1] ^= 0x01
	if _, err := Verify(bad, &k.PublicKey); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered report: %v, want ErrSignature", err)
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	for _, tc := range []struct{ name, hex, where string }{
		{"not a map", "80", "SUIT_Report"},
		{"no reference", "a20380 04f5", "suit-reference (99) is missing"},
		{"no records", "a2 04f5 1863 82 60 82 2f 40", "suit-report-records (3) is missing"},
		{"no result", "a2 0380 1863 82 60 82 2f 40", "suit-report-result (4) is missing"},
		{"record too short", "a3 0381 83 80 07 01 04f5 1863 82 60 82 2f 40", "suit-report-records[0]"},
		{"claims without component", "a3 0381 a1 03 40 04f5 1863 82 60 82 2f 40", "system-component-id"},
		{"result map incomplete", "a3 0380 04 a1 05 01 1863 82 60 82 2f 40", "suit-report-result"},
		{"digest not a SUIT_Digest", "a3 0380 04f5 1863 82 60 40", "manifest-digest"},
	} {
		b, _ := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
		_, err := Decode(b)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.where) {
			t.Errorf("%s: %v, want ErrMalformed at %s", tc.name, err, tc.where)
		}
	}
}

// An independent implementation (Python's cbor2 and cryptography) decodes the COSE_Sign1 and
// verifies its signature over the RFC 9052 Sig_structure.
func TestPythonVerifiesSignedReport(t *testing.T) {
	py := ""
	for _, c := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(c, "-c", "import cbor2, cryptography").Run() == nil {
			py = c
			break
		}
	}
	if py == "" {
		t.Skip("python3 with cbor2 and cryptography (Debian: python3-cbor2 python3-cryptography) not installed")
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signed, err := Sign(sample(), rand.Reader, k, -7, []byte{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.cose"), signed, 0o644)
	os.WriteFile(filepath.Join(dir, "k.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	script := `
import sys, cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
d = sys.argv[1]
msg = cbor2.loads(open(d + "/r.cose", "rb").read())
assert msg.tag == 18, msg.tag
prot, unprot, payload, sig = msg.value
assert cbor2.loads(prot) == {1: -7, 4: b"\x01\x02"}
rep = cbor2.loads(payload)
assert rep[99][0] == "coap://127.0.0.1/fw.suit"
assert rep[4][7] == 10 and rep[4][5] == 16
assert len(rep[3]) == 3 and rep[3][0] == [[], 20, 35, 0, {}]
tbs = cbor2.dumps(["Signature1", prot, b"", payload])
key = serialization.load_pem_public_key(open(d + "/k.pem", "rb").read())
r = int.from_bytes(sig[:32], "big"); s = int.from_bytes(sig[32:], "big")
key.verify(utils.encode_dss_signature(r, s), tbs, ec.ECDSA(hashes.SHA256()))
print("ok")
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python: %v\n%s", err, out)
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := sample().Encode()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			return
		}
		if _, err := r.Encode(); err != nil {
			t.Fatalf("decoded report does not encode: %v", err)
		}
	})
}
