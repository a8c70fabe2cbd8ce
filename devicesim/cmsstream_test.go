package devicesim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/asn1"
	"runtime"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/model"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TestRFC4108StreamedAndCharged: a 30 KB firmware package is checked the way the SUIT envelope
// is, from flash: no read of more than a chunk, no Go memory that grows with the package, a
// SHA-256 state charged for the signed attributes and one for the eContent, and a RAM peak under
// the budget that is the true maximum of what was charged (issue 9, item 3).
func TestRFC4108StreamedAndCharged(t *testing.T) {
	id := CMSIdentity{HWType: hwType, HWSerial: []byte{1, 2, 3, 4}}
	load := func(n int, trace bool) (*CMSResult, *ramTrace, uint64, int) {
		t.Helper()
		d := provisioned(t, Config{}, imgF, 0)
		pkg := cmsPackage(t, testImage(uint32(n), n), 3, nil, hwType)
		if err := d.Stage(pkg); err != nil {
			t.Fatal(err)
		}
		var tr *ramTrace
		if trace {
			tr = traceRAM(d)
		}
		d.Int.maxRead = 0
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		res := d.LoadCMS(id)
		runtime.ReadMemStats(&ms1)
		if res.Record.Outcome != Applied {
			t.Fatalf("%d-byte firmware: %s %s", n, res.Record.Outcome, res.Record.Reason)
		}
		return res, tr, ms1.TotalAlloc - ms0.TotalAlloc, d.Int.maxRead
	}
	res, tr, bigAlloc, maxRead := load(30000, true)
	rec := res.Record
	if maxRead > 256 {
		t.Errorf("the largest single flash read is %d bytes: the package is not streamed in chunks", maxRead)
	}
	if rec.RAMPeak >= rec.RAMBudget || rec.RAMPeak != tr.max {
		t.Errorf("RAM peak %d, the trace's maximum %d, budget %d", rec.RAMPeak, tr.max, rec.RAMBudget)
	}
	if countPrefix(tr.hashes, "signed attributes") != 1 || countPrefix(tr.hashes, "eContent") != 1 {
		t.Errorf("want one SHA-256 state for the signed attributes and one for the eContent, got %q", tr.hashes)
	}
	_, _, smallAlloc, _ := load(3000, false)
	// What the simulator allocates in Go (events, the receipt) must not grow with the package.
	if bigAlloc > smallAlloc+8<<10 {
		t.Errorf("Go allocations: %d B for a 30000-byte package, %d B for a 3000-byte one: something proportional to the package is held outside the RAM budget", bigAlloc, smallAlloc)
	}
	t.Logf("RAM peak %d of %d; hash states %q; largest read %d B; Go allocations %d B (30000) vs %d B (3000)", rec.RAMPeak, rec.RAMBudget, tr.hashes, maxRead, bigAlloc, smallAlloc)
}

// TestRFC4108AgreesWithHost sweeps single-byte mutations of a firmware package: the device's own
// check (a DER walk over flash) and codec/cms Verify (the host decoder) must reach the same
// verdict on each (the error codes may differ where the two walks notice a damage at different
// elements; the count is logged). -short tries two values per byte, otherwise every value.
func TestRFC4108AgreesWithHost(t *testing.T) {
	id := CMSIdentity{HWType: hwType, HWSerial: []byte{1, 2, 3, 4}}
	fw := testImage(45, 200)
	pkg := cmsPackage(t, fw, 3, nil, otherHW, hwType)
	trust := cms.Trust{Keys: []crypto.PublicKey{specPublicKey(t)}}
	opts := cms.VerifyOptions{Trust: trust, HardwareType: id.HWType, HardwareSerial: id.HWSerial}
	d := provisioned(t, Config{}, imgF, 0)
	mut := make([]byte, len(pkg))
	var cases, refused, codeDiffers int
	for off := range pkg {
		values := []int{int(pkg[off] ^ 1), 0xff}
		if !testing.Short() {
			values = values[:0]
			for v := 0; v < 256; v++ {
				values = append(values, v)
			}
		}
		for _, v := range values {
			if v == int(pkg[off]) {
				continue
			}
			copy(mut, pkg)
			mut[off] = byte(v)
			cases++
			_, herr := cms.Verify(mut, opts)
			if err := d.Stage(mut); err != nil {
				t.Fatal(err)
			}
			res := d.LoadCMS(id)
			if d.RAM.InUse() != 0 {
				t.Fatalf("byte %d = 0x%02x: RAM leak %+v", off, v, d.RAM.Live())
			}
			devOK := res.Record.Outcome == Applied
			switch {
			case herr != nil && devOK:
				t.Errorf("byte %d 0x%02x -> 0x%02x: the host refuses (%v), the device accepts", off, pkg[off], v, herr)
			case herr == nil && !devOK:
				t.Errorf("byte %d 0x%02x -> 0x%02x: the host accepts, the device refuses (%s)", off, pkg[off], v, res.Record.Reason)
			case herr != nil:
				refused++
				if cms.CodeOf(herr) != res.Code {
					codeDiffers++
				}
			}
		}
	}
	t.Logf("%d mutations of a %d-byte package: both refuse %d (with another error code %d), both accept %d", cases, len(pkg), refused, codeDiffers, cases-refused)
}

// TestRFC4108DeviceChecks: the device's own walk takes an Ed25519-signed package (SHA-512
// message digest, the signed attributes held in RAM for PureEdDSA), decides community
// membership from hwModuleList entries, and refuses a constructed (BER) eContent clearly — each
// with the verdict and the error code of codec/cms Verify.
func TestRFC4108DeviceChecks(t *testing.T) {
	edKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	id := CMSIdentity{HWType: hwType, HWSerial: []byte{1, 2, 3, 4}}
	vid := model.VendorID("arm.com")
	cid, _ := model.ClassID(vid, "suit")
	newDev := func() *Device {
		d, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Provision(Provisioning{VendorID: vid, ClassID: cid, TrustAnchors: []TrustAnchor{
			{Name: "spec", Key: specPublicKey(t)}, {Name: "ed", Key: edKey.Public()}}}); err != nil {
			t.Fatal(err)
		}
		return d
	}
	trust := cms.Trust{Keys: []crypto.PublicKey{specPublicKey(t), edKey.Public()}}
	fw := testImage(46, 3000)
	mk := func(key crypto.Signer, comms []cms.Community) []byte {
		der, err := cms.Create(fw, cms.Attributes{ID: cms.PackageID{OID: pkgOID, Version: 2}, Targets: []asn1.ObjectIdentifier{hwType}, Communities: comms}, key, cms.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	// A constructed eContent: [0] { OCTET STRING (constructed) { OCTET STRING } }.
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(cms.OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(3)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(cms.OIDSHA256) })
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(cms.OIDFirmwarePackage)
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.OCTET_STRING.Constructed(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(fw[:100])
						})
					})
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {})
			})
		})
	})
	ber := b.BytesOrPanic()

	cases := []struct {
		name string
		pkg  []byte
		code cms.ErrorCode // 0: applied
	}{
		{"Ed25519", mk(edKey, nil), 0},
		{"in a community by serial", mk(specPrivateKey(t), []cms.Community{{OID: otherHW}, {HWType: hwType, Serials: []cms.SerialEntry{{Single: []byte{9}}, {Low: []byte{1, 2, 3, 0}, High: []byte{1, 2, 3, 9}}}}}), 0},
		{"not in the community", mk(specPrivateKey(t), []cms.Community{{HWType: hwType, Serials: []cms.SerialEntry{{Single: []byte{1, 2, 3, 5}}}}}), cms.NotInCommunity},
		{"constructed eContent", ber, cms.BadEncapContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, herr := cms.Verify(tc.pkg, cms.VerifyOptions{Trust: trust, HardwareType: id.HWType, HardwareSerial: id.HWSerial})
			if cms.CodeOf(herr) != tc.code && !(herr == nil && tc.code == 0) {
				t.Fatalf("host: %v, want code %s", herr, tc.code)
			}
			d := newDev()
			if err := d.Stage(tc.pkg); err != nil {
				t.Fatal(err)
			}
			tr := traceRAM(d)
			res := d.LoadCMS(id)
			if tc.code == 0 {
				if res.Record.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), fw) {
					t.Fatalf("%s: %s", res.Record.Outcome, res.Record.Reason)
				}
			} else if res.Record.Outcome != Refused || res.Code != tc.code {
				t.Fatalf("%s %s (%s), want refused %s", res.Record.Outcome, res.Code, res.Record.Reason, tc.code)
			}
			if tc.name == "Ed25519" && countPrefix(tr.hashes, "SHA-512 context (eContent)") != 1 {
				t.Errorf("hash states %q: want a SHA-512 state for the eContent", tr.hashes)
			}
			t.Logf("%s: %s; RAM peak %d", res.Record.Outcome, res.Record.Reason, res.Record.RAMPeak)
		})
	}
}

// TestRFC4108HardwareTypeEdges: a device without a hardware type takes any target list (as the
// host does without HardwareType); one whose type cannot be encoded in DER (first arc 7) matches
// no target and refuses with wrongHardware — never a panic.
func TestRFC4108HardwareTypeEdges(t *testing.T) {
	pkg := cmsPackage(t, testImage(48, 1000), 3, nil, hwType)
	for _, tc := range []struct {
		hw   asn1.ObjectIdentifier
		code cms.ErrorCode
	}{{nil, 0}, {asn1.ObjectIdentifier{7, 1}, cms.WrongHardware}} {
		d := provisioned(t, Config{}, imgF, 0)
		if err := d.Stage(pkg); err != nil {
			t.Fatal(err)
		}
		res := d.LoadCMS(CMSIdentity{HWType: tc.hw})
		if res.Code != tc.code || (tc.code == 0) != (res.Record.Outcome == Applied) {
			t.Errorf("hardware type %v: %s %s, want code %d", tc.hw, res.Record.Outcome, res.Record.Reason, tc.code)
		}
	}
}

// FuzzCMSAgreement: on any staged package, the device's own check and codec/cms Verify reach the
// same verdict, the device never exceeds its RAM budget and returns all of it. One device takes
// every input (making one per input would cost more than the check itself).
func FuzzCMSAgreement(f *testing.F) {
	f.Add(cmsPackage(f, testImage(49, 300), 3, &cms.StaleVersion{Version: 1}, otherHW, hwType))
	f.Add(cmsPackage(f, testImage(50, 40), 1<<40, nil, hwType))
	id := CMSIdentity{HWType: hwType, HWSerial: []byte{1, 2, 3, 4}}
	opts := cms.VerifyOptions{Trust: cms.Trust{Keys: []crypto.PublicKey{specPublicKey(f)}}, HardwareType: id.HWType, HardwareSerial: id.HWSerial}
	d := provisioned(f, Config{}, imgF, 0)
	f.Fuzz(func(t *testing.T, pkg []byte) {
		if len(pkg) == 0 || len(pkg) > 4096 {
			return
		}
		// The host is told the stale version the device holds, for the package's identifier, as
		// the device applies its single stale version to the package being loaded (state.go).
		o := opts
		if si, err := d.StateInfo(); err == nil && si.StaleVersion != nil {
			if p, _ := cms.Parse(pkg); p != nil && p.ID.OID != nil {
				o.Stale = []cms.StaleEntry{{ID: p.ID.OID, Version: int64(min(*si.StaleVersion, 1<<62))}}
			}
		}
		_, herr := cms.Verify(pkg, o)
		if err := d.Stage(pkg); err != nil {
			t.Fatal(err)
		}
		res := d.LoadCMS(id)
		if res.Record.RAMPeak > res.Record.RAMBudget || d.RAM.InUse() != 0 {
			t.Fatalf("RAM peak %d of %d, %d in use afterwards", res.Record.RAMPeak, res.Record.RAMBudget, d.RAM.InUse())
		}
		if (herr == nil) != (res.Record.Outcome == Applied) {
			t.Fatalf("host: %v; device: %s %s", herr, res.Record.Outcome, res.Record.Reason)
		}
	})
}
