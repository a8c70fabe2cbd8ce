package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

// The Publish tab: start the server on 127.0.0.1, publish the document, run a fleet of simulated
// devices against it; the live log shows the fetches and the device list each device's
// progress and verified report.
func TestPublishViewServesAFleet(t *testing.T) {
	a := test.NewTempApp(t)
	w := a.NewWindow("publish")
	dir := t.TempDir()
	img := make([]byte, 8000)
	for i := range img {
		img[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(dir, "fw.bin"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(devVectors, "public_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	var envelope []byte
	v := NewPublishView(w, PublishViewOptions{Dir: dir,
		Envelope: func() ([]byte, error) { return envelope, nil },
		Prov: func() (app.SimProvisioning, error) {
			return app.SimProvisioning{TrustPEM: [][]byte{pub}, VendorDomain: "example.com", Model: "sensor-v2"}, nil
		}})
	w.SetContent(v.Content)
	w.Resize(fyne.NewSize(1200, 800))
	v.httpAddr.SetText("127.0.0.1:0")
	v.coapAddr.SetText("127.0.0.1:0")
	test.Tap(v.startBtn)
	if !v.Serving() {
		t.Fatal("the server did not start")
	}
	t.Cleanup(v.Stop)
	urls := v.URLs()
	if len(urls) != 2 || !strings.HasPrefix(urls[1], "coap://127.0.0.1:") {
		t.Fatalf("URLs %v", urls)
	}
	envelope = signedRelease(t, dir, urls[1]+"/fw.bin")
	test.Tap(v.publishBtn)
	if _, err := os.Stat(filepath.Join(dir, "fw.suit")); err != nil {
		t.Fatal("Publish did not write fw.suit")
	}
	v.fleetN.SetText("3")
	test.Tap(v.fleetBtn)
	deadline := time.Now().Add(20 * time.Second)
	for len(v.Devices()) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	devs := v.Devices()
	if len(devs) != 3 {
		t.Fatalf("the tracker shows %d devices, want 3; log:\n%s", len(devs), strings.Join(v.Log(), "\n"))
	}
	for _, d := range devs {
		if !d.Verified || d.Outcome != "applied" {
			t.Fatalf("device %s: verified %v, %s", d.Device, d.Verified, d.Outcome)
		}
	}
	v.Wait()
	fl := v.Fleet()
	for i := 0; i < 3; i++ {
		if fl[i].Phase != app.PhaseApplied {
			t.Fatalf("fleet device %d: %s", i, fl[i].Phase)
		}
	}
	log := strings.Join(v.Log(), "\n")
	for _, want := range []string{"published fw.suit", "CoAP", "/fw.bin", "report from", "fleet: 3 devices: 3 applied"} {
		if !strings.Contains(log, want) {
			t.Fatalf("the log does not say %q:\n%s", want, log)
		}
	}
	// Selecting a device shows its report's steps in the Simulator's words.
	v.devList.Select(0)
	if s := v.steps.Text; !strings.Contains(s, "install") || !strings.Contains(s, "fetch") {
		t.Fatalf("steps: %s", s)
	}
	test.Tap(v.startBtn) // stops
	if v.Serving() {
		t.Fatal("the server did not stop")
	}
}

func signedRelease(t *testing.T, dir, uri string) []byte {
	t.Helper()
	src := fmt.Sprintf(`manifest:
  sequence-number: 3
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
        class-identifier: {vendor-domain: example.com, model: sensor-v2}
        image-file: fw.bin
    - vendor-identifier: 15
    - class-identifier: 15
  install:
    - override-parameters:
        uri: %q
    - fetch: 15
    - image-match: 15
  invoke:
    - invoke: 15
`, uri)
	env, findings, err := app.Create([]byte(src), dir, false)
	if err != nil {
		t.Fatalf("%v %v", err, findings)
	}
	key, err := signer.LoadFile(filepath.Join(devVectors, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := app.SignEnvelope(env, []any{key}, app.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}
