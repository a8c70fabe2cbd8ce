package signer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseURI: a parsed URI formats to a string that parses to the same URI.
func FuzzParseURI(f *testing.F) {
	f.Add("pkcs11:token=dev;object=fw;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/p")
	f.Add("pkcs11:token=My%20Token;slot-id=3;x-a=b?x-softhsm2-conf=/c&vendor=1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		u2, err := ParseURI(u.String())
		if err != nil {
			t.Fatalf("%q formats to %q which does not parse: %v", s, u.String(), err)
		}
		if u2.String() != u.String() {
			t.Fatalf("not stable: %q -> %q", u.String(), u2.String())
		}
		if strings.Contains(s, "pin-value") && err == nil && u.VendorQuery["pin-value"] != "" {
			t.Fatal("pin-value kept")
		}
	})
}

// FuzzParseKey: the PEM/DER/COSE_Key readers never panic.
func FuzzParseKey(f *testing.F) {
	for _, n := range []string{"keys.pem", "public_key.pem"} {
		b, err := os.ReadFile(filepath.Join(vectors(f), n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	pub, _ := LoadPublic(filepath.Join(vectors(f), "public_key.pem"))
	ck, _ := COSEKey(pub, []byte{1})
	f.Add(ck)
	f.Fuzz(func(t *testing.T, b []byte) {
		ParsePrivate(b, "fuzz")
		if p, err := ParsePublic(b); err == nil && p == nil {
			t.Fatal("nil key without error")
		}
		ParseCOSEKey(b)
	})
}
