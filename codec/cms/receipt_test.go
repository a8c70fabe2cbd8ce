package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"reflect"
	"testing"
	"time"
)

func TestReceiptsAndErrors(t *testing.T) {
	key := testKeys(t)["P-256"]
	trust := &Trust{Keys: []crypto.PublicKey{key.Public()}}
	typ, vendor := int64(2), int64(4711)
	rcpt := &LoadReceipt{Version: 1, HWType: testHW, HWSerialNum: []byte{0xca, 0xfe}, PackageName: PackageID{OID: testFwID, Version: 7}, TrustAnchorKeyID: []byte{1, 2, 3}, DecryptKeyID: []byte{9}}
	lerr := &LoadError{Version: 1, HWType: testHW, HWSerialNum: []byte{0xca, 0xfe}, Code: OtherError, VendorErrorCode: &vendor,
		PackageName: &PackageID{Legacy: []byte("legacy-7")},
		Config:      []CurrentFWConfig{{Type: &typ, Name: PackageID{OID: testDepOID, Version: 3}}, {Name: PackageID{Legacy: []byte("boot")}}}}
	minimal := &LoadError{Version: 1, HWType: testHW, HWSerialNum: []byte{1}, Code: WrongHardware}
	when := time.Date(2026, 6, 20, 8, 30, 0, 0, time.UTC)
	for _, signed := range []bool{false, true} {
		var k crypto.Signer
		if signed {
			k = key
		}
		for _, tc := range []struct {
			name string
			enc  func() ([]byte, error)
			want any
		}{
			{"receipt", func() ([]byte, error) { return EncodeReceipt(rcpt, k, when, SignOptions{}) }, rcpt},
			{"error", func() ([]byte, error) { return EncodeLoadError(lerr, k, when, SignOptions{}) }, lerr},
			{"minimal error", func() ([]byte, error) { return EncodeLoadError(minimal, k, time.Time{}, SignOptions{}) }, minimal},
		} {
			der, err := tc.enc()
			if err != nil {
				t.Fatalf("%s signed=%v: %v", tc.name, signed, err)
			}
			rep, err := DecodeReport(der, trust)
			if err != nil {
				t.Fatalf("%s signed=%v: %v", tc.name, signed, err)
			}
			if rep.Signed != signed {
				t.Errorf("%s: Signed=%v", tc.name, rep.Signed)
			}
			var got any = rep.Receipt
			if rep.Error != nil {
				got = rep.Error
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s signed=%v round trip:\n got %+v\nwant %+v", tc.name, signed, got, tc.want)
			}
			if signed && tc.name == "receipt" && !rep.SigningTime.Equal(when) {
				t.Errorf("signing time %v", rep.SigningTime)
			}
			if signed && bytes.Contains(der, []byte{0xca, 0xfe}) {
				// Tampering is caught.
				bad := bytes.Replace(der, []byte{0xca, 0xfe}, []byte{0xca, 0xff}, 1)
				if _, err := DecodeReport(bad, trust); CodeOf(err) != SignatureFailure {
					t.Errorf("%s tampered: %v", tc.name, err)
				}
			}
		}
	}
	// DER: the DEFAULT version is omitted, the [1] decryptKeyID is IMPLICIT (tag 0x81).
	der, _ := MarshalReceipt(rcpt)
	if der[2] != 0x06 || !bytes.HasSuffix(der, []byte{0x81, 0x01, 0x09}) {
		t.Errorf("receipt DER %x", der)
	}
	if _, err := MarshalLoadError(&LoadError{HWType: testHW, Code: OtherError}); err == nil {
		t.Error("otherError without vendor code accepted")
	}
}

func TestSignedReceiptOpenSSL(t *testing.T) {
	requireOpenSSL(t)
	key := testKeys(t)["P-256"]
	cert, _ := SelfSignedCertificate(key, "device", time.Hour)
	rcpt := &LoadReceipt{HWType: testHW, HWSerialNum: []byte("SN1"), PackageName: PackageID{OID: testFwID, Version: 7}}
	der, err := EncodeReceipt(rcpt, key, time.Now(), SignOptions{Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	got, err := opensslVerify(t, der, cert)
	if err != nil {
		t.Fatalf("openssl rejects the signed receipt:\n%s", err)
	}
	want, _ := MarshalReceipt(rcpt)
	if !bytes.Equal(got, want) {
		t.Errorf("openssl content %x, want %x", got, want)
	}
	c, _ := x509.ParseCertificate(cert)
	if _, err := DecodeReport(der, &Trust{Certs: []*x509.Certificate{c}}); err != nil {
		t.Fatal(err)
	}
}
