package devicesim

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cms"
)

var (
	hwType  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}
	otherHW = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 2}
	pkgOID  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 1}
)

func cmsPackage(t testing.TB, fw []byte, version int64, stale *cms.StaleVersion, targets ...asn1.ObjectIdentifier) []byte {
	t.Helper()
	der, err := cms.Create(fw, cms.Attributes{ID: cms.PackageID{OID: pkgOID, Version: version}, Stale: stale, Targets: targets}, specPrivateKey(t), cms.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRFC4108(t *testing.T) {
	id := CMSIdentity{HWType: hwType, HWSerial: []byte{1, 2, 3, 4}, ReportKey: specPrivateKey(t)}
	fw := testImage(41, 20000)
	d := provisioned(t, Config{}, imgF, 0)

	load := func(pkg []byte) *CMSResult {
		t.Helper()
		if err := d.Stage(pkg); err != nil {
			t.Fatal(err)
		}
		return d.LoadCMS(id)
	}
	res := load(cmsPackage(t, fw, 3, &cms.StaleVersion{Version: 2}, hwType))
	if res.Record.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), fw) {
		t.Fatalf("load: %s %s", res.Record.Outcome, res.Record.Reason)
	}
	rep, err := cms.DecodeReport(res.Report, &cms.Trust{Keys: []crypto.PublicKey{specPublicKey(t)}})
	if err != nil || rep.Receipt == nil || rep.Receipt.PackageName.Version != 3 || !bytes.Equal(rep.Receipt.HWSerialNum, id.HWSerial) {
		t.Fatalf("receipt: %+v %v", rep, err)
	}
	if d.RAM.InUse() != 0 {
		t.Errorf("RAM leak %+v", d.RAM.Live())
	}

	cases := []struct {
		name string
		pkg  []byte
		code cms.ErrorCode
	}{
		{"wrong hardware", cmsPackage(t, fw, 4, nil, otherHW), cms.WrongHardware},
		{"stale version", cmsPackage(t, fw, 2, nil, hwType), cms.StalePackage},
		{"tampered firmware", func() []byte {
			p := cmsPackage(t, fw, 5, nil, hwType)
			i := bytes.Index(p, fw[:64])
			p[i+1000] ^= 1
			return p
		}(), cms.SignatureFailure},
		{"too large", cmsPackage(t, testImage(42, 37000), 6, nil, hwType), cms.InsufficientMemory},
		{"not DER", []byte("hello, device"), cms.DecodeFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := load(tc.pkg)
			if res.Record.Outcome != Refused || res.Code != tc.code {
				t.Fatalf("outcome %s code %s (%s), want refused %s", res.Record.Outcome, res.Code, res.Record.Reason, tc.code)
			}
			rep, err := cms.DecodeReport(res.Report, nil)
			if err != nil || rep.Error == nil || rep.Error.Code != tc.code {
				t.Fatalf("load error report: %+v %v", rep, err)
			}
			if !res.Record.Booted || !bytes.Equal(d.ComponentContent(0), fw) {
				t.Errorf("the installed firmware must still boot")
			}
		})
	}

	// Firmware nearly as large as the slot installs: it is copied into the slot from inside the
	// staged package, not staged a second time.
	big := testImage(43, 33000)
	if res := load(cmsPackage(t, big, 7, nil, hwType)); res.Record.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), big) {
		t.Fatalf("33000-byte firmware: %s %s", res.Record.Outcome, res.Record.Reason)
	}
}
