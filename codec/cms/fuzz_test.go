package cms

import (
	"crypto"
	"testing"
	"time"
)

func fuzzSeeds(f *testing.F) {
	key := testKeys(f)["P-256"]
	pkg, err := Create([]byte("firmware image"), fullAttrs(), key, SignOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pkg)
	r, _ := EncodeReceipt(&LoadReceipt{HWType: testHW, HWSerialNum: []byte{1}, PackageName: PackageID{OID: testFwID, Version: 1}}, nil, time.Time{}, SignOptions{})
	f.Add(r)
	v := int64(3)
	e, _ := EncodeLoadError(&LoadError{HWType: testHW, HWSerialNum: []byte{1}, Code: OtherError, VendorErrorCode: &v, Config: []CurrentFWConfig{{Name: PackageID{Legacy: []byte("x")}}}}, key, time.Now(), SignOptions{})
	f.Add(e)
	f.Add([]byte{0x30, 0x00})
}

// FuzzParse: the package decoder and verifier never panic or hang on hostile input.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	key := testKeys(f)["P-256"]
	trust := Trust{Keys: []crypto.PublicKey{key.Public()}}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err == nil && p == nil {
			t.Fatal("nil package without error")
		}
		if _, err := Verify(b, VerifyOptions{Trust: trust, HardwareType: testHW}); err != nil && CodeOf(err) == OtherError {
			t.Fatalf("error without an RFC code: %v", err)
		}
	})
}

// FuzzDecodeReport: load receipts and load errors.
func FuzzDecodeReport(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := DecodeReport(b, nil)
		if err == nil && rep.Receipt == nil && rep.Error == nil {
			t.Fatal("empty report without error")
		}
		if err == nil && rep.Receipt != nil {
			if _, err := MarshalReceipt(rep.Receipt); err != nil {
				t.Fatalf("decoded receipt does not re-encode: %v", err)
			}
		}
	})
}
