package devicesim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

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
		de.Words() != "image header magic is wrong" || !strings.Contains(de.Hint(), "MCUboot image") {
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
	// A slot pending a test swap cannot be erased (img_mgmt_slot_in_use): IMG_MGMT_ERR_NO_FREE_SLOT,
	// MGMT_ERR_EBADSTATE for a v1 client.
	if err := c.Erase(ctx, 1); !errors.As(err, &de) || de.V2 || de.RC != transport.MgmtBadState {
		t.Fatalf("erase of the pending slot: %v", err)
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
	// The old image in the secondary slot is free now: erase it.
	if err := c.Erase(ctx, -1); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if st = state(); len(st) != 1 {
		t.Fatalf("after erase: %+v", st)
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

// The refusal on the wire as Zephyr's smp.c and img_mgmt build it: a v1 request gets exactly the
// bytes of {"rc": 1, "rsn": "magic mismatch"} (MGMT_ERR_EUNKNOWN, img_mgmt_translate_error_code), a
// v2 request {"err": {"group": 1, "rc": 23}}; an upload without "len" gets
// IMG_MGMT_ERR_INVALID_LENGTH (21), one shorter than a header IMG_MGMT_ERR_INVALID_IMAGE_HEADER (22).
// (The v2 bodies are compared decoded: transport's server writes map keys in canonical order,
// "rc" before "group", where Zephyr writes "group" first; CBOR readers do not care.)
func TestMCUbootUploadRefusalOnTheWire(t *testing.T) {
	ka := mbTKey(t, "A")
	v1 := mbSign(t, ka, "1.0.0", 1, 5000)
	srv := &transport.Server{Device: NewSMPDevice(mbDevice(t, v1, ka))}
	env, _ := integratedEnvelope(t, 2, 200)
	n := uint64(len(env))
	send := func(version uint8, body map[string]any) []byte {
		b, err := cbor.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		pkt, err := transport.MarshalPacket(transport.Header{Op: transport.OpWrite, Version: version, Group: transport.GroupImage, ID: transport.CmdImageUpload, Seq: 7}, b)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := srv.Handle(pkt)
		return reply[transport.HeaderSize:]
	}
	if got := fmt.Sprintf("%x", send(transport.Version1, map[string]any{"image": 0, "len": n, "off": 0, "data": env[:100]})); got != "a2627263016372736e6e6d61676963206d69736d61746368" {
		t.Errorf("v1 magic mismatch: %s", got)
	}
	for _, c := range []struct {
		body map[string]any
		rc   uint64
	}{
		{map[string]any{"image": 0, "len": n, "off": 0, "data": env[:100]}, 23},
		{map[string]any{"image": 0, "off": 0, "data": v1[:100]}, 21},
		{map[string]any{"image": 0, "len": n, "off": 0, "data": v1[:16]}, 22},
	} {
		var got struct {
			Err map[string]uint64 `cbor:"err"`
		}
		raw := send(transport.Version2, c.body)
		if err := cbor.Unmarshal(raw, &got); err != nil || len(got.Err) != 2 || got.Err["group"] != 1 || got.Err["rc"] != c.rc {
			t.Errorf("v2 %v: reply %x, want err group 1 rc %d", c.body["len"], raw, c.rc)
		}
	}
}

// An interrupted upload resumes where it stopped when the first chunk comes again with the same
// "sha" (img_mgmt_upload_inspect's resume); with another sha it starts over.
func TestMCUbootUploadResume(t *testing.T) {
	ka := mbTKey(t, "A")
	imgs := mbSignMany(t, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "1.2.3", 2, 9000})
	v1, v2 := imgs[0], imgs[1]
	d := mbDevice(t, v1, ka)
	srv := &transport.Server{Device: NewSMPDevice(d)}
	sum := sha256.Sum256(v2)
	up := func(body map[string]any) (off uint64, match *bool) {
		t.Helper()
		b, _ := cbor.Marshal(body)
		pkt, _ := transport.MarshalPacket(transport.Header{Op: transport.OpWrite, Version: transport.Version2, Group: transport.GroupImage, ID: transport.CmdImageUpload}, b)
		reply, _ := srv.Handle(pkt)
		var r transport.UploadResponse
		if err := cbor.Unmarshal(reply[transport.HeaderSize:], &r); err != nil {
			t.Fatalf("reply %x: %v", reply, err)
		}
		return r.Off, r.Match
	}
	n := uint64(len(v2))
	if off, _ := up(map[string]any{"image": 0, "len": n, "off": 0, "sha": sum[:], "data": v2[:1000]}); off != 1000 {
		t.Fatalf("first chunk: off %d", off)
	}
	if off, _ := up(map[string]any{"image": 0, "off": 1000, "data": v2[1000:3000]}); off != 3000 {
		t.Fatalf("second chunk: off %d", off)
	}
	// The link drops; the client starts again at 0 with the same sha: the device says 3000.
	ops := d.FlashOps()
	if off, _ := up(map[string]any{"image": 0, "len": n, "off": 0, "sha": sum[:], "data": v2[:1000]}); off != 3000 || d.FlashOps() != ops {
		t.Fatalf("resume: off %d, %d flash operations", off, d.FlashOps()-ops)
	}
	off, match := up(map[string]any{"image": 0, "off": 3000, "data": v2[3000:]})
	if off != n || match == nil || !*match {
		t.Fatalf("last chunk: off %d match %v", off, match)
	}
	sec := d.mb.secondary
	if !bytes.Equal(d.Int.data[sec.Offset:sec.Offset+len(v2)], v2) {
		t.Fatal("the secondary slot does not hold the image")
	}
	// Another image (another sha) starts over at 0.
	other := sha256.Sum256(v1)
	if off, _ := up(map[string]any{"image": 0, "len": uint64(len(v1)), "off": 0, "sha": other[:], "data": v1[:500]}); off != 500 {
		t.Fatalf("a new upload: off %d", off)
	}
}
