package devicesim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/suit-studio/suit-studio/transport"
	"golang.org/x/term"
)

// integratedEnvelope is a signed envelope whose install fetches an integrated payload of n bytes
// into the image slot [h'00'].
func integratedEnvelope(t testing.TB, seqNr uint64, n int) ([]byte, []byte) {
	img := testImage(uint32(seqNr), n)
	shared := seq(cU(20), identityParams(cU(3), digestParam(img), cU(14), cU(uint64(len(img)))), cU(1), cU(15), cU(2), cU(15))
	man := manifestOf(seqNr, [][]byte{compID(0)}, shared, cU(7), cB(seq(cU(3), cU(15))), cU(20), cB(installFetch("#app")))
	return envelopeOf(t, man, specPrivateKey(t), cT("#app"), cB(img)), img
}

// smpPty serves dev over SMP on the master side of a raw pseudo-terminal and returns the slave,
// opened as a client opens a board's serial port.
func smpPty(t testing.TB, dev transport.Device) *os.File {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &transport.Server{Device: dev}
	done := make(chan struct{})
	go func() { srv.Serve(ctx, master); close(done) }()
	client, err := os.OpenFile(slave.Name(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		client.Close()
		master.Close()
		slave.Close()
		<-done
	})
	return client
}

func TestSMPPushEnvelope(t *testing.T) {
	d := provisioned(t, Config{}, imgF, 0)
	sd := NewSMPDevice(d)
	var (
		mu      sync.Mutex
		records []*Record
	)
	sd.OnRecord = func(r *Record) { mu.Lock(); records = append(records, r); mu.Unlock() }
	// Generous timeouts: the machine may be loaded, and a confirm sent twice after a timeout
	// would test the retry, not the device. Nothing here waits for a timeout to expire.
	c, err := transport.NewClient(smpPty(t, sd), transport.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The benchmark envelope: a 32 KiB integrated image on the default 100 KiB device.
	env, img := integratedEnvelope(t, 2, 32<<10)
	res, err := c.Upload(ctx, env, transport.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Match == nil || !*res.Match || d.StagedLen() != len(env) {
		t.Fatalf("upload: %+v, staged %d", res, d.StagedLen())
	}
	st, err := c.ImageState(ctx)
	sum := sha256.Sum256(env)
	if err != nil || len(st.Images) != 2 || !bytes.Equal(st.Images[1].Hash, sum[:]) {
		t.Fatalf("state before confirm: %+v %v", st, err)
	}
	st, err = c.SetImageState(ctx, nil, true)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	seqNr, digest, ok := d.Installed()
	if !ok || seqNr != 2 || st.Images[0].Version != "2" || !bytes.Equal(st.Images[0].Hash, digest) {
		t.Fatalf("after confirm: %+v (device seq %d)", st, seqNr)
	}
	if !bytes.Equal(d.ComponentContent(0), img) {
		t.Fatal("the image slot does not hold the pushed image")
	}
	if err := c.Reset(ctx, false); err != nil {
		t.Fatal(err)
	}
	// The server handles requests in order: once the echo is answered, the reset has run.
	if _, err := c.Echo(ctx, "after reset"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n, first := len(records), records[0].Outcome
	mu.Unlock()
	if n != 2 || first != Applied {
		t.Fatalf("records: %d", n)
	}

	// A replayed older envelope (sequence number 1, below the installed 2): the device refuses it
	// with the anti-rollback reason, and keeps what it runs.
	old, _ := integratedEnvelope(t, 1, 4096)
	if _, err := c.Upload(ctx, old, transport.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetImageState(ctx, nil, true)
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "lower sequence number") {
		t.Fatalf("replayed envelope: %v", err)
	}
	if last := sd.LastRecord(); last == nil || !errors.Is(last.Err, ErrRollback) || !last.Booted || !bytes.Equal(d.ComponentContent(0), img) {
		t.Fatalf("after the replay: %+v", last)
	}

	// A damaged envelope (bit flip in the payload) is refused too: the device never installs it.
	env2, _ := integratedEnvelope(t, 3, 4096)
	env2[len(env2)-10] ^= 0x01
	if _, err := c.Upload(ctx, env2, transport.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetImageState(ctx, nil, true)
	// A v1 client gets MGMT_ERR_EUNKNOWN, as Zephyr translates IMAGE_CONFIRMATION_DENIED, with the
	// device's reason in rsn.
	var de *transport.DeviceError
	if !errors.As(err, &de) || de.RC != transport.MgmtUnknown || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("damaged envelope: %v", err)
	}
	if s, _, _ := d.Installed(); s != 2 {
		t.Fatalf("sequence %d after refused updates", s)
	}
	// Errors in words.
	if _, err := c.Upload(ctx, env, transport.UploadOptions{Image: 3}); err == nil || !strings.Contains(err.Error(), "image 3") {
		t.Fatalf("image 3: %v", err)
	}
	big := make([]byte, 200<<10)
	if _, err := c.Upload(ctx, big, transport.UploadOptions{}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("too large: %v", err)
	}
}

// BenchmarkSMPPush is the benchmark of issue 6: it pushes a signed envelope with a 32 KiB
// integrated image (image-size 32768, "#app") to the default 100 KiB simulated device over a pty
// paced like a 115200-baud UART, with Zephyr's default buffers (384 B x 4) and with 2 KiB buffers:
// upload, confirm (the device authenticates, commits, and its boot loader installs the image from
// inside the staged envelope), and checks that the device runs the pushed image. It reports the
// upload throughput in KB/s (1000 B) and as a share of the SMP framing ceiling for those buffers,
// the wall time of the whole push (upload + confirm with the device's processing), the device's
// simulated processing time and its RAM peak. ~5 s an iteration:
//
//	go test ./devicesim -run '^$' -bench SMPPush -benchmem
func BenchmarkSMPPush(b *testing.B) {
	for _, bufSize := range []int{384, 2048} {
		b.Run(fmt.Sprintf("buf%d", bufSize), func(b *testing.B) {
			d := provisioned(b, Config{}, imgF, 0)
			sd := NewSMPDevice(d)
			sd.BufSize = bufSize
			c, err := transport.NewClient(transport.NewPaced(smpPty(b, sd), 115200), transport.ClientOptions{Timeout: 20 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var upload, push time.Duration
			var peak int
			var sim time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			var sent int
			var last [32]byte
			for i := 0; i < b.N; i++ {
				// A new image each time (sequence number i+1), so that every push installs.
				b.StopTimer()
				env, img := integratedEnvelope(b, uint64(i+1), 32<<10)
				want := sha256.Sum256(img)
				last = want
				sent += len(env)
				b.StartTimer()
				start := time.Now()
				res, err := c.Upload(ctx, env, transport.UploadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				upload += res.Elapsed
				if _, err := c.SetImageState(ctx, nil, true); err != nil {
					b.Fatalf("confirm: %v", err)
				}
				push += time.Since(start)
				rec := sd.LastRecord()
				if rec == nil || rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, want[:]) {
					b.Fatalf("the device did not boot the pushed image: %+v", rec)
				}
				peak = max(peak, rec.RAMPeak)
				sim += rec.SimTime
			}
			b.StopTimer()
			if seqNr, _, _ := d.Installed(); seqNr != uint64(b.N) || sha256.Sum256(d.ComponentContent(0)) != last {
				b.Fatalf("the device runs sequence number %d, want %d with the last pushed image", seqNr, b.N)
			}
			rate := float64(sent) / upload.Seconds()
			b.ReportMetric(rate/1000, "KB/s")
			b.ReportMetric(100*rate/transport.UploadCeiling(115200, bufSize, transport.DefaultLineMax), "%ceiling")
			b.ReportMetric(push.Seconds()/float64(b.N), "push-s")
			b.ReportMetric(sim.Seconds()/float64(b.N), "sim-s/update")
			b.ReportMetric(float64(peak), "ram-peak-B")
		})
	}
}

// An RFC 4108 package goes over the same SMP link: the device tells it from a SUIT envelope,
// checks it and answers with a load receipt; a package for other hardware is refused.
func TestSMPPushCMSPackage(t *testing.T) {
	d := provisioned(t, Config{}, imgF, 0)
	sd := NewSMPDevice(d)
	sd.CMS = CMSIdentity{HWType: hwType, HWSerial: []byte{9, 9}}
	var results []*CMSResult
	sd.OnCMS = func(r *CMSResult) { results = append(results, r) }
	c, err := transport.NewClient(smpPty(t, sd), transport.ClientOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	fw := testImage(77, 12000)
	if _, err := c.Upload(ctx, cmsPackage(t, fw, 3, nil, hwType), transport.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetImageState(ctx, nil, true); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if len(results) != 1 || results[0].Receipt == nil || !bytes.Equal(d.ComponentContent(0), fw) {
		t.Fatalf("the package was not loaded: %+v", results)
	}

	if _, err := c.Upload(ctx, cmsPackage(t, testImage(78, 5000), 4, nil, otherHW), transport.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetImageState(ctx, nil, true)
	if err == nil || !strings.Contains(err.Error(), "wrongHardware") {
		t.Fatalf("a package for other hardware: %v", err)
	}
	if len(results) != 2 || results[1].Error == nil || !bytes.Equal(d.ComponentContent(0), fw) {
		t.Fatalf("after the refusal: %+v", results[1])
	}
}
