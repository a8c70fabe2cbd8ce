package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// A link that drops or corrupts 0.2% of its bytes (a line in four damaged), in both directions
// (retransmission backs off, so a link losing most frames fails cleanly rather than slowly): every upload either completes
// with the device holding exactly the image or fails with a clear message, and the device never
// accepts a damaged image.
func TestUploadOverLossyLink(t *testing.T) {
	// The link drops or corrupts 1% of the bytes: nearly every 384-byte request is damaged,
	// so an upload may fail, but only cleanly. At 0.2% every upload completes.
	for _, rate := range []float64{0.01, 0.002} {
		t.Run(fmt.Sprintf("%.1f%%", rate*100), func(t *testing.T) { lossyUploads(t, rate, rate < 0.005) })
	}
}

func lossyUploads(t *testing.T, rate float64, mustComplete bool) {
	img := testImage(3000)
	sum := sha256.Sum256(img)
	completed := 0
	runs := uint64(2)
	if testing.Short() && !mustComplete {
		runs = 1 // make test: one seed of the 1% link (tens of seconds of timeouts); make test-long: both
	}
	for seed := uint64(1); seed <= runs; seed++ {
		dev := newMemStore(384, 4)
		l := startPty(t, dev, DefaultLineMax)
		link := NewFaulty(l.open(t), rate/2, rate/2, seed)
		c := newTestClient(t, link, ClientOptions{Timeout: time.Second, EraseTimeout: time.Second, Retries: 8, MinRetransmit: 3 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		res, err := c.Upload(ctx, img, UploadOptions{})
		cancel()
		got := dev.candidate()
		if got != nil {
			if h := sha256.Sum256(got); h != sum {
				t.Fatalf("seed %d: the device accepted a damaged image", seed)
			}
		}
		if err == nil {
			completed++
			if !bytes.Equal(got, img) {
				t.Fatalf("seed %d: upload reported success but the device holds %d bytes", seed, len(got))
			}
		} else {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("seed %d: the upload hung until the test's deadline: %v", seed, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "check the") && !strings.Contains(msg, "push") {
				t.Fatalf("seed %d: unclear error: %v", seed, err)
			}
			t.Logf("seed %d: failed cleanly: %v", seed, err)
		}
		t.Logf("seed %d: %d bytes damaged, %d data bytes sent for %d, err=%v", seed, link.Damaged(), res.Sent, len(img), err != nil)
		c.Close()
	}
	t.Logf("%d of %d uploads completed over the lossy link", completed, runs)
	if mustComplete && uint64(completed) != runs {
		t.Fatalf("only %d of %d uploads completed at %.1f%% damaged bytes", completed, runs, rate*100)
	}
}

// A cable pulled mid-upload gives a clear error quickly; plugging it back and pushing again
// resumes from the device's offset.
func TestCablePulledMidUpload(t *testing.T) {
	dev := newMemStore(384, 4)
	l := startPty(t, dev, DefaultLineMax)
	img := testImage(40_000)
	link := NewFaulty(l.open(t), 0, 0, 1)
	c := newTestClient(t, NewPaced(link, 115200), ClientOptions{Timeout: 2 * time.Second})
	var once sync.Once
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	var pulledAt time.Duration
	_, err := c.Upload(ctx, img, UploadOptions{Progress: func(p Progress) {
		if p.Done >= 5000 {
			once.Do(func() { pulledAt = time.Since(start); link.Unplug() })
		}
	}})
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("pulled cable: %v", err)
	}
	if !strings.Contains(err.Error(), "connected") && !strings.Contains(err.Error(), "check the cable") {
		t.Fatalf("unclear error: %v", err)
	}
	t.Logf("error %s after the pull: %v", time.Since(start)-pulledAt, err)
	c.Close()

	c2 := newTestClient(t, NewPaced(l.open(t), 115200), ClientOptions{Timeout: 2 * time.Second})
	res, err := c2.Upload(ctx, img, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom < 5000 || !bytes.Equal(dev.candidate(), img) {
		t.Fatalf("resumed from %d", res.ResumedFrom)
	}
	t.Logf("resumed from offset %d", res.ResumedFrom)
}

// BenchmarkUploadPaced pushes a 32 KiB image over a pty paced at 115200 baud, as to a board with
// Zephyr's default buffers (384 bytes, 4 buffers) and with 2 KiB buffers. It reports KB/s (1000
// bytes) and the share of the framing ceiling (UploadCeiling). One iteration takes ~4.5 s:
//
//	go test ./transport -run '^$' -bench UploadPaced -benchtime 2x -benchmem
func BenchmarkUploadPaced(b *testing.B) {
	for _, bufSize := range []int{384, 2048} {
		b.Run(fmt.Sprintf("buf%d", bufSize), func(b *testing.B) {
			dev := newMemStore(bufSize, 4)
			l := startPty(b, dev, DefaultLineMax)
			c := newTestClient(b, NewPaced(l.open(b), 115200), ClientOptions{})
			img := testImage(32 << 10)
			img[0] = byte(bufSize)
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				img[1] = byte(i) // a new image each time: no resume
				res, err := c.Upload(context.Background(), img, UploadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				total += res.Elapsed
			}
			rate := float64(len(img)) * float64(b.N) / total.Seconds()
			ceil := UploadCeiling(115200, bufSize, DefaultLineMax)
			b.ReportMetric(rate/1000, "KB/s")
			b.ReportMetric(100*rate/ceil, "%ceiling")
		})
	}
}
