package netfw_test

import (
	"context"
	"crypto"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/suit-studio/suit-studio/app"
)

// servedRelease starts app.Serve on 127.0.0.1 with a tracker, and puts a release (a 16 KiB
// image fetched from the given protocol) in its directory. It returns the manifest URI.
func servedRelease(t testing.TB, proto string, size int) (string, *app.Tracker) {
	t.Helper()
	dir := t.TempDir()
	img := testImage(31, size)
	writeFile(t, dir, "fw.bin", img)
	tr := app.NewTracker(dir)
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, app.ServeOptions{Dir: dir, HTTPAddr: "127.0.0.1:0", CoAPAddr: "127.0.0.1:0", Tracker: tr,
			Ready: func(h, c net.Addr) { addrs <- [2]net.Addr{h, c} }})
	}()
	var a [2]net.Addr
	select {
	case a = <-addrs:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + a[0].String()
	if proto == "coap" {
		base = "coap://" + a[1].String()
	}
	writeFile(t, dir, "fw.suit", envelopeFor(t, base+"/fw.bin", img, 11, ""))
	return base + "/fw.suit", tr
}

func fleetProv(t testing.TB) app.SimProvisioning {
	pub, err := os.ReadFile(filepath.Join(vectors, "public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return app.SimProvisioning{TrustPEM: [][]byte{pub}, VendorDomain: "example.com", Model: "sensor-v2"}
}

// A fleet of devices, each with its own state, updates from the server; the tracker receives
// and verifies every device's report.
func TestFleetUpdatesAndReports(t *testing.T) {
	n := 8
	if !testing.Short() {
		n = 40
	}
	for _, proto := range []string{"coap", "http"} {
		t.Run(proto, func(t *testing.T) {
			uri, tr := servedRelease(t, proto, 16<<10)
			var mu sync.Mutex
			phases := map[int]app.FleetPhase{}
			res, err := app.RunFleet(context.Background(), app.FleetOptions{Devices: n, Manifest: uri, Prov: fleetProv(t), Parallel: 4,
				OnDeviceKey: func(_ int, pub crypto.PublicKey) { tr.Trust(pub) },
				OnProgress: func(p app.FleetProgress) {
					mu.Lock()
					phases[p.Device] = p.Phase
					mu.Unlock()
				}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Applied != n || res.Failed != 0 {
				t.Fatalf("%+v", res)
			}
			for i := 0; i < n; i++ {
				if phases[i] != app.PhaseApplied {
					t.Fatalf("device %d ended %q", i, phases[i])
				}
			}
			devs := tr.Devices()
			if len(devs) != n {
				t.Fatalf("the tracker knows %d devices, want %d", len(devs), n)
			}
			for _, d := range devs {
				if !d.Verified || d.Outcome != "applied" {
					t.Fatalf("device %s: verified %v, %s (%s)", d.Device, d.Verified, d.Outcome, d.Problem)
				}
			}
		})
	}
}

// BenchmarkFleet measures how the server scales: devices updated per second for N devices (16
// KiB image, unpaced links on loopback, 32 devices at once), and the Go heap in use after the
// run (server + devices in one process; cmd/suit's 'sim fleet' against a separate 'suit serve'
// measures the server alone).
func BenchmarkFleet(b *testing.B) {
	for _, proto := range []string{"coap", "http"} {
		for _, n := range []int{1, 10, 100, 1000} {
			b.Run(fmt.Sprintf("%s/N=%d", proto, n), func(b *testing.B) {
				uri, _ := servedRelease(b, proto, 16<<10)
				prov := fleetProv(b)
				var rate float64
				for b.Loop() {
					res, err := app.RunFleet(context.Background(), app.FleetOptions{Devices: n, Manifest: uri, Prov: prov, Report: "-"})
					if err != nil || res.Applied != n {
						b.Fatalf("%v %+v", err, res)
					}
					rate += res.PerSecond
				}
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(rate/float64(b.N), "devices/s")
				b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
			})
		}
	}
}
