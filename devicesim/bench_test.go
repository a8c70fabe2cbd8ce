package devicesim

import (
	"encoding/asn1"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cms"
)

// BenchmarkUpdate64KiB: a whole update of a 64 KiB image (into the second image slot on external
// flash: the internal image slot is 36 KiB): stage, authenticate, fetch, check, commit, boot
// (install from staging), invocation procedure.
func BenchmarkUpdate64KiB(b *testing.B) {
	img := testImage(64, 64<<10)
	shared := seq(cU(20), identityParams(cU(3), digestParam(img), cU(14), cU(uint64(len(img)))), cU(1), cU(15), cU(2), cU(15))
	inst := seq(cU(20), cMap(cU(21), cT("http://example.com/big.bin")), cU(21), cU(2), cU(3), cU(15))
	man := manifestOf(1, [][]byte{compID(1)}, shared, cU(7), cB(seq(cU(3), cU(15))), cU(20), cB(inst))
	env := envelopeOf(b, man, specPrivateKey(b))
	pl := Payloads{"http://example.com/big.bin": img}
	d := provisioned(b, Config{}, imgF, 0)
	benchUpdate(b, d, env, pl)
}

// benchUpdate stages env and runs the update procedure b.N times, each time applied, and
// reports the device's RAM peak and simulated time.
func benchUpdate(b *testing.B, d *Device, env []byte, pl Payloads) {
	b.Helper()
	var peak int
	var sim float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Stage(env); err != nil {
			b.Fatal(err)
		}
		rec := d.Update(pl)
		if rec.Outcome != Applied {
			b.Fatal(rec.Reason)
		}
		peak = max(peak, rec.RAMPeak)
		sim = rec.SimTime.Seconds()
	}
	b.ReportMetric(float64(peak), "ram-peak-B")
	b.ReportMetric(sim, "sim-s/update")
}

// BenchmarkVerifyExample2: authenticate the official example 2 (with its severed install and text)
// and check its manifest, as the device does before running anything.
func BenchmarkVerifyExample2(b *testing.B) {
	env := readVector(b, "example2.hex")
	d := provisioned(b, Config{}, imgF, 0)
	if err := d.Stage(env); err != nil {
		b.Fatal(err)
	}
	var peak int
	var sim float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := d.Verify()
		if rec.Outcome != Applied {
			b.Fatal(rec.Reason)
		}
		peak = max(peak, rec.RAMPeak)
		sim = rec.SimTime.Seconds() * 1000
	}
	b.ReportMetric(float64(peak), "ram-peak-B")
	b.ReportMetric(sim, "sim-ms/verify")
}

// BenchmarkStateRecordFuzzBody is one execution of FuzzStateRecord's body on a valid record (the
// fuzz target's cost per input, which decides how many inputs it tries per second).
func BenchmarkStateRecordFuzzBody(b *testing.B) {
	d := provisioned(b, Config{}, imgF, 7)
	rec := d.Int.Snapshot()[d.stateA.Offset : d.stateA.Offset+d.stateA.Size]
	fd := newStateFuzzDevice(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stateRecordRoundTrip(b, fd, rec, false)
	}
}

// BenchmarkLoadCMS30KB: an RFC 4108 package with 30000 bytes of firmware, staged and loaded:
// DER walk, signature, message digest, commit, install at boot, load receipt.
func BenchmarkLoadCMS30KB(b *testing.B) {
	id := CMSIdentity{HWType: hwType, HWSerial: []byte{1, 2, 3, 4}}
	pkg, err := cms.Create(testImage(47, 30000), cms.Attributes{ID: cms.PackageID{OID: pkgOID, Version: 3}, Targets: []asn1.ObjectIdentifier{hwType}}, specPrivateKey(b), cms.SignOptions{})
	if err != nil {
		b.Fatal(err)
	}
	d := provisioned(b, Config{}, imgF, 0)
	var peak int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.Stage(pkg); err != nil {
			b.Fatal(err)
		}
		res := d.LoadCMS(id)
		if res.Record.Outcome != Applied {
			b.Fatal(res.Record.Reason)
		}
		peak = max(peak, res.Record.RAMPeak)
	}
	b.ReportMetric(float64(peak), "ram-peak-B")
}
