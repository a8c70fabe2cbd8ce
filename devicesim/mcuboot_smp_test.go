package devicesim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/transport"
)

// The evidence over a pty paced like a 115200-baud UART, with the project's SMP client:
// the mcuboot board refuses a raw SUIT envelope with Zephyr's magic-mismatch error, takes an
// imgtool image, boots it in test mode after "image test" + reset, reverts it at the next reset
// when it was not confirmed, keeps it after a confirm, and never boots a badly signed image.
func TestMCUbootSMPOverPacedPty(t *testing.T) {
	ka := mbTKey(t, "A")
	imgs := mbSignMany(t, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "1.2.3", 2, 9000}, mbJob{"B", "2.0.0", 2, 6000},
		mbJob{"A", "2.0.0", 2, 6000}, mbJob{"E", "2.0.0", 2, 6000}, mbJob{"E", "1.0.0", 7, 3000})
	v1, v2, other, flipped := imgs[0], imgs[1], imgs[2], imgs[3]
	d := mbDevice(t, v1, ka)
	sd := NewSMPDevice(d)
	var records []*Record
	sd.OnRecord = func(r *Record) { records = append(records, r) }
	// Paced like a 115200-baud UART; unpaced under -short (the same exchanges, ~3 s faster).
	paced := func(l io.ReadWriteCloser) io.ReadWriter {
		if testing.Short() {
			return l
		}
		return transport.NewPaced(l, 115200)
	}
	c, err := transport.NewClient(paced(smpPty(t, sd)), transport.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reset := func() *Record {
		t.Helper()
		n := len(records)
		if err := c.Reset(ctx, false); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Echo(ctx, "after reset"); err != nil { // requests are served in order
			t.Fatal(err)
		}
		if len(records) != n+1 {
			t.Fatalf("%d records after a reset", len(records)-n)
		}
		return records[n]
	}
	state := func() []transport.ImageSlot {
		t.Helper()
		st, err := c.ImageState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Images
	}

	// 1. A raw SUIT envelope: refused at the first chunk, before anything is erased.
	env, _ := integratedEnvelope(t, 2, 2000)
	ops := d.FlashOps()
	_, err = c.Upload(ctx, env, transport.UploadOptions{})
	var de *transport.DeviceError
	if !errors.As(err, &de) || de.V2 || de.RC != transport.MgmtUnknown || de.Reason != "magic mismatch" ||
		!strings.Contains(de.Hint(), "export the firmware for MCUboot") {
		t.Fatalf("v1 client, SUIT envelope: %v", err)
	}
	if d.FlashOps() != ops {
		t.Fatal("the refused upload wrote to flash")
	}
	// The same with SMP version 2: the image group's own code.
	// (A second pty to the same device: two clients on one link would take each other's replies.)
	c2, err := transport.NewClient(paced(smpPty(t, sd)), transport.ClientOptions{Timeout: 30 * time.Second, Version: transport.Version2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Upload(ctx, env, transport.UploadOptions{})
	if !errors.As(err, &de) || !de.V2 || de.Group != transport.GroupImage || de.RC != transport.ImgErrInvalidHeaderMagic ||
		de.Name() != "IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC" {
		t.Fatalf("v2 client, SUIT envelope: %v", err)
	}
	defer c2.Close()

	// 2. The MCUboot image is taken; the state lists both slots with their SHA-256 TLVs.
	res, err := c.Upload(ctx, v2, transport.UploadOptions{})
	if err != nil || res.Match == nil || !*res.Match {
		t.Fatalf("upload: %+v %v", res, err)
	}
	st := state()
	if len(st) != 2 || st[0].Version != "1.0.0" || !bytes.Equal(st[0].Hash, mbHashTLV(t, v1)) || !st[0].Active || !st[0].Confirmed ||
		st[1].Version != "1.2.3" || !bytes.Equal(st[1].Hash, mbHashTLV(t, v2)) || st[1].Pending || !st[1].Bootable {
		t.Fatalf("after upload: %+v", st)
	}
	// Testing the running image is refused as Zephyr refuses it.
	if _, err := c2.SetImageState(ctx, mbHashTLV(t, v1), false); !errors.As(err, &de) || de.RC != transport.ImgErrTestToActiveDenied {
		t.Fatalf("test of the active slot: %v", err)
	}

	// 3. image test + reset: MCUboot swaps it in; it runs in test mode.
	r, err := c.SetImageState(ctx, mbHashTLV(t, v2), false)
	if err != nil || len(r.Images) != 2 || !r.Images[1].Pending || r.Images[1].Permanent {
		t.Fatalf("image test: %+v %v", r, err)
	}
	if rec := reset(); rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, mbHashTLV(t, v2)) {
		t.Fatalf("first reset: %+v", rec)
	}
	mbRunning(t, d, v2, true)
	st = state()
	if st[0].Version != "1.2.3" || !st[0].Active || st[0].Confirmed || st[1].Version != "1.0.0" || !st[1].Confirmed {
		t.Fatalf("in test mode: %+v", st)
	}

	// 4. A second reset without confirm: reverted.
	if rec := reset(); !bytes.Equal(rec.BootedImage, mbHashTLV(t, v1)) {
		t.Fatalf("second reset: %+v", rec)
	}
	mbRunning(t, d, v1, false)

	// 5. Test again (the image is still in the secondary slot), reset, confirm, reset: it stays.
	if _, err := c.SetImageState(ctx, mbHashTLV(t, v2), false); err != nil {
		t.Fatal(err)
	}
	reset()
	mbRunning(t, d, v2, true)
	if _, err := c.SetImageState(ctx, nil, true); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	mbRunning(t, d, v2, false)
	reset()
	mbRunning(t, d, v2, false)
	if st = state(); !st[0].Confirmed || !st[0].Active || st[0].Version != "1.2.3" {
		t.Fatalf("after confirm: %+v", st)
	}

	// 6. Images that must never boot: signed by another key, and an altered body.
	flipped[0x200+10] ^= 0x80
	for _, bad := range [][]byte{other, flipped} {
		if _, err := c.Upload(ctx, bad, transport.UploadOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SetImageState(ctx, mbHashTLV(t, bad), true); err != nil { // even "permanent"
			t.Fatal(err)
		}
		rec := reset()
		if !bytes.Equal(rec.BootedImage, mbHashTLV(t, v2)) {
			t.Fatalf("a bad image booted: %+v", rec)
		}
		mbRunning(t, d, v2, false)
		if st = state(); len(st) != 1 {
			t.Fatalf("MCUboot did not erase the bad image: %+v", st)
		}
	}
	// The upgrade flag refuses an older version with Zephyr's "downgrade".
	if _, err := c.Upload(ctx, v1, transport.UploadOptions{Upgrade: true}); !errors.As(err, &de) || de.Reason != "downgrade" {
		t.Fatalf("downgrade: %v", err)
	}
}

// BenchmarkMCUbootSMPPush pushes a ~32 KiB imgtool image to the mcuboot board over a pty paced
// like a 115200-baud UART with Zephyr's 384-byte buffers (the figure to compare with
// BenchmarkSMPPush's), marks it for test, resets, and checks that MCUboot boots it. It reports the
// upload throughput in KB/s (1000 B), its share of the SMP framing ceiling, and the simulated
// time of the boot that validates and swaps the image in.
//
//	go test ./devicesim -run '^$' -bench MCUbootSMPPush -benchmem
func BenchmarkMCUbootSMPPush(b *testing.B) {
	ka := mbTKey(b, "A")
	all := mbSignMany(b, mbJob{"A", "1.0.0", 1, 4096}, mbJob{"A", "2.0.0", 2, 32<<10 - 0x200 - 0x100}, mbJob{"A", "2.0.1", 3, 32<<10 - 0x200 - 0x100})
	v1, imgs := all[0], all[1:]
	const bufSize = 384
	d := mbDevice(b, v1, ka)
	sd := NewSMPDevice(d)
	sd.BufSize = bufSize
	var last *Record
	sd.OnRecord = func(r *Record) { last = r }
	c, err := transport.NewClient(transport.NewPaced(smpPty(b, sd), 115200), transport.ClientOptions{Timeout: 20 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var upload, sim time.Duration
	var sent, peak int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		img := imgs[i%2]
		res, err := c.Upload(ctx, img, transport.UploadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		upload += res.Elapsed
		sent += len(img)
		if _, err := c.SetImageState(ctx, mbHashTLV(b, img), true); err != nil {
			b.Fatal(err)
		}
		if err := c.Reset(ctx, false); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Echo(ctx, "x"); err != nil {
			b.Fatal(err)
		}
		if last == nil || last.Outcome != Applied || !bytes.Equal(last.BootedImage, mbHashTLV(b, img)) {
			b.Fatalf("MCUboot did not boot the pushed image: %+v", last)
		}
		sim += last.SimTime
		peak = max(peak, last.RAMPeak)
	}
	b.StopTimer()
	rate := float64(sent) / upload.Seconds()
	b.ReportMetric(rate/1000, "KB/s")
	b.ReportMetric(100*rate/transport.UploadCeiling(115200, bufSize, transport.DefaultLineMax), "%ceiling")
	b.ReportMetric(sim.Seconds()/float64(b.N), "sim-s/boot")
	b.ReportMetric(float64(peak), "ram-peak-B")
}
