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
	c, err := transport.NewClient(smpPty(t, sd), transport.ClientOptions{Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	env, img := integratedEnvelope(t, 2, 12<<10)
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

	// An older envelope: the device refuses (lower sequence number) and says why.
	old, _ := integratedEnvelope(t, 1, 4096)
	if _, err := c.Upload(ctx, old, transport.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetImageState(ctx, nil, true)
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "sequence") {
		t.Fatalf("replayed envelope: %v", err)
	}

	// A damaged envelope (bit flip in the payload) is refused too: the device never installs it.
	env2, _ := integratedEnvelope(t, 3, 4096)
	env2[len(env2)-10] ^= 0x01
	if _, err := c.Upload(ctx, env2, transport.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetImageState(ctx, nil, true)
	var de *transport.DeviceError
	if !errors.As(err, &de) || de.RC != transport.MgmtAccessDenied {
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

// BenchmarkSMPPush pushes an envelope with a 32 KiB integrated image to the simulated device over
// a pty paced like a 115200-baud UART, with Zephyr's default buffers (384 B x 4) and with 2 KiB
// buffers, and reports KB/s (1000 B) and the share of the SMP framing ceiling. ~5 s an iteration:
//
//	go test ./devicesim -run '^$' -bench SMPPush -benchtime 2x
func BenchmarkSMPPush(b *testing.B) {
	env, _ := integratedEnvelope(b, 1, 32<<10)
	for _, bufSize := range []int{384, 2048} {
		b.Run(fmt.Sprintf("buf%d", bufSize), func(b *testing.B) {
			d := provisioned(b, Config{}, imgF, 0)
			sd := NewSMPDevice(d)
			sd.BufSize = bufSize
			c, err := transport.NewClient(transport.NewPaced(smpPty(b, sd), 115200), transport.ClientOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := c.Upload(context.Background(), env, transport.UploadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				total += res.Elapsed
			}
			b.StopTimer()
			if d.StagedLen() != len(env) {
				b.Fatalf("the device staged %d bytes of %d", d.StagedLen(), len(env))
			}
			rate := float64(len(env)) * float64(b.N) / total.Seconds()
			b.ReportMetric(rate/1000, "KB/s")
			b.ReportMetric(100*rate/transport.UploadCeiling(115200, bufSize, transport.DefaultLineMax), "%ceiling")
		})
	}
}
