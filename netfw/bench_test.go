package netfw_test

import (
	"testing"

	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
)

// BenchmarkDeviceFetch32KiB: one device takes an update whose 32 KiB image it fetches over
// loopback (unpaced, 256-byte blocks), checks and installs: the whole update per op.
func BenchmarkDeviceFetch32KiB(b *testing.B) {
	dir := b.TempDir()
	img := testImage(41, 32<<10)
	writeFile(b, dir, "fw.bin", img)
	srv := startServer(b, dir, nil)
	for _, tc := range []struct{ name, uri string }{
		{"http", srv.httpURL + "/fw.bin"},
		{"coap", "coap://" + srv.coapAddr + "/fw.bin"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := envelopeFor(b, tc.uri, img, 2, "")
			b.ReportAllocs()
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				b.StopTimer()
				s := deviceFor(b)
				b.StartTimer()
				rec, _ := update(b, s, env, &netfw.Client{})
				if rec.Outcome != devicesim.Applied {
					b.Fatalf("%s: %s", rec.Outcome, rec.Reason)
				}
			}
		})
	}
}
